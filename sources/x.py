"""X (Twitter) API v2 connector: an account's posts, replies, quotes and retweets; likes in reverse.

X made likes private in 2024, but ``/2/users/:id/tweets`` still lists an account's posts
and retweets, and ``/2/tweets/:id/liking_users`` and ``/retweeted_by`` list who liked or
retweeted one post. ``fetch`` reads the monitored account's timeline (referenced tweets
expanded, so a retweet's or quote's subject is in the same response, hence in the same
evidence); ``fetch_reverse`` reads the candidates' and parties' recent posts and reports
the monitored accounts among those who liked or retweeted them.

The bearer token is read from the environment variable named by ``token_env``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import Field

from monitor.errors import AccountUnavailable, BadItem
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
from sources.http import (
    BadResponse,
    HttpClient,
    HttpSettings,
    NotFound,
    RequestRejected,
    Response,
)

VERSION = "1.0.0"  # the connector's version, recorded with every raw response
REVERSE_STREAM = "reverse"
# Who-lists of a post: (endpoint, kind of item, prefix of the synthesised item id).
_LISTS: tuple[tuple[str, Kind, str], ...] = (
    ("liking_users", "like", "like"),
    ("retweeted_by", "repost", "retweet"),
)
_TWEET_FIELDS = "created_at,author_id,referenced_tweets,conversation_id,in_reply_to_user_id,lang,entities"
_EXPANSIONS = "referenced_tweets.id,referenced_tweets.id.author_id,in_reply_to_user_id"


class XSettings(HttpSettings):
    """``[sources.<name>]`` keys of a ``type = "x"`` source."""

    base_url: str = "https://api.x.com"
    token_env: str = "X_BEARER_TOKEN"  # noqa: S105 (a variable name, not a secret)
    web_url: str = "https://x.com"  # for human-readable links to posts
    page_size: int = Field(100, ge=5, le=100)
    reverse_posts: int = Field(10, ge=5, le=100)  # recent posts per target checked in reverse


@register
@dataclass
class XSource:
    """Reads X accounts' timelines, and likes and retweets of candidates' posts in reverse."""

    type_name: ClassVar[str] = "x"
    Settings: ClassVar[type[SourceSettings]] = XSettings

    name: str
    settings: XSettings
    http: HttpClient
    token: str
    platform: str = "x"
    version: str = VERSION
    # Account.key -> user id seen by fetch(), so reverse matches survive a rename.
    known_ids: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, name: str, settings: Any, ctx: SourceContext) -> XSource:
        """Build the connector; ``ConfigError`` when the token variable is not set."""
        token = token_from(ctx.env, name, settings.token_env)
        return cls(name, settings, HttpClient(f"x:{name}", VERSION, ctx, settings.policy()), token)

    def close(self) -> None:
        """Close the HTTP connection pool (it reopens on next use)."""
        self.http.close()

    def streams(self) -> list[str]:
        """``identity`` and ``tweets``."""
        return ["identity", "tweets"]

    def _get(self, path: str, params: Any = None) -> Response:
        return self.http.get(
            f"{self.settings.base_url.rstrip('/')}{path}",
            params,
            headers={"Authorization": f"Bearer {self.token}"},
        )

    def _user(self, resp: Response, what: str) -> dict[str, Any]:
        data = resp.json()
        if not isinstance(data, dict):
            raise BadResponse(f"{resp.url}: not an object")
        user = data.get("data")
        if not isinstance(user, dict) or not user.get("id"):
            # X answers 200 with only "errors" for unknown and suspended users.
            errors = data.get("errors")
            first = errors[0] if isinstance(errors, list) and errors else None
            detail = first.get("detail") if isinstance(first, dict) else None
            raise AccountUnavailable(f"{what}: {detail or 'no such user'}")
        if user.get("protected"):
            raise AccountUnavailable(f"{what}: protected account, its posts are not public")
        return user

    def lookup(self, username: str) -> dict[str, Any]:
        """The user object of ``username``."""
        name = normal_handle(username)
        resp = self._get(f"/2/users/by/username/{name}", {"user.fields": "protected,created_at"})
        return self._user(resp, username)

    def identify(self, account: Account, cursors: Mapping[str, Cursor]) -> Identity:
        """The account's user id and current username, pinned id first."""
        stored = identity_of(cursors)
        if stored is not None and stored.pinned_for(account.handle):
            user = self._user(
                self._get(f"/2/users/{stored.id}", {"user.fields": "protected"}), account.handle
            )
        else:
            user = self.lookup(account.handle)
        handle = str(user.get("username") or "")
        if normal_handle(handle) == normal_handle(account.handle):
            handle = account.handle.lstrip("@")  # the roster's spelling, so no false rename
        self.known_ids[account.key] = str(user["id"])
        return Identity(str(user["id"]), handle, account.handle)

    # -- the account's timeline --------------------------------------------------------

    def fetch(self, account: Account, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        """An identity page, then pages of new tweets, newest first."""
        ident = self.identify(account, cursors)
        yield Page(account.key, cursor=ident.cursor())
        change = renamed(cursors.get(IDENTITY_STREAM), ident.cursor())
        renamed_from = change[0] if change else None
        state = Walk.decode(cursors.get("tweets"))
        horizon = self.settings.horizon()
        while True:
            params: dict[str, Any] = {
                "max_results": self.settings.page_size,
                "tweet.fields": _TWEET_FIELDS,
                "expansions": _EXPANSIONS,
                "user.fields": "username",
            }
            if state.seen:
                params["since_id"] = state.seen
            if state.next:
                params["pagination_token"] = state.next
            try:
                resp = self._get(f"/2/users/{ident.id}/tweets", params)
            except RequestRejected:
                if not state.next:
                    raise
                # A stored pagination token X no longer accepts: walk again from the newest
                # post down to ``seen``; what is read twice is dropped by its key.
                state = Walk(seen=state.seen)
                continue
            data = resp.json()
            if not isinstance(data, dict):
                raise BadResponse(f"{resp.url}: not an object")
            tweets = data.get("data") or []
            meta = obj(data.get("meta"))
            if not isinstance(tweets, list):
                raise BadResponse(f"{resp.url}: data is not a list")
            good = [t for t in tweets if isinstance(t, dict) and isinstance(t.get("id"), str)]
            skipped = [
                Skipped(f"{resp.url} data[{i}]", "not a tweet") for i, t in enumerate(tweets) if t not in good
            ]
            token = meta.get("next_token") if isinstance(meta.get("next_token"), str) else None
            if token is not None and token == state.next:
                raise BadResponse(f"{resp.url}: next_token did not move")
            old = [older_than(parse_time(t.get("created_at")), horizon) for t in good]
            keep, after, done = state.step([t["id"] for t in good], token, newer_snowflake, old)
            includes = obj(data.get("includes"))
            users = _by_id(includes.get("users"))
            refs = _by_id(includes.get("tweets"))
            raw = resp.raw()
            items: list[Fetched] = []
            for tw in good[:keep]:
                try:
                    items.append(
                        Fetched(self._item(account, ident, tw, users, refs, resp, renamed_from), raw)
                    )
                except BadItem as exc:
                    skipped.append(Skipped(exc.where, exc.what))
            yield Page(account.key, items, skipped, Cursor("tweets", after.encode()))
            if done:
                return
            state = after

    def _item(
        self,
        account: Account,
        ident: Identity,
        tw: dict[str, Any],
        users: dict[str, Any],
        refs: dict[str, Any],
        resp: Response,
        renamed_from: str | None,
    ) -> Item:
        if str(tw.get("author_id")) != ident.id:
            # Evidence must be the account's own post, whatever the server mixed in.
            raise BadItem(f"{resp.url} tweet {tw['id']}", f"not a post of user {ident.id}")
        created = parse_time(tw.get("created_at"))
        if created is None:
            raise BadItem(f"{resp.url} tweet {tw['id']}", "no valid created_at")
        by_type = {
            r.get("type"): str(r.get("id")) for r in tw.get("referenced_tweets") or [] if isinstance(r, dict)
        }
        kind: Kind = "post"
        ref_id = None
        ref_kinds: tuple[tuple[str, Kind], ...] = (
            ("retweeted", "repost"),
            ("replied_to", "reply"),
            ("quoted", "quote"),
        )
        for ref_type, ref_kind in ref_kinds:
            if ref_type in by_type:
                kind, ref_id = ref_kind, by_type[ref_type]
                break
        extra: dict[str, Any] = {
            "lang": tw.get("lang"),
            "conversation_id": tw.get("conversation_id"),
            "roster_handle": account.handle,
            "account_key": account.key,
        }
        if renamed_from:
            extra["previous_handle"] = renamed_from
        subject = None
        if ref_id is not None:
            ref = refs.get(ref_id, {})
            author_id = str(ref.get("author_id") or tw.get("in_reply_to_user_id") or "")
            author = (users.get(author_id) or {}).get("username") or author_id
            extra["subject_author_id"] = author_id
            if not ref:
                extra["subject_error"] = "referenced tweet not included (deleted or not visible)"
            subject = Subject(ref_id, str(author), ref.get("text"), self._web(str(author) or "i", ref_id))
        text = None if kind == "repost" else tw.get("text")
        return Item(
            platform=self.platform,
            id=tw["id"],
            kind=kind,
            actor=ident.handle,
            actor_id=ident.id,
            created_at=created,
            text=text,
            url=self._web(ident.handle, tw["id"]),
            subject=subject,
            extra=extra,
        )

    def _web(self, username: str, tweet_id: str) -> str:
        return f"{self.settings.web_url.rstrip('/')}/{username}/status/{tweet_id}"

    # -- reverse: who liked or retweeted the candidates' posts -------------------------

    def fetch_reverse(
        self,
        targets: Sequence[str],
        watched: Sequence[Account],
        cursors: Mapping[str, Mapping[str, Cursor]],
    ) -> Iterator[Page]:
        """Pages of likes and retweets by ``watched`` accounts on ``targets``' recent posts.

        Every cycle rescans each target's recent posts; the ``reverse`` cursor lists the
        posts already done in an unfinished scan. Items rely on de-duplication by key.
        """
        mine = [a for a in watched if a.platform == self.platform]
        by_id = {self.known_ids[a.key]: a for a in mine if a.key in self.known_ids}
        by_name = {normal_handle(a.handle): a for a in mine}
        yield from per_target(self.platform, targets, lambda target, key: self._reverse_target(
            target, key, by_id, by_name, cursors.get(key, {})))

    def _reverse_target(
        self,
        target: str,
        key: str,
        by_id: dict[str, Account],
        by_name: dict[str, Account],
        cursors: Mapping[str, Cursor],
    ) -> Iterator[Page]:
        done = scan_done(cursors.get(REVERSE_STREAM))
        user = self.lookup(target)
        resp = self._get(
            f"/2/users/{user['id']}/tweets",
            {
                "max_results": self.settings.reverse_posts,
                "exclude": "retweets",
                "tweet.fields": "created_at,author_id",
            },
        )
        tweets = _listed(resp.json(), "data", resp.url)
        tweets = [t for t in tweets if isinstance(t, dict) and isinstance(t.get("id"), str)]
        evidence = resp.evidence()
        username = str(user.get("username") or target)
        for tw in tweets:
            if tw["id"] in done:
                continue
            subject = Subject(tw["id"], username, tw.get("text"), self._web(username, tw["id"]))
            for path, kind, prefix in _LISTS:
                yield from self._who(key, tw["id"], subject, evidence, path, kind, prefix, by_id, by_name)
            done.append(tw["id"])
            yield Page(key, cursor=scan_cursor(REVERSE_STREAM, done, finished=tw is tweets[-1]))

    def _who(
        self,
        key: str,
        tweet_id: str,
        subject: Subject,
        evidence: dict[str, Any],
        path: str,
        kind: Kind,
        prefix: str,
        by_id: dict[str, Account],
        by_name: dict[str, Account],
    ) -> Iterator[Page]:
        token: str | None = None
        while True:
            params: dict[str, Any] = {"max_results": 100}
            if token:
                params["pagination_token"] = token
            try:
                resp = self._get(f"/2/tweets/{tweet_id}/{path}", params)
            except NotFound:
                return
            data = resp.json()
            items = []
            for u in _listed(data, "data", resp.url):
                if not isinstance(u, dict) or not u.get("id"):
                    continue
                roster = by_id.get(str(u["id"])) or by_name.get(normal_handle(str(u.get("username") or "")))
                if roster is None:
                    continue
                items.append(engagement(
                    self.platform, f"{prefix}:{tweet_id}:{u['id']}", kind,
                    _spelling(str(u.get("username") or ""), roster), str(u["id"]),
                    roster, subject, evidence, path, resp.fetched_at, resp.raw()))
            if items:
                yield Page(key, items)
            meta = obj(data.get("meta"))
            nxt = meta.get("next_token")
            if not isinstance(nxt, str) or nxt == token:
                return
            token = nxt


def _listed(data: Any, key: str, url: str) -> list[Any]:
    """The array under ``key`` of an object answer; X leaves ``data`` out when nothing matched.

    Anything else (not an object, ``data`` not an array) is a ``BadResponse``: retried next
    cycle rather than read as "nobody liked it".
    """
    if not isinstance(data, dict):
        raise BadResponse(f"{url}: not an object")
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadResponse(f"{url}: {key} is not an array")
    return value


def _by_id(value: Any) -> dict[str, dict[str, Any]]:
    """Included objects by id; anything that is not an object with a string or number id is left out."""
    if not isinstance(value, list):
        return {}
    return {str(v["id"]): v for v in value
            if isinstance(v, dict) and isinstance(v.get("id"), (str, int)) and not isinstance(v["id"], bool)}


def _spelling(username: str, roster: Account) -> str:
    """The roster's spelling of a username when it is the same one, else the current one."""
    if not username or normal_handle(username) == normal_handle(roster.handle):
        return roster.handle.lstrip("@")
    return username
