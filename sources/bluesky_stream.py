"""Bluesky in real time: ``com.atproto.sync.subscribeRepos`` on a relay or a PDS.

Every repository change arrives as a DAG-CBOR frame (``#commit`` with a CAR file of the new
blocks, ``#identity``, ``#account``, ``#sync``, ``#info``) with a ``seq`` to resume from.

The ``atproto`` SDK's firehose client does the websocket and the framing; its DAG-CBOR and
CAR decoding (``libipld``) does the bytes. A frame is kept only when its ``repo`` (or
``did``) is a roster DID: that is read from the frame body before any CAR block is
decoded, so the 99.9 % of the network that is not on the roster costs one CBOR decode.

Creates of ``app.bsky.feed.post``, ``.like`` and ``.repost`` become the same items the
polling connector (``sources.bluesky``) makes, with the frame's bytes as their raw
evidence; deletes of those become ``Withdrawal``s. ``fetch`` is the polling connector's
``listRecords`` walk, kept as the fallback, for the first backfill and after a gap.
"""

from __future__ import annotations

import base64
import queue
import random
import threading
import time
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import Field

from monitor.errors import BadItem, SourceError
from monitor.model import (
    Account,
    AccountChange,
    Cursor,
    Fetched,
    Page,
    Raw,
    Skipped,
    Withdrawal,
)
from sources.atproto import LIKE, POST, REPOST
from sources.base import SourceContext, SourceSettings
from sources.bluesky import BlueskySettings, BlueskySource
from sources.common import Identity, parse_time
from sources.http import HttpClient
from sources.polling import Timeline, WalkOf

VERSION = "1.0.0"
WANTED = frozenset({POST, LIKE, REPOST})
NSID = "com.atproto.sync.subscribeRepos"
CURSOR_KEY = "firehose"  # the stream's account_key in source_cursors; its stream is "seq"


class BlueskyStreamSettings(BlueskySettings):
    """``[sources.<name>]`` keys of a ``type = "bluesky-stream"`` source.

    The polling keys (``resolver_url``, ``plc_url``, ...) serve the backfill.
    """

    stream_url: str = "wss://bsky.network"  # a relay, or a PDS (http(s) is turned into ws(s))
    batch_events: int = Field(500, ge=1, le=100_000)  # commit after this many kept events ...
    batch_seconds: float = Field(1.0, gt=0, le=60)  # ... or this long after the first one
    backoff_max: float = Field(60.0, gt=0, le=3600)  # cap of the reconnection delay (s)
    gap_after: float = Field(300.0, gt=0)  # a disconnect this long (s) is a gap: backfill
    seq_gap: int = Field(1, ge=1)  # a jump of more than this between seqs is a gap
    queue_size: int = Field(20_000, ge=10)


class BadFrame(BadItem):
    """A frame that could not be decoded (not DAG-CBOR, a wrong shape, a broken CAR): skipped."""


class StreamRefused(BadItem):
    """The server answered with an error frame (``FutureCursor``, ``ConsumerTooSlow``, ...)."""

    def __init__(self, where: str, error: str, message: str | None) -> None:
        super().__init__(where, f"{error}: {message or ''}".rstrip(": "))
        self.error = error


EventKind = Literal["commit", "identity", "account", "info", "sync", "skip", "error"]


@dataclass(frozen=True)
class Op:
    """One repository operation of a roster commit on a wanted collection."""

    action: str
    collection: str
    rkey: str
    cid: str | None
    record: dict[str, Any] | None


@dataclass(frozen=True)
class Event:
    """A decoded frame: what the consumer needs, and the frame's own bytes."""

    kind: EventKind
    seq: int | None
    did: str | None = None
    time: datetime | None = None
    raw: bytes = b""
    ops: tuple[Op, ...] = ()
    handle: str | None = None
    active: bool | None = None
    status: str | None = None
    name: str | None = None  # #info name, or the error of an error frame
    message: str | None = None


def decode_frame(data: bytes, roster: Container[str], where: str = "frame") -> Event:
    """Decode one frame, keeping only roster repos' contents; ``BadFrame`` when malformed.

    A commit of a repo not on the roster is answered with a ``skip`` event (its seq only):
    its CAR blocks are never decoded.
    """
    from atproto_core.exceptions import AtProtocolError
    from atproto_subscription.frames import ErrorFrame, Frame

    try:
        frame = Frame.from_bytes(data)
    except (AtProtocolError, ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        # The SDK reads the header's map without checking it is one (AttributeError).
        raise BadFrame(where, f"not a DAG-CBOR frame: {type(exc).__name__}: {exc}") from None
    if isinstance(frame, ErrorFrame):
        raise StreamRefused(where, str(frame.body.error), frame.body.message)
    body = frame.body
    if not isinstance(body, dict):
        raise BadFrame(where, "frame body is not a map")
    kind = frame.header.t if isinstance(frame.header.t, str) else None
    seq = _seq(body, kind, where)
    if kind == "#info":
        return Event("info", None, name=str(body.get("name")), message=_opt_str(body.get("message")))
    did = body.get("repo") if kind == "#commit" else body.get("did")
    if not isinstance(did, str):
        if kind in ("#commit", "#identity", "#account", "#sync"):
            raise BadFrame(where, f"{kind} without a repo DID")
        return Event("skip", seq)  # an event type this consumer does not know
    if did not in roster:  # its time stays unparsed: only the lag report reads it
        return Event("skip", seq, message=_opt_str(body.get("time")))
    when = parse_time(body.get("time"))
    if kind == "#commit":
        return Event("commit", seq, did, when, data, _ops(body, where))
    if kind == "#identity":
        return Event("identity", seq, did, when, data, handle=_opt_str(body.get("handle")))
    if kind == "#account":
        active = body.get("active")
        if not isinstance(active, bool):
            raise BadFrame(where, "#account without a boolean active")
        return Event("account", seq, did, when, data, active=active,
                     status=_opt_str(body.get("status")))
    if kind == "#sync":
        return Event("sync", seq, did, when, data)
    return Event("skip", seq)


def _seq(body: dict[str, Any], kind: str | None, where: str) -> int | None:
    seq = body.get("seq")
    if kind == "#info":
        return None
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise BadFrame(where, f"{kind} frame without a valid seq")
    return seq


def _ops(body: dict[str, Any], where: str) -> tuple[Op, ...]:
    """The wanted operations of a commit; the CAR is decoded only if one needs a record."""
    from atproto_core.car import CAR
    from atproto_core.cid import CID

    raw_ops = body.get("ops")
    if not isinstance(raw_ops, list):
        raise BadFrame(where, "#commit without an ops list")
    wanted: list[tuple[str, str, str, Any]] = []
    for op in raw_ops:
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            raise BadFrame(where, "#commit op without a path")
        collection, _, rkey = op["path"].partition("/")
        if collection in WANTED and rkey:
            wanted.append((str(op.get("action")), collection, rkey, op.get("cid")))
    blocks: Mapping[Any, Any] = {}
    if any(a in ("create", "update") for a, *_ in wanted):
        try:
            blocks = CAR.from_bytes(body.get("blocks") or b"").blocks
        except Exception as exc:
            raise BadFrame(where, f"#commit blocks are not a CAR file: {exc}") from None
    out: list[Op] = []
    for action, collection, rkey, cid in wanted:
        record = None
        cid_obj = None
        if cid is not None:
            try:
                cid_obj = cid if isinstance(cid, CID) else CID.decode(cid)
            except Exception as exc:
                raise BadFrame(where, f"op {collection}/{rkey}: bad CID: {exc}") from None
        if action in ("create", "update"):
            got = blocks.get(cid_obj) if cid_obj is not None else None
            if not isinstance(got, dict):
                raise BadFrame(where, f"op {collection}/{rkey}: record block missing")
            record = _jsonable(got)
        out.append(Op(action, collection, rkey, str(cid_obj) if cid_obj else None, record))
    return tuple(out)


def _jsonable(value: Any) -> Any:
    """A decoded record as JSON values: CID links as strings, other bytes as base64."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)  # a CID object


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass
class BlueskyStreamSource:
    """Bluesky's repository event stream for the roster, with the polling connector as fallback."""

    type_name: ClassVar[str] = "bluesky-stream"
    Settings: ClassVar[type[SourceSettings]] = BlueskyStreamSettings
    name: str
    settings: BlueskyStreamSettings
    poll: BlueskySource
    platform: str = "bluesky"
    version: str = VERSION

    @classmethod
    def from_settings(cls, name: str, settings: Any, ctx: SourceContext) -> BlueskyStreamSource:
        """Build the source called ``name`` (and its polling fallback under the same name)."""
        http = HttpClient(f"bluesky:{name}", VERSION, ctx, settings.policy())
        return cls(name, settings, BlueskySource(name, settings, http))

    def close(self) -> None:
        """Close the fallback's HTTP pool."""
        self.poll.close()

    def streams(self) -> list[str]:
        """The polling streams (the firehose's own cursor is kept under ``firehose``/``seq``)."""
        return self.poll.streams()

    def fetch(self, account: Account, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        """The ``listRecords`` walk of one account: fallback, first backfill, gap backfill."""
        return self.poll.fetch(account, cursors)

    @property
    def endpoint(self) -> str:
        """The websocket base URI (``.../xrpc``) of the relay or PDS."""
        url = self.settings.stream_url.rstrip("/")
        if url.startswith("http://") or url.startswith("https://"):
            url = "ws" + url[4:]
        return url if url.endswith("/xrpc") else f"{url}/xrpc"

    def reader(self, cursor: int | None, roster: Callable[[], Container[str]]) -> StreamReader:
        """A reader of the stream from ``cursor`` on, keeping ``roster()``'s DIDs."""
        return StreamReader(self, cursor, roster)

    def page(self, events: Sequence[Event], roster: Mapping[str, Account],
             seq: int | None) -> Page:
        """One page of the kept events: items, withdrawals, account notices, and the seq."""
        fetched_at = datetime.now(UTC)
        records: list[tuple[Account, Identity, dict[str, Any], Raw]] = []
        withdrawals: list[Withdrawal] = []
        changes: list[AccountChange] = []
        skipped: list[Skipped] = []
        for ev in events:
            account = roster.get(ev.did or "")
            if account is None or ev.seq is None:
                continue
            when = ev.time or fetched_at
            if ev.kind == "identity":
                changes.append(AccountChange(self.platform, str(ev.did), when,
                                             handle=ev.handle or self._doc_handle(ev.did)))
            elif ev.kind == "account":
                changes.append(AccountChange(self.platform, str(ev.did), when, active=ev.active,
                                             status=None if ev.active else ev.status or "inactive"))
            elif ev.kind == "commit":
                raw = self._raw(ev, fetched_at)
                ident = Identity(str(ev.did), account.handle, account.handle)
                for op in ev.ops:
                    uri = f"at://{ev.did}/{op.collection}/{op.rkey}"
                    if op.action == "delete":
                        withdrawals.append(Withdrawal(
                            self.platform, uri, str(ev.did), when,
                            {"seq": ev.seq, "collection": op.collection, "rkey": op.rkey,
                             "raw_sha256": raw.sha256}))
                    elif op.action == "create" and op.record is not None:
                        rec = {"uri": uri, "cid": op.cid, "value": op.record}
                        records.append((account, ident, rec, raw))
        items = self._items(records, skipped)
        cursor = Cursor("seq", str(seq)) if seq is not None else None
        return Page(CURSOR_KEY, items, skipped, cursor, withdrawals, changes)

    def _items(self, records: list[tuple[Account, Identity, dict[str, Any], Raw]],
               skipped: list[Skipped]) -> list[Fetched]:
        # The polling connector's own item builder: the two sources make the same items.
        parsed = []
        for account, ident, rec, raw in records:
            try:
                kind, subject_uri = self.poll._kind(rec["uri"], rec["value"])
                if parse_time(rec["value"].get("createdAt")) is None:
                    raise BadItem(rec["uri"], "no valid createdAt")
            except BadItem as exc:
                skipped.append(Skipped(exc.where, exc.what))
                continue
            parsed.append((account, ident, rec, raw, kind, subject_uri))
        wanted = [s for *_, s in parsed if s]
        subjects = self.poll.subjects.read(wanted) if wanted and self.settings.hydrate_subjects else {}
        out: list[Fetched] = []
        for account, ident, rec, raw, kind, s in parsed:
            walk_of = WalkOf(account, ident, Timeline(CURSOR_KEY, self.endpoint), None)
            item = self.poll._item(walk_of, rec, kind, s, subjects.get(s or ""))
            extra = {**item.extra, "seq": int(raw.headers["x-atproto-seq"]), "via": "firehose"}
            out.append(Fetched(replace(item, extra=extra), raw))
        return out

    def _raw(self, ev: Event, fetched_at: datetime) -> Raw:
        # Subscribing with cursor = seq - 1 replays this very frame first.
        url = f"{self.endpoint}/{NSID}?cursor={max(0, (ev.seq or 0) - 1)}"
        return Raw(ev.raw, url, fetched_at, f"bluesky-stream:{self.name}", VERSION, None,
                   {"content-type": "application/vnd.ipld.dag-cbor", "x-atproto-seq": str(ev.seq)})

    def _doc_handle(self, did: str | None) -> str | None:
        """The handle in the DID document, when the #identity event does not carry one."""
        try:
            return self.poll.dids.did_doc(str(did), fresh=True).handle
        except SourceError:
            return None


@dataclass
class StreamReader:
    """The SDK's firehose client on a thread of its own, feeding a bounded queue.

    The queue holds kept events, ``skip`` markers (the newest seq of frames not kept, at
    most every 0.2 s while the queue is busy) and ``error`` events (a bad frame, a
    refusal, a gap); the consumer commits them in order, so the stored seq never passes
    an event not yet stored.
    """

    source: BlueskyStreamSource
    cursor: int | None
    roster: Callable[[], Container[str]]
    events: queue.Queue[Event] = field(init=False)
    connected: bool = field(default=False, init=False)
    reconnects: int = field(default=0, init=False)
    disconnected_at: float | None = field(default=None, init=False)
    bad_frames: int = field(default=0, init=False)
    _client: Any = field(default=None, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _last_seq: int | None = field(default=None, init=False, repr=False)
    _skip_at: float = field(default=0.0, init=False, repr=False)
    _stopped: bool = field(default=False, init=False, repr=False)
    _pending: Event | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.events = queue.Queue(maxsize=self.source.settings.queue_size)
        self._last_seq = self.cursor

    def start(self) -> None:
        """Connect (and keep reconnecting) on a daemon thread."""
        self._client = _make_client(self)
        self._thread = threading.Thread(target=self._run, name=f"stream:{self.source.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Close the websocket and wait (bounded) for the thread to end."""
        self._stopped = True
        if self._client is not None:
            self._client.stop()
        if self._thread is not None:
            self._thread.join(timeout)

    def reset(self, cursor: int | None) -> None:
        """Resume from ``cursor`` at the next connection (after a refusal or a gap)."""
        self._last_seq = cursor

    def _run(self) -> None:
        while not self._stopped:
            try:
                self._client.start(self._on_event, self._on_callback_error)
            except Exception as exc:
                self._put(Event("error", None, name=type(exc).__name__, message=str(exc)))
            if not self._stopped:
                self._client = _make_client(self)
                time.sleep(self.delay(1))

    def delay(self, attempt: int) -> float:
        """Capped exponential backoff with full jitter: uniform(0, min(cap, 0.5 * 2**n))."""
        cap = self.source.settings.backoff_max
        return random.uniform(0, min(cap, 0.5 * 2 ** min(attempt, 30)))  # noqa: S311

    def frame(self, data: bytes) -> Event | None:
        """Decode one frame for the queue (``None``: nothing to queue yet)."""
        where = f"{self.source.endpoint}/{NSID} after seq {self._last_seq}"
        try:
            ev = decode_frame(data, self.roster(), where)
        except StreamRefused as exc:
            return Event("error", self._last_seq, name=exc.error, message=str(exc))
        except BadFrame as exc:
            self.bad_frames += 1
            return Event("error", self._last_seq, name="BadFrame", message=str(exc))
        if ev.seq is not None:
            last = self._last_seq
            self._last_seq = ev.seq
            if last is not None and ev.seq > last + self.source.settings.seq_gap:
                self._put(Event("error", last, name="SeqGap",
                                message=f"seq jumped from {last} to {ev.seq}"))
        with self._lock:
            self._pending = None
            if ev.kind == "skip":
                # Only the newest seq matters: queue a marker when the consumer is idle, or
                # every 0.2 s, so a busy stream of strangers costs no queue traffic; the
                # marker held back is handed over by ``flush_skip``.
                now = time.monotonic()
                if not self.events.empty() and now - self._skip_at < 0.2:
                    self._pending = ev
                    return None
                self._skip_at = now
        return ev

    def flush_skip(self) -> None:
        """Queue the newest held-back ``skip`` marker (the consumer calls this when idle).

        Every event the reader decoded before it is already in the queue, so the seq
        stored from it never passes an event not yet stored.
        """
        with self._lock:
            if self._pending is not None:
                try:
                    self.events.put_nowait(self._pending)
                except queue.Full:
                    return
                self._pending = None

    def _on_event(self, ev: Event) -> None:
        self._put(ev)
    def _on_callback_error(self, exc: BaseException) -> None:
        self._put(Event("error", self._last_seq, name=type(exc).__name__, message=str(exc)))

    def _put(self, ev: Event) -> None:
        # Bounded: a slow consumer holds the reader back (the server then buffers or drops us).
        while not self._stopped:
            try:
                self.events.put(ev, timeout=0.5)
                return
            except queue.Full:
                continue


def _make_client(reader: StreamReader) -> Any:
    """A subclass of the SDK's ``FirehoseSubscribeReposClient`` wired to ``reader``."""
    from atproto_firehose import FirehoseSubscribeReposClient

    class Client(FirehoseSubscribeReposClient):
        def _decode_frame(self, raw_frame: str | bytes) -> Event | None:
            if isinstance(raw_frame, str):
                return None
            return reader.frame(bytes(raw_frame))

        def _handle_frame_decoding_error(self, exception: Exception) -> None:
            raise exception

        def _before_connect(self) -> None:
            params = {"cursor": reader._last_seq} if reader._last_seq is not None else {}
            self.update_params(params)

        def _get_client(self) -> Any:
            client = super()._get_client()
            if reader.disconnected_at is not None:
                gone = time.monotonic() - reader.disconnected_at
                if gone >= reader.source.settings.gap_after:
                    reader._put(Event("error", reader._last_seq, name="LongDisconnect",
                                      message=f"disconnected for {gone:.0f}s"))
            reader.connected, reader.disconnected_at = True, None
            return client

        def _track_reconnection(self, connected_at: float | None) -> None:
            super()._track_reconnection(connected_at)
            if reader.connected:
                reader.disconnected_at = time.monotonic()
            reader.connected = False
            reader.reconnects += 1

        def _get_reconnection_delay(self) -> float:
            return reader.delay(self._reconnect_no)

    # No receive timeout: an idle PDS is not a dead one (websockets' pings find dead ones).
    return Client(base_uri=reader.source.endpoint, recv_timeout=None)
