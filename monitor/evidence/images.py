"""The address-guarded image downloader: a flagged post's images, fetched once, within bounds.

A post's images are named in the interchange format by ``extra["images"]`` (a list of URLs,
or of ``{"url": ..., "alt": ...}`` objects) or ``extra["media"]`` (a list of ``{"url": ...,
"type": "image"|"video"|...}``; only image entries are kept). Each is downloaded once, when
the item is first flagged, with bounds on count, size and time, and never from a private,
loopback or link-local address (checked at every redirect); a failure is recorded as a
``failed`` file row and never stops the cycle.
"""

from __future__ import annotations

import hashlib
import mimetypes
import time
from pathlib import Path

import httpx

from monitor.evidence.files import write_private
from monitor.model import Item
from monitor.safe_fetch import FetchRefused, Resolver, SafeFetcher
from monitor.settings import ReviewSettings
from storage.evidence import EvidenceFile

MAX_REDIRECTS = 3
RASTER_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def image_urls(item: Item) -> list[str]:
    """The image URLs an item names in ``extra["images"]`` or ``extra["media"]``."""
    urls: list[str] = []
    for key in ("images", "media"):
        entries = item.extra.get(key)
        if isinstance(entries, str):
            entries = [entries]
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if isinstance(entry, str):
                url = entry
            elif isinstance(entry, dict) and isinstance(entry.get("url"), str):
                kind = str(entry.get("type") or "image").lower()
                if not (kind.startswith("image") or kind in ("photo", "gif")):
                    continue
                url = entry["url"]
            else:
                continue
            if url not in urls:
                urls.append(url)
    return urls


class ImageFetcher:
    """Downloads a flagged item's images into the evidence folder, within bounds.

    ``transport`` and ``resolver`` are injectable (tests, proxies). At most ``max_count`` images,
    each at most ``max_bytes`` and ``timeout`` seconds; only http(s) URLs and
    image content types are kept.
    """

    def __init__(self, root: Path, settings: ReviewSettings,
                 transport: httpx.BaseTransport | None = None,
                 resolver: Resolver | None = None) -> None:
        self.root = root
        self.max_count = settings.image_max_count
        self.max_bytes = settings.image_max_bytes
        self.timeout = settings.image_timeout
        self.allow_private = settings.image_allow_private
        self.transport = transport
        self.resolver = resolver

    def __call__(self, item: Item) -> list[EvidenceFile]:
        """One file row per image URL (failed ones included), up to the bound."""
        urls = image_urls(item)
        if not urls:
            return []
        out: list[EvidenceFile] = []
        # Each hop is resolved once, vetted and connected to by that address (monitor.safe_fetch).
        with SafeFetcher(timeout=self.timeout, max_redirects=MAX_REDIRECTS,
                         allow_private=self.allow_private, resolver=self.resolver,
                         transport=self.transport,
                         headers={"User-Agent": "asn-monitor evidence"}) as fetcher:
            for n, url in enumerate(urls):
                if n >= self.max_count:
                    out.append(EvidenceFile("image", "failed", url=url,
                                            error=f"more than {self.max_count} images; not fetched"))
                    continue
                try:
                    out.append(self._fetch(fetcher, url))
                except Exception as exc:  # an image is never worth losing the flag over
                    out.append(EvidenceFile("image", "failed", url=url,
                                            error=f"{type(exc).__name__}: {exc}"[:300]))
        return out

    def _fetch(self, fetcher: SafeFetcher, url: str) -> EvidenceFile:
        deadline = time.monotonic() + self.timeout
        try:
            with fetcher.stream(url) as resp:
                return self._save(resp, url, deadline)
        except FetchRefused as exc:
            return EvidenceFile("image", "failed", url=url, error=str(exc)[:300])
        except httpx.HTTPError as exc:
            return EvidenceFile("image", "failed", url=url, error=f"{type(exc).__name__}: {exc}"[:300])

    def _save(self, resp: httpx.Response, url: str, deadline: float) -> EvidenceFile:
        """Check one final response and keep its body under its hash."""
        if resp.status_code != 200:
            return EvidenceFile("image", "failed", url=url, error=f"HTTP {resp.status_code}")
        ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
        if not ctype.startswith("image/"):
            return EvidenceFile("image", "failed", url=url, content_type=ctype or None,
                                error=f"not an image ({ctype or 'no content type'})")
        length = resp.headers.get("content-length")
        if length and length.isdigit() and int(length) > self.max_bytes:
            return EvidenceFile("image", "failed", url=url, content_type=ctype,
                                error=f"larger than {self.max_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                return EvidenceFile("image", "failed", url=url, content_type=ctype,
                                    error=f"larger than {self.max_bytes} bytes")
            if time.monotonic() > deadline:
                return EvidenceFile("image", "failed", url=url, content_type=ctype,
                                    error=f"took longer than {self.timeout:g}s")
            chunks.append(chunk)
        data = b"".join(chunks)
        digest = hashlib.sha256(data).hexdigest()
        ext = mimetypes.guess_extension(ctype) or ".bin"
        # Content-addressed: the same image shared by many posts is stored once.
        relative = f"images/{digest[:2]}/{digest}{ext}"
        write_private(self.root, relative, data)
        return EvidenceFile("image", "ok", url=url, path=relative, sha256=digest, size=len(data),
                            content_type=ctype)

