"""Mastodon connector: an account's posts, replies, quotes and boosts, and likes in reverse.

Mastodon never shows which statuses an account favourited, but who favourited or boosted
a public status is public (``/api/v1/statuses/:id/favourited_by`` and ``/reblogged_by``).
So ``fetch`` reads the monitored account's own statuses (``/api/v1/accounts/:id/statuses``,
newest first, paginated through the ``Link`` header), and ``fetch_reverse`` reads the
candidates' and parties' recent statuses and reports the monitored accounts among those
who favourited or boosted them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from pydantic import Field

from monitor.errors import AccountUnavailable, BadItem, RetryLater, SourceError
from monitor.model import Account, Cursor, Fetched, Item, Kind, Page, Skipped, Subject
from sources.base import SourceContext, SourceSettings, register
from sources.common import (
    IDENTITY_STREAM,
    Identity,
    Walk,
    engagement,
    identity_of,
    newer_snowflake,
    normal_handle,
    obj,
    older_than,
    parse_time,
    per_target,
    renamed,
    scan_cursor,
    scan_done,
    token_from,
)
from sources.http import BadResponse, HttpClient, HttpSettings, NotFound, Response

VERSION = "1.0.0"  # the connector's version, recorded with every raw response
REVERSE_STREAM = "reverse"  # the one stream of a reverse target's account_key
# Who-lists of a status: (endpoint, kind of item, prefix of the synthesised item id).
_LISTS: tuple[tuple[str, Kind, str], ...] = (
    ("favourited_by", "like", "fav"),
    ("reblogged_by", "repost", "boost"),
)


class MastodonSettings(HttpSettings):
    """``[sources.<name>]`` keys of a ``type = "mastodon"`` source."""

    base_url: str  # the instance, e.g. "https://mastodon.social"
    domain: str | None = None  # the instance's account domain; default: base_url's host
    token_env: str | None = None  # optional: public reads need no token
    page_size: int = Field(40, ge=1, le=40)
    fetch_reply_parents: bool = True  # read the replied-to status's text
    reverse_posts: int = Field(20, ge=1, le=40)  # recent statuses per target checked in reverse


class _Text(HTMLParser):
    """Mastodon status HTML as plain text: paragraphs and line breaks kept, tags dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p" and self.parts:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of a status's HTML ``content``."""
    parser = _Text()
    parser.feed(html or "")
    parser.close()
    return re.sub(r"\n{3,}", "\n\n", "".join(parser.parts)).strip()


def next_max_id(link: str | None) -> str | None:
    """The ``max_id`` of the ``rel="next"`` URL in a ``Link`` header."""
    for part in (link or "").split(","):
        m = re.match(r'\s*<([^>]*)>\s*;\s*rel="?next"?', part)
        if m:
            values = parse_qs(urlsplit(m.group(1)).query).get("max_id")
            return values[0] if values else None
    return None


@register
@dataclass
class MastodonSource:
    """Reads one Mastodon instance: monitored accounts' statuses, and favourites in reverse."""

    type_name: ClassVar[str] = "mastodon"
    Settings: ClassVar[type[SourceSettings]] = MastodonSettings

    name: str
    settings: MastodonSettings
    http: HttpClient
    token: str | None = None
    platform: str = "mastodon"
    version: str = VERSION

    @classmethod
    def from_settings(cls, name: str, settings: Any, ctx: SourceContext) -> MastodonSource:
        """Build the connector; the token (if any) is read from ``ctx.env[token_env]``."""
        token = token_from(ctx.env, name, settings.token_env) if settings.token_env else None
        return cls(name, settings, HttpClient(f"mastodon:{name}", VERSION, ctx, settings.policy()), token)

    def close(self) -> None:
        """Close the HTTP connection pool (it reopens on next use)."""
        self.http.close()

    def streams(self) -> list[str]:
        """``identity`` and ``statuses``."""
        return ["identity", "statuses"]

    @property
    def domain(self) -> str:
        """The account domain local accounts get in their full ``user@domain`` handle."""
        return (self.settings.domain or urlsplit(self.settings.base_url).hostname or "").lower()

    def full_acct(self, acct: str) -> str:
        """``acct`` as ``user@domain`` (Mastodon leaves the domain off local accounts)."""
        acct = acct.lstrip("@")
        return acct if "@" in acct else f"{acct}@{self.domain}"

    def _get(self, path: str, params: Any = None) -> Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        return self.http.get(f"{self.settings.base_url.rstrip('/')}{path}", params, headers=headers)

    # -- identity ----------------------------------------------------------------------

    def lookup(self, handle: str) -> dict[str, Any]:
        """The Account entity of ``handle`` (``user`` or ``user@domain``)."""
        acct = normal_handle(handle)
        if acct.endswith("@" + self.domain):
            acct = acct[: -len(self.domain) - 1]
        data = self._get("/api/v1/accounts/lookup", {"acct": acct}).json()
        return _account_entity(data, handle)

    def identify(self, account: Account, cursors: Mapping[str, Cursor]) -> Identity:
        """The account's id and current handle, pinned id first."""
        stored = identity_of(cursors)
        if stored is not None and stored.pinned_for(account.handle):
            resp = self._get(f"/api/v1/accounts/{stored.id}")
            entity = _account_entity(resp.json(), account.handle)
        else:
            entity = self.lookup(account.handle)
        if entity.get("suspended"):
            raise AccountUnavailable(f"{account.handle}: suspended")
        current = self.full_acct(str(entity["acct"]))
        # Keep the roster's spelling when it names the same account, so no false rename shows.
        if normal_handle(account.handle) in (
            normal_handle(current),
            normal_handle(str(entity["acct"])),
        ):
            current = account.handle.lstrip("@")
        return Identity(str(entity["id"]), current, account.handle)

    # -- the account's own statuses ----------------------------------------------------

    def fetch(self, account: Account, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        """An identity page, then pages of new statuses, newest first."""
        ident = self.identify(account, cursors)
        yield Page(account.key, cursor=ident.cursor())
        change = renamed(cursors.get(IDENTITY_STREAM), ident.cursor())
        renamed_from = change[0] if change else None
        state = Walk.decode(cursors.get("statuses"))
        horizon = self.settings.horizon()
        while True:
            params: dict[str, Any] = {"limit": self.settings.page_size}
            if state.next:
                params["max_id"] = state.next
            if state.seen:
                params["since_id"] = state.seen
            resp = self._get(f"/api/v1/accounts/{ident.id}/statuses", params)
            data = resp.json()
            if not isinstance(data, list):
                raise BadResponse(f"{resp.url}: not a list of statuses")
            good = [s for s in data if isinstance(s, dict) and isinstance(s.get("id"), str)]
            skipped = [
                Skipped(f"{resp.url} [{i}]", "not a status") for i, s in enumerate(data) if s not in good
            ]
            token = next_max_id(resp.headers.get("link"))
            if token is not None and token == state.next:
                raise BadResponse(f"{resp.url}: Link next did not move")
            old = [older_than(parse_time(s.get("created_at")), horizon) for s in good]
            keep, after, done = state.step([s["id"] for s in good], token, newer_snowflake, old)
            items: list[Fetched] = []
            raw = resp.raw()
            for st in good[:keep]:
                try:
                    item = self._item(account, ident, st, resp, renamed_from)
                except BadItem as exc:
                    skipped.append(Skipped(exc.where, exc.what))
                    continue
                items.append(Fetched(item, raw))
            yield Page(account.key, items, skipped, Cursor("statuses", after.encode()))
            if done:
                return
            state = after

    def _item(
        self,
        account: Account,
        ident: Identity,
        st: dict[str, Any],
        resp: Response,
        renamed_from: str | None,
    ) -> Item:
        where = f"{resp.url} status {st.get('id')}"
        if str(obj(st.get("account")).get("id")) != ident.id:
            # Evidence must be the account's own status, whatever the server mixed in.
            raise BadItem(where, f"not a status of account {ident.id}")
        created = parse_time(st.get("created_at"))
        if created is None:
            raise BadItem(where, "no valid created_at")
        extra: dict[str, Any] = {
            "uri": st.get("uri"),
            "visibility": st.get("visibility"),
            "language": st.get("language"),
            "roster_handle": account.handle,
            "account_key": account.key,
        }
        if renamed_from:
            extra["previous_handle"] = renamed_from
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
            created_at=created,
            text=text,
            url=st.get("url") or st.get("uri"),
            subject=subject,
            extra=extra,
        )

    def _subject(self, st: dict[str, Any]) -> Subject:
        acc = obj(st.get("account"))
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
                resp = self._get(f"/api/v1/statuses/{parent_id}")
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

    def fetch_reverse(
        self,
        targets: Sequence[str],
        watched: Sequence[Account],
        cursors: Mapping[str, Mapping[str, Cursor]],
    ) -> Iterator[Page]:
        """Pages of likes and boosts by ``watched`` accounts on ``targets``' recent statuses.

        Each target is scanned in full every cycle (favourites keep arriving on old statuses);
        the ``reverse`` cursor lists the statuses already done in an unfinished scan, so a
        crash resumes after them. Items are re-found every cycle and rely on de-duplication
        by ``Item.key``.
        """
        index = {normal_handle(self.full_acct(a.handle)): a for a in watched if a.platform == self.platform}
        yield from per_target(self.platform, targets, lambda target, key: self._reverse_target(
            target, key, index, cursors.get(key, {})))

    def _reverse_target(
        self, target: str, key: str, index: dict[str, Account], cursors: Mapping[str, Cursor]
    ) -> Iterator[Page]:
        done = scan_done(cursors.get(REVERSE_STREAM))
        entity = self.lookup(target)
        resp = self._get(
            f"/api/v1/accounts/{entity['id']}/statuses",
            {"limit": min(40, max(1, self.settings.reverse_posts)), "exclude_reblogs": "true"},
        )
        statuses = resp.json()
        if not isinstance(statuses, list):
            raise BadResponse(f"{resp.url}: not a list of statuses")
        statuses = [s for s in statuses if isinstance(s, dict) and isinstance(s.get("id"), str)]
        statuses = statuses[: self.settings.reverse_posts]
        evidence = resp.evidence()
        for st in statuses:
            if st["id"] in done:
                continue
            subject = self._subject(st)
            for path, kind, prefix in _LISTS:
                yield from self._who(key, st, subject, evidence, path, kind, prefix, index)
            done.append(st["id"])
            # The last status closes the scan: the next cycle starts a fresh one.
            yield Page(key, cursor=scan_cursor(REVERSE_STREAM, done, finished=st is statuses[-1]))

    def _who(
        self,
        key: str,
        st: dict[str, Any],
        subject: Subject,
        evidence: dict[str, Any],
        path: str,
        kind: Kind,
        prefix: str,
        index: dict[str, Account],
    ) -> Iterator[Page]:
        max_id: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 80}
            if max_id:
                params["max_id"] = max_id
            try:
                resp = self._get(f"/api/v1/statuses/{st['id']}/{path}", params)
            except NotFound:
                return  # deleted since the status list was read
            people = resp.json()
            if not isinstance(people, list):
                raise BadResponse(f"{resp.url}: not a list of accounts")
            items = []
            for acc in people:
                # Without its id an act cannot get a stable item id (de-duplication): skip it.
                if not isinstance(acc, dict) or not acc.get("acct") or not isinstance(acc.get("id"), str):
                    continue
                roster = index.get(normal_handle(self.full_acct(str(acc["acct"]))))
                if roster is None:
                    continue
                items.append(engagement(
                    self.platform, f"{prefix}:{st['id']}:{acc['id']}", kind,
                    roster.handle.lstrip("@"), str(acc["id"]),
                    roster, subject, evidence, path, resp.fetched_at, resp.raw()))
            if items:
                yield Page(key, items)
            nxt = next_max_id(resp.headers.get("link"))
            if not nxt or nxt == max_id or not people:
                return
            max_id = nxt


def _account_entity(data: Any, handle: str) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data.get("acct"):
        raise BadResponse(f"{handle}: the answer is not a Mastodon Account")
    return data
