"""Errors, grouped by what the caller should do about them.

::

    AsnMonitorError                 anything asn-monitor raises on purpose
    ├── ConfigError                 fix the settings, roster or registry file, then rerun
    ├── InputError                  a whole input (file, argument) is unusable
    │   └── BadItem                 skip this one item, keep the rest
    ├── SourceError                 something went wrong talking to a platform
    │   ├── RetryLater              transient: try again after ``retry_after`` seconds
    │   └── AccountUnavailable      fatal for this account this cycle (deleted, suspended)
    ├── StorageError                the database refused; nothing of the unit was written
    │   └── StorageLocked           another process holds the DuckDB file
    ├── ReviewError                 a review decision is not allowed (e.g. escalate unconfirmed)
    ├── ChainBroken                 verify found evidence or a decision changed after it was chained
    ├── DeliveryError               the digest email could not be sent; recorded, retried later
    ├── TimestampError              a TSA could not stamp, or a timestamp token does not check out
    ├── ArchiveError                a reported URL could not be archived; nothing was stored
    │   ├── ArchiveRefused          private/loopback address or not http(s), at any hop
    │   ├── ArchiveTimeout          the page did not finish loading in time
    │   └── ArchiveTooLarge         past the size or redirect bound
    └── InternalError               an unexpected exception, logged with its traceback (exit 70)

Only ``monitor.cli`` turns these into messages and exit codes. Each error's
``str()`` is one line that says what was wrong and where.
"""

from __future__ import annotations


class AsnMonitorError(Exception):
    """Base of every error asn-monitor raises on purpose."""

    exit_code = 1


class ConfigError(AsnMonitorError):
    """A settings, roster, region or registry file is invalid.

    ``where`` names the file (and key or line); ``what`` says what is wrong.
    """

    exit_code = 2

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")
        self.where = where
        self.what = what


class InputError(AsnMonitorError):
    """An input given on the command line cannot be used at all."""

    exit_code = 2


class BadItem(InputError):
    """One input element is malformed: skip it and keep going.

    ``where`` is e.g. ``items.jsonl:17``.
    """

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")
        self.where = where
        self.what = what


class SourceError(AsnMonitorError):
    """A platform could not be read."""

    exit_code = 3


class RetryLater(SourceError):
    """Transient failure (rate limit, 5xx, network): retry after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AccountUnavailable(SourceError):
    """This account cannot be read this cycle (deleted, suspended, not found)."""


class StorageError(AsnMonitorError):
    """The database refused an operation; the unit of work was rolled back."""

    exit_code = 4


class StorageLocked(StorageError):
    """Another process holds the DuckDB file's write lock."""


class ReviewError(AsnMonitorError):
    """A review decision is not allowed in the flag's current state."""

    exit_code = 5


class ChainBroken(AsnMonitorError):
    """``verify`` found a broken hash-chain link, a changed record or a changed evidence file."""

    exit_code = 6


class DeliveryError(AsnMonitorError):
    """An email (the weekly digest) could not be handed to the SMTP server; it is retried later."""

    exit_code = 7


class TimestampError(AsnMonitorError):
    """A TSA could not be reached, refused the request, or returned a token that does not check out."""


class ArchiveError(AsnMonitorError):
    """A reported URL could not be archived (nothing of the report was stored)."""

    exit_code = 8


class ArchiveRefused(ArchiveError):
    """The URL, or a redirect of it, points at a private or loopback address, or is not http(s)."""


class ArchiveTimeout(ArchiveError):
    """The page did not finish loading within the time bound."""


class ArchiveTooLarge(ArchiveError):
    """The page (or its redirect chain) went past the size or redirect bound."""


class InternalError(AsnMonitorError):
    """An unexpected exception (a bug or a broken environment), logged with its traceback.

    Its exit code is one the systemd unit does not restart on, so a crash loop stops
    after one start instead of repeating every 30 seconds.
    """

    exit_code = 70  # EX_SOFTWARE


class ConfigProblems(ConfigError):
    """Several problems in one file (e.g. every bad roster row), all listed in ``problems``."""

    def __init__(self, where: str, problems: list[str]) -> None:
        super().__init__(where, f"{len(problems)} problems: " + "; ".join(problems))
        self.problems = problems
