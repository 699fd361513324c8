"""The reverse scan every platform with public who-lists shares (Mastodon, X).

Likes are private on these platforms from the liker's side, but who liked or reposted
one public post is listed. ``ReverseScan.fetch_reverse`` owns the loop: for each target
(a candidate's or party's account) read its recent posts, walk each post's who-lists page
by page, report the monitored accounts found there, and after each post yield a cursor
listing the posts already done, so a crash resumes after them. A target that cannot be
read becomes a skipped page and the others go on.

A platform supplies ``recent_posts``, ``watcher_index``, ``who_url``, ``who_params``
and ``parse_people``; ``actor_name`` may pick how the actor is spelled, ``act_id`` and
``actor_id_of`` the item id and the actor's stable id (Mastodon: per instance).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from monitor.model import Account, Cursor, Kind, Page, Subject
from sources.common import engagement, per_target, scan_cursor, scan_done
from sources.http import NotFound, Response

REVERSE_STREAM = "reverse"  # the one stream of a reverse target's account_key


@dataclass(frozen=True)
class WhoList:
    """One who-list of a post: its endpoint, the kind of act, the prefix of the made-up item id."""

    path: str
    kind: Kind
    prefix: str


@dataclass(frozen=True)
class Person:
    """One entry of a who-list: the platform's user id and the handle it shows."""

    id: str
    handle: str


@dataclass(frozen=True)
class TargetPost:
    """One recent post of a target, with what it says (the subject of any like or repost)."""

    id: str
    subject: Subject


WatcherIndex = Callable[[Person], Account | None]


class ReverseScan(ABC):
    """Mixin of connectors that find likes and reposts from the engaged posts' side."""

    platform: ClassVar[str]
    who_lists: ClassVar[tuple[WhoList, ...]]

    @abstractmethod
    def get(self, url: str, params: Any = None) -> Response:
        """GET through the connector's HTTP client (``PollingSource.get``)."""

    @abstractmethod
    def recent_posts(self, target: str) -> tuple[list[TargetPost], dict[str, Any]]:
        """The target's recent posts to scan, and the response they came in as evidence."""

    @abstractmethod
    def watcher_index(self, watched: Sequence[Account]) -> WatcherIndex:
        """A function telling which monitored account (if any) a who-list entry is."""

    @abstractmethod
    def who_url(self, post_id: str, who: WhoList) -> str:
        """The URL of one who-list of a post."""

    @abstractmethod
    def who_params(self, token: str | None) -> dict[str, Any]:
        """The query of one who-list page, from the previous page's token."""

    @abstractmethod
    def parse_people(self, response: Response) -> tuple[list[Any], list[Person], str | None]:
        """One who-list page: its raw entries, the usable people among them, the next token."""

    def actor_name(self, person: Person, roster: Account) -> str:
        """How the actor of a found act is spelled: the roster's spelling by default."""
        return roster.handle.lstrip("@")

    def act_id(self, who: WhoList, post: TargetPost, person: Person) -> str:
        """The made-up item id of one act: ``<prefix>:<post>:<person>``."""
        return f"{who.prefix}:{post.id}:{person.id}"

    def actor_id_of(self, person: Person) -> str | None:
        """The actor's stable id: the who-list's user id by default (``None``: not known here)."""
        return person.id

    def fetch_reverse(
        self,
        targets: Sequence[str],
        watched: Sequence[Account],
        cursors: Mapping[str, Mapping[str, Cursor]],
    ) -> Iterator[Page]:
        """Pages of likes and reposts by ``watched`` accounts on ``targets``' recent posts.

        Every cycle rescans each target's recent posts (likes keep arriving on old posts);
        items are found again each cycle and rely on de-duplication by ``Item.key``.
        """
        index = self.watcher_index([a for a in watched if a.platform == self.platform])
        yield from per_target(self.platform, targets, lambda target, key: self._scan_target(
            target, key, index, cursors.get(key, {})))

    def _scan_target(
        self, target: str, key: str, index: WatcherIndex, cursors: Mapping[str, Cursor]
    ) -> Iterator[Page]:
        done = scan_done(cursors.get(REVERSE_STREAM))
        posts, evidence = self.recent_posts(target)
        for post in posts:
            if post.id in done:
                continue
            for who in self.who_lists:
                yield from self._scan_who_list(key, post, evidence, who, index)
            done.append(post.id)
            # The last post closes the scan: the next cycle starts a fresh one.
            yield Page(key, cursor=scan_cursor(REVERSE_STREAM, done, finished=post is posts[-1]))

    def _scan_who_list(
        self, key: str, post: TargetPost, evidence: dict[str, Any], who: WhoList, index: WatcherIndex
    ) -> Iterator[Page]:
        token: str | None = None
        while True:
            try:
                response = self.get(self.who_url(post.id, who), self.who_params(token))
            except NotFound:
                return  # deleted since the post list was read
            entries, people, next_token = self.parse_people(response)
            items = []
            for person in people:
                roster = index(person)
                if roster is None:
                    continue
                items.append(engagement(
                    self.platform, self.act_id(who, post, person), who.kind,
                    self.actor_name(person, roster), self.actor_id_of(person),
                    roster, post.subject, evidence, who.path, response.fetched_at, response.raw()))
            if items:
                yield Page(key, items)
            if not next_token or next_token == token or not entries:
                return
            token = next_token
