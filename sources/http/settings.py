"""The settings every HTTP connector shares, and the limits (policy) they describe for its client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import Field

from sources.base import SourceSettings


class HttpSettings(SourceSettings):
    """Settings every HTTP connector shares (the ``[sources.<name>]`` keys)."""

    timeout: float = Field(20.0, gt=0)  # seconds, per request (connect, read, write, pool)
    max_attempts: int = Field(4, ge=1, le=10)  # tries per request, first one included
    max_retry_time: float = Field(60.0, ge=0)  # total seconds slept on retries for one request
    max_rate_wait: float = Field(60.0, ge=0)  # longest rate-limit wait slept through
    max_response_bytes: int = Field(5 * 1024 * 1024, gt=0)
    request_budget: int = Field(2000, gt=0)  # requests per host per cycle (poll_interval)
    # On an account's first walk, stop at activity older than this many days (none: all history).
    backfill_days: float | None = Field(None, gt=0)

    def horizon(self) -> datetime | None:
        """The oldest time a first walk reads back to, from ``backfill_days``."""
        if self.backfill_days is None:
            return None
        return datetime.now(UTC) - timedelta(days=self.backfill_days)

    def policy(self) -> HttpPolicy:
        """The HTTP policy these settings describe."""
        return HttpPolicy(
            timeout=self.timeout,
            max_attempts=self.max_attempts,
            max_retry_time=self.max_retry_time,
            max_rate_wait=self.max_rate_wait,
            max_bytes=self.max_response_bytes,
            budget_per_host=self.request_budget,
            cycle_seconds=self.poll_interval,
        )


@dataclass(frozen=True)
class HttpPolicy:
    """Limits for one HTTP client: timeouts, retries, waits, sizes and budgets."""

    timeout: float = 20.0
    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_retry_time: float = 60.0
    max_rate_wait: float = 60.0
    max_bytes: int = 5 * 1024 * 1024
    budget_per_host: int = 2000
    cycle_seconds: float = 900.0

