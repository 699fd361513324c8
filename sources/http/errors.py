"""The typed errors of the HTTP layer, and the one mapping from HTTP status (and XRPC error names) to them."""

from __future__ import annotations

import json

from monitor.errors import AccountUnavailable, RetryLater, SourceError

_XRPC_GONE = frozenset(
    {
        "RepoNotFound",
        "RepoTakendown",
        "RepoDeactivated",
        "RepoSuspended",
        "AccountTakedown",
        "AccountDeactivated",
        "HandleNotFound",
    }
)
_XRPC_NOT_FOUND = frozenset({"RecordNotFound"})


class NotFound(AccountUnavailable):
    """HTTP 404/410, or an XRPC ``RecordNotFound``/``RepoNotFound``-like error.

    It is an ``AccountUnavailable`` because, unless a connector knows better (a deleted
    liked post, a deleted candidate status), a missing resource means the account is gone.
    """

    def __init__(self, message: str, status: int, error: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error


class Forbidden(AccountUnavailable):
    """HTTP 403 or a takedown/deactivation: the account is not readable this cycle."""


class AuthError(SourceError):
    """HTTP 401: the token is missing, invalid or lacks access; fix the settings."""


class RequestRejected(SourceError):
    """Another 4xx: the platform refused the request itself (a connector bug or API change)."""

    def __init__(self, message: str, status: int, error: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error


class BadResponse(RetryLater):
    """A 2xx whose body is not what was asked for: malformed JSON or a wrong content type.

    Such bodies are usually a proxy's error page or a truncated transfer, so the stream
    is retried next cycle; its cursor has not moved past the bad page.
    """


class ResponseTooLarge(SourceError):
    """The body exceeded the configured maximum size and was not read to the end."""


class BudgetExhausted(RetryLater):
    """This host's request budget for the cycle is spent; the rest waits for the next cycle."""


def status_error(url: str, status: int, body: bytes) -> SourceError:
    """The typed error for a non-2xx, non-retryable answer to ``url``."""
    error: str | None = None
    message = ""
    try:
        answer = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        answer = None
    if isinstance(answer, dict):
        # XRPC: {"error": "RecordNotFound", "message": ...};
        # Mastodon: {"error": "Record not found"};
        # X: {"title": ..., "detail": ...}.
        raw_error = answer.get("error") or answer.get("title")
        error = str(raw_error) if raw_error else None
        message = str(answer.get("message") or answer.get("detail") or "")
    what = (
        f"{url}: HTTP {status}"
        + (f" {error}" if error else "")
        + (f": {message}" if message else "")
    )
    # The real PDS answers an unknown repo or handle with a plain InvalidRequest and these words.
    gone = "Could not find repo" in message or "Unable to resolve handle" in message
    if status in (404, 410) or error in _XRPC_NOT_FOUND or gone:
        return NotFound(what, status, error)
    if error in _XRPC_GONE:
        if error == "HandleNotFound" or error == "RepoNotFound":
            return NotFound(what, status, error)
        return Forbidden(what)
    if status == 401:
        return AuthError(what)
    if status == 403:
        return Forbidden(what)
    return RequestRejected(what, status, error)
