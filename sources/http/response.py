"""One successful HTTP response, kept byte for byte so it can become evidence."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.model import Raw
from sources.http.errors import BadResponse


@dataclass(frozen=True)
class Response:
    """One successful response: the exact bytes and where and when they came from."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    fetched_at: datetime
    connector: str
    connector_version: str

    def json(self) -> Any:
        """The body parsed as JSON; ``BadResponse`` when it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadResponse(f"{self.url}: malformed JSON ({exc})") from None

    def raw(self) -> Raw:
        """The response as evidence for the items read from it."""
        return Raw(
            body=self.body,
            source_url=self.url,
            fetched_at=self.fetched_at,
            connector=self.connector,
            connector_version=self.connector_version,
            status=self.status,
            headers=dict(self.headers),
        )

    def evidence(self) -> dict[str, Any]:
        """The response as a JSON-able mapping, for evidence kept in ``Item.extra``.

        JSON bodies are UTF-8, so the text is the exact bytes; anything else is base64.
        """
        out: dict[str, Any] = {
            "source_url": self.url,
            "status": self.status,
            "fetched_at": self.fetched_at.isoformat(),
            "sha256": self.raw().sha256,
            "content_type": self.headers.get("content-type"),
        }
        try:
            out["body"] = self.body.decode("utf-8")
        except UnicodeDecodeError:
            out["body"] = base64.b64encode(self.body).decode("ascii")
            out["body_encoding"] = "base64"
        return out
