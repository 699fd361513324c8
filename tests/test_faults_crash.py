"""Crash consistency: SIGKILL the real console script mid-cycle, many times, and lose nothing.

``asn-monitor run --once`` runs as a subprocess over a file source of several hundred
generated items in small pages; it is killed at random moments and restarted. After each
kill every stored item is stored once, the file cursor never points past what is stored,
only killed runs are left 'running', and ``asn-monitor verify`` passes at the end.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from monitor.testing import write_settings

ROOT = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).with_name("asn-monitor")
ITEMS = 300
PAGE_SIZE = 20
KILLS = 15
BUDGET_S = 70.0


def _generate(path: Path, count: int) -> list[str]:
    """``count`` items cycled from the samples, each with a new id; returns the ids in order."""
    samples = [json.loads(line) for line in (ROOT / "config/samples/items.jsonl").open() if line.strip()]
    ids: list[str] = []
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            obj = dict(samples[n % len(samples)])
            obj["id"] = f"{obj['id']}-gen{n}"
            ids.append(obj["id"])
            out.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return ids


def _state(db: Path, items_file: Path) -> dict[str, object]:
    with duckdb.connect(str(db), read_only=True) as con:
        total, distinct = con.execute(
            "SELECT count(*), count(DISTINCT item_key) FROM items").fetchone() or (0, 0)
        cursor = con.execute("SELECT value FROM source_cursors WHERE source = 'gen'").fetchall()
        runs = con.execute("SELECT status, finished_at FROM runs").fetchall()
        raw_missing = con.execute(
            "SELECT count(*) FROM items i LEFT JOIN raw_items r ON r.sha256 = i.raw_sha256 "
            "WHERE r.sha256 IS NULL").fetchone()
        flags_without_evidence = con.execute(
            "SELECT count(*) FROM flags f LEFT JOIN evidence e USING (flag_id) "
            "WHERE e.flag_id IS NULL").fetchone()
    offset = json.loads(cursor[0][0])["offset"] if cursor else 0
    lines_before = items_file.read_bytes()[:offset].count(b"\n")
    return {"total": total, "distinct": distinct, "lines_before_cursor": lines_before,
            "running": sum(1 for s, _ in runs if s == "running"),
            "unfinished_other": sum(1 for s, f in runs if s != "running" and f is None),
            "raw_missing": raw_missing[0] if raw_missing else 0,
            "flags_without_evidence": flags_without_evidence[0] if flags_without_evidence else 0}


def _run(settings: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), "--config", str(settings), *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "PYTHONHASHSEED": "0"})


def test_sigkill_at_random_points_loses_and_repeats_nothing(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    items_file = config / "samples/generated.jsonl"
    ids = _generate(items_file, ITEMS)
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
        state = _state(db, items_file)
        assert state["total"] == state["distinct"], state
        # The page and its cursor are one transaction: stored == every line before the cursor.
        assert state["total"] == state["lines_before_cursor"], state
        assert state["running"] <= kills, state
        assert state["unfinished_other"] == 0, state
        assert state["raw_missing"] == 0 and state["flags_without_evidence"] == 0, state
        progress.append(int(str(state["total"])))
        if state["total"] == ITEMS:
            progress.append(0)
            # Everything is in: start over on a fresh database to spend the rest of the kills.
            assert _run(settings, "verify").returncode == 0
            resets += 1
            shutil.rmtree(tmp_path / "data/evidence", ignore_errors=True)
            db.unlink()
            Path(str(db) + ".wal").unlink(missing_ok=True)

    assert kills >= 10, f"only {kills} kills in {BUDGET_S}s (a full run takes {full_run_s:.1f}s)"
    final = _run(settings, "run", "--once", "--json")
    assert final.returncode == 0, final.stderr
    state = _state(db, items_file)
    assert state["total"] == state["distinct"] == ITEMS, state
    assert state["unfinished_other"] == 0
    with duckdb.connect(str(db), read_only=True) as con:
        stored = {r[0] for r in con.execute("SELECT item_id FROM items").fetchall()}
    assert stored == set(ids)
    verify = _run(settings, "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "OK: chain intact" in verify.stdout
    print(f"kills survived: {kills}; clean finishes: {finished_early}; resets: {resets}; "
          f"full run {full_run_s:.1f}s; "
          f"items stored after each restart: {progress}")
