"""A fake X API v2 on a local server."""

from __future__ import annotations

import re
from typing import Any

from sources.testing.server import Clock, FakeServer, Reply, Request, iso, json_reply


class FakeX(FakeServer):
    """The X API v2 endpoints the connector uses, behind a bearer token."""

    def __init__(self, token: str = "test-token") -> None:  # noqa: S107 (a fake server's token)
        super().__init__()
        self.token = token
        self.clock = Clock()
        self.users: dict[str, dict[str, Any]] = {}
        self.tweets: dict[str, dict[str, Any]] = {}
        self.likes: dict[str, list[str]] = {}
        self.retweets: dict[str, list[str]] = {}
        self.suspended: set[str] = set()
        self._next = 1_700_000_000_000_000_000
        self.route(r"/2/users/by/username/(\w+)", self._by_username)
        self.route(r"/2/users/(\d+)", self._user)
        self.route(r"/2/users/(\d+)/tweets", self._timeline)
        self.route(r"/2/tweets/(\d+)/liking_users", self._liking)
        self.route(r"/2/tweets/(\d+)/retweeted_by", self._retweeted_by)

    def _id(self) -> str:
        self._next += 1_000_003
        return str(self._next)

    def user(self, username: str) -> str:
        """Create a user; returns its id."""
        uid = str(len(self.users) + 1000)
        self.users[uid] = {"id": uid, "name": username.title(), "username": username}
        return uid

    def tweet(
        self,
        uid: str,
        text: str,
        reply_to: str | None = None,
        quote: str | None = None,
        retweet: str | None = None,
    ) -> str:
        """A tweet (a reply, a quote, or a retweet of another); returns its id."""
        tid_ = self._id()
        tw: dict[str, Any] = {
            "id": tid_,
            "text": text,
            "author_id": uid,
            "created_at": iso(self.clock.tick()),
            "edit_history_tweet_ids": [tid_],
            "lang": "in",
        }
        refs = []
        if reply_to:
            refs.append({"type": "replied_to", "id": reply_to})
            tw["in_reply_to_user_id"] = self.tweets[reply_to]["author_id"]
        if quote:
            refs.append({"type": "quoted", "id": quote})
        if retweet:
            refs.append({"type": "retweeted", "id": retweet})
            orig = self.tweets[retweet]
            tw["text"] = f"RT @{self.users[orig['author_id']]['username']}: {orig['text']}"
            self.retweets.setdefault(retweet, []).append(uid)
        if refs:
            tw["referenced_tweets"] = refs
        self.tweets[tid_] = tw
        return tid_

    def like(self, uid: str, tweet_id: str) -> None:
        """``uid`` likes ``tweet_id``."""
        self.likes.setdefault(tweet_id, []).append(uid)

    def _auth(self, req: Request) -> Reply | None:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return json_reply(
                {
                    "title": "Unauthorized",
                    "type": "about:blank",
                    "status": 401,
                    "detail": "Unauthorized",
                },
                401,
            )
        return None

    def _not_found(self, param: str, value: str) -> Reply:
        return json_reply(
            {
                "errors": [
                    {
                        "value": value,
                        "detail": f"Could not find user with {param}: [{value}].",
                        "title": "Not Found Error",
                        "resource_type": "user",
                        "parameter": param,
                        "resource_id": value,
                        "type": "https://api.twitter.com/2/problems/resource-not-found",
                    }
                ]
            }
        )

    def _by_username(self, req: Request, m: re.Match[str]) -> Reply:
        if (err := self._auth(req)) is not None:
            return err
        for uid, u in self.users.items():
            if u["username"].lower() == m.group(1).lower():
                if uid in self.suspended:
                    return json_reply(
                        {
                            "errors": [
                                {
                                    "title": "Forbidden",
                                    "detail": f"User has been suspended: [{m.group(1)}].",
                                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                                }
                            ]
                        }
                    )
                return json_reply({"data": u})
        return self._not_found("username", m.group(1))

    def _user(self, req: Request, m: re.Match[str]) -> Reply:
        if (err := self._auth(req)) is not None:
            return err
        u = self.users.get(m.group(1))
        if u is None or m.group(1) in self.suspended:
            return self._not_found("id", m.group(1))
        return json_reply({"data": u})

    def _paged(self, req: Request, ids: list[str], cap: int) -> tuple[list[str], dict[str, Any]]:
        n = min(int(req.arg("max_results", "10") or 10), cap)
        start = int((req.arg("pagination_token") or "tok0")[3:])
        page = ids[start : start + n]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta["newest_id"], meta["oldest_id"] = page[0], page[-1]
        if start + n < len(ids):
            meta["next_token"] = f"tok{start + n}"
        if start:
            meta["previous_token"] = f"tok{max(0, start - n)}"
        return page, meta

    def _timeline(self, req: Request, m: re.Match[str]) -> Reply:
        if (err := self._auth(req)) is not None:
            return err
        uid = m.group(1)
        if uid not in self.users or uid in self.suspended:
            return self._not_found("id", uid)
        ids = sorted((t for t, tw in self.tweets.items() if tw["author_id"] == uid), key=int, reverse=True)
        if "retweets" in (req.arg("exclude") or ""):
            ids = [
                t
                for t in ids
                if not any(r["type"] == "retweeted" for r in self.tweets[t].get("referenced_tweets", []))
            ]
        if req.arg("since_id"):
            ids = [t for t in ids if int(t) > int(req.arg("since_id") or 0)]
        page, meta = self._paged(req, ids, 100)
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = [self.tweets[t] for t in page]
            refs = {r["id"] for t in page for r in self.tweets[t].get("referenced_tweets", [])}
            inc_t = [self.tweets[r] for r in sorted(refs) if r in self.tweets]
            inc_u = {tw["author_id"] for tw in inc_t} | {uid}
            body["includes"] = {"tweets": inc_t, "users": [self.users[u] for u in sorted(inc_u)]}
        return json_reply(body)

    def _who_list(self, req: Request, who: dict[str, list[str]], tweet_id: str) -> Reply:
        if (err := self._auth(req)) is not None:
            return err
        if tweet_id not in self.tweets:
            return json_reply(
                {
                    "errors": [
                        {
                            "title": "Not Found Error",
                            "detail": f"Could not find tweet with id: [{tweet_id}].",
                            "type": "https://api.twitter.com/2/problems/resource-not-found",
                        }
                    ]
                }
            )
        ids = list(reversed(who.get(tweet_id, [])))
        page, meta = self._paged(req, ids, 100)
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = [self.users[u] for u in page]
        return json_reply(body)

    def _liking(self, req: Request, m: re.Match[str]) -> Reply:
        return self._who_list(req, self.likes, m.group(1))

    def _retweeted_by(self, req: Request, m: re.Match[str]) -> Reply:
        return self._who_list(req, self.retweets, m.group(1))
