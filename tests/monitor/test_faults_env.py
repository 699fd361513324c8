"""Faults of the machine around asn-monitor: a full disk, a locked file, a name that never resolves."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from monitor.app import build_pipeline
from monitor.pipeline import run_cycle
from monitor.settings import load
from monitor.testing import invoke, write_settings

ROOT = Path(__file__).resolve().parents[2]
EXE = Path(sys.executable).with_name("asn-monitor")


def _generate(path: Path, count: int) -> None:
    samples = [json.loads(line) for line in (ROOT / "config/samples/items.jsonl").open() if line.strip()]
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            obj = dict(samples[n % len(samples)])
            obj["id"] = f"{obj['id']}-big{n}"
            if obj.get("text"):  # incompressible, so the file really grows
                obj["text"] = obj["text"] + " " + os.urandom(1000).hex()
            out.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _count(db: Path, sql: str) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def test_full_disk_fails_clearly_and_corrupts_nothing(config_dir: Path) -> None:
    """RLIMIT_FSIZE stands in for a full disk: writes past the limit fail with EFBIG."""
    settings = write_settings(config_dir, sources={
        "sample": {"type": "file", "paths": ["samples/items.jsonl"]},
        "big": {"type": "file", "paths": ["samples/big.jsonl"], "page_size": 50}},
        extra={"classifier": {"model": "matcher"}})
    _generate(config_dir / "samples/big.jsonl", 600)
    db = load(settings).db_path
    first = subprocess.run([str(EXE), "--config", str(settings), "run", "--once", "--source", "sample"],
                           capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    before = _count(db, "SELECT count(*) FROM items")
    limit = 512 * 1024  # the WAL (and any checkpoint past 512 KiB) outgrows it

    def full_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run([str(EXE), "--config", str(settings), "run", "--once"], capture_output=True,
                          text=True, timeout=60, preexec_fn=full_disk)
    print("full disk:", proc.stderr.strip())
    assert proc.returncode == 4, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1
    # Whatever was committed before the disk filled is intact and counted once.
    assert _count(db, "SELECT count(*) FROM items") >= before
    assert _count(db, "SELECT count(*) - count(DISTINCT item_key) FROM items") == 0
    again = subprocess.run([str(EXE), "--config", str(settings), "run", "--once"],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert _count(db, "SELECT count(*) FROM items") == before + 600
    verify = subprocess.run([str(EXE), "--config", str(settings), "verify"],
                            capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stdout + verify.stderr


HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(60)
"""


def test_a_file_held_by_another_process_waits_then_fails_with_exit_4(config_dir: Path) -> None:
    settings = write_settings(config_dir, extra={
        "storage": {"path": "../data/test.duckdb", "lock_timeout": 1}})
    assert invoke(["--config", str(settings), "status"]).exit_code == 0  # creates the file
    db = load(settings).db_path
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        result = invoke(["--config", str(settings), "status"])
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert result.exit_code == 4, result.stderr
    assert "locked by another process" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert 0.9 <= waited < 10
    assert invoke(["--config", str(settings), "status"]).exit_code == 0  # free again


def test_a_name_that_never_resolves_is_a_per_account_error(
        config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``.invalid`` never resolves (RFC 6761): no traffic leaves the machine."""
    monkeypatch.setenv("ASN_TEST_X_TOKEN_INVALID", "t")
    settings_path = write_settings(config_dir, sources={
        "x": {"type": "x", "base_url": "http://nonexistent.invalid", "token_env": "ASN_TEST_X_TOKEN_INVALID",
              "timeout": 2.0, "max_attempts": 2, "max_retry_time": 0.5},
        "sample": {"type": "file", "paths": ["samples/items.jsonl"]}},
        extra={"classifier": {"model": "matcher"}})
    pipeline, inputs = build_pipeline(load(settings_path))
    for source in pipeline.sources:
        http = getattr(source, "http", None)
        if http is not None:
            http.sleep = lambda s: None
    started = time.monotonic()
    _, stats = run_cycle(pipeline)
    assert time.monotonic() - started < 60
    by_name = {s.source: s for s in stats}
    x_accounts = [a for a in inputs.roster if a.platform == "x"]
    assert len(by_name["x"].errors) >= len(x_accounts)
    assert by_name["sample"].new == 85 and not by_name["sample"].errors
    db = load(settings_path).db_path
    assert _count(db, "SELECT count(*) FROM run_errors WHERE source = 'x'") >= len(x_accounts)
    assert _count(db, "SELECT count(*) FROM runs WHERE status = 'partial'") == 1
