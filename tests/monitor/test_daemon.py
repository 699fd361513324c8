"""The daemon: per-source jobs that never overlap, clean stop on signals, restart, status, logs."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from monitor.app import build_pipeline
from monitor.daemon import Daemon
from monitor.model import Account, Cursor, Page
from monitor.settings import Settings, load
from monitor.testing import DaemonProcess, invoke, write_settings

ROOT = Path(__file__).resolve().parents[2]
# The deterministic registry matcher (as in config/asn-monitor.toml): 17 flags in the sample.
MATCHER = {"classifier": {"model": "matcher", "model_dir": "../data/models"}}


class FakeFeed:
    """A feed source whose cycle takes ``pages`` × ``delay`` seconds; counts cycles and overlap."""

    platform, version = "fake", "1"

    def __init__(self, name: str, pages: int, delay: float) -> None:
        self.name, self.pages, self.delay = name, pages, delay
        self.cycles_started = 0
        self.cycles_done = 0
        self.active = 0
        self.max_active = 0
        self.pages_done = 0
        self.lock = threading.Lock()

    def streams(self) -> Sequence[str]:
        return ["feed"]

    def fetch(self, account: Account, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        return iter(())

    def fetch_feed(self, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.cycles_started += 1
        try:
            for n in range(self.pages):
                time.sleep(self.delay)
                self.pages_done += 1
                yield Page("feed", [], cursor=Cursor("feed", f"{self.cycles_started}:{n}"))
            self.cycles_done += 1
        finally:
            with self.lock:
                self.active -= 1


def _settings(config_dir: Path, **daemon: Any) -> Settings:
    path = write_settings(config_dir, extra={**MATCHER, "digest": {"enabled": False},
                                             "daemon": {"heartbeat_interval": 0.3, **daemon}})
    return load(path)


def test_slow_source_neither_overlaps_nor_delays_the_others(config_dir: Path) -> None:
    settings = _settings(config_dir)
    pipeline, _ = build_pipeline(settings)
    slow, fast = FakeFeed("slow", pages=6, delay=0.5), FakeFeed("fast", pages=1, delay=0.0)
    pipeline.sources = [slow, fast]
    settings.sources = {"slow": {"type": "fake", "poll_interval": 0.2},
                        "fast": {"type": "fake", "poll_interval": 0.2}}
    stop = threading.Event()
    daemon = Daemon(settings, pipeline, stop, env={})
    thread = threading.Thread(target=daemon.run)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while slow.cycles_done < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        fast_during_first_slow_cycle = fast.cycles_done
        while slow.cycles_started < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.7)  # the slow source is in the middle of its second cycle now
        assert slow.active == 1
    finally:
        stopped_at = time.monotonic()
        stop.set()
        thread.join(10)
    latency = time.monotonic() - stopped_at
    assert not thread.is_alive()
    assert slow.cycles_done >= 1
    assert slow.max_active == 1  # never two cycles of one source at once
    # About 3 s of slow cycle, fast due every 0.2 s: blocked, it would get at most one.
    assert fast_during_first_slow_cycle >= 3
    assert latency < 3.0  # the slow cycle was abandoned at the next page boundary (0.5 s)
    assert slow.pages_done < 2 * slow.pages  # its second cycle did not run to the end
    runs = dict(_rows(settings, "SELECT status, count(*) FROM runs GROUP BY 1"))
    assert "running" not in runs and runs.get("interrupted", 0) >= 1
    jobs = {r[0]: r[1] for r in _rows(settings, "SELECT job_id, last_status FROM daemon_jobs")}
    assert set(jobs) == {"poll:slow", "poll:fast", "retention", "heartbeat"}
    assert jobs["poll:fast"] == "ok"


def _rows(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(settings.db_path), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.mark.slow
def test_sigterm_stops_cleanly_and_restart_resumes_from_cursors(config_dir: Path) -> None:
    hb = config_dir / "heartbeat"
    path = write_settings(config_dir, extra={
        **MATCHER, "digest": {"enabled": False},
        "daemon": {"heartbeat_interval": 0.5, "heartbeat_file": str(hb)}},
        sources={"sample": {"type": "file", "paths": ["samples/items.jsonl"], "page_size": 10,
                            "poll_interval": 1.0}})
    first = DaemonProcess(path)
    line = first.wait_for("event=cycle_done")
    assert "source=sample" in line and "new=85" in line and "flagged=17" in line
    first.wait_for("event=heartbeat")
    code, elapsed = first.signal_stop(signal.SIGTERM)
    assert code == 0, "\n".join(first.seen)
    assert elapsed < 30
    print(f"daemon stop latency after SIGTERM: {elapsed:.2f}s")
    assert any("event=signal signal=SIGTERM" in s for s in first.seen)
    assert any("event=daemon_stopped" in s for s in first.seen)
    settings = load(path)
    assert _rows(settings, "SELECT count(*) FROM runs WHERE status = 'running'") == [(0,)]
    assert _rows(settings, "SELECT count(*), count(DISTINCT item_key) FROM items") == [(85, 85)]
    assert _rows(settings, "SELECT count(*) FROM flags")[0][0] == 17
    assert _rows(settings, "SELECT count(*) FROM daemon_heartbeat WHERE stopped_at IS NOT NULL") == [(1,)]
    assert datetime.fromisoformat(hb.read_text().strip()) <= datetime.now(UTC)

    second = DaemonProcess(path, "--log-json")
    records = []
    while True:
        records.append(json.loads(second.wait_for('"event": "cycle_done"')))
        if records[-1]["source"] == "sample":
            break
    assert records[-1]["new"] == 0 and records[-1]["duplicate"] == 0  # resumed from the cursor
    assert records[-1]["level"] == "info" and records[-1]["logger"] == "asn_monitor.daemon"
    code, elapsed = second.signal_stop(signal.SIGINT)
    assert code == 0, "\n".join(second.seen)
    assert elapsed < 30
    assert all(json.loads(s) for s in second.seen if s.startswith("{"))
    assert _rows(settings, "SELECT count(*) FROM items") == [(85,)]


def test_status_shows_heartbeat_and_next_runs(config_dir: Path) -> None:
    settings = _settings(config_dir)
    pipeline, _ = build_pipeline(settings)
    stop = threading.Event()
    thread = threading.Thread(target=Daemon(settings, pipeline, stop, env={}).run)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            jobs = pipeline.store.db  # wait for the first cycle through the daemon's own connections
            with jobs.connect() as con:
                done = con.execute("SELECT count(*) FROM runs WHERE status <> 'running'").fetchone()
            if done and done[0] >= 1:
                break
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(10)
    path = settings.file
    # While it ran, next_run_at was set; after a clean stop it is cleared. Check the running view
    # by registering again as the daemon does at start.
    status = invoke(["--config", str(path), "status", "--json"]).json()["daemon"]
    assert status["heartbeat"]["stopped_at"] is not None
    assert {j["job_id"] for j in status["jobs"]} == {"poll:sample", "retention", "heartbeat"}
    assert next(j for j in status["jobs"] if j["job_id"] == "poll:sample")["last_status"] == "ok"
    text = invoke(["--config", str(path), "status"])
    assert text.exit_code == 0 and "Jobs" in text.stdout and "daily 03:00 WIB" in text.stdout


def test_status_lists_next_run_times_while_running(config_dir: Path) -> None:
    """The daemon writes next runs at start and on each heartbeat; a reader sees them."""
    from storage.daemon_state import DaemonState

    settings = _settings(config_dir)
    settings.digest.enabled = True
    pipeline, _ = build_pipeline(settings)
    daemon = Daemon(settings, pipeline, threading.Event(), env={})
    daemon.scheduler.start(paused=True)
    try:
        daemon.state.register_jobs([(j.id, j.name, daemon._schedules[j.id], j.next_run_time)
                                    for j in daemon.scheduler.get_jobs()])
    finally:
        daemon.scheduler.shutdown(wait=False)
    jobs = {j.job_id: j for j in DaemonState(pipeline.store.db).jobs()}
    assert set(jobs) == {"poll:sample", "digest", "digest-retry", "retention", "heartbeat"}
    digest = jobs["digest"].next_run_at
    assert digest is not None and digest > datetime.now(UTC)
    local = digest.astimezone(daemon.scheduler.timezone)
    assert (local.weekday(), local.hour, local.minute) == (0, 7, 0)  # Monday 07:00 WIB


def test_retention_job_runs_and_is_recorded(config_dir: Path) -> None:
    settings = _settings(config_dir)
    pipeline, _ = build_pipeline(settings)
    daemon = Daemon(settings, pipeline, threading.Event(), env={})
    daemon.state.register_jobs([("retention", "retention", "daily 03:00 WIB", None)])
    daemon._tracked("retention", daemon._retention)()
    rows = _rows(settings, "SELECT raw_days, items_purged FROM retention_runs")
    assert rows == [(90, 0)]
    assert _rows(settings, "SELECT last_status FROM daemon_jobs WHERE job_id = 'retention'") == [("ok",)]


@pytest.mark.slow
def test_a_stop_signal_caught_by_another_thread_still_stops_the_daemon(config_dir: Path) -> None:
    # The kernel may hand a process's SIGTERM to any of its threads. Python runs the handler
    # in the main thread only, so a main thread blocked in an untimed wait never saw it: a
    # fresh-clone CI run once left the daemon running after SIGTERM. Here the signal goes to
    # one worker thread on purpose (tgkill), and the daemon must still stop cleanly.
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "tgkill") or not Path("/proc/self/task").is_dir():
        pytest.skip("needs Linux tgkill and /proc")
    path = write_settings(config_dir, extra={**MATCHER, "digest": {"enabled": False}},
                          sources={"sample": {"type": "file", "paths": ["samples/items.jsonl"],
                                              "poll_interval": 1.0}})
    daemon = DaemonProcess(path)
    daemon.wait_for("event=cycle_done")
    pid = daemon.p.pid
    workers = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid)
    assert workers, "the daemon runs worker threads"
    assert libc.tgkill(pid, workers[-1], signal.SIGTERM) == 0, ctypes.get_errno()
    code, elapsed = daemon.wait_exit(30, "SIGTERM to a worker thread")
    print(f"stopped {elapsed:.2f}s after a SIGTERM to thread {workers[-1]}")
    assert code == 0, "\n".join(daemon.seen)
    assert any("event=signal signal=SIGTERM" in s for s in daemon.seen)
    assert any("event=daemon_stopped" in s for s in daemon.seen)
