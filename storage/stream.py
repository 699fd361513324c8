"""SQL of the live streams: withdrawn records, accounts' standing, each stream's heartbeat.

Withdrawals and account notices are written by ``write_stream_rows`` inside the page
transaction (``Store.save_pages``), after the page's items, so a like and its deletion
in the same batch find each other. ``StreamState`` is bookkeeping for ``status``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from monitor.model import AccountChange, Withdrawal
from storage.db import Database


def _now() -> datetime:
    return datetime.now(UTC)


def write_stream_rows(con: duckdb.DuckDBPyConnection, source: str, run_id: int,
                      withdrawals: Sequence[tuple[Withdrawal, str | None]],
                      changes: Sequence[tuple[AccountChange, str | None]]) -> None:
    """Record withdrawals (once per item) and the newest standing of each account."""
    now = _now()
    for w, account_id in withdrawals:
        # A replayed delete (restart before the cursor moved) must not add a second row.
        con.execute(
            "INSERT INTO item_withdrawals (item_key, platform, item_id, actor_id, account_id, "
            "source, withdrawn_at, item_seen, detail, recorded_at, run_id) "
            "SELECT ?, ?, ?, ?, ?, ?, ?, EXISTS (SELECT 1 FROM items WHERE item_key = ?), ?, ?, ? "
            "ON CONFLICT (item_key) DO NOTHING",
            [w.item_key, w.platform, w.item_id, w.actor_id, account_id, source, w.withdrawn_at,
             w.item_key, json.dumps(dict(w.detail), sort_keys=True, default=str), now, run_id])
    for c, account_id in changes:
        if c.active is None:
            continue  # a handle notice only: renames are written as account_handles rows
        con.execute(
            "INSERT INTO account_states VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (platform, platform_user_id) DO UPDATE SET account_id = excluded.account_id, "
            "active = excluded.active, status = excluded.status, changed_at = excluded.changed_at, "
            "recorded_at = excluded.recorded_at, source = excluded.source",
            [c.platform, c.actor_id, account_id, c.active, c.status, c.at, now, source])


def pinned_ids(db: Database, source: str) -> dict[str, str]:
    """Account key -> stable id, from the ``identity`` cursors ``source`` stored (pinned DIDs)."""
    with db.connect() as con:
        rows = con.execute("SELECT account_key, value FROM source_cursors WHERE source = ? "
                           "AND stream = 'identity'", [source]).fetchall()
    out: dict[str, str] = {}
    for key, value in rows:
        try:
            ident = json.loads(value).get("id")
        except (ValueError, AttributeError):
            continue
        if isinstance(ident, str):
            out[str(key)] = ident
    return out


def withdrawn_at(con: duckdb.DuckDBPyConnection, item_key: str) -> datetime | None:
    """When the item was withdrawn by its author, if it was."""
    row = con.execute("SELECT withdrawn_at FROM item_withdrawals WHERE item_key = ?",
                      [item_key]).fetchone()
    return row[0].astimezone(UTC) if row else None


@dataclass(frozen=True)
class StreamBeat:
    """A stream's position and health, written after each batch and while idle."""

    source: str
    endpoint: str
    last_seq: int | None
    last_event_at: datetime | None
    lag_s: float | None
    connected: bool
    reconnects: int
    backfills: int
    last_error: str | None = None


class StreamState:
    """Reads and writes ``stream_state``, ``account_states`` and withdrawal summaries."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def beat(self, b: StreamBeat) -> None:
        """Record ``b`` as the stream's current state."""
        with self.db.transaction() as con:
            con.execute(
                "INSERT INTO stream_state VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (source) DO UPDATE SET endpoint = excluded.endpoint, "
                "last_seq = excluded.last_seq, last_event_at = excluded.last_event_at, "
                "lag_s = excluded.lag_s, connected = excluded.connected, "
                "reconnects = excluded.reconnects, backfills = excluded.backfills, "
                "last_error = excluded.last_error, updated_at = excluded.updated_at",
                [b.source, b.endpoint, b.last_seq, b.last_event_at, b.lag_s, b.connected,
                 b.reconnects, b.backfills, b.last_error, _now()])

    def report(self) -> dict[str, Any]:
        """Streams, accounts not active, and withdrawal counts, JSON-ready (for ``status``)."""
        with self.db.connect() as con:
            streams = _dicts(con.execute(
                "SELECT source, endpoint, last_seq, last_event_at, lag_s, connected, reconnects, "
                "backfills, last_error, updated_at FROM stream_state ORDER BY source"))
            inactive = _dicts(con.execute(
                "SELECT account_id, platform, platform_user_id, status, changed_at FROM "
                "account_states WHERE NOT active ORDER BY changed_at"))
            row = con.execute("SELECT count(*), count(*) FILTER (WHERE item_seen) "
                              "FROM item_withdrawals").fetchone()
        total, seen = (int(row[0]), int(row[1])) if row else (0, 0)
        return {"streams": streams, "inactive_accounts": inactive,
                "withdrawals": {"total": total, "of_stored_items": seen, "never_seen": total - seen}}


def _dicts(cursor: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else v)
             for k, v in zip(names, row, strict=True)} for row in cursor.fetchall()]
