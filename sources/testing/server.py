"""The fake HTTP server under every fake platform, and small reply helpers.

Local fake platform servers for tests: real HTTP on 127.0.0.1, documented response shapes.

``FakeServer`` is a ``ThreadingHTTPServer`` in a thread with regex routes and a queue of
scripted faults (``fail``: a 429, a 500, a hang, a malformed body) served before the
real answer. ``FakeBluesky``, ``FakeMastodon`` and ``FakeX`` hold a small in-memory
platform and answer the endpoints the connectors use, in the shapes of the AT Protocol
lexicons, the Mastodon API documentation and the X API v2 reference. Other rooms' tests
may use them (e.g. to run the pipeline against a fake Mastodon).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    """One request as the fake server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Reply:
    """What the fake server answers: status, body (bytes, or JSON-encoded), headers, delay."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (to provoke client timeouts)

    def encoded(self) -> bytes:
        """The body as bytes."""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, ensure_ascii=False).encode()


Handler = Callable[[Request, "re.Match[str]"], Reply]


class FakeServer:
    """A threaded HTTP server on 127.0.0.1 with regex routes and scripted faults."""

    def __init__(self) -> None:
        self.routes: list[tuple[re.Pattern[str], Handler]] = []
        self.faults: list[tuple[re.Pattern[str], Reply]] = []
        self.log: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class _H(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def route(self, pattern: str, handler: Handler) -> None:
        """Answer paths fully matching ``pattern`` with ``handler``."""
        self.routes.append((re.compile(pattern), handler))

    def fail(self, pattern: str, *replies: Reply) -> None:
        """Serve ``replies``, in order, to the next requests whose path matches ``pattern``."""
        with self._lock:
            self.faults.extend((re.compile(pattern), r) for r in replies)

    def hits(self, pattern: str) -> int:
        """How many requests had a path matching ``pattern``."""
        rx = re.compile(pattern)
        return sum(1 for r in self.log if rx.fullmatch(r.path))

    def close(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        req = Request("GET", parts.path, parse_qs(parts.query), {k.lower(): v for k, v in h.headers.items()})
        with self._lock:
            self.log.append(req)
            reply = None
            for i, (rx, fault) in enumerate(self.faults):
                if rx.fullmatch(req.path):
                    reply = fault
                    del self.faults[i]
                    break
        if reply is None:
            reply = Reply(
                404,
                {"error": "NotFound", "message": f"no route for {req.path}"},
                {"content-type": "application/json"},
            )
            for rx, handler in self.routes:
                m = rx.fullmatch(req.path)
                if m:
                    reply = handler(req, m)
                    break
        if reply.delay:
            time.sleep(reply.delay)
        body = reply.encoded()
        headers = {"content-type": "application/json; charset=utf-8", **reply.headers}
        try:
            h.send_response(reply.status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("content-length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    """A JSON reply."""
    return Reply(status, body, {"content-type": "application/json; charset=utf-8", **(headers or {})})


def xrpc_error(name: str, message: str = "", status: int = 400) -> Reply:
    """An XRPC error body, as the PDS sends it."""
    return json_reply({"error": name, "message": message or name}, status)


_S32 = "234567abcdefghijklmnopqrstuvwxyz"


def tid(micros: int, clock_id: int = 0) -> str:
    """An AT Protocol TID (13 base32-sortable characters) for a microsecond timestamp."""
    n = (micros << 10) | (clock_id & 0x3FF)
    out = ""
    for _ in range(13):
        out = _S32[n & 31] + out
        n >>= 5
    return out


class Clock:
    """A fake platform's clock: every call to ``tick`` is seven minutes later."""

    def __init__(self) -> None:
        self.t = datetime(2024, 9, 1, tzinfo=UTC)

    def tick(self) -> datetime:
        self.t += timedelta(minutes=7)
        return self.t


def iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")
