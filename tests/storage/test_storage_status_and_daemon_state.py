"""storage/status.py and storage/daemon_state.py against a real DuckDB file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage_seed import Seeded

from storage.daemon_state import DaemonState
from storage.status import status_report


def test_status_counts_tables_last_run_and_pending(seeded: Seeded) -> None:
    report = status_report(seeded.store.db)
    assert report.counts["items"] == 4 and report.counts["flags"] == 3
    assert report.pending_reviews == 3 and report.oldest_pending is not None
    assert report.last_run is not None and report.last_run["status"] == "ok"
    seeded.decide("1", "confirmed", "ana")
    assert status_report(seeded.store.db).pending_reviews == 2
    assert report.to_json()["counts"]["flags"] == 3


def test_jobs_are_registered_started_finished_and_rescheduled(seeded: Seeded) -> None:
    state = DaemonState(seeded.store.db)
    soon = datetime.now(UTC) + timedelta(minutes=5)
    state.register_jobs([("poll:src", "poll", "every 900 s", soon)])
    state.job_started("poll:src")
    state.job_finished("poll:src", "ok", None, soon)
    later = soon + timedelta(hours=1)
    state.set_next_run("poll:src", later)
    [job] = state.jobs()
    assert job.job_id == "poll:src" and job.last_status == "ok" and job.last_error is None
    assert job.next_run_at is not None and abs((job.next_run_at - later).total_seconds()) < 1


def test_the_heartbeat_says_who_runs_and_when_it_stopped(seeded: Seeded) -> None:
    state = DaemonState(seeded.store.db)
    assert state.heartbeat() is None
    started = datetime.now(UTC)
    state.beat(4242, "host-a", "0.1.0", started)
    beat = state.heartbeat()
    assert beat is not None and beat["pid"] == 4242 and beat["host"] == "host-a"
    assert beat["stopped_at"] is None
    state.stopped()
    stopped = state.heartbeat()
    assert stopped is not None and stopped["stopped_at"] is not None
