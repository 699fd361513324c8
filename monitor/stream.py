"""Running a streaming source: batches stored with their seq, backfill on gaps, a heartbeat.

``StreamJob.run`` is the daemon's long-lived ``stream:<source>`` job. The reader thread
(the SDK's firehose client) decodes frames into a bounded queue; this thread takes them
in order and stores a batch every ``batch_events`` events or ``batch_seconds`` seconds
with ``process_page``: items, flags, evidence, withdrawals, account notices and the
stream's ``seq`` in one transaction. A restart resumes from the stored seq, so every
event is stored once. When events may have been missed (the server's ``#info
OutdatedCursor``, a ``FutureCursor`` refusal, a seq jump, a long disconnect, a ``#sync``)
the roster accounts are read again with the polling connector's ``listRecords`` walk.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from monitor.errors import SourceError
from monitor.logs import event
from monitor.model import Account, Skipped, Source
from monitor.pipeline import AccountIndex, Pipeline, process_page, run_source
from sources.bluesky_stream import CURSOR_KEY, BlueskyStreamSource, Event, StreamReader
from sources.common import parse_time
from storage.stream import StreamBeat, StreamState, pinned_ids

log = logging.getLogger("asn_monitor.stream")
_REFRESH_S = 60.0  # how often the roster (new accounts, their DIDs) is read again
_BEAT_S = 1.0  # how often the heartbeat row is written while idle
# Refusals and notices after which events may be missing: read the roster accounts again.
_GAPS = frozenset({"OutdatedCursor", "FutureCursor", "SeqGap", "LongDisconnect"})


def is_stream(source: Source) -> bool:
    """Whether ``source`` runs as a long-lived stream in the daemon."""
    return isinstance(source, BlueskyStreamSource)


@dataclass
class _Batch:
    events: list[Event] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    seq: int | None = None
    stamp: datetime | None = None
    started: float | None = None

    def add(self, ev: Event) -> None:
        if self.started is None:
            self.started = time.monotonic()
        if ev.seq is not None:
            self.seq = ev.seq
        if ev.time is not None:
            self.stamp = ev.time
        elif ev.kind == "skip" and ev.message:
            self.stamp = parse_time(ev.message) or self.stamp
        if ev.kind != "skip":
            self.events.append(ev)


@dataclass
class StreamJob:
    """One streaming source's consumer, until ``stop`` is set."""

    pipeline: Pipeline
    source: BlueskyStreamSource
    stop: threading.Event
    reader: StreamReader | None = field(default=None, init=False)
    backfills: int = field(default=0, init=False)
    stored_seq: int | None = field(default=None, init=False)
    last_error: str | None = field(default=None, init=False)
    _index: AccountIndex = field(default_factory=AccountIndex, init=False)
    _dids: frozenset[str] = field(default=frozenset(), init=False)
    _stamp: datetime | None = field(default=None, init=False)

    def run(self) -> None:
        """Consume the stream until ``stop``; the current batch is stored before returning."""
        store = self.pipeline.store
        run_id = store.begin_run("stream")
        status = "failed"
        try:
            self._run(run_id)
            status = "interrupted" if self.stop.is_set() else "ok"
        finally:
            store.finish_run(run_id, status)

    # -- the loop ------------------------------------------------------------

    def _run(self, run_id: int) -> None:
        stored = self.pipeline.store.cursors(self.source.name, CURSOR_KEY).get("seq")
        self.stored_seq = int(stored.value) if stored else None
        self._refresh()
        unknown = self._resolve(run_id)
        # Subscribed before the backfill: what happens while it runs waits in the queue, so
        # nothing falls between the walk and the stream (a record seen twice is stored once).
        self.reader = self.source.reader(self.stored_seq, lambda: self._dids)
        self.reader.start()
        event(log, "stream_started", source=self.source.name, endpoint=self.source.endpoint,
              cursor=self.stored_seq, accounts=len(self._dids))
        if self.stored_seq is None:
            self._backfill(run_id, None, "first start")
        else:
            self._backfill(run_id, unknown, "accounts new to the stream")
        batch, gap = _Batch(), None
        refreshed = beat = time.monotonic()
        try:
            while not self.stop.is_set():
                ev = self._next(batch)
                if ev is not None:
                    gap = self._take(ev, batch) or gap
                if self._due(batch) or (gap and batch.started is not None):
                    self._flush(run_id, batch)
                    batch, beat = _Batch(), 0.0
                if gap and not self.stop.is_set():
                    self._backfill(run_id, None, gap)
                    gap = None
                now = time.monotonic()
                if now - refreshed >= _REFRESH_S:
                    self._refresh()
                    self._backfill(run_id, self._resolve(run_id), "new roster accounts")
                    refreshed = now
                if now - beat >= _BEAT_S:
                    self._beat()
                    beat = now
        finally:
            if batch.started is not None:
                self._flush(run_id, batch)  # the clean stop: the current batch is stored
            self.reader.stop()
            self._beat(connected=False)
            event(log, "stream_stopped", source=self.source.name, seq=self.stored_seq)

    def _next(self, batch: _Batch) -> Event | None:
        assert self.reader is not None
        wait = 0.5
        if batch.started is not None:
            wait = max(0.0, min(wait, batch.started + self.source.settings.batch_seconds
                                - time.monotonic()))
        try:
            return self.reader.events.get(timeout=wait) if wait > 0 else \
                self.reader.events.get_nowait()
        except queue.Empty:
            self.reader.flush_skip()  # idle: the seq of strangers' last frames moves on too
            return None

    def _take(self, ev: Event, batch: _Batch) -> str | None:
        """Add ``ev`` to the batch; returns why a backfill is needed, if it is."""
        if ev.kind == "error":
            self.last_error = f"{ev.name}: {ev.message}"
            event(log, "stream_error", logging.WARNING, source=self.source.name, error=ev.name,
                  detail=ev.message)
            if ev.name == "BadFrame":
                where, _, what = str(ev.message).partition(": ")
                batch.skipped.append(Skipped(where, what))
                if batch.started is None:
                    batch.started = time.monotonic()
            if ev.name == "FutureCursor":
                # The server has no such seq (its state was reset): start again from now.
                assert self.reader is not None
                self.reader.reset(None)
            return str(ev.name) if ev.name in _GAPS else None
        if ev.kind == "info":
            event(log, "stream_info", logging.WARNING, source=self.source.name, info=ev.name,
                  detail=ev.message)
            if ev.name in _GAPS:
                self.last_error = f"{ev.name}: {ev.message}"
                return str(ev.name)
            return None
        batch.add(ev)
        # A roster repo was reset or resynchronised: its records are read again.
        return "Sync" if ev.kind == "sync" else None

    def _due(self, batch: _Batch) -> bool:
        if batch.started is None:
            return False
        s = self.source.settings
        return (len(batch.events) >= s.batch_events or self.stop.is_set()
                or time.monotonic() - batch.started >= s.batch_seconds)

    # -- storing ---------------------------------------------------------------

    def _flush(self, run_id: int, batch: _Batch) -> None:
        page = self.source.page(batch.events, self._roster(), batch.seq)
        page.skipped.extend(batch.skipped)
        if page.cursor is None and not page.skipped:
            return
        view = self.pipeline.registries(self._index)
        stats = process_page(self.pipeline, self.source, page, run_id, self._index, view)
        if batch.seq is not None:
            self.stored_seq = batch.seq
        self._stamp = batch.stamp or self._stamp
        if stats.new or stats.flagged or page.withdrawals or page.account_changes:
            event(log, "stream_batch", source=self.source.name, seq=self.stored_seq,
                  new=stats.new, flagged=stats.flagged, withdrawn=len(page.withdrawals),
                  notices=len(page.account_changes), skipped=stats.skipped)
        if page.account_changes:
            self._dids = frozenset(self._roster())  # a rename keeps the DID; nothing else changes

    def _beat(self, connected: bool | None = None) -> None:
        r = self.reader
        lag = (datetime.now(UTC) - self._stamp).total_seconds() if self._stamp else None
        try:
            StreamState(self.pipeline.store.db).beat(StreamBeat(
                self.source.name, self.source.endpoint, self.stored_seq, self._stamp,
                None if lag is None else max(0.0, lag),
                bool(r and r.connected) if connected is None else connected,
                r.reconnects if r else 0, self.backfills, self.last_error))
        except Exception as exc:
            event(log, "stream_beat_failed", logging.WARNING, error=str(exc))

    # -- roster and backfill -----------------------------------------------------

    def _refresh(self) -> None:
        index = AccountIndex.build(self.pipeline.store.current_handles())
        # A DID is known once an item was stored, or once the polling walk pinned it.
        pinned = pinned_ids(self.pipeline.store.db, self.source.name)
        for account in index.accounts(self.source.platform):
            did = index.ids.get(account.key) or pinned.get(account.key)
            if did and (self.source.platform, did) not in index.by_id:
                index.by_id[(self.source.platform, did)] = account
        self._index = index
        self._dids = frozenset(self._roster())

    def _roster(self) -> dict[str, Account]:
        p = self.source.platform
        return {uid: a for (plat, uid), a in self._index.by_id.items() if plat == p}

    def _without_did(self) -> list[Account]:
        known = {a.key for a in self._roster().values()}
        return [a for a in self._index.accounts(self.source.platform) if a.key not in known]

    def _resolve(self, run_id: int) -> list[Account]:
        """Find the DIDs of roster accounts not known yet (they join the stream's roster)."""
        found: list[Account] = []
        for account in self._without_did():
            try:
                ident = self.source.poll.identify(
                    account, self.pipeline.store.cursors(self.source.name, account.key))
            except SourceError as exc:
                self.pipeline.store.record_error(run_id, self.source.name, account.key,
                                                 type(exc).__name__, str(exc))
                continue
            self._index.by_id[(self.source.platform, ident.id)] = account
            found.append(account)
        self._dids = frozenset(self._roster())
        return found

    def _backfill(self, run_id: int, accounts: Sequence[Account] | None, why: str) -> None:
        """Read ``accounts`` (None: the whole roster) again with ``listRecords``."""
        todo = self._index.accounts(self.source.platform) if accounts is None else list(accounts)
        if not todo:
            return
        sub = AccountIndex(dict(self._index.by_handle), dict(self._index.by_id),
                           dict(self._index.ids))
        keys = {a.key for a in todo}
        sub.by_handle = {k: a for k, a in sub.by_handle.items() if a.key in keys}
        view = self.pipeline.registries(self._index)
        stats = run_source(self.pipeline, self.source, run_id, sub, view, self.stop)
        self.backfills += 1
        event(log, "stream_backfill", source=self.source.name, reason=why, accounts=len(todo),
              new=stats.new, flagged=stats.flagged, errors=len(stats.errors))
        self._refresh()
