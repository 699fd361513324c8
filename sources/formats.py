"""Answer formats more than one platform uses: HTML post text, RFC 8288 ``Link`` headers, JSON lists.

Mastodon (and the fediverse servers that copy its API) send a post's text as HTML and page
with ``Link: <...?max_id=...>; rel="next"``; X and others answer ``{"data": [...]}`` with
related objects ``includes``-d by id.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sources.http import BadResponse


class _Text(HTMLParser):
    """Post HTML as plain text: paragraphs and line breaks kept, tags dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p" and self.parts:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of a post's HTML (a Mastodon status's ``content``)."""
    parser = _Text()
    parser.feed(html or "")
    parser.close()
    return re.sub(r"\n{3,}", "\n\n", "".join(parser.parts)).strip()


def next_link_param(link: str | None, name: str) -> str | None:
    """Query parameter ``name`` of the ``rel="next"`` URL in a ``Link`` header."""
    for part in (link or "").split(","):
        m = re.match(r'\s*<([^>]*)>\s*;\s*rel="?next"?', part)
        if m:
            values = parse_qs(urlsplit(m.group(1)).query).get(name)
            return values[0] if values else None
    return None


def listed(data: Any, key: str, url: str) -> list[Any]:
    """The array under ``key`` of an object answer; a missing one is empty (X leaves
    ``data`` out when nothing matched).

    Anything else (not an object, ``data`` not an array) is a ``BadResponse``: retried next
    cycle rather than read as "nobody liked it".
    """
    if not isinstance(data, dict):
        raise BadResponse(f"{url}: not an object")
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadResponse(f"{url}: {key} is not an array")
    return value


def by_id(value: Any) -> dict[str, dict[str, Any]]:
    """Included objects by id; anything that is not an object with a string or number id is left out."""
    if not isinstance(value, list):
        return {}
    return {str(v["id"]): v for v in value
            if isinstance(v, dict) and isinstance(v.get("id"), (str, int)) and not isinstance(v["id"], bool)}
