"""Archive any URL with headless Chromium: final URL, status, headers, PNG, MHTML, TLS, time.

What an OSINT archiver keeps of a web page, over Chromium's DevTools protocol:
the redirect chain with each hop's status, the final response's status and
headers and its exact body, a full-page PNG screenshot, a single-file MHTML
snapshot (``Page.captureSnapshot``), the page's visible text, the SHA-256 of the
TLS leaf certificate (DER) and when it was fetched.

Every request the page makes, each redirect hop of the page itself included, is
paused (``Fetch.enable``) and checked with the image downloader's address guard
before it leaves: a public URL that redirects to a private one is refused at the
hop. The load is bounded in time, total bytes and redirects.

Loopback is allowed only through ``allow_loopback`` or ``loopback_for_tests()``,
never through the settings file.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import json
import math
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from monitor.errors import ArchiveError, ArchiveRefused, ArchiveTimeout, ArchiveTooLarge
from monitor.intake.cdp import CdpError, Event, Page, browser_page, chromium_exe
from monitor.safe_fetch import FetchRefused, system_resolver, vet_host

_TEST_LOOPBACK = False
MAX_TEXT = 20_000


@contextlib.contextmanager
def loopback_for_tests() -> Iterator[None]:
    """Let archivers built inside this block fetch 127.0.0.1 (tests only; not a setting)."""
    global _TEST_LOOPBACK
    old, _TEST_LOOPBACK = _TEST_LOOPBACK, True
    try:
        yield
    finally:
        _TEST_LOOPBACK = old


def _all_loopback(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False
    return bool(infos) and all(
        ipaddress.ip_address(str(i[4][0]).split("%")[0]).is_loopback for i in infos)


def refusal(url: str, allow_loopback: bool = False) -> str | None:
    """Why ``url`` may not be fetched (the image downloader's guard), or None."""
    try:
        parsed = urlparse(url)
        host = parsed.hostname
    except ValueError:
        return "not an http(s) URL"
    if parsed.scheme not in ("http", "https") or not host:
        return "not an http(s) URL"
    if allow_loopback and _all_loopback(host):
        return None
    try:
        # The image downloader's guard: a reported URL must not make the monitor reach
        # into its own network.
        vet_host(host, system_resolver)
    except FetchRefused as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds of one archive: seconds to load, bytes in all, redirects, screenshot height."""

    timeout: float = 30.0
    max_bytes: int = 25_000_000
    max_redirects: int = 5
    max_height: int = 16_384
    width: int = 1280


@dataclass
class Archive:
    """What was kept of one URL."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    redirects: list[dict[str, Any]]
    body: bytes
    content_type: str
    screenshot: bytes
    snapshot: bytes
    text: str
    title: str
    tls: dict[str, Any] | None
    started_at: datetime
    fetched_at: datetime
    browser: str
    blocked: list[str] = field(default_factory=list)
    truncated: bool = False

    def facts(self) -> dict[str, Any]:
        """The archive's facts as JSON (kept in the evidence record and shown on the card)."""
        return {
            "url": self.url, "final_url": self.final_url, "status": self.status,
            "redirects": self.redirects, "content_type": self.content_type, "title": self.title,
            "tls": self.tls, "started_at": self.started_at.isoformat(),
            "fetched_at": self.fetched_at.isoformat(), "browser": self.browser,
            "blocked_requests": self.blocked[:50], "screenshot_truncated": self.truncated,
            "body_sha256": hashlib.sha256(self.body).hexdigest(),
            "screenshot_sha256": hashlib.sha256(self.screenshot).hexdigest(),
            "snapshot_sha256": hashlib.sha256(self.snapshot).hexdigest(),
        }


@dataclass
class _Load:
    """What the page's events told us while it loaded."""

    url: str
    limits: ArchiveLimits
    allow_loopback: bool
    main_frame: str = ""
    documents: int = 0
    redirects: list[dict[str, Any]] = field(default_factory=list)
    response: dict[str, Any] | None = None
    request_id: str | None = None
    received: int = 0
    loaded: bool = False
    blocked: list[str] = field(default_factory=list)
    fatal: ArchiveError | None = None

    def on_event(self, page: Page, ev: Event) -> None:
        method, p = ev["method"], ev.get("params", {})
        if method == "Fetch.requestPaused":
            self._paused(page, p)
        elif method == "Network.requestWillBeSent" and self._main(p) and p.get("redirectResponse"):
            hop = p["redirectResponse"]
            self.redirects.append({"url": hop.get("url"), "status": hop.get("status"),
                                   "location": p["request"]["url"]})
        elif method == "Network.responseReceived" and self._main(p):
            self.response, self.request_id = p["response"], p["requestId"]
        elif method == "Network.dataReceived":
            self.received += int(p.get("dataLength") or 0)
            if self.received > self.limits.max_bytes and self.fatal is None:
                self.fatal = ArchiveTooLarge(
                    f"{self.url}: the page is larger than {self.limits.max_bytes} bytes")
                page.send("Page.stopLoading")
        elif method == "Page.loadEventFired":
            self.loaded = True

    def _main(self, p: dict[str, Any]) -> bool:
        return p.get("type") == "Document" and p.get("frameId") == self.main_frame

    def _paused(self, page: Page, p: dict[str, Any]) -> None:
        url = str(p["request"]["url"])
        main = p.get("resourceType") == "Document" and p.get("frameId") == self.main_frame
        if main:
            self.documents += 1
        why = refusal(url, self.allow_loopback) if urlparse(url).scheme in (
            "http", "https", "ws", "wss", "ftp") or main else None
        if main and why is None and self.documents > self.limits.max_redirects + 1:
            why = f"more than {self.limits.max_redirects} redirects"
            self.fatal = self.fatal or ArchiveTooLarge(f"{self.url}: {why}")
        if why is None:
            page.send("Fetch.continueRequest", {"requestId": p["requestId"]})
            return
        page.send("Fetch.failRequest", {"requestId": p["requestId"], "errorReason": "BlockedByClient"})
        if main and self.fatal is None:
            hop = "" if self.documents == 1 else f"redirect to {url}: "
            self.fatal = ArchiveRefused(f"{self.url}: {hop}{why}")
        elif not main:
            self.blocked.append(f"{url[:200]} ({why})")


class Archiver:
    """Archives one URL at a time in a fresh headless Chromium (``chromium`` on PATH)."""

    def __init__(self, chromium: str = "chromium", limits: ArchiveLimits | None = None,
                 allow_loopback: bool | None = None, trusted_spki: tuple[str, ...] = ()) -> None:
        self.chromium = chromium
        self.limits = limits or ArchiveLimits()
        self.allow_loopback = _TEST_LOOPBACK if allow_loopback is None else allow_loopback
        # Base64 SHA-256 of public keys to trust beside the system's (tests' own certificates).
        self.trusted_spki = trusted_spki

    def archive(self, url: str) -> Archive:
        """Load ``url`` and keep everything; a typed ``ArchiveError`` says what went wrong."""
        why = refusal(url, self.allow_loopback)
        if why is not None:
            raise ArchiveRefused(f"{url}: {why}")
        exe = chromium_exe(self.chromium)
        load = _Load(url, self.limits, self.allow_loopback)
        extra = (f"--ignore-certificate-errors-spki-list={','.join(self.trusted_spki)}",
                 ) if self.trusted_spki else ()
        with browser_page(exe, load.on_event, window=(self.limits.width, 900), extra=extra) as page:
            return self._archive(page, load, url)

    def _archive(self, page: Page, load: _Load, url: str) -> Archive:
        lim = self.limits
        started = datetime.now(UTC)
        deadline = time.monotonic() + lim.timeout
        try:
            browser = str(page.call("Browser.getVersion").get("product", ""))
        except CdpError:
            browser = "chromium"
        load.main_frame = str(page.call("Page.getFrameTree")["frameTree"]["frame"]["id"])
        page.call("Network.enable", {"maxResourceBufferSize": lim.max_bytes,
                                     "maxTotalBufferSize": lim.max_bytes * 2})
        page.call("Page.enable")
        page.call("Fetch.enable", {"patterns": [{"urlPattern": "*", "requestStage": "Request"}]})
        too_slow = f"{url}: the page did not finish loading within {lim.timeout:g}s"
        nav = page.call("Page.navigate", {"url": url}, timeout=max(0.1, deadline - time.monotonic()),
                        what=too_slow)
        if load.fatal is not None:
            raise load.fatal
        if nav.get("errorText"):
            raise ArchiveError(f"{url}: chromium could not load it ({nav['errorText']})")
        if not load.loaded:
            page.wait_for(lambda ev: load.loaded or load.fatal is not None, deadline, too_slow)
        if load.fatal is not None:
            raise load.fatal
        fetched = datetime.now(UTC)
        resp = load.response or {}
        final = str(resp.get("url") or url)
        text, title = self._text(page)
        body = self._body(page, load.request_id)
        shot, truncated = self._screenshot(page)
        snap = page.call("Page.captureSnapshot", {"format": "mhtml"}, timeout=lim.timeout)
        return Archive(
            url=url, final_url=final, status=int(resp.get("status") or 0),
            headers={str(k): str(v) for k, v in (resp.get("headers") or {}).items()},
            redirects=load.redirects, body=body, content_type=str(resp.get("mimeType") or ""),
            screenshot=shot, snapshot=str(snap.get("data", "")).encode("utf-8"), text=text,
            title=title, tls=self._tls(page, final, resp), started_at=started, fetched_at=fetched,
            browser=browser, blocked=load.blocked, truncated=truncated)

    def _text(self, page: Page) -> tuple[str, str]:
        got = page.call("Runtime.evaluate", {
            "expression": "JSON.stringify([document.body ? document.body.innerText : '', "
                          "document.title || ''])", "returnByValue": True}, timeout=self.limits.timeout)
        text, title = json.loads(str(got.get("result", {}).get("value") or '["", ""]'))
        return str(text)[:MAX_TEXT], str(title)[:500]

    def _body(self, page: Page, request_id: str | None) -> bytes:
        if request_id is None:
            return b""
        try:
            got = page.call("Network.getResponseBody", {"requestId": request_id},
                            timeout=self.limits.timeout)
        except CdpError:
            return b""  # evicted from Chromium's buffer: the MHTML snapshot still has it
        body = str(got.get("body", ""))
        return base64.b64decode(body) if got.get("base64Encoded") else body.encode("utf-8")

    def _screenshot(self, page: Page) -> tuple[bytes, bool]:
        size = page.call("Page.getLayoutMetrics").get("cssContentSize") or {}
        width = max(1, math.ceil(float(size.get("width") or self.limits.width)))
        height = max(1, math.ceil(float(size.get("height") or 900)))
        truncated = height > self.limits.max_height
        clip = {"x": 0, "y": 0, "width": width, "height": min(height, self.limits.max_height),
                "scale": 1}
        got = page.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                   "clip": clip}, timeout=self.limits.timeout)
        return base64.b64decode(str(got["data"])), truncated

    def _tls(self, page: Page, final: str, resp: dict[str, Any]) -> dict[str, Any] | None:
        parsed = urlparse(final)
        if parsed.scheme != "https":
            return None
        details = resp.get("securityDetails") or {}
        out: dict[str, Any] = {
            "protocol": details.get("protocol"), "subject": details.get("subjectName"),
            "issuer": details.get("issuer"), "valid_from": details.get("validFrom"),
            "valid_to": details.get("validTo"), "leaf_sha256": None}
        try:
            got = page.call("Network.getCertificate", {"origin": f"{parsed.scheme}://{parsed.netloc}"})
            names = got.get("tableNames") or []
            if names:
                out["leaf_sha256"] = hashlib.sha256(base64.b64decode(names[0])).hexdigest()
        except (CdpError, ArchiveTimeout):
            out["error"] = "chromium did not give the certificate"
        return out
