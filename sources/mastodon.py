"""Mastodon connector: an account's posts, replies, quotes and boosts, and likes in reverse.

Mastodon never shows which statuses an account favourited, but who favourited or boosted
a public status is public (``/api/v1/statuses/:id/favourited_by`` and ``/reblogged_by``).
So ``fetch`` reads the monitored account's own statuses (``/api/v1/accounts/:id/statuses``,
newest first, paginated through the ``Link`` header), and ``fetch_reverse`` reads the
candidates' and parties' recent statuses and reports the monitored accounts among those
who favourited or boosted them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field

from monitor.errors import AccountUnavailable, BadItem, RetryLater, SourceError
from monitor.model import Account, Item, Kind, Skipped, Subject
from sources.base import SourceContext, SourceSettings
from sources.common import Identity, Walk, as_object, normal_handle, parse_time, token_from
from sources.formats import html_to_text, next_link_param
from sources.http import BadResponse, HttpClient, HttpSettings, Response
from sources.polling import Found, ParsedPage, PollingSource, Record, Timeline, WalkOf
from sources.reverse import Person, ReverseScan, TargetPost, WatcherIndex, WhoList

VERSION = "1.0.0"  # the connector's version, recorded with every raw response


class MastodonSettings(HttpSettings):
    """``[sources.<name>]`` keys of a ``type = "mastodon"`` source."""

    base_url: str  # the instance, e.g. "https://mastodon.social"
    domain: str | None = None  # the instance's account domain; default: base_url's host
    token_env: str | None = None  # optional: public reads need no token
    page_size: int = Field(40, ge=1, le=40)
    fetch_reply_parents: bool = True  # read the replied-to status's text
    reverse_posts: int = Field(20, ge=1, le=40)  # recent statuses per target checked in reverse


def next_max_id(link: str | None) -> str | None:
    """The ``max_id`` of the next page in a ``Link`` header."""
    return next_link_param(link, "max_id")


@dataclass
class MastodonSource(PollingSource, ReverseScan):
    """Reads one Mastodon instance: monitored accounts' statuses, and favourites in reverse."""

    type_name: ClassVar[str] = "mastodon"
    Settings: ClassVar[type[SourceSettings]] = MastodonSettings
    platform: ClassVar[str] = "mastodon"
    version: ClassVar[str] = VERSION
    timeline_streams: ClassVar[tuple[str, ...]] = ("statuses",)
    who_lists: ClassVar[tuple[WhoList, ...]] = (
        WhoList("favourited_by", "like", "fav"),
        WhoList("reblogged_by", "repost", "boost"),
    )

    name: str
    settings: MastodonSettings
    http: HttpClient
    token: str | None = None

    @classmethod
    def from_settings(cls, name: str, settings: Any, ctx: SourceContext) -> MastodonSource:
        """Build the connector; the token (if any) is read from ``ctx.env[token_env]``."""
        token = token_from(ctx.env, name, settings.token_env) if settings.token_env else None
        return cls(name, settings, HttpClient(f"mastodon:{name}", VERSION, ctx, settings.policy()), token)

    @property
    def domain(self) -> str:
        """The account domain local accounts get in their full ``user@domain`` handle."""
        return (self.settings.domain or urlsplit(self.settings.base_url).hostname or "").lower()

    def full_acct(self, acct: str) -> str:
        """``acct`` as ``user@domain`` (Mastodon leaves the domain off local accounts)."""
        acct = acct.lstrip("@")
        return acct if "@" in acct else f"{acct}@{self.domain}"

    # -- identity ----------------------------------------------------------------------

    def lookup(self, handle: str) -> dict[str, Any]:
        """The Account entity of ``handle`` (``user`` or ``user@domain``)."""
        acct = normal_handle(handle)
        if acct.endswith("@" + self.domain):
            acct = acct[: -len(self.domain) - 1]
        data = self.get(self.api_url("/api/v1/accounts/lookup"), {"acct": acct}).json()
        return _account_entity(data, handle)

    def account_by_id(self, account_id: str, roster_handle: str) -> Found:
        """``/api/v1/accounts/:id``."""
        return self._found(_account_entity(self.get(self.api_url(f"/api/v1/accounts/{account_id}")).json(),
                                           roster_handle), roster_handle)

    def account_by_handle(self, handle: str) -> Found:
        """``/api/v1/accounts/lookup``."""
        return self._found(self.lookup(handle), handle)

    def _found(self, entity: dict[str, Any], roster_handle: str) -> Found:
        if entity.get("suspended"):
            raise AccountUnavailable(f"{roster_handle}: suspended")
        return Found(str(entity["id"]), self.full_acct(str(entity["acct"])), (str(entity["acct"]),))

    # -- the account's own statuses ----------------------------------------------------

    def timelines(self, identity: Identity) -> list[Timeline]:
        """The account's statuses (boosts and replies included)."""
        return [Timeline("statuses", self.api_url(f"/api/v1/accounts/{identity.id}/statuses"))]

    def get_url_params(self, walk_of: WalkOf, walk: Walk) -> dict[str, Any]:
        """A page below ``max_id`` (the walk's token) and above ``since_id`` (its ``seen``)."""
        params: dict[str, Any] = {"limit": self.settings.page_size}
        if walk.next:
            params["max_id"] = walk.next
        if walk.seen:
            params["since_id"] = walk.seen
        return params

    def parse_response(self, response: Response, walk: Walk) -> ParsedPage:
        """The statuses of a page; the next page is the ``Link`` header's ``rel="next"``."""
        data = response.json()
        if not isinstance(data, list):
            raise BadResponse(f"{response.url}: not a list of statuses")
        records, skipped = [], []
        for i, st in enumerate(data):
            if isinstance(st, dict) and isinstance(st.get("id"), str):
                records.append(Record(st["id"], parse_time(st.get("created_at")), st))
            else:
                skipped.append(Skipped(f"{response.url} [{i}]", "not a status"))
        return ParsedPage(records, skipped, next_max_id(response.headers.get("link")))

    def make_item(self, walk_of: WalkOf, record: Record, response: Response) -> Item:
        """A post, reply, quote or boost of the account."""
        st, ident = record.data, walk_of.identity
        where = f"{response.url} status {st.get('id')}"
        if str(as_object(st.get("account")).get("id")) != ident.id:
            # Evidence must be the account's own status, whatever the server mixed in.
            raise BadItem(where, f"not a status of account {ident.id}")
        if record.created_at is None:
            raise BadItem(where, "no valid created_at")
        extra: dict[str, Any] = {
            "uri": st.get("uri"),
            "visibility": st.get("visibility"),
            "language": st.get("language"),
            "roster_handle": walk_of.account.handle,
            "account_key": walk_of.account.key,
        }
        if walk_of.renamed_from:
            extra["previous_handle"] = walk_of.renamed_from
        kind: Kind = "post"
        subject = None
        text: str | None = html_to_text(str(st.get("content") or ""))
        reblog = st.get("reblog")
        quote = st.get("quote") if isinstance(st.get("quote"), dict) else None
        if isinstance(reblog, dict):
            kind, text = "repost", None
            subject = self._subject(reblog)
        elif st.get("in_reply_to_id"):
            kind = "reply"
            subject = self._parent(st, extra)
        elif quote and isinstance(quote.get("quoted_status"), dict):
            kind = "quote"
            subject = self._subject(quote["quoted_status"])
        return Item(
            platform=self.platform,
            id=str(st["id"]),
            kind=kind,
            actor=ident.handle,
            actor_id=ident.id,
            created_at=record.created_at,
            text=text,
            url=st.get("url") or st.get("uri"),
            subject=subject,
            extra=extra,
        )

    def _subject(self, st: dict[str, Any]) -> Subject:
        acc = as_object(st.get("account"))
        return Subject(
            id=str(st.get("id")),
            author=self.full_acct(str(acc.get("acct") or acc.get("id") or "")),
            text=html_to_text(str(st.get("content") or "")),
            url=st.get("url") or st.get("uri"),
        )

    def _parent(self, st: dict[str, Any], extra: dict[str, Any]) -> Subject:
        parent_id = str(st["in_reply_to_id"])
        author_id = str(st.get("in_reply_to_account_id") or "")
        author = author_id
        for m in st.get("mentions") or []:
            if isinstance(m, dict) and str(m.get("id")) == author_id and m.get("acct"):
                author = self.full_acct(str(m["acct"]))
        if author_id == str((st.get("account") or {}).get("id")):
            author = self.full_acct(str(st["account"].get("acct")))
        extra["subject_author_id"] = author_id
        if self.settings.fetch_reply_parents:
            try:
                resp = self.get(self.api_url(f"/api/v1/statuses/{parent_id}"))
                parent = resp.json()
                if isinstance(parent, dict):
                    extra["subject_evidence"] = resp.evidence()
                    return self._subject(parent)
            except RetryLater:
                raise
            except SourceError as exc:  # deleted or private since: keep the reply, note why
                extra["subject_error"] = str(exc)
        return Subject(parent_id, author, None, None)

    # -- reverse: who favourited or boosted the candidates' statuses -------------------

    def recent_posts(self, target: str) -> tuple[list[TargetPost], dict[str, Any]]:
        """The target's recent statuses (boosts left out)."""
        entity = self.lookup(target)
        resp = self.get(
            self.api_url(f"/api/v1/accounts/{entity['id']}/statuses"),
            {"limit": min(40, max(1, self.settings.reverse_posts)), "exclude_reblogs": "true"},
        )
        statuses = resp.json()
        if not isinstance(statuses, list):
            raise BadResponse(f"{resp.url}: not a list of statuses")
        statuses = [s for s in statuses if isinstance(s, dict) and isinstance(s.get("id"), str)]
        posts = [TargetPost(st["id"], self._subject(st)) for st in statuses[: self.settings.reverse_posts]]
        return posts, resp.evidence()

    def watcher_index(self, watched: Sequence[Account]) -> WatcherIndex:
        """Matches by the full ``user@domain`` handle."""
        index = {normal_handle(self.full_acct(a.handle)): a for a in watched}
        return lambda person: index.get(normal_handle(self.full_acct(person.handle)))

    def who_url(self, post_id: str, who: WhoList) -> str:
        """``/api/v1/statuses/:id/favourited_by`` or ``/reblogged_by``."""
        return self.api_url(f"/api/v1/statuses/{post_id}/{who.path}")

    def who_params(self, token: str | None) -> dict[str, Any]:
        """80 accounts a page, below ``max_id``."""
        return {"limit": 80, **({"max_id": token} if token else {})}

    def parse_people(self, response: Response) -> tuple[list[Any], list[Person], str | None]:
        """The accounts of a who-list page; the next page is the ``Link`` header's ``rel="next"``."""
        entries = response.json()
        if not isinstance(entries, list):
            raise BadResponse(f"{response.url}: not a list of accounts")
        # Without its id an act cannot get a stable item id (de-duplication): skip it.
        people = [Person(acc["id"], str(acc["acct"])) for acc in entries
                  if isinstance(acc, dict) and acc.get("acct") and isinstance(acc.get("id"), str)]
        return entries, people, next_max_id(response.headers.get("link"))


def _account_entity(data: Any, handle: str) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data.get("acct"):
        raise BadResponse(f"{handle}: the answer is not a Mastodon Account")
    return data
