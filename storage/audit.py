"""Auditors' access: read-only SQL, exports of flags with their context, and data minimisation.

``query`` runs one SELECT (or WITH ... SELECT) on a read-only connection with
external file access switched off, so an audit query can neither change the
database nor read or write files. ``export`` writes one Parquet or CSV file per
table with DuckDB's own COPY. ``purge_unflagged`` is the retention pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import duckdb

from monitor.errors import InputError
from storage.db import Database

ExportFormat = Literal["parquet", "csv"]


def check_select(sql: str) -> str:
    """``sql`` if it is exactly one SELECT statement (WITH and VALUES included), else ``InputError``."""
    try:
        statements = duckdb.connect(":memory:").extract_statements(sql)
    except duckdb.Error as exc:
        raise InputError(f"SQL does not parse: {' '.join(str(exc).split())}") from None
    if len(statements) != 1:
        raise InputError(f"expected one SELECT statement, got {len(statements)} statements")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise InputError(f"only SELECT (or WITH ... SELECT) is allowed here, not {kind.name}")
    return sql.strip().rstrip(";")


def query(db: Database, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one read-only SELECT; returns (column names, rows)."""
    sql = check_select(sql)
    with db.connect(read_only=True) as con:
        # Belt and braces beside read_only: no read_csv('/etc/...'), no COPY TO.
        con.execute("SET enable_external_access = false")
        if "reporters" in _tables(con, sql):
            # Reporters' names and contacts are for reviewers only (UU 27/2022).
            raise InputError("the reporters table holds personal data; reviewers read it with "
                             "`asn-monitor reports FLAG_ID`")
        try:
            cur = con.execute(sql)
        except duckdb.Error as exc:
            raise InputError(f"query failed: {' '.join(str(exc).split())}") from None
        columns = [d[0] for d in cur.description or []]
        return columns, cur.fetchall()


def _tables(con: duckdb.DuckDBPyConnection, sql: str) -> set[str]:
    """The tables and views ``sql`` reads (empty when it does not bind: running it says why)."""
    try:
        return {n.lower() for n in con.get_table_names(sql)}
    except duckdb.Error:
        return set()


def _ts(d: date) -> str:
    # A date boundary in WIB, as a literal: COPY does not take prepared parameters.
    return f"TIMESTAMPTZ '{d.isoformat()} 00:00:00+07'"


# Each export query reads the chosen flags from the CHOSEN subquery (filled in below).
# ``p`` wraps a column that names or identifies a person when the export is pseudonymised.
def _exports(p: Callable[[str], str]) -> dict[str, str]:
    target_names = ("(SELECT string_agg(coalesce(n.label, u.t), '; ' ORDER BY u.t) FROM "
                    "(SELECT unnest(json_extract_string(f.targets, '$[*]')) AS t) u "
                    "LEFT JOIN audit_target_names n ON n.id = u.t)")
    return {
        "flags": "SELECT f.*, s.status, s.decided_at AS status_at, "  # noqa: S608
                 f"{p('a.name')} AS account_name, {p('a.nip')} AS nip, a.agency, a.region, "
                 "af.region_name, af.province, pr.name AS province_name, af.timezone, "
                 f"af.flagged_at_local, af.acted_at_local, {target_names} AS target_names "
                 "FROM flags f JOIN flag_status s USING (flag_id) "
                 "LEFT JOIN accounts a ON a.account_id = f.account_id "
                 "LEFT JOIN audit_flags af USING (flag_id) "
                 "LEFT JOIN regions pr ON pr.code = af.province "
                 "WHERE f.flag_id IN (SELECT flag_id FROM (CHOSEN)) ORDER BY f.flag_id",
        "items": f"SELECT i.* REPLACE ({p('i.actor')} AS actor, {p('i.actor_id')} AS actor_id, "  # noqa: S608
                 f"{p('i.url')} AS url, {p('i.extra')} AS extra) FROM items i "
                 "WHERE i.item_key IN (SELECT item_key FROM (CHOSEN)) ORDER BY i.item_key",
        "classifications": "SELECT c.* FROM classifications c WHERE c.item_key IN "
                           "(SELECT item_key FROM (CHOSEN)) ORDER BY c.id",
        "reviews": "SELECT r.* FROM reviews r WHERE r.flag_id IN (SELECT flag_id FROM (CHOSEN)) "
                   "ORDER BY r.review_id",
        # Metadata only: the evidence hashes and where the raw bytes came from, not the bytes.
        "evidence": "SELECT e.evidence_id, e.flag_id, e.item_key, e.sha256, e.raw_sha256, "  # noqa: S608
                    f"e.created_at, r.size AS raw_size, {p('r.source_url')} AS source_url, "
                    "r.status AS http_status, r.fetched_at, "
                    "r.connector, r.connector_version, r.purged_at AS raw_purged_at "
                    "FROM evidence e LEFT JOIN raw_items r ON r.sha256 = e.raw_sha256 "
                    "WHERE e.flag_id IN (SELECT flag_id FROM (CHOSEN)) ORDER BY e.evidence_id",
    }


_EXPORTS = _exports(lambda column: column)
EXPORT_TABLES = tuple(_EXPORTS)


def _export_queries(since: date | None, until: date | None, pseudo: bool = False) -> dict[str, str]:
    # Only date objects reach the SQL text (as ISO literals), never user strings.
    cond = ["TRUE"]
    if since:
        cond.append("f.created_at >= " + _ts(since))
    if until:
        cond.append("f.created_at < " + _ts(until + timedelta(days=1)))
    chosen = "SELECT flag_id, item_key FROM flags f WHERE " + " AND ".join(cond)  # noqa: S608
    queries = _exports(lambda c: f"asn_pseudo(CAST({c} AS VARCHAR))") if pseudo else _EXPORTS
    return {table: sql.replace("CHOSEN", chosen) for table, sql in queries.items()}


def export(db: Database, out_dir: Path, fmt: ExportFormat, since: date | None = None,
           until: date | None = None, on_table: Callable[[str], None] | None = None,
           pseudonymise: Callable[[str], str] | None = None) -> dict[str, tuple[Path, int]]:
    """Write flags (``since``..``until``, WIB dates, inclusive) and their context; per table (file, rows).

    Flags carry the ASN's name, NIP, agency, region, province, local times and the
    candidate/party names; with ``pseudonymise`` (a keyed hash), names, NIPs, handles,
    URLs and extra fields are replaced by it. ``on_table`` is told each table once written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    options = "(FORMAT parquet, COMPRESSION zstd)" if fmt == "parquet" else "(FORMAT csv, HEADER true)"
    written: dict[str, tuple[Path, int]] = {}
    with db.connect(read_only=True) as con:
        if pseudonymise is not None:
            # Default NULL handling: NULL stays NULL without calling the hash.
            con.create_function("asn_pseudo", pseudonymise, ["VARCHAR"], "VARCHAR")
        for table, sql in _export_queries(since, until, pseudonymise is not None).items():
            path = (out_dir / f"{table}.{fmt}").resolve()
            literal = str(path).replace("'", "''")
            try:
                con.execute(f"COPY ({sql}) TO '{literal}' {options}")
                row = con.execute(f"SELECT count(*) FROM ({sql})").fetchone()  # noqa: S608
            except duckdb.Error as exc:
                raise InputError(f"export of {table} to {path} failed: {exc}") from None
            written[table] = (path, int(row[0]) if row else 0)
            if on_table is not None:
                on_table(table)
    return written


@dataclass(frozen=True)
class RetentionResult:
    """What one retention pass purged."""

    cutoff: datetime
    items_purged: int
    raw_purged: int


def purge_unflagged(db: Database, raw_days: int, now: datetime | None = None) -> RetentionResult:
    """Remove the content of never-flagged items first seen more than ``raw_days`` ago.

    Items keep their keys, kinds, actors, URLs and hashes (so de-duplication
    still works and counts stay auditable); their text, the engaged post's
    text, the normalised text and extra fields are cleared. Raw response bytes
    are cleared once every item read from them is purged and no evidence
    points at them. Flags, their items, evidence and raw bytes are kept.
    """
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=raw_days)
    with db.transaction() as con:
        run = con.execute(
            "INSERT INTO retention_runs (run_at, raw_days, cutoff, items_purged, raw_purged) "
            "VALUES (?, ?, ?, 0, 0) RETURNING id", [now, raw_days, cutoff]).fetchone()
        assert run is not None
        run_id = int(run[0])
        con.execute(
            "CREATE TEMP TABLE purge_keys AS SELECT i.item_key FROM items i "
            "WHERE i.first_seen_at < ? "
            "AND NOT EXISTS (SELECT 1 FROM flags f WHERE f.item_key = i.item_key) "
            "AND NOT EXISTS (SELECT 1 FROM purged_items p WHERE p.item_key = i.item_key)", [cutoff])
        items = _count(con, "SELECT count(*) FROM purge_keys")
        con.execute("UPDATE items SET text = NULL, subject_text = NULL, norm_text = '', extra = '{}' "
                    "WHERE item_key IN (SELECT item_key FROM purge_keys)")
        con.execute("INSERT INTO purged_items SELECT item_key, ?, ? FROM purge_keys", [now, run_id])
        con.execute("DROP TABLE purge_keys")
        raw = _count(con, """
            UPDATE raw_items SET body = NULL, purged_at = ?
            WHERE purged_at IS NULL AND fetched_at < ?
              AND NOT EXISTS (SELECT 1 FROM evidence e WHERE e.raw_sha256 = raw_items.sha256)
              AND NOT EXISTS (SELECT 1 FROM items i WHERE i.raw_sha256 = raw_items.sha256
                              AND i.item_key NOT IN (SELECT item_key FROM purged_items))
            RETURNING 1""", [now, cutoff], rows=True)
        con.execute("UPDATE retention_runs SET items_purged = ?, raw_purged = ? WHERE id = ?",
                    [items, raw, run_id])
    return RetentionResult(cutoff, items, raw)


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None,
           rows: bool = False) -> int:
    result = con.execute(sql, params or [])
    if rows:
        return len(result.fetchall())
    row = result.fetchone()
    return int(row[0]) if row else 0
