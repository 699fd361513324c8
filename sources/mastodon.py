"""Mastodon connector: an account's posts, replies, quotes and boosts, and likes in reverse.

Mastodon never shows which statuses an account favourited, but who favourited or boosted
a public status is public (``/api/v1/statuses/:id/favourited_by`` and ``/reblogged_by``).
So ``fetch`` reads the monitored account's own statuses (``/api/v1/accounts/:id/statuses``,
newest first, paginated through the ``Link`` header), and ``fetch_reverse`` reads the
candidates' and parties' recent statuses and reports the monitored accounts among those
who favourited or boosted them.

Each handle is read from its own instance (``sources.mastodon_instances``): ``MastodonSource``
routes every account and reverse target to the ``MastodonInstance`` of its domain, each with
its own HTTP client (budget, rate limits) and token. Status and account ids are per instance,
so ids read from any instance but the home one are qualified as ``<domain>/<id>``; the home
instance's ids stay bare, as stored before instances existed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from monitor.errors import AccountUnavailable, BadItem, RetryLater, SourceError
from monitor.model import Account, Cursor, Item, Kind, Page, Skipped, Subject
from sources.base import SourceContext, SourceSettings
from sources.common import Identity, Walk, as_object, normal_handle, parse_time, per_target, token_from
from sources.formats import html_to_text, next_link_param
from sources.http import BadResponse, HttpClient, Response
from sources.mastodon_instances import InstanceNotAllowed, InstancePlan, MastodonSettings
from sources.polling import Found, ParsedPage, PollingSource, Record, Timeline, WalkOf
from sources.reverse import Person, ReverseScan, TargetPost, WatcherIndex, WhoList

__all__ = ["InstanceNotAllowed", "MastodonInstance", "MastodonSettings", "MastodonSource", "html_to_text",
           "next_max_id"]

VERSION = "1.0.0"  # the connector's version, recorded with every raw response


def next_max_id(link: str | None) -> str | None:
    """The ``max_id`` of the next page in a ``Link`` header."""
    return next_link_param(link, "max_id")


@dataclass
class MastodonInstance(PollingSource, ReverseScan):
    """Reads one Mastodon instance for a source: its accounts' statuses, and favourites in reverse."""

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
    plan: InstancePlan
    token: str | None = None

    @property
    def domain(self) -> str:
        """The account domain local accounts get in their full ``user@domain`` handle."""
        return self.plan.domain

    def api_url(self, path: str) -> str:
        """``path`` on this instance."""
        return f"{self.plan.base_url.rstrip('/')}{path}"

    def full_acct(self, acct: str) -> str:
        """``acct`` as ``user@domain`` (Mastodon leaves the domain off local accounts)."""
        acct = acct.lstrip("@")
        return acct if "@" in acct else f"{acct}@{self.domain}"

    def qualify(self, local_id: str) -> str:
        """An id of this instance as stored: bare on the home instance, ``<domain>/<id>`` elsewhere."""
        return local_id if self.plan.home else f"{self.domain}/{local_id}"

    def local_id(self, stored_id: str) -> str | None:
        """The instance's own id in a stored one, or ``None`` when it was not read here."""
        if self.plan.home:
            return None if "/" in stored_id else stored_id
        prefix = f"{self.domain}/"
        return stored_id[len(prefix):] if stored_id.startswith(prefix) else None

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
        local = self.local_id(account_id)
        if local is None:
            # Pinned on another instance (before each handle was read from its own): the
            # id means nothing here, so the handle is looked up afresh.
            return self.account_by_handle(roster_handle)
        return self._found(_account_entity(self.get(self.api_url(f"/api/v1/accounts/{local}")).json(),
                                           roster_handle), roster_handle)

    def account_by_handle(self, handle: str) -> Found:
        """``/api/v1/accounts/lookup``."""
        return self._found(self.lookup(handle), handle)

    def _found(self, entity: dict[str, Any], roster_handle: str) -> Found:
        if entity.get("suspended"):
            raise AccountUnavailable(f"{roster_handle}: suspended")
        acct = str(entity["acct"])
        return Found(self.qualify(str(entity["id"])), self.full_acct(acct), (acct,))

    # -- the account's own statuses ----------------------------------------------------

    def timelines(self, identity: Identity) -> list[Timeline]:
        """The account's statuses (boosts and replies included)."""
        local = self.local_id(identity.id) or identity.id
        return [Timeline("statuses", self.api_url(f"/api/v1/accounts/{local}/statuses"))]

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
        if self.qualify(str(as_object(st.get("account")).get("id"))) != ident.id:
            # Evidence must be the account's own status, whatever the server mixed in.
            raise BadItem(where, f"not a status of account {ident.id}")
        if record.created_at is None:
            raise BadItem(where, "no valid created_at")
        extra: dict[str, Any] = {
            "uri": st.get("uri"),
            "visibility": st.get("visibility"),
            "language": st.get("language"),
            "instance": self.domain,
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
            id=self.qualify(str(st["id"])),
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
            id=self.qualify(str(st.get("id"))),
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
        extra["subject_author_id"] = self.qualify(author_id) if author_id else author_id
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
        return Subject(self.qualify(parent_id), author, None, None)

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
        """Matches by the full ``user@domain`` handle.

        A bare roster handle is on the home instance; a who-list's bare ``acct`` is local to
        this instance (a home watcher shows as ``budi@<home>`` on another instance).
        """
        home = self.settings.home_domain
        index = {_with_domain(a.handle, home): a for a in watched}
        return lambda person: index.get(_with_domain(person.handle, self.domain))

    def act_id(self, who: WhoList, post: TargetPost, person: Person) -> str:
        """``fav:<status>:<account>``, the status qualified off the home instance (the account id
        is of the same instance, so the pair is unique)."""
        return f"{who.prefix}:{self.qualify(post.id)}:{person.id}"

    def actor_id_of(self, person: Person) -> str | None:
        """The stable id of an account local to this instance; ``None`` for a remote one, whose
        id here is this instance's copy, not the id its own instance gives it."""
        local = _with_domain(person.handle, self.domain).endswith("@" + self.domain)
        return self.qualify(person.id) if local else None

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


@dataclass
class MastodonSource:
    """A ``type = "mastodon"`` source: each account and reverse target read from its own instance."""

    type_name: ClassVar[str] = "mastodon"
    Settings: ClassVar[type[SourceSettings]] = MastodonSettings
    platform: ClassVar[str] = "mastodon"
    version: ClassVar[str] = VERSION

    name: str
    settings: MastodonSettings
    ctx: SourceContext = field(default_factory=SourceContext)
    # By account domain: the home and listed instances, then any other read (allow_any_instance).
    readers: dict[str, MastodonInstance] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, name: str, settings: Any, ctx: SourceContext) -> MastodonSource:
        """Build the connector; each listed instance's token is read from ``ctx.env`` now."""
        src = cls(name, settings, ctx)
        for plan in settings.listed_plans():
            src.readers[plan.domain] = src._reader(plan)
        return src

    def _reader(self, plan: InstancePlan) -> MastodonInstance:
        where = self.name if plan.home else f"{self.name}.instances.{plan.domain}"
        token = token_from(self.ctx.env, where, plan.token_env) if plan.token_env else None
        http = HttpClient(f"mastodon:{self.name}", VERSION, self.ctx, plan.policy)
        return MastodonInstance(self.name, self.settings, http, plan, token)

    @property
    def home(self) -> MastodonInstance:
        """The reader of the home instance (``base_url``)."""
        return self.readers[self.settings.home_domain]

    @property
    def http(self) -> HttpClient:
        """The home instance's HTTP client."""
        return self.home.http

    def reader(self, handle: str) -> MastodonInstance:
        """The reader of ``handle``'s instance; ``InstanceNotAllowed`` when it may not be read."""
        domain = self.settings.domain_of(handle)
        found = self.readers.get(domain)
        if found is None:
            found = self.readers[domain] = self._reader(self.settings.plan(domain, handle))
        return found

    def streams(self) -> list[str]:
        """``identity`` and ``statuses``."""
        return self.home.streams()

    def close(self) -> None:
        """Close every instance's connection pool."""
        for r in self.readers.values():
            r.close()

    def fetch(self, account: Account, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        """The account's pages, read from its own instance."""
        # A generator, so a refused instance is raised where the pipeline catches account errors.
        yield from self.reader(account.handle).fetch(account, cursors)

    def fetch_reverse(
        self,
        targets: Sequence[str],
        watched: Sequence[Account],
        cursors: Mapping[str, Mapping[str, Cursor]],
    ) -> Iterator[Page]:
        """Each target scanned on its own instance, instance by instance.

        A rate limit of one instance (``RetryLater``) stops the scan of that instance only;
        the first such error is raised once every other instance has been scanned.
        """
        groups: dict[str, list[str]] = {}
        for target in targets:
            groups.setdefault(self.settings.domain_of(target), []).append(target)
        deferred: RetryLater | None = None
        for group in groups.values():
            try:
                yield from self._reverse_on(group, watched, cursors)
            except RetryLater as exc:
                deferred = deferred or exc
        if deferred is not None:
            raise deferred

    def _reverse_on(self, group: list[str], watched: Sequence[Account],
                    cursors: Mapping[str, Mapping[str, Cursor]]) -> Iterator[Page]:
        try:
            reader = self.reader(group[0])
        except InstanceNotAllowed:
            # Each refused target becomes a skipped page naming it, like any unreadable target.
            yield from per_target(self.platform, group, self._refused)
            return
        yield from reader.fetch_reverse(group, watched, cursors)

    def _refused(self, target: str, key: str) -> Iterator[Page]:
        self.reader(target)  # raises InstanceNotAllowed naming the target
        return iter(())


def _with_domain(handle: str, domain: str) -> str:
    """``handle`` compared as ``user@domain``, ``domain`` added when it has none."""
    acct = normal_handle(handle)
    return acct if "@" in acct else f"{acct}@{domain}"


def _account_entity(data: Any, handle: str) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data.get("acct"):
        raise BadResponse(f"{handle}: the answer is not a Mastodon Account")
    return data
