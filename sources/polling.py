"""The page loop every polling connector shares, in the shape of meltano's ``RESTStream``.

``PollingSource.fetch`` owns the loop: look the account up (``identify``), yield the
identity page, then walk each of the account's timelines newest first, page by page,
stopping at the newest item of the last walk or at the backfill horizon, skipping a
malformed record, and yielding every page with the cursor that says how far the walk got.

A platform supplies only what differs:

``account_by_id``, ``account_by_handle`` (or ``identify`` as a whole)
    The account by its pinned id or by the roster's handle (see ``sources.common``).
``timelines(identity)``
    The streams to walk for that account, each with the URL of its listing.
``get_url_params(walk_of, walk)``
    The query of one page request, from the walk (its ``seen`` id and ``next`` token).
``parse_response(response, walk)``
    One page read: its well-formed records (id, time, object), what was skipped, the
    token of the next older page.
``make_item(walk_of, record, response)`` (or ``parse_items`` for a whole page)
    One record as an ``Item``; ``BadItem`` skips it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from monitor.errors import BadItem
from monitor.model import Account, Cursor, Fetched, Item, Page, Skipped
from sources.common import (
    IDENTITY_STREAM,
    Identity,
    Walk,
    identity_of,
    newer_snowflake,
    normal_handle,
    older_than,
    renamed,
)
from sources.http import BadResponse, HttpClient, HttpSettings, RequestRejected, Response


@dataclass(frozen=True)
class Record:
    """One well-formed record of a listing page: the id the walk orders by, its time, its JSON object."""

    id: str
    created_at: datetime | None
    data: dict[str, Any]
    # What the page says beside its records that items need (X: the included tweets and users).
    page_context: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class ParsedPage:
    """What ``parse_response`` read from one listing page, newest record first."""

    records: list[Record]
    skipped: list[Skipped] = field(default_factory=list)
    next_token: str | None = None


@dataclass(frozen=True)
class Timeline:
    """One stream of an account: the cursor's name, the listing's URL, and what it lists."""

    stream: str
    url: str
    lists: str = ""  # a platform's name for the listing (Bluesky: the collection NSID)


@dataclass(frozen=True)
class Found:
    """An account as the platform answers it: its stable id, its handle now, other spellings of it."""

    id: str
    handle: str
    spellings: tuple[str, ...] = ()


@dataclass(frozen=True)
class WalkOf:
    """Whose timeline a page belongs to: what a platform needs to ask for and read a page."""

    account: Account
    identity: Identity
    timeline: Timeline
    renamed_from: str | None


class PollingSource(ABC):
    """Base of the connectors that poll each account's timelines over HTTP."""

    name: str
    settings: HttpSettings
    http: HttpClient
    platform: ClassVar[str]
    version: ClassVar[str]
    # Whether a pagination token the platform refuses (4xx) restarts the walk from the newest
    # item rather than failing the account: for platforms whose tokens expire.
    restart_on_rejected_token: ClassVar[bool] = False
    timeline_streams: ClassVar[tuple[str, ...]] = ()  # the streams ``timelines`` walks

    def close(self) -> None:
        """Close the HTTP connection pool (it reopens on next use)."""
        self.http.close()

    @staticmethod
    def newer(a: str, b: str) -> bool:
        """Whether record id ``a`` is newer than ``b`` (numeric ids by default)."""
        return newer_snowflake(a, b)

    def request_headers(self) -> Mapping[str, str] | None:
        """Headers every request carries: the bearer token of connectors that have a ``token``."""
        token = getattr(self, "token", None)
        return {"Authorization": f"Bearer {token}"} if token else None

    def get(self, url: str, params: Any = None) -> Response:
        """GET ``url`` through the shared HTTP client with this connector's headers."""
        return self.http.get(url, params, headers=self.request_headers())

    def api_url(self, path: str) -> str:
        """``path`` on the platform's API (the settings' ``base_url``)."""
        return f"{getattr(self.settings, 'base_url', '').rstrip('/')}{path}"

    def identify(self, account: Account, cursors: Mapping[str, Cursor]) -> Identity:
        """The account's stable id and current handle: the pinned id while the roster names the
        same handle, else the roster's handle looked up (see ``sources.common``)."""
        stored = identity_of(cursors)
        if stored is not None and stored.pinned_for(account.handle):
            found = self.account_by_id(stored.id, account.handle)
        else:
            found = self.account_by_handle(account.handle)
        same = normal_handle(account.handle) in {normal_handle(s) for s in (found.handle, *found.spellings)}
        # The roster's spelling when it names the same account, so no false rename shows.
        return Identity(found.id, account.handle.lstrip("@") if same else found.handle, account.handle)

    # -- what a platform supplies ------------------------------------------------------

    def account_by_id(self, account_id: str, roster_handle: str) -> Found:
        """The account with the stable id ``account_id`` (``roster_handle`` names it in errors)."""
        raise NotImplementedError

    def account_by_handle(self, handle: str) -> Found:
        """The account the roster's ``handle`` names now."""
        raise NotImplementedError

    @abstractmethod
    def timelines(self, identity: Identity) -> list[Timeline]:
        """The streams to walk for the account ``identity`` names, in order."""

    @abstractmethod
    def get_url_params(self, walk_of: WalkOf, walk: Walk) -> dict[str, Any]:
        """The query of the next page request of ``walk``."""

    @abstractmethod
    def parse_response(self, response: Response, walk: Walk) -> ParsedPage:
        """One listing page: its records newest first, what was skipped, the next token."""

    def make_item(self, walk_of: WalkOf, record: Record, response: Response) -> Item:
        """One record as an item; ``BadItem`` when it cannot be one."""
        raise NotImplementedError

    def parse_items(
        self, walk_of: WalkOf, records: list[Record], response: Response
    ) -> tuple[list[Fetched], list[Skipped]]:
        """The new records of a page as items (each with the page as evidence), and the skipped."""
        raw = response.raw()
        items: list[Fetched] = []
        skipped: list[Skipped] = []
        for record in records:
            try:
                items.append(Fetched(self.make_item(walk_of, record, response), raw))
            except BadItem as exc:
                skipped.append(Skipped(exc.where, exc.what))
        return items, skipped

    # -- the loop ----------------------------------------------------------------------

    def streams(self) -> list[str]:
        """``identity`` and the timeline streams (cursors kept per account)."""
        return [IDENTITY_STREAM, *self.timeline_streams]

    def fetch(self, account: Account, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        """An identity page, then pages of new items of each timeline, newest first."""
        identity = self.identify(account, cursors)
        yield Page(account.key, cursor=identity.cursor())
        change = renamed(cursors.get(IDENTITY_STREAM), identity.cursor())
        renamed_from = change[0] if change else None
        for timeline in self.timelines(identity):
            walk_of = WalkOf(account, identity, timeline, renamed_from)
            yield from self.walk(walk_of, Walk.decode(cursors.get(timeline.stream)))

    def walk(self, walk_of: WalkOf, walk: Walk) -> Iterator[Page]:
        """Pages of one timeline from where ``walk`` stands down to its ``seen`` id or the horizon."""
        horizon = self.settings.horizon()
        stream = walk_of.timeline.stream
        while True:
            try:
                response = self.get(walk_of.timeline.url, self.get_url_params(walk_of, walk))
            except RequestRejected:
                if not (walk.next and self.restart_on_rejected_token):
                    raise
                # A stored token the platform no longer accepts: walk again from the newest
                # item down to ``seen``; what is read twice is dropped by its key.
                walk = Walk(seen=walk.seen)
                continue
            page = self.parse_response(response, walk)
            if page.next_token is not None and page.next_token == walk.next:
                raise BadResponse(f"{response.url}: the next-page token did not move")
            too_old = [older_than(r.created_at, horizon) for r in page.records]
            ids = [r.id for r in page.records]
            keep, after, done = walk.step(ids, page.next_token, self.newer, too_old)
            items, bad = self.parse_items(walk_of, page.records[:keep], response)
            yield Page(walk_of.account.key, items, page.skipped + bad, Cursor(stream, after.encode()))
            if done:
                return
            walk = after
