"""A fake Mastodon instance on a local server."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from sources.testing.server import Clock, FakeServer, Reply, Request, iso, json_reply


def _link(base: str, path: str, params: dict[str, str], rel: str) -> str:
    return f'<{base}{path}?{urlencode(params)}>; rel="{rel}"'


class FakeMastodon(FakeServer):
    """A Mastodon instance: accounts, statuses, favourites and boosts, with Link pagination."""

    def __init__(self, domain: str = "mastodon.test") -> None:
        super().__init__()
        self.domain = domain
        self.clock = Clock()
        self.accounts: dict[str, dict[str, Any]] = {}  # id -> Account entity
        self.statuses: dict[str, dict[str, Any]] = {}  # id -> Status entity
        self.favs: dict[str, list[str]] = {}  # status id -> account ids, oldest first
        self.gone: set[str] = set()  # deleted account ids
        self._next = 100000
        self.route(r"/api/v1/accounts/lookup", self._lookup)
        self.route(r"/api/v1/accounts/(\d+)", self._account)
        self.route(r"/api/v1/accounts/(\d+)/statuses", self._statuses)
        self.route(r"/api/v1/statuses/(\d+)", self._status)
        self.route(r"/api/v1/statuses/(\d+)/favourited_by", self._favourited_by)
        self.route(r"/api/v1/statuses/(\d+)/reblogged_by", self._reblogged_by)

    def _id(self) -> str:
        self._next += 1
        return str(self._next)

    def account(self, username: str, domain: str | None = None) -> str:
        """Create an account (remote when ``domain`` differs); returns its id."""
        aid = self._id()
        acct = username if domain in (None, self.domain) else f"{username}@{domain}"
        self.accounts[aid] = {
            "id": aid,
            "username": username,
            "acct": acct,
            "display_name": username.title(),
            "url": f"https://{domain or self.domain}/@{username}",
            "locked": False,
            "bot": False,
            "created_at": "2020-01-01T00:00:00.000Z",
            "note": "",
            "statuses_count": 0,
        }
        return aid

    def status(
        self,
        aid: str,
        html: str,
        reply_to: str | None = None,
        quote: str | None = None,
        boost: str | None = None,
    ) -> str:
        """A status (a reply, a quote or a boost); returns its id."""
        sid = self._id()
        t = self.clock.tick()
        acc = self.accounts[aid]
        st: dict[str, Any] = {
            "id": sid,
            "created_at": iso(t),
            "in_reply_to_id": None,
            "in_reply_to_account_id": None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": "public",
            "language": "id",
            "uri": f"https://{self.domain}/users/{acc['username']}/statuses/{sid}",
            "url": f"https://{self.domain}/@{acc['username']}/{sid}",
            "content": html,
            "account": acc,
            "reblog": None,
            "mentions": [],
            "tags": [],
            "favourites_count": 0,
            "reblogs_count": 0,
            "replies_count": 0,
            "media_attachments": [],
        }
        if reply_to:
            parent = self.statuses[reply_to]
            st["in_reply_to_id"] = reply_to
            st["in_reply_to_account_id"] = parent["account"]["id"]
            pa = parent["account"]
            st["mentions"] = [
                {"id": pa["id"], "username": pa["username"], "acct": pa["acct"], "url": pa["url"]}
            ]
        if quote:
            st["quote"] = {"state": "accepted", "quoted_status": self.statuses[quote]}
        if boost:
            st["reblog"] = self.statuses[boost]
            st["content"] = ""
            st["url"] = None
            self.favs.setdefault("boost:" + boost, []).append(aid)
        self.statuses[sid] = st
        return sid

    def favourite(self, aid: str, sid: str) -> None:
        """``aid`` favourites status ``sid``."""
        self.favs.setdefault(sid, []).append(aid)

    def _lookup(self, req: Request, _: re.Match[str]) -> Reply:
        acct = (req.arg("acct") or "").lstrip("@")
        if acct.endswith("@" + self.domain):
            acct = acct[: -len(self.domain) - 1]
        for aid, acc in self.accounts.items():
            if acc["acct"].lower() == acct.lower() and aid not in self.gone:
                return json_reply(acc)
        return json_reply({"error": "Record not found"}, 404)

    def _account(self, req: Request, m: re.Match[str]) -> Reply:
        aid = m.group(1)
        if aid not in self.accounts or aid in self.gone:
            return json_reply({"error": "Record not found"}, 404)
        return json_reply(self.accounts[aid])

    def _page(
        self, req: Request, ids: list[str], path: str, default: int, cap: int
    ) -> tuple[list[str], dict[str, str]]:
        """Newest-first paging by max_id/since_id, with the Link header Mastodon sends."""
        limit = min(int(req.arg("limit", str(default)) or default), cap)
        max_id, since_id = req.arg("max_id"), req.arg("since_id")
        key = lambda s: (len(s), s)  # noqa: E731
        ids = sorted(ids, key=key, reverse=True)
        if max_id:
            ids = [i for i in ids if key(i) < key(max_id)]
        if since_id:
            ids = [i for i in ids if key(i) > key(since_id)]
        page = ids[:limit]
        links = []
        if len(page) == limit:
            links.append(_link(self.url, path, {"limit": str(limit), "max_id": page[-1]}, "next"))
        if page:
            links.append(_link(self.url, path, {"limit": str(limit), "min_id": page[0]}, "prev"))
        return page, ({"link": ", ".join(links)} if links else {})

    def _statuses(self, req: Request, m: re.Match[str]) -> Reply:
        aid = m.group(1)
        if aid not in self.accounts or aid in self.gone:
            return json_reply({"error": "Record not found"}, 404)
        ids = [s for s, st in self.statuses.items() if st["account"]["id"] == aid]
        if req.arg("exclude_reblogs") == "true":
            ids = [s for s in ids if self.statuses[s]["reblog"] is None]
        page, headers = self._page(req, ids, req.path, 20, 40)
        return json_reply([self.statuses[s] for s in page], headers=headers)

    def _status(self, req: Request, m: re.Match[str]) -> Reply:
        st = self.statuses.get(m.group(1))
        if st is None:
            return json_reply({"error": "Record not found"}, 404)
        return json_reply(st)

    def _who_list(self, req: Request, key: str, sid: str) -> Reply:
        if sid not in self.statuses:
            return json_reply({"error": "Record not found"}, 404)
        # Real Mastodon pages by the favourite's own (hidden) id; the position stands in for it.
        who = self.favs.get(key, [])
        ids = [str(i + 1) for i in range(len(who))]
        page, headers = self._page(req, ids, req.path, 40, 80)
        return json_reply([self.accounts[who[int(i) - 1]] for i in page], headers=headers)

    def _favourited_by(self, req: Request, m: re.Match[str]) -> Reply:
        return self._who_list(req, m.group(1), m.group(1))

    def _reblogged_by(self, req: Request, m: re.Match[str]) -> Reply:
        return self._who_list(req, "boost:" + m.group(1), m.group(1))
