"""Bluesky (AT Protocol) connector: posts, replies, quotes, likes and reposts, read directly.

Likes and reposts on Bluesky are public records in the account's own repository, so
nothing has to be inferred: ``com.atproto.repo.listRecords`` on the account's PDS lists
``app.bsky.feed.post``, ``app.bsky.feed.like`` and ``app.bsky.feed.repost`` records,
newest first. No login is used anywhere (``app.bsky.feed.getActorLikes`` only works for
the logged-in account and is deliberately not used).

Identity: the roster's handle is resolved with ``com.atproto.identity.resolveHandle`` on
``resolver_url``; the DID document (``plc_url`` for did:plc, ``https://<host>/.well-known/
did.json`` for did:web) names the account's PDS (service ``#atproto_pds``) and its current
handle (``alsoKnownAs``). Once pinned, the DID is followed, not the handle (see
``sources.common``).

Subjects (the liked, reposted, replied-to or quoted post) are read with
``app.bsky.feed.getPosts`` on ``appview_url`` (25 URIs a call), or, when no AppView is
configured or it fails, with ``com.atproto.repo.getRecord`` on the subject's own PDS.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field

from monitor.errors import AccountUnavailable, BadItem, SourceError
from monitor.model import Account, Cursor, Fetched, Item, Kind, Page, Skipped, Subject
from sources.base import SourceContext, SourceSettings, register
from sources.common import (
    Identity,
    Walk,
    chunks,
    identity_of,
    newer_tid,
    normal_handle,
    obj,
    older_than,
    parse_time,
    tid_time,
)
from sources.http import BadResponse, BudgetExhausted, HttpClient, HttpSettings, NotFound, Response

POST = "app.bsky.feed.post"
LIKE = "app.bsky.feed.like"
REPOST = "app.bsky.feed.repost"
# stream -> (collection, kind of its records)
STREAMS: dict[str, str] = {"posts": POST, "likes": LIKE, "reposts": REPOST}
VERSION = "1.0.0"  # the connector's version, recorded with every raw response
_DID_TTL = 3600.0  # seconds a subject author's DID document is trusted from cache


class BlueskySettings(HttpSettings):
    """``[sources.<name>]`` keys of a ``type = "bluesky"`` source."""

    resolver_url: str = "https://public.api.bsky.app"  # answers com.atproto.identity.resolveHandle
    plc_url: str = "https://plc.directory"
    appview_url: str | None = "https://public.api.bsky.app"  # "" or none: getRecord only
    web_url: str = "https://bsky.app"  # for human-readable links to posts
    page_size: int = Field(100, ge=1, le=100)
    hydrate_subjects: bool = True  # read the text of liked/reposted/replied-to posts


@dataclass(frozen=True)
class DidDoc:
    """What asn-monitor needs from a DID document."""

    did: str
    handle: str | None
    pds: str | None
    response: Response


@dataclass(frozen=True)
class _Subject:
    subject: Subject
    author_id: str
    evidence: dict[str, Any] | None = None
    error: str | None = None


def split_uri(uri: str) -> tuple[str, str, str]:
    """``at://<did>/<collection>/<rkey>`` as ``(did, collection, rkey)``; ``BadItem`` otherwise."""
    if not isinstance(uri, str) or not uri.startswith("at://"):
        raise BadItem(str(uri), "not an at:// URI")
    parts = uri[5:].split("/")
    if len(parts) != 3 or not all(parts):
        raise BadItem(uri, "not an at://<repo>/<collection>/<rkey> URI")
    return parts[0], parts[1], parts[2]


@register
@dataclass
class BlueskySource:
    """Reads one Bluesky account's posts, likes and reposts from its own PDS."""

    type_name: ClassVar[str] = "bluesky"
    Settings: ClassVar[type[SourceSettings]] = BlueskySettings
    name: str
    settings: BlueskySettings
    http: HttpClient
    platform: str = "bluesky"
    version: str = VERSION
    _dids: dict[str, tuple[float, DidDoc]] = field(default_factory=dict, init=False, repr=False)
    _appview_down_until: float = field(default=0.0, init=False, repr=False)

    @classmethod
    def from_settings(cls, name: str, settings: Any, ctx: SourceContext) -> BlueskySource:
        """Build the connector called ``name``."""
        http = HttpClient(f"bluesky:{name}", VERSION, ctx, settings.policy())
        return cls(name, settings, http)

    def close(self) -> None:
        """Close the HTTP connection pool (it reopens on next use)."""
        self.http.close()

    def streams(self) -> list[str]:
        """``identity`` first, then one stream per collection."""
        return ["identity", *STREAMS]

    def fetch(self, account: Account, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        """An identity page, then pages of new posts, likes and reposts."""
        ident, doc = self.identify(account, cursors)
        yield Page(account.key, cursor=ident.cursor())
        previous = identity_of(cursors)
        renamed_from = previous.handle if previous and previous.id == ident.id else None
        if renamed_from == ident.handle:
            renamed_from = None
        assert doc.pds is not None  # identify() refuses a DID without a PDS
        for stream, collection in STREAMS.items():
            yield from self._walk(
                account, ident, doc.pds, stream, collection, cursors.get(stream), renamed_from
            )

    # -- identity ----------------------------------------------------------------------

    def identify(self, account: Account, cursors: Mapping[str, Cursor]) -> tuple[Identity, DidDoc]:
        """The account's DID and current handle, pinned DID first, and its DID document."""
        roster = normal_handle(account.handle)
        stored = identity_of(cursors)
        pinned = stored is not None and stored.pinned_for(account.handle)
        if roster.startswith("did:"):
            did = roster
        elif stored is not None and pinned:
            did = stored.id
        else:
            resp = self.http.get(
                self._xrpc(self.settings.resolver_url, "com.atproto.identity.resolveHandle"),
                {"handle": roster},
            )
            answer = obj(resp.json()).get("did")
            if not isinstance(answer, str) or not answer.startswith("did:"):
                raise BadResponse(f"{resp.url}: no DID in the answer")
            did = answer
        doc = self.did_doc(did, fresh=True)
        if not doc.pds:
            raise AccountUnavailable(f"{did}: DID document names no #atproto_pds service")
        if not pinned and not roster.startswith("did:") and normal_handle(doc.handle or "") != roster:
            # Handles are verified both ways: the DID document must claim the handle too.
            raise AccountUnavailable(
                f"{account.handle}: resolves to {did}, whose DID document names {doc.handle!r}"
            )
        return Identity(did, doc.handle or roster, account.handle), doc

    def did_doc(self, did: str, fresh: bool = False) -> DidDoc:
        """The DID document of ``did`` (did:plc or did:web), cached for subject authors."""
        cached = self._dids.get(did)
        if cached and not fresh and time.monotonic() - cached[0] < _DID_TTL:
            return cached[1]
        if did.startswith("did:plc:"):
            url = f"{self.settings.plc_url.rstrip('/')}/{did}"
        elif did.startswith("did:web:"):
            url = f"https://{did[8:].replace('%3A', ':')}/.well-known/did.json"
        else:
            raise AccountUnavailable(f"{did}: unsupported DID method")
        resp = self.http.get(url)
        data = resp.json()
        if not isinstance(data, dict) or data.get("id") != did:
            raise BadResponse(f"{resp.url}: not the DID document of {did}")
        handle = None
        for aka in _listed(data.get("alsoKnownAs")):
            if isinstance(aka, str) and aka.startswith("at://"):
                handle = aka[5:]
                break
        pds = None
        for svc in _listed(data.get("service")):
            if (
                isinstance(svc, dict)
                and svc.get("id") in ("#atproto_pds", f"{did}#atproto_pds")
                and isinstance(svc.get("serviceEndpoint"), str)
            ):
                pds = svc["serviceEndpoint"].rstrip("/")
                break
        doc = DidDoc(did, handle, pds, resp)
        self._dids[did] = (time.monotonic(), doc)
        return doc

    # -- timelines ---------------------------------------------------------------------

    def _walk(
        self,
        account: Account,
        ident: Identity,
        pds: str,
        stream: str,
        collection: str,
        cursor: Cursor | None,
        renamed_from: str | None,
    ) -> Iterator[Page]:
        state = Walk.decode(cursor)
        horizon = self.settings.horizon()
        while True:
            params: dict[str, Any] = {
                "repo": ident.id,
                "collection": collection,
                "limit": self.settings.page_size,
            }
            if state.next:
                params["cursor"] = state.next
            resp = self.http.get(self._xrpc(pds, "com.atproto.repo.listRecords"), params)
            data = resp.json()
            records = data.get("records") if isinstance(data, dict) else None
            if not isinstance(records, list):
                raise BadResponse(f"{resp.url}: no records list")
            good: list[tuple[str, dict[str, Any]]] = []
            skipped: list[Skipped] = []
            for i, rec in enumerate(records):
                try:
                    if not isinstance(rec, dict):
                        raise BadItem(f"{resp.url} records[{i}]", "not a record")
                    _, _, rkey = split_uri(rec.get("uri", ""))
                except BadItem as exc:
                    skipped.append(Skipped(exc.where, exc.what))
                    continue
                good.append((rkey, rec))
            token = data.get("cursor") if isinstance(data.get("cursor"), str) else None
            if token is not None and token == state.next:
                raise BadResponse(f"{resp.url}: cursor did not move")
            old = [older_than(_record_time(k, r), horizon) for k, r in good]
            keep, after, done = state.step([k for k, _ in good], token, newer_tid, old)
            new = [r for _, r in good[:keep]]
            items, bad = self._items(account, ident, resp, collection, new, renamed_from)
            yield Page(account.key, items, skipped + bad, Cursor(stream, after.encode()))
            if done:
                return
            state = after

    def _items(
        self,
        account: Account,
        ident: Identity,
        resp: Response,
        collection: str,
        records: list[dict[str, Any]],
        renamed_from: str | None,
    ) -> tuple[list[Fetched], list[Skipped]]:
        raw = resp.raw()
        parsed: list[tuple[dict[str, Any], Kind, str | None]] = []
        skipped: list[Skipped] = []
        for rec in records:
            value = rec.get("value")
            try:
                repo, coll, _ = split_uri(rec["uri"])
                # Evidence must come from the account's own repo and the asked-for collection.
                if repo != ident.id or coll != collection:
                    raise BadItem(rec["uri"], f"not a {collection} record of {ident.id}")
                if not isinstance(value, dict):
                    raise BadItem(rec["uri"], "record has no value object")
                kind, subject_uri = self._kind(rec["uri"], value)
                if parse_time(value.get("createdAt")) is None:
                    raise BadItem(rec["uri"], "no valid createdAt")
            except BadItem as exc:
                skipped.append(Skipped(exc.where, exc.what))
                continue
            parsed.append((rec, kind, subject_uri))
        wanted = [s for _, _, s in parsed if s]
        subjects = self._hydrate(wanted) if self.settings.hydrate_subjects else {}
        out = [
            Fetched(self._item(account, ident, rec, kind, s, subjects.get(s or ""), renamed_from), raw)
            for rec, kind, s in parsed
        ]
        return out, skipped

    def _kind(self, uri: str, value: dict[str, Any]) -> tuple[Kind, str | None]:
        _, collection, _ = split_uri(uri)
        if collection in (LIKE, REPOST):
            subject = value.get("subject")
            if not isinstance(subject, dict) or not isinstance(subject.get("uri"), str):
                raise BadItem(uri, "no subject.uri")
            split_uri(subject["uri"])
            return ("like" if collection == LIKE else "repost"), subject["uri"]
        reply = value.get("reply")
        if isinstance(reply, dict) and isinstance(reply.get("parent"), dict):
            parent = reply["parent"].get("uri")
            if isinstance(parent, str):
                return "reply", parent
        quoted = _quoted_uri(value.get("embed"))
        if quoted:
            return "quote", quoted
        return "post", None

    def _item(
        self,
        account: Account,
        ident: Identity,
        rec: dict[str, Any],
        kind: Kind,
        subject_uri: str | None,
        subj: _Subject | None,
        renamed_from: str | None,
    ) -> Item:
        value = rec["value"]
        _, collection, rkey = split_uri(rec["uri"])
        extra: dict[str, Any] = {
            "cid": rec.get("cid"),
            "collection": collection,
            "rkey": rkey,
            "record": value,
            "roster_handle": account.handle,
            "account_key": account.key,
        }
        if renamed_from:
            extra["previous_handle"] = renamed_from
        subject = None
        if subject_uri:
            if subj is None:
                sdid = split_uri(subject_uri)[0]
                subj = _Subject(Subject(subject_uri, sdid, None, self._web(subject_uri)), sdid)
            subject = subj.subject
            extra["subject_author_id"] = subj.author_id
            if subj.evidence is not None:
                extra["subject_evidence"] = subj.evidence
            if subj.error is not None:
                extra["subject_error"] = subj.error
        created = parse_time(value.get("createdAt"))
        assert created is not None  # checked in _items
        text = value.get("text") if collection == POST else None
        return Item(
            platform=self.platform,
            id=rec["uri"],
            kind=kind,
            actor=ident.handle,
            actor_id=ident.id,
            created_at=created,
            text=text if isinstance(text, str) else None,
            url=self._web(rec["uri"]) if collection == POST else None,
            subject=subject,
            extra=extra,
        )

    # -- subjects ----------------------------------------------------------------------

    def _hydrate(self, uris: list[str]) -> dict[str, _Subject]:
        todo = list(dict.fromkeys(uris))
        out: dict[str, _Subject] = {}
        appview = (self.settings.appview_url or "").rstrip("/")
        if appview and todo and self.http.clock() >= self._appview_down_until:
            for chunk in chunks(todo, 25):
                try:
                    resp = self.http.get(
                        self._xrpc(appview, "app.bsky.feed.getPosts"), [("uris", u) for u in chunk]
                    )
                    posts = obj(resp.json()).get("posts")
                    if not isinstance(posts, list):
                        raise BadResponse(f"{resp.url}: no posts list")
                except BudgetExhausted:
                    raise
                except SourceError:
                    # The AppView is down or refuses (a PDS without one answers 400): fall back
                    # to each subject's own PDS for the rest of this cycle.
                    self._appview_down_until = self.http.clock() + self.settings.poll_interval
                    break
                evidence = resp.evidence()
                for view in posts:
                    got = _from_view(view, evidence, self._web)
                    if got and got.subject.id in chunk:
                        out[got.subject.id] = got
        for uri in todo:
            if uri not in out:
                out[uri] = self._get_record(uri)
        return out

    def _get_record(self, uri: str) -> _Subject:
        did, collection, rkey = split_uri(uri)
        author = did
        try:
            doc = self.did_doc(did)
            author = doc.handle or did
            if not doc.pds:
                raise AccountUnavailable(f"{did}: no #atproto_pds service")
            resp = self.http.get(
                self._xrpc(doc.pds, "com.atproto.repo.getRecord"),
                {"repo": did, "collection": collection, "rkey": rkey},
            )
            data = resp.json()
        except BudgetExhausted:
            raise
        except NotFound as exc:
            # Deleted since: the act still happened; what it was about is no longer readable.
            return _Subject(
                Subject(uri, author, None, self._web(uri)),
                did,
                None,
                f"not found: {exc.error or exc}",
            )
        except SourceError as exc:
            return _Subject(Subject(uri, author, None, self._web(uri)), did, None, str(exc))
        value = data.get("value") if isinstance(data, dict) else None
        text = value.get("text") if isinstance(value, dict) else None
        return _Subject(
            Subject(uri, author, text if isinstance(text, str) else None, self._web(uri)),
            did,
            resp.evidence(),
        )

    # -- small helpers -----------------------------------------------------------------

    def _web(self, uri: str) -> str | None:
        try:
            did, collection, rkey = split_uri(uri)
        except BadItem:
            return None
        if collection != POST:
            return None
        return f"{self.settings.web_url.rstrip('/')}/profile/{did}/post/{rkey}"

    @staticmethod
    def _xrpc(base: str, nsid: str) -> str:
        return f"{base.rstrip('/')}/xrpc/{nsid}"


def _listed(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty one (a DID document's lists, read tolerantly)."""
    return value if isinstance(value, list) else []


def _quoted_uri(embed: Any) -> str | None:
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


def _from_view(view: Any, evidence: dict[str, Any], web: Any) -> _Subject | None:
    """A subject from an ``app.bsky.feed.defs#postView``."""
    if not isinstance(view, dict) or not isinstance(view.get("uri"), str):
        return None
    author = obj(view.get("author"))
    record = obj(view.get("record"))
    try:
        did = str(author.get("did") or split_uri(view["uri"])[0])
    except BadItem:
        return None  # not an AT URI: this view is useless, the subject is read from its PDS
    text = record.get("text")
    return _Subject(
        Subject(
            view["uri"],
            str(author.get("handle") or did),
            text if isinstance(text, str) else None,
            web(view["uri"]),
        ),
        did,
        evidence,
    )


def _record_time(rkey: str, rec: dict[str, Any]) -> datetime | None:
    """When a record was made: its TID's time (the listing order), else its ``createdAt``."""
    return tid_time(rkey) or parse_time(obj(rec.get("value")).get("createdAt"))
