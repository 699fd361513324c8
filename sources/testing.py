"""Local fake platform servers for tests: real HTTP on 127.0.0.1, documented response shapes.

``FakeServer`` is a ``ThreadingHTTPServer`` in a thread with regex routes and a queue of
scripted faults (``fail``: a 429, a 500, a hang, a malformed body) served before the
real answer. ``FakeBluesky``, ``FakeMastodon`` and ``FakeX`` hold a small in-memory
platform and answer the endpoints the connectors use, in the shapes of the AT Protocol
lexicons, the Mastodon API documentation and the X API v2 reference. Other rooms' tests
may use them (e.g. to run the pipeline against a fake Mastodon).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass
class Request:
    """One request as the fake server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Reply:
    """What the fake server answers: status, body (bytes, or JSON-encoded), headers, delay."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (to provoke client timeouts)

    def encoded(self) -> bytes:
        """The body as bytes."""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, ensure_ascii=False).encode()


Handler = Callable[[Request, "re.Match[str]"], Reply]


class FakeServer:
    """A threaded HTTP server on 127.0.0.1 with regex routes and scripted faults."""

    def __init__(self) -> None:
        self.routes: list[tuple[re.Pattern[str], Handler]] = []
        self.faults: list[tuple[re.Pattern[str], Reply]] = []
        self.log: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class _H(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def route(self, pattern: str, handler: Handler) -> None:
        """Answer paths fully matching ``pattern`` with ``handler``."""
        self.routes.append((re.compile(pattern), handler))

    def fail(self, pattern: str, *replies: Reply) -> None:
        """Serve ``replies``, in order, to the next requests whose path matches ``pattern``."""
        with self._lock:
            self.faults.extend((re.compile(pattern), r) for r in replies)

    def hits(self, pattern: str) -> int:
        """How many requests had a path matching ``pattern``."""
        rx = re.compile(pattern)
        return sum(1 for r in self.log if rx.fullmatch(r.path))

    def close(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        req = Request(
            "GET", parts.path, parse_qs(parts.query), {k.lower(): v for k, v in h.headers.items()}
        )
        with self._lock:
            self.log.append(req)
            reply = None
            for i, (rx, fault) in enumerate(self.faults):
                if rx.fullmatch(req.path):
                    reply = fault
                    del self.faults[i]
                    break
        if reply is None:
            reply = Reply(
                404,
                {"error": "NotFound", "message": f"no route for {req.path}"},
                {"content-type": "application/json"},
            )
            for rx, handler in self.routes:
                m = rx.fullmatch(req.path)
                if m:
                    reply = handler(req, m)
                    break
        if reply.delay:
            time.sleep(reply.delay)
        body = reply.encoded()
        headers = {"content-type": "application/json; charset=utf-8", **reply.headers}
        try:
            h.send_response(reply.status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("content-length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    """A JSON reply."""
    return Reply(
        status, body, {"content-type": "application/json; charset=utf-8", **(headers or {})}
    )


def xrpc_error(name: str, message: str = "", status: int = 400) -> Reply:
    """An XRPC error body, as the PDS sends it."""
    return json_reply({"error": name, "message": message or name}, status)


_S32 = "234567abcdefghijklmnopqrstuvwxyz"


def tid(micros: int, clock_id: int = 0) -> str:
    """An AT Protocol TID (13 base32-sortable characters) for a microsecond timestamp."""
    n = (micros << 10) | (clock_id & 0x3FF)
    out = ""
    for _ in range(13):
        out = _S32[n & 31] + out
        n >>= 5
    return out


class _Clock:
    def __init__(self) -> None:
        self.t = datetime(2024, 9, 1, tzinfo=UTC)

    def tick(self) -> datetime:
        self.t += timedelta(minutes=7)
        return self.t


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeBluesky(FakeServer):
    """A PDS, PLC directory and (optional) AppView in one server.

    Repositories hold records by collection and rkey; ``listRecords`` pages newest first
    and, like the real PDS, returns a cursor on every non-empty page.
    """

    def __init__(self, appview: bool = False) -> None:
        super().__init__()
        self.clock = _Clock()
        self.handles: dict[str, str] = {}  # handle -> did
        self.repos: dict[
            str, dict[str, dict[str, dict[str, Any]]]
        ] = {}  # did -> coll -> rkey -> rec
        self.docs: dict[str, str] = {}  # did -> handle in its DID document
        self.status: dict[str, str] = {}  # did -> "ok" | "deactivated" | "tombstoned"
        self._n = 0
        self.route(r"/xrpc/com\.atproto\.identity\.resolveHandle", self._resolve)
        self.route(r"/xrpc/com\.atproto\.repo\.listRecords", self._list)
        self.route(r"/xrpc/com\.atproto\.repo\.getRecord", self._get)
        if appview:
            self.route(r"/xrpc/app\.bsky\.feed\.getPosts", self._posts)
        else:
            self.route(
                r"/xrpc/app\.bsky\..*",
                lambda r, m: xrpc_error("InvalidRequest", "No service configured"),
            )
        self.route(r"/(did:plc:[a-z0-9]+)", self._doc)

    # -- building the world ------------------------------------------------------------

    def account(self, handle: str) -> str:
        """Create an account; returns its DID."""
        self._n += 1
        did = f"did:plc:fake{self._n:04d}{'x' * 12}"
        self.handles[handle] = did
        self.docs[did] = handle
        self.repos[did] = {}
        self.status[did] = "ok"
        return did

    def _create(self, did: str, collection: str, value: dict[str, Any]) -> str:
        t = self.clock.tick()
        rkey = tid(int(t.timestamp() * 1_000_000))
        value = {"$type": collection, **value, "createdAt": _iso(t)}
        uri = f"at://{did}/{collection}/{rkey}"
        self.repos[did].setdefault(collection, {})[rkey] = {
            "uri": uri,
            "cid": f"bafyrei{rkey}",
            "value": value,
        }
        return uri

    def _ref(self, uri: str) -> dict[str, str]:
        did, coll, rkey = uri[5:].split("/")
        return {"uri": uri, "cid": self.repos[did][coll][rkey]["cid"]}

    def post(
        self, did: str, text: str, reply_to: str | None = None, quote: str | None = None
    ) -> str:
        """A post (a reply to ``reply_to``, quoting ``quote``); returns its AT URI."""
        value: dict[str, Any] = {"text": text, "langs": ["id"]}
        if reply_to:
            value["reply"] = {"root": self._ref(reply_to), "parent": self._ref(reply_to)}
        if quote:
            value["embed"] = {"$type": "app.bsky.embed.record", "record": self._ref(quote)}
        return self._create(did, "app.bsky.feed.post", value)

    def like(self, did: str, uri: str) -> str:
        """``did`` likes ``uri``; returns the like record's URI."""
        return self._create(did, "app.bsky.feed.like", {"subject": self._ref(uri)})

    def repost(self, did: str, uri: str) -> str:
        """``did`` reposts ``uri``."""
        return self._create(did, "app.bsky.feed.repost", {"subject": self._ref(uri)})

    def delete(self, uri: str) -> None:
        """Delete a record (an un-like, a deleted post)."""
        did, coll, rkey = uri[5:].split("/")
        del self.repos[did][coll][rkey]

    def rename(self, did: str, handle: str) -> None:
        """Change ``did``'s handle; the old one stops resolving."""
        old = self.docs[did]
        self.handles.pop(old, None)
        self.handles[handle] = did
        self.docs[did] = handle

    # -- endpoints ---------------------------------------------------------------------

    def _resolve(self, req: Request, _: re.Match[str]) -> Reply:
        did = self.handles.get(req.arg("handle") or "")
        if did is None:
            return xrpc_error("HandleNotFound", "Unable to resolve handle")
        return json_reply({"did": did})

    def _doc(self, req: Request, m: re.Match[str]) -> Reply:
        did = m.group(1)
        if did not in self.docs:
            return json_reply({"message": f"DID not registered: {did}"}, 404)
        if self.status.get(did) == "tombstoned":
            return json_reply({"message": f"DID not available: {did}"}, 410)
        return json_reply(
            {
                "@context": ["https://www.w3.org/ns/did/v1"],
                "id": did,
                "alsoKnownAs": [f"at://{self.docs[did]}"],
                "verificationMethod": [],
                "service": [
                    {
                        "id": "#atproto_pds",
                        "type": "AtprotoPersonalDataServer",
                        "serviceEndpoint": self.url,
                    }
                ],
            }
        )

    def _repo(self, req: Request) -> tuple[str | None, Reply | None]:
        repo = req.arg("repo") or ""
        did = repo if repo.startswith("did:") else self.handles.get(repo)
        if did is None or did not in self.repos or self.status.get(did) == "tombstoned":
            return None, xrpc_error("InvalidRequest", f"Could not find repo: {repo}")
        if self.status.get(did) == "deactivated":
            return None, xrpc_error("RepoDeactivated", f"Repo has been deactivated: {repo}")
        return did, None

    def _list(self, req: Request, _: re.Match[str]) -> Reply:
        did, err = self._repo(req)
        if err or did is None:
            return err or xrpc_error("InvalidRequest")
        coll = self.repos[did].get(req.arg("collection") or "", {})
        limit = int(req.arg("limit", "50") or 50)
        cursor = req.arg("cursor")
        keys = sorted(coll, reverse=True)
        if cursor:
            keys = [k for k in keys if k < cursor]
        page = keys[:limit]
        body: dict[str, Any] = {"records": [coll[k] for k in page]}
        if page:
            body["cursor"] = page[-1]
        return json_reply(body)

    def _get(self, req: Request, _: re.Match[str]) -> Reply:
        did, err = self._repo(req)
        if err or did is None:
            return err or xrpc_error("InvalidRequest")
        rec = self.repos[did].get(req.arg("collection") or "", {}).get(req.arg("rkey") or "")
        if rec is None:
            return xrpc_error("RecordNotFound", "Could not locate record")
        return json_reply(rec)

    def _posts(self, req: Request, _: re.Match[str]) -> Reply:
        uris = req.query.get("uris", [])
        if len(uris) > 25:
            return xrpc_error("InvalidRequest", "uris must not have more than 25 elements")
        posts = []
        for uri in uris:
            did, coll, rkey = uri[5:].split("/")
            rec = self.repos.get(did, {}).get(coll, {}).get(rkey)
            if rec is None:
                continue  # the AppView leaves out posts it cannot show
            posts.append(
                {
                    "uri": uri,
                    "cid": rec["cid"],
                    "record": rec["value"],
                    "indexedAt": rec["value"]["createdAt"],
                    "author": {"did": did, "handle": self.docs[did]},
                    "likeCount": 0,
                    "repostCount": 0,
                    "replyCount": 0,
                }
            )
        return json_reply({"posts": posts})


def _link(base: str, path: str, params: dict[str, str], rel: str) -> str:
    return f'<{base}{path}?{urlencode(params)}>; rel="{rel}"'


class FakeMastodon(FakeServer):
    """A Mastodon instance: accounts, statuses, favourites and boosts, with Link pagination."""

    def __init__(self, domain: str = "mastodon.test") -> None:
        super().__init__()
        self.domain = domain
        self.clock = _Clock()
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
            "created_at": _iso(t),
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

    def _who(self, req: Request, key: str, sid: str) -> Reply:
        if sid not in self.statuses:
            return json_reply({"error": "Record not found"}, 404)
        # Real Mastodon pages by the favourite's own (hidden) id; the position stands in for it.
        who = self.favs.get(key, [])
        ids = [str(i + 1) for i in range(len(who))]
        page, headers = self._page(req, ids, req.path, 40, 80)
        return json_reply([self.accounts[who[int(i) - 1]] for i in page], headers=headers)

    def _favourited_by(self, req: Request, m: re.Match[str]) -> Reply:
        return self._who(req, m.group(1), m.group(1))

    def _reblogged_by(self, req: Request, m: re.Match[str]) -> Reply:
        return self._who(req, "boost:" + m.group(1), m.group(1))


class FakeX(FakeServer):
    """The X API v2 endpoints the connector uses, behind a bearer token."""

    def __init__(self, token: str = "test-token") -> None:  # noqa: S107 (a fake server's token)
        super().__init__()
        self.token = token
        self.clock = _Clock()
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
            "created_at": _iso(self.clock.tick()),
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
        ids = sorted(
            (t for t, tw in self.tweets.items() if tw["author_id"] == uid), key=int, reverse=True
        )
        if "retweets" in (req.arg("exclude") or ""):
            ids = [
                t
                for t in ids
                if not any(
                    r["type"] == "retweeted" for r in self.tweets[t].get("referenced_tweets", [])
                )
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

    def _who(self, req: Request, who: dict[str, list[str]], tweet_id: str) -> Reply:
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
        return self._who(req, self.likes, m.group(1))

    def _retweeted_by(self, req: Request, m: re.Match[str]) -> Reply:
        return self._who(req, self.retweets, m.group(1))
