"""The daemon's own state in DuckDB: its jobs' next run times and its heartbeat.

The daemon writes these in short transactions; ``status`` reads them. Nothing
here is needed for correctness (cursors and digests are), it is for operators.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from storage.db import Database


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class JobInfo:
    """One scheduled job as ``status`` shows it."""

    job_id: str
    name: str
    schedule: str
    next_run_at: datetime | None
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_status: str | None
    last_error: str | None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (times in ISO 8601)."""
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


class DaemonState:
    """Reads and writes ``daemon_jobs`` and ``daemon_heartbeat``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def register_jobs(self, jobs: list[tuple[str, str, str, datetime | None]]) -> None:
        """Replace the job list with ``(job_id, name, schedule, next_run_at)`` rows.

        Jobs of an earlier configuration (a source since removed) disappear; the
        last-run columns of jobs that stay are kept.
        """
        now = _now()
        with self.db.transaction() as con:
            con.execute("DELETE FROM daemon_jobs WHERE job_id NOT IN (SELECT unnest(?))",
                        [[j[0] for j in jobs]])
            for job_id, name, schedule, next_run in jobs:
                con.execute(
                    "INSERT INTO daemon_jobs (job_id, name, schedule, next_run_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (job_id) DO UPDATE SET "
                    "name = excluded.name, schedule = excluded.schedule, "
                    "next_run_at = excluded.next_run_at, updated_at = excluded.updated_at",
                    [job_id, name, schedule, next_run, now],
                )

    def job_started(self, job_id: str) -> None:
        """Note that ``job_id`` started now."""
        with self.db.transaction() as con:
            con.execute("UPDATE daemon_jobs SET last_started_at = ?, last_status = 'running', "
                        "updated_at = ? WHERE job_id = ?", [_now(), _now(), job_id])

    def job_finished(self, job_id: str, status: str, error: str | None,
                     next_run_at: datetime | None) -> None:
        """Note how ``job_id`` ended and when it runs next."""
        now = _now()
        with self.db.transaction() as con:
            con.execute("UPDATE daemon_jobs SET last_finished_at = ?, last_status = ?, "
                        "last_error = ?, next_run_at = ?, updated_at = ? WHERE job_id = ?",
                        [now, status, error, next_run_at, now, job_id])

    def set_next_run(self, job_id: str, next_run_at: datetime | None) -> None:
        """Update only the next run time of ``job_id``."""
        with self.db.transaction() as con:
            con.execute("UPDATE daemon_jobs SET next_run_at = ?, updated_at = ? WHERE job_id = ?",
                        [next_run_at, _now(), job_id])

    def jobs(self) -> list[JobInfo]:
        """Every registered job, soonest first."""
        with self.db.connect() as con:
            rows = con.execute(
                "SELECT job_id, name, schedule, next_run_at, last_started_at, last_finished_at, "
                "last_status, last_error FROM daemon_jobs ORDER BY next_run_at NULLS LAST, job_id"
            ).fetchall()
        return [JobInfo(*r) for r in rows]

    def beat(self, pid: int, host: str, version: str, started_at: datetime) -> datetime:
        """Record a heartbeat now; returns its time."""
        now = _now()
        with self.db.transaction() as con:
            con.execute(
                "INSERT INTO daemon_heartbeat VALUES (1, ?, ?, ?, ?, ?, NULL) ON CONFLICT (id) DO "
                "UPDATE SET pid = excluded.pid, host = excluded.host, version = excluded.version, "
                "started_at = excluded.started_at, beat_at = excluded.beat_at, stopped_at = NULL",
                [pid, host, version, started_at, now],
            )
        return now

    def stopped(self) -> None:
        """Record that the daemon stopped cleanly (and clear next run times)."""
        now = _now()
        with self.db.transaction() as con:
            con.execute("UPDATE daemon_heartbeat SET stopped_at = ?, beat_at = ? WHERE id = 1",
                        [now, now])
            con.execute("UPDATE daemon_jobs SET next_run_at = NULL, updated_at = ?", [now])

    def heartbeat(self) -> dict[str, Any] | None:
        """The last heartbeat row, or ``None`` when no daemon ever ran."""
        with self.db.connect() as con:
            cur = con.execute("SELECT pid, host, version, started_at, beat_at, stopped_at "
                              "FROM daemon_heartbeat WHERE id = 1")
            names = [d[0] for d in cur.description]
            row = cur.fetchone()
        if row is None:
            return None
        return {k: (v.isoformat() if isinstance(v, datetime) else v)
                for k, v in zip(names, row, strict=True)}

    def record_crash(self, pid: int, host: str, version: str, error: str, traceback: str) -> None:
        """Note an unexpected exception that ended the daemon."""
        with self.db.transaction() as con:
            con.execute("INSERT INTO daemon_crashes (crashed_at, pid, host, version, error, traceback) "
                        "VALUES (?, ?, ?, ?, ?, ?)", [_now(), pid, host, version, error, traceback])

    def crashes(self, hours: float = 24.0) -> dict[str, Any]:
        """How often the daemon crashed in the last ``hours``, and the last crash."""
        with self.db.connect() as con:
            row = con.execute("SELECT count(*) FROM daemon_crashes WHERE crashed_at > "
                              "now() - to_seconds(?)", [hours * 3600]).fetchone()
            last = con.execute("SELECT crashed_at, error FROM daemon_crashes ORDER BY id DESC "
                               "LIMIT 1").fetchone()
        return {"hours": hours, "count": int(row[0]) if row else 0,
                "last_at": last[0].isoformat() if last else None,
                "last_error": last[1] if last else None}
