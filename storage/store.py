"""Every write and read the pipeline needs, in SQL, in one place.

The pipeline hands over a ``PageRecord``; ``Store.save_page`` writes its raw
bytes, items, classifications, flags, evidence, handle changes and the
source's cursor in one transaction.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from monitor.model import (
    Account,
    AccountChange,
    Cursor,
    Fetched,
    Raw,
    Region,
    Registry,
    Result,
    Withdrawal,
)
from storage import chain
from storage.db import Database
from storage.evidence import EvidenceFile, insert_files
from storage.stream import write_stream_rows


def _now() -> datetime:
    return datetime.now(UTC)


def _j(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True)
class Evidence:
    """What is kept for a flagged item when it is first seen."""

    item_key: str
    raw_sha256: str
    item_json: Mapping[str, Any]
    account_json: Mapping[str, Any]
    sha256: str
    files: tuple[EvidenceFile, ...] = ()
    """Images downloaded for the item before the page transaction (failures included)."""


@dataclass(frozen=True)
class Rename:
    """An account seen under a new handle (same stable platform id)."""

    account_id: str
    platform: str
    platform_user_id: str
    new_handle: str


@dataclass
class PageRecord:
    """One page, ready to store: new items, their results, evidence and the cursor."""

    run_id: int
    source: str
    account_key: str
    items: list[tuple[Fetched, str | None, str]] = field(default_factory=list)
    subject_raws: list[Raw] = field(default_factory=list)
    """Responses the engaged posts were read from (stored beside the items' own)."""
    """(fetched, account_id, normalised text) of each new item."""
    results: list[Result] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    renames: list[Rename] = field(default_factory=list)
    first_ids: Sequence[tuple[str, str, str]] = field(default_factory=list)
    """(account_id, platform, platform_user_id) learned for the first time."""
    cursor: Cursor | None = None
    duplicates: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(where, why) of each input element that could not be used."""
    withdrawals: list[tuple[Withdrawal, str | None]] = field(default_factory=list)
    """(withdrawal, account_id) of each record its author deleted (streaming sources)."""
    account_changes: list[tuple[AccountChange, str | None]] = field(default_factory=list)
    """(notice, account_id) of each account's change of standing (streaming sources)."""


@dataclass(frozen=True)
class HandleRow:
    """A monitored account's current handle on one platform."""

    account: Account
    platform_user_id: str | None


class Store:
    """The project's DuckDB file, migrated on open."""

    def __init__(self, path: str | Path, *, lock_timeout: float = 30.0) -> None:
        self.db = Database(path, lock_timeout=lock_timeout)
        self.db.migrate()

    # -- reference data --------------------------------------------------

    def save_regions(self, regions: Iterable[Region]) -> int:
        """Replace the region table; returns the number of rows."""
        rows = [(r.code, r.name, r.level, r.province, r.timezone) for r in regions]
        with self.db.transaction() as con:
            con.execute("DELETE FROM regions")
            if rows:
                con.executemany("INSERT INTO regions (code, name, level, province, timezone) "
                                "VALUES (?, ?, ?, ?, ?)", rows)
        return len(rows)

    def save_roster(self, accounts: Sequence[Account]) -> tuple[int, int]:
        """Upsert accounts and add handles not seen before; returns (accounts, new handles)."""
        now = _now()
        new_handles = 0
        with self.db.transaction() as con:
            for a in {a.account_id: a for a in accounts}.values():
                con.execute(
                    "INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account_id) DO "
                    "UPDATE SET name = excluded.name, nip = excluded.nip, "
                    "agency = excluded.agency, region = excluded.region, "
                    "updated_at = excluded.updated_at",
                    [a.account_id, a.name, a.nip, a.agency, a.region, now],
                )
            for a in accounts:
                known = con.execute(
                    "SELECT count(*) FROM account_handles WHERE account_id = ? AND platform = ? "
                    "AND lower(handle) = lower(?)",
                    [a.account_id, a.platform, a.handle],
                ).fetchone()
                if known and known[0] == 0:
                    con.execute(
                        "INSERT INTO account_handles (account_id, platform, handle, "
                        "platform_user_id, first_seen, last_seen, seen_by) "
                        "VALUES (?, ?, ?, NULL, ?, ?, 'roster')",
                        [a.account_id, a.platform, a.handle, now, now],
                    )
                    new_handles += 1
        return len({a.account_id for a in accounts}), new_handles

    def current_handles(self, active_only: bool = False) -> list[HandleRow]:
        """Each account's newest handle per platform, with its stable id when known.

        ``active_only``: without deactivated accounts (what the pipeline collects).
        """
        with self.db.connect() as con:
            rows = con.execute(
                """
                SELECT a.account_id, a.name, a.nip, a.agency, a.region, h.platform, h.handle,
                       max(h.platform_user_id) OVER (PARTITION BY h.account_id, h.platform)
                FROM account_handles h JOIN accounts a USING (account_id)
                WHERE NOT ? OR a.account_id NOT IN (
                    SELECT account_id FROM account_current_status WHERE NOT active)
                QUALIFY row_number() OVER (
                    PARTITION BY h.account_id, h.platform ORDER BY h.id DESC) = 1
                ORDER BY a.account_id, h.platform
                """, [active_only]
            ).fetchall()
        return [
            HandleRow(Account(str(r[0]), r[1], r[2], r[3], r[4], r[5], r[6]), r[7]) for r in rows
        ]

    def save_registries(self, registries: Sequence[Registry]) -> int:
        """Store each registry whose content changed; returns how many were (re)written."""
        written = 0
        with self.db.transaction() as con:
            for reg in registries:
                fp = reg.fingerprint()
                row = con.execute(
                    "SELECT fingerprint FROM elections WHERE id = ?", [reg.election.id]
                ).fetchone()
                if row and row[0] == fp:
                    continue
                self._write_registry(con, reg, fp)
                written += 1
        return written

    @staticmethod
    def _write_registry(con: duckdb.DuckDBPyConnection, reg: Registry, fp: str) -> None:
        e = reg.election
        for table in ("candidates", "parties"):
            con.execute(f"DELETE FROM {table} WHERE election_id = ?", [e.id])  # noqa: S608
        con.execute("DELETE FROM elections WHERE id = ?", [e.id])
        con.execute(
            "INSERT INTO elections VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [e.id, e.name, e.level, e.region, e.voting_day, e.campaign_start, e.campaign_end,
             reg.source, fp, _now()],
        )
        for c in reg.candidates:
            con.execute(
                "INSERT INTO candidates VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [e.id, c.id, c.ballot_number, _j(c.people), _j(c.aliases), _j(c.hashtags),
                 _j(c.parties), _j(dict(c.accounts))],
            )
        for p in reg.parties:
            con.execute(
                "INSERT INTO parties VALUES (?, ?, ?, ?, ?)",
                [e.id, p.id, _j(p.names), p.ballot_number, _j(dict(p.accounts))],
            )

    # -- collection ------------------------------------------------------

    def cursors(self, source: str, account_key: str) -> dict[str, Cursor]:
        """The stored cursors of one source and account, by stream."""
        with self.db.connect() as con:
            rows = con.execute(
                "SELECT stream, value FROM source_cursors WHERE source = ? AND account_key = ?",
                [source, account_key],
            ).fetchall()
        return {r[0]: Cursor(r[0], r[1]) for r in rows}

    def known_item_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` are already stored."""
        if not keys:
            return set()
        with self.db.connect() as con:
            rows = con.execute(
                "SELECT item_key FROM items WHERE item_key IN (SELECT unnest(?))", [list(keys)]
            ).fetchall()
        return {r[0] for r in rows}

    def begin_run(self, trigger: str) -> int:
        """Record the start of a cycle; returns its run id."""
        with self.db.transaction() as con:
            row = con.execute(
                "INSERT INTO runs (started_at, status, trigger) VALUES (?, 'running', ?) "
                "RETURNING run_id",
                [_now(), trigger],
            ).fetchone()
        assert row is not None
        return int(row[0])

    def finish_run(self, run_id: int, status: str) -> None:
        """Mark a cycle finished with ``status`` (ok, partial, failed, interrupted)."""
        with self.db.transaction() as con:
            con.execute(
                "UPDATE runs SET finished_at = ?, status = ? WHERE run_id = ?",
                [_now(), status, run_id],
            )

    def record_error(
        self, run_id: int, source: str, account_key: str | None, error_type: str, message: str
    ) -> None:
        """Record one error of a cycle, per source and account."""
        with self.db.transaction() as con:
            con.execute(
                "INSERT INTO run_errors (run_id, source, account_key, error_type, message, occurred_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [run_id, source, account_key, error_type, message, _now()],
            )
            con.execute("UPDATE runs SET errors = errors + 1 WHERE run_id = ?", [run_id])

    def save_page(self, page: PageRecord) -> list[int]:
        """Write one page whole, in one transaction; returns the new flag ids."""
        return self.save_pages([page])

    def save_pages(self, pages: Sequence[PageRecord]) -> list[int]:
        """Write several pages in one transaction; returns the new flag ids.

        The rows are those of ``save_page`` for each page in turn: raw bytes and
        items go in one column-wise statement per table, classifications in one
        per page, flags, evidence and their chain links per row (a few per cent
        of items), then handle changes, the cursor and the run's counters.
        """
        with self.db.transaction() as con:
            now = _now()
            _write_items(con, pages, now)
            flag_ids: list[int] = []
            for page in pages:
                flag_ids.extend(_write_page_rest(con, page, now))
            return flag_ids


def insert_columns(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[tuple[str, str]],
                   values: Sequence[Sequence[Any]], verb: str = "INSERT OR IGNORE") -> None:
    """Insert ``values`` (one list per column) into ``table`` with one statement."""
    if not values or not values[0]:
        return
    names = ", ".join(c for c, _ in columns)
    cols = ", ".join(f"unnest(?::{t}[]) AS {c}" for c, t in columns)
    con.execute(f"{verb} INTO {table} ({names}) SELECT * FROM (SELECT {cols})",  # noqa: S608
                [list(v) for v in values])


_RAW = (("sha256", "VARCHAR"), ("body", "BLOB"), ("size", "BIGINT"), ("source_url", "VARCHAR"),
        ("status", "INTEGER"), ("headers", "JSON"), ("fetched_at", "TIMESTAMPTZ"),
        ("connector", "VARCHAR"), ("connector_version", "VARCHAR"))
_ITEMS = (("item_key", "VARCHAR"), ("platform", "VARCHAR"), ("item_id", "VARCHAR"),
          ("source", "VARCHAR"), ("kind", "VARCHAR"), ("actor", "VARCHAR"), ("actor_id", "VARCHAR"),
          ("account_id", "VARCHAR"), ("created_at", "TIMESTAMPTZ"), ("text", "VARCHAR"),
          ("url", "VARCHAR"), ("subject_id", "VARCHAR"), ("subject_author", "VARCHAR"),
          ("subject_text", "VARCHAR"), ("subject_url", "VARCHAR"), ("extra", "JSON"),
          ("norm_text", "VARCHAR"), ("raw_sha256", "VARCHAR"), ("first_seen_at", "TIMESTAMPTZ"),
          ("run_id", "BIGINT"))
_CLASSIFICATIONS = (("id", "BIGINT"), ("item_key", "VARCHAR"), ("model", "VARCHAR"),
                    ("version", "VARCHAR"), ("flagged", "BOOLEAN"), ("score", "DOUBLE"),
                    ("stance", "VARCHAR"), ("targets", "JSON"), ("category", "VARCHAR"),
                    ("explanation", "VARCHAR"), ("classified_at", "TIMESTAMPTZ"), ("run_id", "BIGINT"),
                    ("target_stances", "JSON"), ("high_confidence", "BOOLEAN"))
_RUN_ERRORS = (("run_id", "BIGINT"), ("source", "VARCHAR"), ("account_key", "VARCHAR"),
               ("error_type", "VARCHAR"), ("message", "VARCHAR"), ("occurred_at", "TIMESTAMPTZ"))


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    return [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


def _write_items(con: duckdb.DuckDBPyConnection, pages: Sequence[PageRecord], now: datetime) -> None:
    """Raw bytes and items of ``pages``, one statement per table (INSERT OR IGNORE).

    A key repeated within the batch keeps its first row, as row-by-row
    INSERT OR IGNORE would.
    """
    raws: dict[str, tuple[Any, ...]] = {}
    items: dict[str, tuple[Any, ...]] = {}

    def add_raw(raw: Raw) -> None:
        if raw.sha256 not in raws:
            raws[raw.sha256] = (raw.sha256, zlib.compress(raw.body, 6), len(raw.body),
                                raw.source_url, raw.status, _j(dict(raw.headers)),
                                raw.fetched_at, raw.connector, raw.connector_version)

    for page in pages:
        for raw in page.subject_raws:
            add_raw(raw)
        for fetched, account_id, norm in page.items:
            raw, item = fetched.raw, fetched.item
            add_raw(raw)
            if item.key in items:
                continue
            s = item.subject
            items[item.key] = (
                item.key, item.platform, item.id, page.source, item.kind, item.actor,
                item.actor_id, account_id, item.created_at, item.text, item.url,
                s.id if s else None, s.author if s else None, s.text if s else None,
                s.url if s else None, _j(dict(item.extra)), norm, raw.sha256, now, page.run_id)
    insert_columns(con, "raw_items", _RAW, _columns(list(raws.values()), len(_RAW)))
    insert_columns(con, "items", _ITEMS, _columns(list(items.values()), len(_ITEMS)))


def _write_page_rest(con: duckdb.DuckDBPyConnection, page: PageRecord, now: datetime) -> list[int]:
    """Everything of one page after its items; returns the new flag ids."""
    flag_ids = _write_results(con, page, now)
    _write_evidence(con, page, flag_ids)
    _write_handles(con, page)
    if page.withdrawals or page.account_changes:
        write_stream_rows(con, page.source, page.run_id, page.withdrawals, page.account_changes)
    if page.cursor is not None:
        con.execute(
            "INSERT INTO source_cursors VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (source, account_key, stream) DO UPDATE SET "
            "value = excluded.value, updated_at = excluded.updated_at",
            [page.source, page.account_key, page.cursor.stream, page.cursor.value, now],
        )
    con.execute(
        "UPDATE runs SET items_seen = items_seen + ?, items_new = items_new + ?, "
        "items_duplicate = items_duplicate + ?, items_skipped = items_skipped + ?, "
        "flags_new = flags_new + ? WHERE run_id = ?",
        [len(page.items) + page.duplicates, len(page.items), page.duplicates,
         len(page.skipped), len(flag_ids), page.run_id],
    )
    n = len(page.skipped)
    if n:
        insert_columns(con, "run_errors", _RUN_ERRORS,
                       [[page.run_id] * n, [page.source] * n, [page.account_key] * n,
                        ["skipped"] * n, [f"{w}: {y}" for w, y in page.skipped], [now] * n],
                       verb="INSERT")
    return list(flag_ids.values())


def _write_results(con: duckdb.DuckDBPyConnection, page: PageRecord, now: datetime
                   ) -> dict[str, int]:
    """Classifications (one statement, ids drawn from their sequence), then flags row by row."""
    n = len(page.results)
    if not n:
        return {}
    got = con.execute("SELECT nextval('seq_classifications') FROM range(?)", [n]).fetchall()
    ids = sorted(int(r[0]) for r in got)
    rows = [(cid, r.item_key, r.model, r.version, r.flagged, r.score, r.stance, _j(r.targets),
             r.category, r.explanation, now, page.run_id, _target_stances(r),
             r.high_confidence)
            for cid, r in zip(ids, page.results, strict=True)]
    insert_columns(con, "classifications", _CLASSIFICATIONS, _columns(rows, len(_CLASSIFICATIONS)),
                   verb="INSERT")
    accounts = {f.item.key: acc for f, acc, _ in page.items}
    flag_ids: dict[str, int] = {}
    for cid, r in zip(ids, page.results, strict=True):
        if not r.flagged:  # flags are a few per cent of items: one statement each
            continue
        flag = con.execute(
            "INSERT INTO flags (item_key, classification_id, account_id, score, stance, "
            "targets, category, created_at, run_id, target_stances, high_confidence) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (item_key) DO NOTHING RETURNING flag_id",
            [r.item_key, cid, accounts.get(r.item_key), r.score, r.stance, _j(r.targets),
             r.category, now, page.run_id, _target_stances(r), r.high_confidence],
        ).fetchone()
        if flag is not None:
            flag_ids[r.item_key] = int(flag[0])
    return flag_ids


def _target_stances(result: Result) -> str:
    """A result's per-target stances as the JSON list both tables store."""
    return _j([{"target": ts.target, "stance": ts.stance, "score": ts.score}
               for ts in result.target_stances])


def _write_evidence(
    con: duckdb.DuckDBPyConnection, page: PageRecord, flag_ids: Mapping[str, int]
) -> None:
    now = _now()
    links: list[tuple[chain.LinkKind, int]] = []
    for ev in page.evidence:
        if ev.item_key not in flag_ids:
            continue
        row = con.execute(
            "INSERT INTO evidence (flag_id, item_key, raw_sha256, item_json, account_json, "
            "sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING evidence_id",
            [flag_ids[ev.item_key], ev.item_key, ev.raw_sha256, _j(ev.item_json),
             _j(ev.account_json), ev.sha256, now],
        ).fetchone()
        assert row is not None
        links.append(("evidence", int(row[0])))
        links.extend(("file", i) for i in insert_files(con, flag_ids[ev.item_key], ev.files))
    # The evidence and its files join the hash chain in the flag's own transaction.
    chain.append_many(con, links)


def _write_handles(con: duckdb.DuckDBPyConnection, page: PageRecord) -> None:
    now = _now()
    for account_id, platform, user_id in page.first_ids:
        con.execute(
            "UPDATE account_handles SET platform_user_id = ?, last_seen = ? "
            "WHERE account_id = ? AND platform = ? AND platform_user_id IS NULL",
            [user_id, now, account_id, platform],
        )
    for rn in page.renames:
        con.execute(
            "INSERT INTO account_handles (account_id, platform, handle, platform_user_id, "
            "first_seen, last_seen, seen_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [rn.account_id, rn.platform, rn.new_handle, rn.platform_user_id, now, now,
             page.source],
        )
