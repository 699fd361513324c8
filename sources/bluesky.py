"""Bluesky (AT Protocol) connector: posts, replies, quotes, likes and reposts, read directly.

Likes and reposts on Bluesky are public records in the account's own repository, so
nothing has to be inferred: ``com.atproto.repo.listRecords`` on the account's PDS lists
``app.bsky.feed.post``, ``app.bsky.feed.like`` and ``app.bsky.feed.repost`` records,
newest first. No login is used anywhere (``app.bsky.feed.getActorLikes`` only works for
the logged-in account and is deliberately not used).

Identity: the roster's handle is resolved with ``com.atproto.identity.resolveHandle`` on
``resolver_url``; its DID document names the PDS and current handle (``sources.atproto``).
Once pinned, the DID is followed, not the handle (see ``sources.common``). Subjects (the
liked, reposted, replied-to or quoted post) are read by ``sources.atproto.SubjectReader``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import Field

from monitor.errors import AccountUnavailable, BadItem
from monitor.model import Account, Cursor, Fetched, Item, Kind, Skipped, Subject
from sources.atproto import (
    LIKE,
    POST,
    REPOST,
    DidResolver,
    SubjectReader,
    SubjectView,
    quoted_uri,
    record_time,
    split_uri,
    xrpc,
)
from sources.base import SourceContext, SourceSettings
from sources.common import (
    Identity,
    Walk,
    as_object,
    identity_of,
    newer_tid,
    normal_handle,
    parse_time,
)
from sources.http import BadResponse, HttpClient, HttpSettings, Response
from sources.polling import ParsedPage, PollingSource, Record, Timeline, WalkOf

# stream -> the collection it lists
STREAMS: dict[str, str] = {"posts": POST, "likes": LIKE, "reposts": REPOST}
VERSION = "1.0.0"  # the connector's version, recorded with every raw response


class BlueskySettings(HttpSettings):
    """``[sources.<name>]`` keys of a ``type = "bluesky"`` source."""

    resolver_url: str = "https://public.api.bsky.app"  # answers com.atproto.identity.resolveHandle
    plc_url: str = "https://plc.directory"
    appview_url: str | None = "https://public.api.bsky.app"  # "" or none: getRecord only
    web_url: str = "https://bsky.app"  # for human-readable links to posts
    page_size: int = Field(100, ge=1, le=100)
    hydrate_subjects: bool = True  # read the text of liked/reposted/replied-to posts


@dataclass
class BlueskySource(PollingSource):
    """Reads one Bluesky account's posts, likes and reposts from its own PDS."""

    type_name: ClassVar[str] = "bluesky"
    Settings: ClassVar[type[SourceSettings]] = BlueskySettings
    platform: ClassVar[str] = "bluesky"
    version: ClassVar[str] = VERSION
    timeline_streams: ClassVar[tuple[str, ...]] = tuple(STREAMS)  # one stream per collection
    name: str
    settings: BlueskySettings
    http: HttpClient
    dids: DidResolver = field(init=False, repr=False)
    subjects: SubjectReader = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.dids = DidResolver(self.http, self.settings.plc_url)
        self.subjects = SubjectReader(self.http, self.dids, self.settings.appview_url, self.post_url,
                                      self.settings.poll_interval)

    @classmethod
    def from_settings(cls, name: str, settings: Any, ctx: SourceContext) -> BlueskySource:
        """Build the connector called ``name``."""
        return cls(name, settings, HttpClient(f"bluesky:{name}", VERSION, ctx, settings.policy()))

    @staticmethod
    def newer(a: str, b: str) -> bool:
        """Record keys are TIDs, which sort as strings."""
        return newer_tid(a, b)

    # -- identity ----------------------------------------------------------------------

    def identify(self, account: Account, cursors: Mapping[str, Cursor]) -> Identity:
        """The account's DID and current handle, pinned DID first (its DID document is cached)."""
        roster = normal_handle(account.handle)
        stored = identity_of(cursors)
        pinned = stored is not None and stored.pinned_for(account.handle)
        if roster.startswith("did:"):
            did = roster
        elif stored is not None and pinned:
            did = stored.id
        else:
            resp = self.get(
                xrpc(self.settings.resolver_url, "com.atproto.identity.resolveHandle"),
                {"handle": roster},
            )
            answer = as_object(resp.json()).get("did")
            if not isinstance(answer, str) or not answer.startswith("did:"):
                raise BadResponse(f"{resp.url}: no DID in the answer")
            did = answer
        doc = self.dids.did_doc(did, fresh=True)
        if not doc.pds:
            raise AccountUnavailable(f"{did}: DID document names no #atproto_pds service")
        if not pinned and not roster.startswith("did:") and normal_handle(doc.handle or "") != roster:
            # Handles are verified both ways: the DID document must claim the handle too.
            raise AccountUnavailable(
                f"{account.handle}: resolves to {did}, whose DID document names {doc.handle!r}"
            )
        return Identity(did, doc.handle or roster, account.handle)

    # -- timelines ---------------------------------------------------------------------

    def timelines(self, identity: Identity) -> list[Timeline]:
        """``listRecords`` of each collection on the PDS the DID document (just read) names."""
        pds = self.dids.did_doc(identity.id).pds
        assert pds is not None  # identify() refuses a DID without a PDS
        url = xrpc(pds, "com.atproto.repo.listRecords")
        return [Timeline(stream, url, collection) for stream, collection in STREAMS.items()]

    def get_url_params(self, walk_of: WalkOf, walk: Walk) -> dict[str, Any]:
        """A page of one collection of the account's repo, from the walk's cursor."""
        params: dict[str, Any] = {
            "repo": walk_of.identity.id,
            "collection": walk_of.timeline.lists,
            "limit": self.settings.page_size,
        }
        if walk.next:
            params["cursor"] = walk.next
        return params

    def parse_response(self, response: Response, walk: Walk) -> ParsedPage:
        """The records of a page, by record key, and its ``cursor``."""
        data = response.json()
        records = data.get("records") if isinstance(data, dict) else None
        if not isinstance(records, list):
            raise BadResponse(f"{response.url}: no records list")
        good: list[Record] = []
        skipped: list[Skipped] = []
        for i, rec in enumerate(records):
            try:
                if not isinstance(rec, dict):
                    raise BadItem(f"{response.url} records[{i}]", "not a record")
                _, _, rkey = split_uri(rec.get("uri", ""))
            except BadItem as exc:
                skipped.append(Skipped(exc.where, exc.what))
                continue
            good.append(Record(rkey, record_time(rkey, rec), rec))
        token = data.get("cursor")
        return ParsedPage(good, skipped, token if isinstance(token, str) else None)

    def parse_items(
        self, walk_of: WalkOf, records: list[Record], response: Response
    ) -> tuple[list[Fetched], list[Skipped]]:
        """The page's records as items, their subjects read in batches."""
        raw = response.raw()
        ident, collection = walk_of.identity, walk_of.timeline.lists
        parsed: list[tuple[dict[str, Any], Kind, str | None]] = []
        skipped: list[Skipped] = []
        for rec in (r.data for r in records):
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
        subjects = self.subjects.read(wanted) if self.settings.hydrate_subjects else {}
        out = [
            Fetched(self._item(walk_of, rec, kind, s, subjects.get(s or "")), raw)
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
        quoted = quoted_uri(value.get("embed"))
        if quoted:
            return "quote", quoted
        return "post", None

    def _item(
        self, walk_of: WalkOf, rec: dict[str, Any], kind: Kind, subject_uri: str | None,
        subj: SubjectView | None,
    ) -> Item:
        account, ident, renamed_from = walk_of.account, walk_of.identity, walk_of.renamed_from
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
                subj = SubjectView(Subject(subject_uri, sdid, None, self.post_url(subject_uri)), sdid)
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
            url=self.post_url(rec["uri"]) if collection == POST else None,
            subject=subject,
            extra=extra,
        )

    # -- small helpers -----------------------------------------------------------------

    def post_url(self, uri: str) -> str | None:
        """The web address people open to see a post (none for likes and reposts)."""
        try:
            did, collection, rkey = split_uri(uri)
        except BadItem:
            return None
        if collection != POST:
            return None
        return f"{self.settings.web_url.rstrip('/')}/profile/{did}/post/{rkey}"
