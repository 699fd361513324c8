"""Checks shared by the SIGKILL tests: read a killed process's DuckDB file and say what is wrong.

Every check reads the file read-only after the process is gone, so what it sees is what a
restart would see. ``consistency`` returns a dict of counts; ``assert_consistent`` names the
invariants that must hold whatever moment the kill hit.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from monitor.testing import invoke

ROOT = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).with_name("asn-monitor")


def generate_items(path: Path, count: int, tag: str = "gen") -> list[str]:
    """``count`` items cycled from the samples, each with a new id; returns the ids in order."""
    samples = [json.loads(line) for line in (ROOT / "config/samples/items.jsonl").open() if line.strip()]
    ids: list[str] = []
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            obj = dict(samples[n % len(samples)])
            obj["id"] = f"{obj['id']}-{tag}{n}"
            ids.append(obj["id"])
            out.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return ids


def rows(db: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """All rows of ``sql`` on ``db``, opened read-only."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def scalar(db: Path, sql: str, params: Sequence[Any] = ()) -> int:
    """The first column of the first row of ``sql`` as an int (0 when there is no row)."""
    got = rows(db, sql, params)
    return int(got[0][0]) if got and got[0][0] is not None else 0


# (name, query, the tables it reads). A kill during the first start can leave a file whose
# migrations have not all committed (each is atomic); a table not created yet holds no rows.
_CHECKS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("items", "SELECT count(*) FROM items", ("items",)),
    ("duplicates", "SELECT count(*) - count(DISTINCT item_key) FROM items", ("items",)),
    ("running", "SELECT count(*) FROM runs WHERE status = 'running'", ("runs",)),
    ("unfinished_other", "SELECT count(*) FROM runs WHERE status <> 'running' AND finished_at IS NULL",
     ("runs",)),
    ("raw_missing", "SELECT count(*) FROM items i LEFT JOIN raw_items r "
                    "ON r.sha256 = i.raw_sha256 WHERE r.sha256 IS NULL", ("items", "raw_items")),
    ("flags_without_evidence", "SELECT count(*) FROM flags f LEFT JOIN evidence e "
                               "USING (flag_id) WHERE e.flag_id IS NULL", ("flags", "evidence")),
    ("reviews_unchained", "SELECT count(*) FROM reviews r LEFT JOIN chain c "
                          "ON c.kind = 'review' AND c.ref_id = r.review_id WHERE c.seq IS NULL",
     ("reviews", "chain")),
)


def consistency(db: Path, file_sources: Mapping[str, Path] | None = None) -> dict[str, int]:
    """Counts that tell whether a killed process left the file consistent.

    ``file_sources`` maps a ``file`` source's name to its JSONL file: the number of items
    that source stored must equal the number of lines before its cursor's offset.
    """
    tables = {str(r[0]) for r in rows(db, "SELECT table_name FROM information_schema.tables")}
    state = {name: scalar(db, sql) if set(needs) <= tables else 0 for name, sql, needs in _CHECKS}
    for source, items_file in (file_sources or {}).items():
        cursor = (rows(db, "SELECT value FROM source_cursors WHERE source = ?", [source])
                  if "source_cursors" in tables else [])
        offset = json.loads(cursor[0][0])["offset"] if cursor else 0
        before = items_file.read_bytes()[:offset].count(b"\n")
        stored = (scalar(db, "SELECT count(*) FROM items WHERE source = ?", [source])
                  if "items" in tables else 0)
        state[f"{source}_cursor_gap"] = stored - before
        state[f"{source}_items"] = stored
    return state


def assert_consistent(state: Mapping[str, int], max_running: int) -> None:
    """The invariants a SIGKILL may never break (``max_running``: kills so far × jobs)."""
    assert state["duplicates"] == 0, state
    assert state["running"] <= max_running, state
    assert state["unfinished_other"] == 0, state
    assert state["raw_missing"] == 0 and state["flags_without_evidence"] == 0, state
    assert state["reviews_unchained"] == 0, state
    gaps = {k: v for k, v in state.items() if k.endswith("_cursor_gap") and v != 0}
    assert not gaps, state  # a page and its cursor are one transaction


def verify(settings: Path) -> None:
    """``asn-monitor verify`` (in this process: the CLI's own code path, without start-up time)."""
    result = invoke(["--config", str(settings), "verify"])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "OK: chain intact" in result.stdout


def run_cli(settings: Path, *args: str, timeout: float = 60,
            env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real console script as a subprocess, to the end."""
    return subprocess.run([str(EXE), "--config", str(settings), *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def kill_at(settings: Path, args: Sequence[str], delay: float,
            env: Mapping[str, str] | None = None) -> tuple[bool, str]:
    """Start ``asn-monitor args``, SIGKILL it after ``delay`` seconds unless it ended first.

    Returns whether it was killed, and its stderr. A run that ended by itself must have
    exited 0: the command was meant to succeed.
    """
    proc = subprocess.Popen([str(EXE), "--config", str(settings), *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
    _, err = proc.communicate(timeout=30)
    # It may have ended on its own between the wait and the signal: then it counts as not killed.
    assert proc.returncode in (0, -signal.SIGKILL), (proc.returncode, err)
    return proc.returncode == -signal.SIGKILL, err


def timed(settings: Path, *args: str, env: Mapping[str, str] | None = None) -> float:
    """Seconds one complete, successful ``asn-monitor args`` takes here."""
    started = time.monotonic()
    done = run_cli(settings, *args, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return time.monotonic() - started


def kill_delay(rng: random.Random, full_s: float) -> float:
    """A moment to kill a command that takes ``full_s`` when left alone.

    Start-up (imports) is most of a short command's time; the draw leans towards the
    part where it opens the database and writes, and past the end now and then.
    """
    return rng.uniform(0.35 * full_s, 1.1 * full_s)
