"""The AT Protocol as Bluesky's connector reads it: record URIs, TIDs, DID documents, subjects.

``DidResolver`` reads DID documents (``plc_url`` for did:plc, ``https://<host>/.well-known/
did.json`` for did:web): the account's PDS (service ``#atproto_pds``) and its current handle
(``alsoKnownAs``). ``SubjectReader`` reads the posts that likes, reposts, replies and quotes
point to: with ``app.bsky.feed.getPosts`` on an AppView (25 URIs a call), or, when none is
configured or it fails, with ``com.atproto.repo.getRecord`` on the subject's own PDS.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.errors import AccountUnavailable, BadItem, SourceError
from monitor.model import Subject
from sources.common import as_object, chunks, parse_time, tid_time
from sources.http import BadResponse, BudgetExhausted, HttpClient, NotFound, Response

POST = "app.bsky.feed.post"
LIKE = "app.bsky.feed.like"
REPOST = "app.bsky.feed.repost"
DID_TTL = 3600.0  # seconds a subject author's DID document is trusted from cache


def split_uri(uri: str) -> tuple[str, str, str]:
    """``at://<did>/<collection>/<rkey>`` as ``(did, collection, rkey)``; ``BadItem`` otherwise."""
    if not isinstance(uri, str) or not uri.startswith("at://"):
        raise BadItem(str(uri), "not an at:// URI")
    parts = uri[5:].split("/")
    if len(parts) != 3 or not all(parts):
        raise BadItem(uri, "not an at://<repo>/<collection>/<rkey> URI")
    return parts[0], parts[1], parts[2]


def xrpc(base: str, nsid: str) -> str:
    """The URL of XRPC method ``nsid`` on the service at ``base``."""
    return f"{base.rstrip('/')}/xrpc/{nsid}"


@dataclass(frozen=True)
class DidDoc:
    """What asn-monitor needs from a DID document."""

    did: str
    handle: str | None
    pds: str | None
    response: Response


@dataclass
class DidResolver:
    """Reads DID documents (did:plc from ``plc_url``, did:web from the host), cached for an hour."""

    http: HttpClient
    plc_url: str
    _cache: dict[str, tuple[float, DidDoc]] = field(default_factory=dict, init=False, repr=False)

    def did_doc(self, did: str, fresh: bool = False) -> DidDoc:
        """The DID document of ``did``; ``fresh`` skips the cache (the monitored account's own)."""
        cached = self._cache.get(did)
        if cached and not fresh and time.monotonic() - cached[0] < DID_TTL:
            return cached[1]
        if did.startswith("did:plc:"):
            url = f"{self.plc_url.rstrip('/')}/{did}"
        elif did.startswith("did:web:"):
            url = f"https://{did[8:].replace('%3A', ':')}/.well-known/did.json"
        else:
            raise AccountUnavailable(f"{did}: unsupported DID method")
        resp = self.http.get(url)
        data = resp.json()
        if not isinstance(data, dict) or data.get("id") != did:
            raise BadResponse(f"{resp.url}: not the DID document of {did}")
        handle = next((aka[5:] for aka in _listed(data.get("alsoKnownAs"))
                       if isinstance(aka, str) and aka.startswith("at://")), None)
        pds = next((svc["serviceEndpoint"].rstrip("/") for svc in _listed(data.get("service"))
                    if isinstance(svc, dict) and svc.get("id") in ("#atproto_pds", f"{did}#atproto_pds")
                    and isinstance(svc.get("serviceEndpoint"), str)), None)
        doc = DidDoc(did, handle, pds, resp)
        self._cache[did] = (time.monotonic(), doc)
        return doc


@dataclass(frozen=True)
class SubjectView:
    """A post an act points to, with the author's DID and the evidence (or error) of reading it."""

    subject: Subject
    author_id: str
    evidence: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class SubjectReader:
    """Reads the posts acts point to: through an AppView when there is one, else from each PDS."""

    http: HttpClient
    dids: DidResolver
    appview_url: str | None
    post_url: Callable[[str], str | None]
    appview_pause: float  # seconds the AppView is left alone after it failed (one cycle)
    _appview_down_until: float = field(default=0.0, init=False, repr=False)

    def read(self, uris: list[str]) -> dict[str, SubjectView]:
        """The subjects of ``uris``, by URI; unreadable ones carry their error."""
        todo = list(dict.fromkeys(uris))
        out: dict[str, SubjectView] = {}
        appview = (self.appview_url or "").rstrip("/")
        if appview and todo and self.http.clock() >= self._appview_down_until:
            for chunk in chunks(todo, 25):
                try:
                    query = [("uris", u) for u in chunk]
                    resp = self.http.get(xrpc(appview, "app.bsky.feed.getPosts"), query)
                    posts = as_object(resp.json()).get("posts")
                    if not isinstance(posts, list):
                        raise BadResponse(f"{resp.url}: no posts list")
                except BudgetExhausted:
                    raise
                except SourceError:
                    # The AppView is down or refuses (a PDS without one answers 400): fall back
                    # to each subject's own PDS for the rest of this cycle.
                    self._appview_down_until = self.http.clock() + self.appview_pause
                    break
                evidence = resp.evidence()
                for view in posts:
                    got = subject_from_view(view, evidence, self.post_url)
                    if got and got.subject.id in chunk:
                        out[got.subject.id] = got
        for uri in todo:
            if uri not in out:
                out[uri] = self.get_record(uri)
        return out

    def get_record(self, uri: str) -> SubjectView:
        """One subject read from its author's PDS."""
        did, collection, rkey = split_uri(uri)
        author = did
        try:
            doc = self.dids.did_doc(did)
            author = doc.handle or did
            if not doc.pds:
                raise AccountUnavailable(f"{did}: no #atproto_pds service")
            resp = self.http.get(
                xrpc(doc.pds, "com.atproto.repo.getRecord"),
                {"repo": did, "collection": collection, "rkey": rkey},
            )
            data = resp.json()
        except BudgetExhausted:
            raise
        except NotFound as exc:
            # Deleted since: the act still happened; what it was about is no longer readable.
            return SubjectView(
                Subject(uri, author, None, self.post_url(uri)),
                did,
                None,
                f"not found: {exc.error or exc}",
            )
        except SourceError as exc:
            return SubjectView(Subject(uri, author, None, self.post_url(uri)), did, None, str(exc))
        value = data.get("value") if isinstance(data, dict) else None
        text = value.get("text") if isinstance(value, dict) else None
        return SubjectView(
            Subject(uri, author, text if isinstance(text, str) else None, self.post_url(uri)),
            did,
            resp.evidence(),
        )


def _listed(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty one (a DID document's lists, read tolerantly)."""
    return value if isinstance(value, list) else []


def quoted_uri(embed: Any) -> str | None:
    """The quoted post's URI in an ``app.bsky.embed.record`` or ``recordWithMedia`` embed."""
    if not isinstance(embed, dict):
        return None
    record = embed.get("record")
    if embed.get("$type") == "app.bsky.embed.recordWithMedia" and isinstance(record, dict):
        record = record.get("record")
    quoting = embed.get("$type") in ("app.bsky.embed.record", "app.bsky.embed.recordWithMedia")
    if quoting and isinstance(record, dict) and isinstance(record.get("uri"), str):
        return str(record["uri"])
    return None


def subject_from_view(view: Any, evidence: dict[str, Any], web: Any) -> SubjectView | None:
    """A subject from an ``app.bsky.feed.defs#postView``."""
    if not isinstance(view, dict) or not isinstance(view.get("uri"), str):
        return None
    author = as_object(view.get("author"))
    record = as_object(view.get("record"))
    try:
        did = str(author.get("did") or split_uri(view["uri"])[0])
    except BadItem:
        return None  # not an AT URI: this view is useless, the subject is read from its PDS
    text = record.get("text")
    return SubjectView(
        Subject(
            view["uri"],
            str(author.get("handle") or did),
            text if isinstance(text, str) else None,
            web(view["uri"]),
        ),
        did,
        evidence,
    )


def record_time(rkey: str, rec: dict[str, Any]) -> datetime | None:
    """When a record was made: its TID's time (the listing order), else its ``createdAt``."""
    return tid_time(rkey) or parse_time(as_object(rec.get("value")).get("createdAt"))
