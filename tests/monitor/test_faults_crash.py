"""Crash consistency: SIGKILL the real console script mid-cycle, many times, and lose nothing.

``asn-monitor run --once`` runs as a subprocess over a file source of several hundred
generated items in small pages; it is killed at random moments and restarted. After each
kill every stored item is stored once, the file cursor never points past what is stored,
only killed runs are left 'running', and ``asn-monitor verify`` passes at the end.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from crash_checks import assert_consistent, consistency, generate_items, rows, run_cli, verify

from monitor.testing import write_settings

ROOT = Path(__file__).resolve().parents[2]
EXE = Path(sys.executable).with_name("asn-monitor")
ITEMS = 300
PAGE_SIZE = 20
KILLS = 15
BUDGET_S = 70.0


def _run(settings: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return run_cli(settings, *args, timeout=timeout, env={"PYTHONHASHSEED": "0"})


def test_sigkill_at_random_points_loses_and_repeats_nothing(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    items_file = config / "samples/generated.jsonl"
    ids = generate_items(items_file, ITEMS)
    settings = write_settings(
        config, sources={"gen": {"type": "file", "paths": ["samples/generated.jsonl"],
                                 "page_size": PAGE_SIZE}},
        extra={"classifier": {"model": "matcher"}})
    db = tmp_path / "data/test.duckdb"
    rng = random.Random(20241127)

    # One clean run on a throwaway copy measures how long a whole cycle takes here.
    probe_dir = tmp_path / "probe"
    shutil.copytree(config, probe_dir / "config")
    probe_settings = write_settings(
        probe_dir / "config", sources={"gen": {"type": "file", "paths": ["samples/generated.jsonl"],
                                               "page_size": PAGE_SIZE}},
        extra={"classifier": {"model": "matcher"}})
    started = time.monotonic()
    assert _run(probe_settings, "run", "--once").returncode == 0
    full_run_s = time.monotonic() - started

    deadline = time.monotonic() + BUDGET_S
    kills = 0
    finished_early = 0
    resets = 0
    progress: list[int] = []
    while kills < KILLS and time.monotonic() < deadline:
        proc = subprocess.Popen([str(EXE), "--config", str(settings), "run", "--once"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # Kill somewhere between start-up and the end of the work still left to do.
        left = 1.0 - (progress[-1] if progress else 0) / ITEMS
        time.sleep(rng.uniform(0.05, 0.3 + full_run_s * max(left, 0.6)))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        else:
            finished_early += 1
        proc.wait(timeout=30)
        assert proc.returncode in (0, -signal.SIGKILL), proc.stderr.read() if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
        if not db.exists():
            continue  # killed before the file was created
        state = consistency(db, {"gen": items_file})
        # Every line before the cursor is stored once, nothing after it: see crash_checks.
        assert_consistent(state, max_running=kills)
        verify(settings)
        progress.append(state["items"])
        if state["items"] == ITEMS:
            progress.append(0)
            # Everything is in: start over on a fresh database to spend the rest of the kills.
            resets += 1
            shutil.rmtree(tmp_path / "data/evidence", ignore_errors=True)
            db.unlink()
            Path(str(db) + ".wal").unlink(missing_ok=True)

    assert kills >= 10, f"only {kills} kills in {BUDGET_S}s (a full run takes {full_run_s:.1f}s)"
    final = _run(settings, "run", "--once", "--json")
    assert final.returncode == 0, final.stderr
    state = consistency(db, {"gen": items_file})
    assert_consistent(state, max_running=kills)
    assert state["items"] == ITEMS, state
    stored = {r[0] for r in rows(db, "SELECT item_id FROM items")}
    assert stored == set(ids)
    checked = _run(settings, "verify")  # the console script itself, once
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "OK: chain intact" in checked.stdout
    print(f"kills survived: {kills}; clean finishes: {finished_early}; resets: {resets}; "
          f"full run {full_run_s:.1f}s; "
          f"items stored after each restart: {progress}")
