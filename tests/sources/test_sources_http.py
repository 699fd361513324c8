"""The shared HTTP layer, with httpx.MockTransport: retries, rate limits, budgets, sizes, errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from monitor.errors import AccountUnavailable, RetryLater, SourceError
from sources.base import SourceContext
from sources.http import (
    USER_AGENT,
    AuthError,
    BadResponse,
    BudgetExhausted,
    Forbidden,
    HttpClient,
    HttpPolicy,
    NotFound,
    RequestRejected,
    ResponseTooLarge,
    parse_wait,
)

NOW = 1_750_000_000.0
JSON = {"content-type": "application/json"}


class Clock:
    """A fake wall clock that sleeping moves forward."""

    def __init__(self) -> None:
        self.now = NOW
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def client(
    handler: Callable[[httpx.Request], httpx.Response], clock: Clock | None = None, **policy: object
) -> HttpClient:
    clock = clock or Clock()
    ctx = SourceContext(transport=httpx.MockTransport(handler))
    http = HttpClient("test:unit", "9.9", ctx, HttpPolicy(**policy))  # type: ignore[arg-type]
    http.sleep = clock.sleep
    http.clock = lambda: clock.now
    http.rng = lambda: 1.0
    return http


def scripted(*responses: httpx.Response | Exception) -> Callable[[httpx.Request], httpx.Response]:
    queue = list(responses)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        nxt = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(nxt, Exception):
            raise nxt
        return nxt

    handler.seen = seen  # type: ignore[attr-defined]
    return handler


def ok(body: bytes = b'{"ok": true}', **headers: str) -> httpx.Response:
    return httpx.Response(200, content=body, headers={**JSON, **headers})


def test_success_keeps_exact_bytes_and_relevant_headers() -> None:
    body = b'{ "a" : 1,\n  "b": "\xc3\xa9" }'
    h = scripted(ok(body, **{"set-cookie": "x=1", "ratelimit-remaining": "99", "etag": "W/1"}))
    resp = client(h).get("https://pds.example/xrpc/x", {"repo": "did:plc:abc"})
    raw = resp.raw()
    assert raw.body == body
    assert raw.source_url == "https://pds.example/xrpc/x?repo=did%3Aplc%3Aabc"
    assert raw.status == 200 and raw.connector == "test:unit" and raw.connector_version == "9.9"
    assert raw.headers["ratelimit-remaining"] == "99" and raw.headers["etag"] == "W/1"
    assert "set-cookie" not in raw.headers
    assert raw.fetched_at.tzinfo is not None
    assert resp.json() == {"a": 1, "b": "é"}
    assert h.seen[0].headers["user-agent"] == USER_AGENT  # type: ignore[attr-defined]
    assert USER_AGENT.startswith("asn-monitor/") and "(+Bawaslu)" in USER_AGENT


def test_500_then_success_retries_with_backoff() -> None:
    clock = Clock()
    h = scripted(httpx.Response(500, headers=JSON, content=b"{}"), ok())
    assert client(h, clock).get("https://h/x").json() == {"ok": True}
    assert len(clock.sleeps) == 1 and 0.25 <= clock.sleeps[0] <= 0.5


def test_503_retry_after_is_used_when_short() -> None:
    clock = Clock()
    h = scripted(httpx.Response(503, headers={"retry-after": "4"}), ok())
    client(h, clock).get("https://h/x")
    assert clock.sleeps == [4.0]


def test_backoff_is_bounded_in_attempts_and_time() -> None:
    clock = Clock()
    h = scripted(httpx.Response(503, content=b"down"))
    with pytest.raises(RetryLater, match="gave up after 4 attempts"):
        client(h, clock).get("https://h/x")
    assert len(h.seen) == 4  # type: ignore[attr-defined]
    assert clock.sleeps == [0.5, 1.0, 2.0]  # exponential (rng fixed at the top of the jitter)
    clock2 = Clock()
    with pytest.raises(RetryLater):
        client(h, clock2, max_attempts=10, max_retry_time=5.0).get("https://h/x")
    assert sum(clock2.sleeps) <= 5.0


def test_network_errors_and_timeouts_are_retried_then_retry_later() -> None:
    h = scripted(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), ok())
    assert client(h).get("https://h/x").status == 200
    h2 = scripted(httpx.ReadTimeout("slow"))
    with pytest.raises(RetryLater, match="ReadTimeout"):
        client(h2).get("https://h/x")


def test_429_retry_after_is_honoured() -> None:
    clock = Clock()
    h = scripted(httpx.Response(429, headers={"retry-after": "7"}), ok())
    assert client(h, clock).get("https://h/x").status == 200
    assert clock.sleeps == [7.0]


def test_429_with_a_long_wait_becomes_retry_later_without_sleeping() -> None:
    clock = Clock()
    h = scripted(httpx.Response(429, headers={"retry-after": "3600"}))
    with pytest.raises(RetryLater) as err:
        client(h, clock).get("https://h/x")
    assert err.value.retry_after == 3600 and clock.sleeps == []


@pytest.mark.parametrize(
    "headers",
    [
        {"ratelimit-reset": str(int(NOW) + 12)},  # Bluesky: epoch seconds
        {"x-ratelimit-reset": datetime.fromtimestamp(NOW + 12, UTC).isoformat()},  # Mastodon: ISO
        {"x-rate-limit-reset": str(int(NOW) + 12)},  # X: epoch seconds
    ],
    ids=["bluesky", "mastodon", "x"],
)
def test_429_platform_reset_headers(headers: dict[str, str]) -> None:
    clock = Clock()
    h = scripted(httpx.Response(429, headers=headers), ok())
    client(h, clock).get("https://h/x")
    assert clock.sleeps == [pytest.approx(12.0)]


def test_spent_quota_waits_before_the_next_request() -> None:
    clock = Clock()
    h = scripted(ok(**{"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(NOW) + 30)}), ok())
    http = client(h, clock)
    http.get("https://api.x/2/a")
    assert clock.sleeps == []
    http.get("https://api.x/2/b")
    assert clock.sleeps == [pytest.approx(30.0)]


def test_parse_wait_forms() -> None:
    assert parse_wait("5", NOW) == 5
    assert parse_wait(str(NOW + 5), NOW) == pytest.approx(5)
    assert parse_wait("2025-06-15T15:06:45.000Z", NOW) == pytest.approx(
        datetime(2025, 6, 15, 15, 6, 45, tzinfo=UTC).timestamp() - NOW
    )
    assert parse_wait("Sun, 15 Jun 2025 15:06:45 GMT", NOW) is not None
    assert parse_wait("soon", NOW) is None and parse_wait(None, NOW) is None
    assert parse_wait("1", NOW + 10_000_000_000) == 1  # small numbers are delays


def test_request_budget_per_host_per_cycle() -> None:
    clock = Clock()
    http = client(scripted(ok()), clock, budget_per_host=2, cycle_seconds=100)
    http.get("https://a/1")
    http.get("https://a/2")
    with pytest.raises(BudgetExhausted) as err:
        http.get("https://a/3")
    assert isinstance(err.value, RetryLater) and err.value.retry_after == pytest.approx(100)
    http.get("https://b/1")  # another host has its own budget
    clock.now += 101  # a new cycle
    http.get("https://a/4")
    http.new_cycle()
    assert http.requests_made("a") == 0


def test_response_size_limit() -> None:
    big = b'{"x": "' + b"a" * 2000 + b'"}'
    with pytest.raises(ResponseTooLarge):
        client(scripted(ok(big)), max_bytes=1000).get("https://h/x")

    def chunked(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=JSON, content=iter([b"a" * 600, b"b" * 600]))

    with pytest.raises(ResponseTooLarge):
        client(chunked, max_bytes=1000).get("https://h/x")


def test_content_type_and_malformed_json() -> None:
    html = httpx.Response(200, headers={"content-type": "text/html"}, content=b"<html>")
    with pytest.raises(BadResponse, match="content type"):
        client(scripted(html)).get("https://h/x")
    resp = client(scripted(ok(b'{"records": ['))).get("https://h/x")
    with pytest.raises(BadResponse, match="malformed JSON"):
        resp.json()
    assert issubclass(BadResponse, RetryLater)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (404, b'{"error": "Record not found"}', NotFound),
        (410, b"", NotFound),
        (400, b'{"error": "RecordNotFound", "message": "Could not locate record"}', NotFound),
        (400, b'{"error": "InvalidRequest", "message": "Could not find repo: x"}', NotFound),
        (400, b'{"error": "HandleNotFound", "message": "Unable to resolve handle"}', NotFound),
        (400, b'{"error": "InvalidRequest", "message": "Unable to resolve handle"}', NotFound),
        (400, b'{"error": "RepoDeactivated", "message": "Repo has been deactivated"}', Forbidden),
        (400, b'{"error": "RepoTakendown"}', Forbidden),
        (403, b'{"title": "Forbidden"}', Forbidden),
        (401, b'{"title": "Unauthorized"}', AuthError),
        (400, b'{"error": "InvalidRequest", "message": "bad limit"}', RequestRejected),
        (422, b"", RequestRejected),
    ],
)
def test_status_mapping(status: int, body: bytes, error: type[SourceError]) -> None:
    h = scripted(httpx.Response(status, headers=JSON, content=body))
    with pytest.raises(error) as err:
        client(h).get("https://h/x")
    assert isinstance(err.value, SourceError)
    if error in (NotFound, Forbidden):
        assert isinstance(err.value, AccountUnavailable)
    assert len(h.seen) == 1  # never retried  # type: ignore[attr-defined]
