"""Pieces every platform connector shares: identity pinning, walk cursors, time parsing.

Identity
    The first page of every ``fetch`` carries no items and the ``identity`` cursor: a
    JSON object ``{"id", "handle", "roster_handle"}``. ``id`` is the stable platform id
    (DID, Mastodon or X user id), ``handle`` the handle it has now, ``roster_handle``
    the roster's handle when the id was pinned. While the roster keeps naming the same
    handle, later fetches follow the pinned id, not the handle, so a rename (or a handle
    taken over by someone else) can never swap the person being watched.

Walks
    Timelines are read newest first. A stream's cursor is a JSON ``Walk``: ``seen`` is
    the newest id of the last finished walk; while a walk is in progress, ``top`` is the
    newest id of that walk and ``next`` the platform's token for the next older page.
    Each page's cursor says exactly how far the walk got, so a crash between pages
    resumes at the next page, and a finished walk stops at ``seen`` next time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.errors import ConfigError, RetryLater, SourceError
from monitor.model import Account, Cursor, Fetched, Item, Kind, Page, Raw, Skipped, Subject

IDENTITY_STREAM = "identity"


@dataclass(frozen=True)
class Identity:
    """Who a roster handle turned out to be: the stable id and the current handle."""

    id: str
    handle: str
    roster_handle: str

    def cursor(self) -> Cursor:
        """The identity as the cursor of the ``identity`` stream."""
        value = json.dumps(
            {"id": self.id, "handle": self.handle, "roster_handle": self.roster_handle},
            sort_keys=True,
        )
        return Cursor(IDENTITY_STREAM, value)

    @classmethod
    def from_cursor(cls, cursor: Cursor | None) -> Identity | None:
        """The identity stored in ``cursor``, or ``None`` if there is none or it is unreadable."""
        if cursor is None:
            return None
        try:
            data = json.loads(cursor.value)
            return cls(str(data["id"]), str(data["handle"]), str(data["roster_handle"]))
        except (ValueError, KeyError, TypeError):
            return None

    def pinned_for(self, roster_handle: str) -> bool:
        """Whether this pinned identity still applies to the roster's ``roster_handle``."""
        return normal_handle(self.roster_handle) == normal_handle(roster_handle)


def identity_of(cursors: Mapping[str, Cursor]) -> Identity | None:
    """The identity stored among an account's cursors, if any."""
    return Identity.from_cursor(cursors.get(IDENTITY_STREAM))


def renamed(old: Cursor | None, new: Cursor) -> tuple[str, str] | None:
    """``(old_handle, new_handle)`` when two identity cursors show the same id renamed."""
    before, after = Identity.from_cursor(old), Identity.from_cursor(new)
    if before and after and before.id == after.id and before.handle != after.handle:
        return before.handle, after.handle
    return None


def normal_handle(handle: str) -> str:
    """A handle as compared: no leading ``@``, lower case, no surrounding space."""
    return handle.strip().lstrip("@").lower()


@dataclass(frozen=True)
class Walk:
    """Where a newest-first walk over one timeline stands (see the module docstring)."""

    seen: str | None = None
    top: str | None = None
    next: str | None = None

    def encode(self) -> str:
        """The walk as a cursor value."""
        return json.dumps({"seen": self.seen, "top": self.top, "next": self.next}, sort_keys=True)

    @classmethod
    def decode(cls, cursor: Cursor | None) -> Walk:
        """The walk stored in ``cursor``; a bare string is taken as ``seen``."""
        if cursor is None or not cursor.value:
            return cls()
        try:
            data = json.loads(cursor.value)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            # A plain id (e.g. written by hand or by an older version): stop there.
            return cls(seen=cursor.value)
        return cls(
            seen=_opt_str(data.get("seen")),
            top=_opt_str(data.get("top")),
            next=_opt_str(data.get("next")),
        )

    def step(
        self,
        ids: Sequence[str],
        next_token: str | None,
        newer: Callable[[str, str], bool],
        too_old: Sequence[bool] = (),
    ) -> tuple[int, Walk, bool]:
        """Account for one newest-first page of ``ids``.

        Returns how many leading ids are new (older than or equal to ``seen`` is old, and so
        is anything flagged in ``too_old``, i.e. before the backfill horizon), the walk to
        store after this page, and whether the walk is finished.
        """
        keep = 0
        for i, ident in enumerate(ids):
            if self.seen is not None and not newer(ident, self.seen):
                break
            if i < len(too_old) and too_old[i]:
                break
            keep += 1
        top = self.top if self.top is not None else (ids[0] if ids else None)
        done = keep < len(ids) or not ids or not next_token
        if done:
            best = self.seen
            if top is not None and (best is None or newer(top, best)):
                best = top
            return keep, Walk(seen=best), True
        return keep, Walk(seen=self.seen, top=top, next=next_token), False


def as_object(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (for tolerant reading)."""
    return value if isinstance(value, dict) else {}


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def newer_tid(a: str, b: str) -> bool:
    """Whether record key ``a`` sorts after ``b`` (AT Protocol TIDs sort as strings)."""
    return a > b


def newer_snowflake(a: str, b: str) -> bool:
    """Whether numeric id ``a`` (Mastodon, X) is greater than ``b``."""
    return (len(a), a) > (len(b), b)


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime, or ``None`` if it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def tid_time(rkey: str) -> datetime | None:
    """The creation time an AT Protocol TID encodes, or ``None`` if ``rkey`` is not a TID."""
    alphabet = "234567abcdefghijklmnopqrstuvwxyz"
    if len(rkey) != 13 or any(c not in alphabet for c in rkey):
        return None
    n = 0
    for c in rkey:
        n = n * 32 + alphabet.index(c)
    try:
        return datetime.fromtimestamp((n >> 10) / 1_000_000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def older_than(when: datetime | None, horizon: datetime | None) -> bool:
    """Whether ``when`` lies before the backfill ``horizon`` (never, without one)."""
    return horizon is not None and when is not None and when < horizon


def chunks(seq: Sequence[str], size: int) -> list[list[str]]:
    """``seq`` cut into lists of at most ``size``."""
    return [list(seq[i : i + size]) for i in range(0, len(seq), size)]


def scan_done(cursor: Cursor | None) -> list[str]:
    """The post ids an unfinished reverse scan already did, from its cursor."""
    if cursor is None:
        return []
    try:
        data = json.loads(cursor.value)
    except ValueError:
        return []
    done = data.get("done") if isinstance(data, dict) else None
    return [str(d) for d in done] if isinstance(done, list) else []


def scan_cursor(stream: str, done: list[str], finished: bool) -> Cursor:
    """The cursor after one post of a reverse scan: ``{"done": [...]}``, or ``{}`` when finished."""
    return Cursor(stream, "{}" if finished else json.dumps({"done": done}))


def engagement(platform: str, item_id: str, kind: Kind, actor: str, actor_id: str | None,
               roster: Account, subject: Subject, evidence: Mapping[str, Any], found_via: str,
               seen_at: datetime, raw: Raw) -> Fetched:
    """A like or repost found in reverse, from the engaged post's who-list.

    Platforms do not publish when a like happened, so ``created_at`` is when it
    was first seen (``extra["created_at_is"]`` says so).
    """
    return Fetched(
        Item(platform=platform, id=item_id, kind=kind, actor=actor, actor_id=actor_id,
             created_at=seen_at, url=subject.url, subject=subject,
             extra={"created_at_is": "first_seen", "account_key": roster.key,
                    "subject_evidence": evidence, "found_via": found_via}),
        raw,
    )


def token_from(env: Mapping[str, str], source: str, variable: str) -> str:
    """The secret in environment variable ``variable``; ``ConfigError`` when it is not set."""
    token = env.get(variable)
    if not token:
        raise ConfigError(f"[sources.{source}].token_env", f"environment variable {variable} is not set")
    return token


def per_target(platform: str, targets: Sequence[str],
               scan: Callable[[str, str], Iterator[Page]]) -> Iterator[Page]:
    """``fetch_reverse``'s loop: ``scan(target, key)`` for each target, one failing target at a time.

    A target that cannot be read (deleted, suspended, a bad answer) becomes a
    skipped page under its key and the others go on; ``RetryLater`` (rate
    limits) stops the whole scan, as it would stop any other request.
    """
    for target in targets:
        key = f"reverse:{platform}:{target}"
        try:
            yield from scan(target, key)
        except RetryLater:
            raise
        except SourceError as exc:
            yield Page(key, skipped=[Skipped(key, str(exc))])
