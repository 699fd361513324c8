"""Column-wise writes and synthetic audit data, for throughput (issue 7).

``Store.save_page`` writes one row per statement (three statements per item),
which caps ingest at a few hundred items a second. :func:`save_pages` writes the
same rows into the same tables, but a column at a time (one ``INSERT ... SELECT
unnest(?)`` per table), for one or many pages in one transaction. Cursors are
written in the same transaction as their pages, so a crash still loses or
repeats no page. :class:`BulkStore` is a ``Store`` whose ``save_page`` uses it:
a drop-in for the pipeline.

The second half generates synthetic accounts, items, classifications, flags and
reviews inside DuckDB (``range``), and runs the standard audit queries against the
m001 tables directly, so the benchmark can time them at 1 and 10 million items.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from storage.db import Database
from storage.store import PageRecord, Store, _write_evidence, _write_handles


def _j(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _insert_columns(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[tuple[str, str]],
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
                    ("explanation", "VARCHAR"), ("classified_at", "TIMESTAMPTZ"), ("run_id", "BIGINT"))


def save_pages(con: duckdb.DuckDBPyConnection, pages: Sequence[PageRecord]) -> list[int]:
    """Write ``pages`` on ``con`` (inside the caller's transaction); returns the new flag ids.

    The rows are those ``Store.save_page`` writes, page by page.
    """
    now = datetime.now(UTC)
    raw_cols: list[list[Any]] = [[] for _ in _RAW]
    item_cols: list[list[Any]] = [[] for _ in _ITEMS]
    seen_raw: set[str] = set()
    for page in pages:
        for fetched, account_id, norm in page.items:
            raw, item = fetched.raw, fetched.item
            sha = raw.sha256
            if sha not in seen_raw:
                seen_raw.add(sha)
                for col, v in zip(raw_cols, (sha, zlib.compress(raw.body, 6), len(raw.body),
                                             raw.source_url, raw.status, _j(dict(raw.headers)),
                                             raw.fetched_at, raw.connector, raw.connector_version),
                                  strict=True):
                    col.append(v)
            s = item.subject
            row = (item.key, item.platform, item.id, page.source, item.kind, item.actor,
                   item.actor_id, account_id, item.created_at, item.text, item.url,
                   s.id if s else None, s.author if s else None, s.text if s else None,
                   s.url if s else None, _j(dict(item.extra)), norm, sha, now, page.run_id)
            for col, v in zip(item_cols, row, strict=True):
                col.append(v)
    _insert_columns(con, "raw_items", _RAW, raw_cols)
    _insert_columns(con, "items", _ITEMS, item_cols)
    flag_ids: list[int] = []
    for page in pages:
        flag_ids.extend(_save_results(con, page, now))
    return flag_ids


def _save_results(con: duckdb.DuckDBPyConnection, page: PageRecord, now: datetime) -> list[int]:
    n = len(page.results)
    ids: list[int] = []
    if n:
        got = con.execute("SELECT nextval('seq_classifications') FROM range(?)", [n]).fetchall()
        ids = [int(r[0]) for r in got]
        rows = [(cid, r.item_key, r.model, r.version, r.flagged, r.score, r.stance, _j(r.targets),
                 r.category, r.explanation, now, page.run_id)
                for cid, r in zip(ids, page.results, strict=True)]
        _insert_columns(con, "classifications", _CLASSIFICATIONS,
                        [list(c) for c in zip(*rows, strict=True)], verb="INSERT")
    accounts = {f.item.key: acc for f, acc, _ in page.items}
    flag_ids: dict[str, int] = {}
    for cid, r in zip(ids, page.results, strict=True):
        if not r.flagged:  # flags are a few per cent of items: one statement each is fine
            continue
        flag = con.execute(
            "INSERT INTO flags (item_key, classification_id, account_id, score, stance, "
            "targets, category, created_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (item_key) DO NOTHING RETURNING flag_id",
            [r.item_key, cid, accounts.get(r.item_key), r.score, r.stance, _j(r.targets),
             r.category, now, page.run_id],
        ).fetchone()
        if flag is not None:
            flag_ids[r.item_key] = int(flag[0])
    _write_evidence(con, page, flag_ids)
    _write_handles(con, page)
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
    if page.skipped:
        _insert_columns(
            con, "run_errors",
            (("run_id", "BIGINT"), ("source", "VARCHAR"), ("account_key", "VARCHAR"),
             ("error_type", "VARCHAR"), ("message", "VARCHAR"), ("occurred_at", "TIMESTAMPTZ")),
            [[page.run_id] * len(page.skipped), [page.source] * len(page.skipped),
             [page.account_key] * len(page.skipped), ["skipped"] * len(page.skipped),
             [f"{w}: {y}" for w, y in page.skipped], [now] * len(page.skipped)], verb="INSERT")
    return list(flag_ids.values())


class BulkStore(Store):
    """A ``Store`` whose ``save_page`` writes column-wise; ``save_pages`` takes many pages."""

    def save_page(self, page: PageRecord) -> list[int]:
        """Write one page whole, in one transaction, column-wise; returns the new flag ids."""
        return self.save_pages([page])

    def save_pages(self, pages: Sequence[PageRecord]) -> list[int]:
        """Write several pages in one transaction; returns the new flag ids."""
        with self.db.transaction() as con:
            return save_pages(con, pages)


def load_accounts(db: Database, rows: Sequence[tuple[str, str, str, str, str, str, str]]) -> int:
    """Bulk-load (account_id, name, nip, agency, region, platform, handle) rows into the roster."""
    now = datetime.now(UTC)
    cols = [list(c) for c in zip(*rows, strict=True)] if rows else []
    if not cols:
        return 0
    with db.transaction() as con:
        _insert_columns(con, "accounts", (("account_id", "VARCHAR"), ("name", "VARCHAR"),
                                          ("nip", "VARCHAR"), ("agency", "VARCHAR"),
                                          ("region", "VARCHAR"), ("updated_at", "TIMESTAMPTZ")),
                        [*cols[:5], [now] * len(rows)])
        _insert_columns(con, "account_handles",
                        (("account_id", "VARCHAR"), ("platform", "VARCHAR"), ("handle", "VARCHAR"),
                         ("first_seen", "TIMESTAMPTZ"), ("last_seen", "TIMESTAMPTZ"),
                         ("seen_by", "VARCHAR")),
                        [cols[0], cols[5], cols[6], [now] * len(rows), [now] * len(rows),
                         ["roster"] * len(rows)], verb="INSERT")
    return len(rows)


# -- synthetic audit data and the standard audit queries ---------------------


def generate_audit_data(db: Database, n_items: int, *, flag_rate: float = 0.02,
                        reviewed: float = 0.7, n_accounts: int | None = None) -> float:
    """Fill an empty store with ``n_items`` synthetic items and their history; returns seconds.

    Accounts (``n_items / 100`` by default) spread over 600 agencies and 514
    regencies of 38 provinces; every item has one classification, ``flag_rate``
    of them a flag, ``reviewed`` of the flags a review by one of 60 reviewers; two
    model versions share the period. Everything is generated by SQL, in DuckDB.
    """
    n_acc = n_accounts or max(100, n_items // 100)
    n_flags = int(n_items * flag_rate)
    started = time.perf_counter()
    with db.transaction() as con:
        con.execute(
            "INSERT INTO regions SELECT printf('%02d.%02d', i // 14 + 11, i % 14), "
            "'Kab ' || i, 'regency', printf('%02d', i // 14 + 11) FROM range(514) t(i)")
        con.execute(
            "INSERT INTO accounts SELECT 'acc' || i, 'ASN ' || i, lpad(i::VARCHAR, 18, '1'), "
            "'agency-' || (hash(i) % 600)::BIGINT, "
            "printf('%02d.%02d', (i % 514) // 14 + 11, (i % 514) % 14), "
            "now() FROM range(?) t(i)", [n_acc])
        con.execute(
            "INSERT INTO runs (run_id, started_at, finished_at, status, trigger) "
            "VALUES (1, now(), now(), 'ok', 'bench')")
        con.execute(
            "INSERT INTO items SELECT 'bluesky:i' || i, 'bluesky', 'i' || i, 'bench', "
            "['post','reply','quote','repost','like'][1 + i % 5], 'h' || (i % ?), NULL, "
            "'acc' || (hash(i) % ?)::BIGINT, TIMESTAMPTZ '2029-09-01' + to_seconds(i * 7776000 // ?), "
            "t.txt, NULL, NULL, NULL, NULL, NULL, '{}', lower(t.txt), 'sha' || (i // 20), now(), 1 "
            "FROM (SELECT i, list_extract(?::VARCHAR[], (1 + hash(i) % ?)::BIGINT) || ' #' || (i % 997) "
            "AS txt FROM range(?) r(i)) t",
            [n_acc, n_acc, n_items, list(_FILLER), len(_FILLER), n_items])
        con.execute(
            "INSERT INTO classifications SELECT i + 1, 'bluesky:i' || i, 'cascade', "
            "CASE WHEN i * 2 < ? THEN 'cascade-1' ELSE 'cascade-2' END, "
            "(i % ?) = 0, CASE WHEN (i % ?) = 0 THEN 0.9 ELSE 0.05 END, "
            "CASE WHEN (i % ?) = 0 THEN 'support' ELSE 'unrelated' END, '[]', 'posting', '', "
            "now(), 1 FROM range(?) t(i)",
            [n_items, n_items // max(1, n_flags), n_items // max(1, n_flags),
             n_items // max(1, n_flags), n_items])
        con.execute(
            "INSERT INTO flags SELECT row_number() OVER (ORDER BY c.id), c.item_key, c.id, i.account_id, "
            "c.score, c.stance, '[\"cand-' || (c.id % 7) || '\"]', c.category, i.created_at, 1 "
            "FROM classifications c JOIN items i USING (item_key) WHERE c.flagged")
        con.execute(
            "INSERT INTO reviews (review_id, flag_id, decision, reason, note, reviewer, decided_at) "
            "SELECT row_number() OVER (ORDER BY flag_id), flag_id, "
            "['confirmed','dismissed','escalated'][1 + flag_id % 3], NULL, NULL, "
            "'reviewer-' || (flag_id % 60), created_at + to_minutes(30 + (hash(flag_id) % 4320)::BIGINT) "
            "FROM flags WHERE hash(flag_id) % 1000 < ?", [int(reviewed * 1000)])
    with db.connect() as con:
        con.execute("CHECKPOINT")
    return time.perf_counter() - started


_FILLER = (
    "Alhamdulillah rapat koordinasi di kantor dinas berjalan lancar, terima kasih rekan-rekan semua",
    "Pelayanan KTP elektronik di kantor kelurahan dibuka sampai jam 3 sore hari ini",
    "Hujan deras di Bandung sejak siang, hati-hati di jalan ya",
    "Makan siang nasi padang bareng tim keuangan setelah laporan SPJ selesai",
    "Jangan lupa datang ke TPS tanggal 27 November, gunakan hak pilih dengan bijak",
    "Apel pagi bersama seluruh pegawai kecamatan, semangat melayani masyarakat #BanggaMelayani",
    "Posyandu di RW 05 ramai sekali pagi ini",
    "Ayo coblos nomor [NOMOR], [CALON] untuk Jawa Barat yang lebih baik",
)


# The issue-5 engineer owns the audit views; these are equivalent SQL on the m001 tables.
AUDIT_QUERIES: dict[str, str] = {
    "flags_by_agency_week": """
        SELECT a.agency, date_trunc('week', f.created_at) AS week, count(*) AS flags,
               count(*) FILTER (WHERE s.status = 'confirmed') AS confirmed
        FROM flags f JOIN accounts a USING (account_id) JOIN flag_status s USING (flag_id)
        GROUP BY ALL ORDER BY flags DESC LIMIT 100""",
    "flags_by_region_week": """
        SELECT r.province, a.region, date_trunc('week', f.created_at) AS week, count(*) AS flags
        FROM flags f JOIN accounts a USING (account_id) JOIN regions r ON r.code = a.region
        GROUP BY ALL ORDER BY flags DESC LIMIT 100""",
    "flags_by_candidate_week": """
        SELECT t.target, date_trunc('week', f.created_at) AS week, count(*) AS flags
        FROM flags f, unnest(from_json(f.targets, '["VARCHAR"]')) AS t(target)
        GROUP BY ALL ORDER BY flags DESC LIMIT 100""",
    "review_turnaround_week": """
        SELECT date_trunc('week', f.created_at) AS week, count(*) AS reviewed,
               median(first.decided_at - f.created_at) AS median_turnaround,
               quantile_cont(epoch(first.decided_at - f.created_at), 0.9) AS p90_seconds
        FROM flags f JOIN (SELECT flag_id, min(decided_at) AS decided_at FROM reviews
                           GROUP BY flag_id) first USING (flag_id)
        GROUP BY ALL ORDER BY week""",
    "reviewer_activity_week": """
        SELECT reviewer, date_trunc('week', decided_at) AS week, count(*) AS decisions,
               count(*) FILTER (WHERE decision = 'confirmed') AS confirmed
        FROM reviews GROUP BY ALL ORDER BY week, reviewer""",
    "model_version_per_decision": """
        SELECT c.model, c.version, s.status, count(*) AS flags, avg(c.score) AS mean_score
        FROM flags f JOIN classifications c ON c.id = f.classification_id
        JOIN flag_status s USING (flag_id) GROUP BY ALL ORDER BY c.version, s.status""",
    "flag_rate_by_agency": """
        SELECT a.agency, sum(i.n) AS items, sum(coalesce(f.n, 0)) AS flags,
               sum(coalesce(f.n, 0)) / sum(i.n) AS rate
        FROM (SELECT account_id, count(*) AS n FROM items GROUP BY account_id) i
        JOIN accounts a USING (account_id)
        LEFT JOIN (SELECT account_id, count(*) AS n FROM flags GROUP BY account_id) f USING (account_id)
        GROUP BY a.agency ORDER BY rate DESC LIMIT 100""",
}


@dataclass(frozen=True)
class QueryTiming:
    """One audit query's best and median wall time over its repeats, and its row count."""

    name: str
    best_ms: float
    median_ms: float
    rows: int


def time_audit_queries(db: Database, repeats: int = 3) -> list[QueryTiming]:
    """Run each standard audit query ``repeats`` times on one connection (after a warm-up)."""
    out: list[QueryTiming] = []
    with db.connect(read_only=True) as con:
        for name, sql in AUDIT_QUERIES.items():
            rows = len(con.execute(sql).fetchall())
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                con.execute(sql).fetchall()
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            out.append(QueryTiming(name, times[0], times[len(times) // 2], rows))
    return out


def table_bytes(db: Database) -> dict[str, int]:
    """Rows per table and the database's used bytes (``total`` rows, ``bytes`` used blocks)."""
    with db.connect(read_only=True) as con:
        size = con.execute("SELECT used_blocks * block_size FROM pragma_database_size()").fetchone()
        items = con.execute("SELECT count(*) FROM items").fetchone()
    return {"items": int(items[0]) if items else 0, "bytes": int(size[0]) if size else 0}
