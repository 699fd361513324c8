"""The HTTP client every platform connector talks through.

It owns everything the connectors must not each get slightly wrong:

- one ``httpx.Client`` per connector, built from ``SourceContext.transport`` so tests
  can inject ``httpx.MockTransport``, with timeouts and a clear User-Agent;
- retries with exponential backoff and full jitter on 5xx, 408 and network errors,
  bounded both in attempts and in total time slept;
- 429 and exhausted quotas: ``Retry-After`` and each platform's reset header
  (``ratelimit-reset`` on Bluesky, ``X-RateLimit-Reset`` on Mastodon, an ISO time,
  ``x-rate-limit-reset`` on X, an epoch) are honoured; short waits are slept through,
  long ones become ``RetryLater``;
- a request budget per host per cycle, a maximum response size and a content-type check;
- the mapping from HTTP status (and XRPC error names) to the typed errors of
  ``monitor.errors``. This module is the only place where that mapping lives.

Every response keeps its exact body bytes, final URL, status and relevant headers,
so a connector turns it into evidence (``Response.raw()``) without re-encoding anything.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit

import httpx

from monitor.errors import RetryLater
from sources.base import SourceContext
from sources.http.errors import BadResponse, BudgetExhausted, ResponseTooLarge, status_error
from sources.http.response import Response
from sources.http.settings import HttpPolicy

try:
    VERSION = metadata.version("asn-monitor")
except metadata.PackageNotFoundError:  # running from a checkout that was never installed
    VERSION = "0.0.0"

USER_AGENT = f"asn-monitor/{VERSION} (+Bawaslu)"

# Headers worth keeping as evidence or for pacing; the rest (cookies, tracing noise) is dropped.
_KEPT_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "date",
        "etag",
        "last-modified",
        "link",
        "retry-after",
        "server",
        "via",
        "x-request-id",
        "cache-control",
        "age",
    }
)
_KEPT_PREFIXES = ("ratelimit-", "x-ratelimit-", "x-rate-limit-")
# The reset headers of Bluesky, Mastodon and X, in the order they are tried.
_RESET_HEADERS = ("ratelimit-reset", "x-ratelimit-reset", "x-rate-limit-reset")
_REMAINING_HEADERS = ("ratelimit-remaining", "x-ratelimit-remaining", "x-rate-limit-remaining")


def parse_wait(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` or reset header, or ``None`` if unreadable.

    Accepts delta seconds, an epoch (X, Bluesky), an ISO 8601 time (Mastodon) or an
    HTTP-date (``Retry-After``).
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        # Nothing waits 30 years: a number this big is an epoch, not a delay.
        return max(0.0, number - now) if number > 1e9 else max(0.0, number)
    when: datetime | None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def _header(headers: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        if name in headers:
            return headers[name]
    return None


@dataclass
class _HostState:
    window_start: float
    used: int = 0
    blocked_until: float = 0.0


@dataclass
class HttpClient:
    """A small, strict HTTP GET client shared by the connectors.

    ``sleep`` and ``clock`` (wall-clock seconds) are public so tests can make waits instant;
    ``rng`` draws the backoff jitter.
    """

    connector: str
    connector_version: str
    ctx: SourceContext = field(default_factory=SourceContext)
    policy: HttpPolicy = field(default_factory=HttpPolicy)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    rng: Callable[[], float] = random.random
    _hosts: dict[str, _HostState] = field(default_factory=dict, init=False, repr=False)
    _client: httpx.Client | None = field(default=None, init=False, repr=False)

    @property
    def client(self) -> httpx.Client:
        """The underlying httpx client, made on first use."""
        if self._client is None:
            self._client = httpx.Client(
                transport=self.ctx.transport,
                timeout=httpx.Timeout(self.policy.timeout),
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                follow_redirects=True,
            )
        return self._client

    def close(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def new_cycle(self) -> None:
        """Start a new cycle: every host's request budget is full again."""
        self._hosts.clear()

    def requests_made(self, host: str) -> int:
        """Requests sent to ``host`` (``netloc``) in the current cycle."""
        state = self._hosts.get(host)
        return state.used if state else 0

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        expect: str = "json",
    ) -> Response:
        """GET ``url`` and return the response, or raise the typed error for what went wrong.

        ``expect`` is a substring the response's content type must contain ("json").
        """
        host = urlsplit(url).netloc
        attempt = 0
        slept = 0.0
        while True:
            self._wait_for_host(host)
            self._charge(host)
            delay: float
            try:
                resp = self._send(url, params, headers)
            except httpx.InvalidURL as exc:
                # The URL was built from an answer (an id with control characters): the answer is bad.
                raise BadResponse(f"{url!r}: not a valid URL ({exc})") from None
            except httpx.TransportError as exc:
                # Timeouts, refused connections, resets: the classic transient failures.
                problem = f"{url}: {type(exc).__name__}: {exc}"
                delay = self._backoff(attempt)
            else:
                self._note_limits(host, resp.headers)
                if resp.status == 429:
                    wait = parse_wait(resp.headers.get("retry-after"), self.clock())
                    if wait is None:
                        wait = parse_wait(_header(resp.headers, _RESET_HEADERS), self.clock())
                    problem = f"{url}: HTTP 429 rate limited"
                    if wait is None:
                        delay = self._backoff(attempt)
                    elif wait > self.policy.max_rate_wait:
                        raise RetryLater(f"{problem} for {wait:.0f}s", retry_after=wait)
                    else:
                        delay = wait
                elif resp.status >= 500 or resp.status == 408:
                    problem = f"{url}: HTTP {resp.status}"
                    # A 503 may say when to come back; a short stated wait beats a guess.
                    stated = parse_wait(resp.headers.get("retry-after"), self.clock())
                    short = stated is not None and stated <= self.policy.max_rate_wait
                    delay = stated if stated is not None and short else self._backoff(attempt)
                else:
                    return self._check(resp, expect)
            attempt += 1
            if attempt >= self.policy.max_attempts or slept + delay > self.policy.max_retry_time:
                raise RetryLater(f"{problem} (gave up after {attempt} attempts)", retry_after=delay)
            self.sleep(delay)
            slept += delay

    # -- internals -------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        # Full jitter: spreads retries of many accounts so they do not hammer in step.
        cap = min(self.policy.backoff_max, self.policy.backoff_base * (2**attempt))
        return cap * (0.5 + 0.5 * self.rng())

    def _state(self, host: str) -> _HostState:
        now = self.clock()
        state = self._hosts.get(host)
        if state is None or now - state.window_start >= self.policy.cycle_seconds:
            blocked = state.blocked_until if state else 0.0
            state = _HostState(window_start=now, blocked_until=blocked)
            self._hosts[host] = state
        return state

    def _charge(self, host: str) -> None:
        state = self._state(host)
        if state.used >= self.policy.budget_per_host:
            left = self.policy.cycle_seconds - (self.clock() - state.window_start)
            raise BudgetExhausted(
                f"{host}: request budget of {self.policy.budget_per_host} for this cycle is spent",
                retry_after=max(0.0, left),
            )
        state.used += 1

    def _wait_for_host(self, host: str) -> None:
        state = self._state(host)
        wait = state.blocked_until - self.clock()
        if wait <= 0:
            return
        if wait > self.policy.max_rate_wait:
            raise RetryLater(f"{host}: rate limit quota spent for {wait:.0f}s", retry_after=wait)
        self.sleep(wait)
        state.blocked_until = 0.0

    def _note_limits(self, host: str, headers: Mapping[str, str]) -> None:
        # A quota at zero blocks the host until its reset, before the platform has to say 429.
        remaining = _header(headers, _REMAINING_HEADERS)
        if remaining is None or remaining.strip() != "0":
            return
        wait = parse_wait(_header(headers, _RESET_HEADERS), self.clock())
        if wait:
            self._state(host).blocked_until = self.clock() + wait

    def _send(
        self,
        url: str,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None,
        headers: Mapping[str, str] | None,
    ) -> Response:
        limit = self.policy.max_bytes
        with self.client.stream("GET", url, params=params, headers=headers) as r:
            declared = r.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise ResponseTooLarge(f"{r.url}: {declared} bytes is over the {limit}-byte limit")
            chunks: list[bytes] = []
            size = 0
            try:
                for chunk in r.iter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise ResponseTooLarge(f"{r.url}: body is over the {limit}-byte limit")
                    chunks.append(chunk)
            except httpx.DecodingError as exc:
                raise BadResponse(f"{r.url}: undecodable body ({exc})") from None
            kept = {
                k.lower(): v
                for k, v in r.headers.items()
                if k.lower() in _KEPT_HEADERS or k.lower().startswith(_KEPT_PREFIXES)
            }
            return Response(
                url=str(r.url),
                status=r.status_code,
                headers=kept,
                body=b"".join(chunks),
                fetched_at=datetime.now(UTC),
                connector=self.connector,
                connector_version=self.connector_version,
            )

    def _check(self, resp: Response, expect: str) -> Response:
        if 200 <= resp.status < 300:
            ctype = resp.headers.get("content-type", "")
            if expect not in ctype.lower():
                raise BadResponse(f"{resp.url}: content type {ctype or 'missing'!r}, wanted {expect}")
            return resp
        raise status_error(resp.url, resp.status, resp.body)


def host_of(url: str) -> str:
    """The ``netloc`` of ``url``: the key of request budgets."""
    return urlsplit(url).netloc
