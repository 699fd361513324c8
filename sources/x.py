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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import Field

from monitor.errors import AccountUnavailable, BadItem
from monitor.model import Account, Cursor, Item, Kind, Skipped, Subject
from sources.base import SourceContext, SourceSettings
from sources.common import Identity, Walk, as_object, normal_handle, parse_time, token_from
from sources.formats import by_id, listed
from sources.http import BadResponse, HttpClient, HttpSettings, Response
from sources.polling import Found, ParsedPage, PollingSource, Record, Timeline, WalkOf
from sources.reverse import Person, ReverseScan, TargetPost, WatcherIndex, WhoList

VERSION = "1.0.0"  # the connector's version, recorded with every raw response
_TWEET_FIELDS = "created_at,author_id,referenced_tweets,conversation_id,in_reply_to_user_id,lang,entities"
# How a referenced tweet's type makes the referring tweet's kind, the first found winning.
_REF_KINDS: tuple[tuple[str, Kind], ...] = (
    ("retweeted", "repost"), ("replied_to", "reply"), ("quoted", "quote"))
_EXPANSIONS = "referenced_tweets.id,referenced_tweets.id.author_id,in_reply_to_user_id"


class XSettings(HttpSettings):
    """``[sources.<name>]`` keys of a ``type = "x"`` source."""

    base_url: str = "https://api.x.com"
    token_env: str = "X_BEARER_TOKEN"  # noqa: S105 (a variable name, not a secret)
    web_url: str = "https://x.com"  # for human-readable links to posts
    page_size: int = Field(100, ge=5, le=100)
    reverse_posts: int = Field(10, ge=5, le=100)  # recent posts per target checked in reverse


@dataclass
class XSource(PollingSource, ReverseScan):
    """Reads X accounts' timelines, and likes and retweets of candidates' posts in reverse."""

    type_name: ClassVar[str] = "x"
    Settings: ClassVar[type[SourceSettings]] = XSettings
    platform: ClassVar[str] = "x"
    version: ClassVar[str] = VERSION
    restart_on_rejected_token: ClassVar[bool] = True
    timeline_streams: ClassVar[tuple[str, ...]] = ("tweets",)
    who_lists: ClassVar[tuple[WhoList, ...]] = (
        WhoList("liking_users", "like", "like"),
        WhoList("retweeted_by", "repost", "retweet"),
    )

    name: str
    settings: XSettings
    http: HttpClient
    token: str
    # Account.key -> user id seen by fetch(), so reverse matches survive a rename.
    known_ids: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, name: str, settings: Any, ctx: SourceContext) -> XSource:
        """Build the connector; ``ConfigError`` when the token variable is not set."""
        token = token_from(ctx.env, name, settings.token_env)
        return cls(name, settings, HttpClient(f"x:{name}", VERSION, ctx, settings.policy()), token)

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
        resp = self.get(self.api_url(f"/2/users/by/username/{name}"), {"user.fields": "protected,created_at"})
        return self._user(resp, username)

    def account_by_id(self, account_id: str, roster_handle: str) -> Found:
        """``/2/users/:id``."""
        user = self._user(self.get(self.api_url(f"/2/users/{account_id}"), {"user.fields": "protected"}),
                          roster_handle)
        return Found(str(user["id"]), str(user.get("username") or ""))

    def account_by_handle(self, handle: str) -> Found:
        """``/2/users/by/username/:username``."""
        user = self.lookup(handle)
        return Found(str(user["id"]), str(user.get("username") or ""))

    def identify(self, account: Account, cursors: Mapping[str, Cursor]) -> Identity:
        """The account's user id and username; the id is kept for the reverse scan's matching."""
        identity = super().identify(account, cursors)
        self.known_ids[account.key] = identity.id
        return identity

    # -- the account's timeline --------------------------------------------------------

    def timelines(self, identity: Identity) -> list[Timeline]:
        """The user's tweets, retweets and replies."""
        return [Timeline("tweets", self.api_url(f"/2/users/{identity.id}/tweets"))]

    def get_url_params(self, walk_of: WalkOf, walk: Walk) -> dict[str, Any]:
        """A page of tweets with the referenced tweets and their authors expanded."""
        params: dict[str, Any] = {
            "max_results": self.settings.page_size,
            "tweet.fields": _TWEET_FIELDS,
            "expansions": _EXPANSIONS,
            "user.fields": "username",
        }
        if walk.seen:
            params["since_id"] = walk.seen
        if walk.next:
            params["pagination_token"] = walk.next
        return params

    def parse_response(self, response: Response, walk: Walk) -> ParsedPage:
        """The tweets of a page and ``meta.next_token``."""
        data = response.json()
        if not isinstance(data, dict):
            raise BadResponse(f"{response.url}: not an object")
        tweets = data.get("data") or []
        if not isinstance(tweets, list):
            raise BadResponse(f"{response.url}: data is not a list")
        includes = as_object(data.get("includes"))
        records, skipped = [], []
        for i, tw in enumerate(tweets):
            if isinstance(tw, dict) and isinstance(tw.get("id"), str):
                records.append(Record(tw["id"], parse_time(tw.get("created_at")), tw, includes))
            else:
                skipped.append(Skipped(f"{response.url} data[{i}]", "not a tweet"))
        token = as_object(data.get("meta")).get("next_token")
        return ParsedPage(records, skipped, token if isinstance(token, str) else None)

    def make_item(self, walk_of: WalkOf, record: Record, response: Response) -> Item:
        """A post, reply, quote or retweet of the account."""
        tw, ident = record.data, walk_of.identity
        if str(tw.get("author_id")) != ident.id:
            # Evidence must be the account's own post, whatever the server mixed in.
            raise BadItem(f"{response.url} tweet {tw['id']}", f"not a post of user {ident.id}")
        if record.created_at is None:
            raise BadItem(f"{response.url} tweet {tw['id']}", "no valid created_at")
        kind, ref_id = _kind_of(tw)
        extra: dict[str, Any] = {
            "lang": tw.get("lang"),
            "conversation_id": tw.get("conversation_id"),
            "roster_handle": walk_of.account.handle,
            "account_key": walk_of.account.key,
        }
        if walk_of.renamed_from:
            extra["previous_handle"] = walk_of.renamed_from
        subject = None
        if ref_id is not None:
            subject = self._subject(tw, ref_id, record.page_context, extra)
        return Item(
            platform=self.platform,
            id=tw["id"],
            kind=kind,
            actor=ident.handle,
            actor_id=ident.id,
            created_at=record.created_at,
            text=None if kind == "repost" else tw.get("text"),
            url=self.tweet_url(ident.handle, tw["id"]),
            subject=subject,
            extra=extra,
        )

    def _subject(
        self, tw: dict[str, Any], ref_id: str, included: Mapping[str, Any], extra: dict[str, Any]
    ) -> Subject:
        ref = by_id(included.get("tweets")).get(ref_id, {})
        author_id = str(ref.get("author_id") or tw.get("in_reply_to_user_id") or "")
        author = (by_id(included.get("users")).get(author_id) or {}).get("username") or author_id
        extra["subject_author_id"] = author_id
        if not ref:
            extra["subject_error"] = "referenced tweet not included (deleted or not visible)"
        return Subject(ref_id, str(author), ref.get("text"), self.tweet_url(str(author) or "i", ref_id))

    def tweet_url(self, username: str, tweet_id: str) -> str:
        """The web address people open to see a tweet."""
        return f"{self.settings.web_url.rstrip('/')}/{username}/status/{tweet_id}"

    # -- reverse: who liked or retweeted the candidates' posts -------------------------

    def recent_posts(self, target: str) -> tuple[list[TargetPost], dict[str, Any]]:
        """The target's recent tweets (retweets left out)."""
        user = self.lookup(target)
        resp = self.get(
            self.api_url(f"/2/users/{user['id']}/tweets"),
            {"max_results": self.settings.reverse_posts, "exclude": "retweets",
             "tweet.fields": "created_at,author_id"},
        )
        tweets = [t for t in listed(resp.json(), "data", resp.url)
                  if isinstance(t, dict) and isinstance(t.get("id"), str)]
        username = str(user.get("username") or target)
        posts = [
            TargetPost(t["id"], Subject(t["id"], username, t.get("text"), self.tweet_url(username, t["id"])))
            for t in tweets
        ]
        return posts, resp.evidence()

    def watcher_index(self, watched: Sequence[Account]) -> WatcherIndex:
        """Matches by the user id ``fetch`` saw (survives renames), else by username."""
        by_id = {self.known_ids[a.key]: a for a in watched if a.key in self.known_ids}
        by_name = {normal_handle(a.handle): a for a in watched}
        return lambda person: by_id.get(person.id) or by_name.get(normal_handle(person.handle))

    def who_url(self, post_id: str, who: WhoList) -> str:
        """``/2/tweets/:id/liking_users`` or ``/retweeted_by``."""
        return self.api_url(f"/2/tweets/{post_id}/{who.path}")

    def who_params(self, token: str | None) -> dict[str, Any]:
        """100 users a page."""
        return {"max_results": 100, **({"pagination_token": token} if token else {})}

    def parse_people(self, response: Response) -> tuple[list[Any], list[Person], str | None]:
        """The users of a who-list page and ``meta.next_token``."""
        data = response.json()
        users = listed(data, "data", response.url)
        people = [Person(str(u["id"]), str(u.get("username") or ""))
                  for u in users if isinstance(u, dict) and u.get("id")]
        token = as_object(data.get("meta")).get("next_token")
        return users, people, token if isinstance(token, str) else None

    def actor_name(self, person: Person, roster: Account) -> str:
        """The roster's spelling of the username when it is the same one, else the current one."""
        if not person.handle or normal_handle(person.handle) == normal_handle(roster.handle):
            return roster.handle.lstrip("@")
        return person.handle


def _kind_of(tw: dict[str, Any]) -> tuple[Kind, str | None]:
    """What a tweet is (post, retweet, reply, quote) and the id of the tweet it refers to."""
    refs = tw.get("referenced_tweets") or []
    by_type = {r.get("type"): str(r.get("id")) for r in refs if isinstance(r, dict)}
    for ref_type, ref_kind in _REF_KINDS:
        if ref_type in by_type:
            return ref_kind, by_type[ref_type]
    return "post", None
