"""Read-only queries behind ``asn-monitor status``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from storage.db import Database

TABLES = (
    "accounts", "account_handles", "elections", "candidates", "parties", "raw_items", "items",
    "classifications", "flags", "evidence", "evidence_files", "reviews", "chain", "source_cursors",
    "runs", "run_errors", "item_withdrawals",
)


@dataclass
class StatusReport:
    """What ``status`` prints: table counts, runs, errors, backlog and renames."""

    counts: dict[str, int] = field(default_factory=dict)
    last_run: dict[str, Any] | None = None
    last_errors: list[dict[str, Any]] = field(default_factory=list)
    pending_reviews: int = 0
    oldest_pending: str | None = None
    renames: list[dict[str, Any]] = field(default_factory=list)
    migrations: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "counts": self.counts, "last_run": self.last_run, "last_errors": self.last_errors,
            "pending_reviews": self.pending_reviews, "oldest_pending": self.oldest_pending,
            "renames": self.renames, "migrations": self.migrations,
        }


def _dicts(cursor: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in zip(names, row, strict=True)}
        for row in cursor.fetchall()
    ]


def status_report(db: Database) -> StatusReport:
    """Gather the status of the database in one read."""
    report = StatusReport()
    with db.connect() as con:
        for table in TABLES:
            row = con.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608  (fixed names)
            report.counts[table] = int(row[0]) if row else 0
        runs = _dicts(con.execute(
            "SELECT run_id, started_at, finished_at, status, trigger, items_seen, items_new, "
            "items_duplicate, items_skipped, flags_new, errors FROM runs ORDER BY run_id DESC LIMIT 1"
        ))
        report.last_run = runs[0] if runs else None
        report.last_errors = _dicts(con.execute(
            "SELECT source, account_key, error_type, message, occurred_at, run_id FROM run_errors "
            "WHERE error_type <> 'skipped' "
            "QUALIFY row_number() OVER (PARTITION BY source ORDER BY id DESC) = 1 ORDER BY source"
        ))
        row = con.execute(
            "SELECT count(*), min(f.created_at) FROM flags f JOIN flag_status s USING (flag_id) "
            "WHERE s.status = 'pending'"
        ).fetchone()
        report.pending_reviews = int(row[0]) if row else 0
        report.oldest_pending = row[1].isoformat() if row and row[1] else None
        report.renames = _dicts(con.execute(
            "SELECT h.account_id, h.platform, h.platform_user_id, "
            "lag(h.handle) OVER w AS old_handle, h.handle AS new_handle, h.first_seen AS seen_at "
            "FROM account_handles h "
            "WINDOW w AS (PARTITION BY h.account_id, h.platform ORDER BY h.id) "
            "QUALIFY old_handle IS NOT NULL ORDER BY h.id"
        ))
        report.migrations = [r[0] for r in con.execute(
            "SELECT name FROM schema_migrations ORDER BY id").fetchall()]
    return report
