"""A fake Bluesky: PDS, PLC directory and AppView in one local server."""

from __future__ import annotations

import re
from typing import Any

from sources.testing.server import (
    Clock,
    FakeServer,
    Reply,
    Request,
    iso,
    json_reply,
    tid,
    xrpc_error,
)


class FakeBluesky(FakeServer):
    """A PDS, PLC directory and (optional) AppView in one server.

    Repositories hold records by collection and rkey; ``listRecords`` pages newest first
    and, like the real PDS, returns a cursor on every non-empty page.
    """

    def __init__(self, appview: bool = False) -> None:
        super().__init__()
        self.clock = Clock()
        self.handles: dict[str, str] = {}  # handle -> did
        self.repos: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}  # did -> coll -> rkey -> rec
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
        value = {"$type": collection, **value, "createdAt": iso(t)}
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

    def post(self, did: str, text: str, reply_to: str | None = None, quote: str | None = None) -> str:
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
            # What the real PDS answers (not the lexicon's HandleNotFound).
            return xrpc_error("InvalidRequest", "Unable to resolve handle")
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
