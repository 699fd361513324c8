"""Reviewing while the daemon runs: DuckDB allows one process per file at a time, so both sides
take turns through short connections; no decision may be lost."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from monitor.settings import load
from monitor.testing import invoke, write_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_review_commands_beside_the_running_daemon(config_dir: Path, tmp_path: Path) -> None:
    lines = (ROOT / "config/samples/items.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    growing = config_dir / "samples" / "growing.jsonl"
    growing.write_text("".join(lines[:30]), encoding="utf-8")
    path = write_settings(config_dir, sources={"live": {"type": "file", "paths": ["samples/growing.jsonl"],
                                                        "poll_interval": 1, "page_size": 5}})
    exe = Path(sys.executable).with_name("asn-monitor")
    log = (tmp_path / "daemon.log").open("wb")
    daemon = subprocess.Popen([str(exe), "--config", str(path), "run"], stdout=log, stderr=subprocess.STDOUT)

    def feed() -> None:  # the source keeps growing while reviewers work
        for start in range(30, len(lines), 5):
            time.sleep(0.7)
            with growing.open("a", encoding="utf-8") as handle:
                handle.write("".join(lines[start:start + 5]))

    feeder = threading.Thread(target=feed)
    feeder.start()
    total = len([x for x in lines if x.strip()])
    made: list[tuple[int, str, str]] = []
    decided: set[int] = set()
    failures: list[str] = []
    try:
        deadline = time.monotonic() + 120
        n = 0
        while time.monotonic() < deadline:
            q = invoke(["--config", str(path), "review", "queue", "--json", "--no-groups"])
            if q.exit_code != 0:
                failures.append(q.stderr)
                continue
            pending = [int(r["flag_id"]) for r in q.json()["flags"] if int(r["flag_id"]) not in decided]
            if not pending and not feeder.is_alive():
                status = invoke(["--config", str(path), "status", "--json"])
                if status.exit_code == 0 and status.json()["counts"]["items"] == total:
                    break
            for flag in pending:
                n += 1
                reviewer = f"r{n % 3}"
                if n % 2:
                    args = ["review", "confirm", str(flag), "--reviewer", reviewer]
                    decision = "confirmed"
                else:
                    args = ["review", "dismiss", str(flag), "--reason", "not_partisan",
                            "--reviewer", reviewer]
                    decision = "dismissed"
                if n % 4 == 0:  # some from a separate process, like a second reviewer's terminal
                    proc = subprocess.run([str(exe), "--config", str(path), *args], capture_output=True,
                                          text=True, timeout=120)
                    code, err = proc.returncode, proc.stderr
                else:
                    res = invoke(["--config", str(path), *args])
                    code, err = res.exit_code, res.stderr
                if code != 0:
                    failures.append(f"{args}: {err}")
                    continue
                made.append((flag, decision, reviewer))
                decided.add(flag)
            time.sleep(0.2)
    finally:
        feeder.join()
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=60)
        finally:
            if daemon.poll() is None:
                daemon.kill()
            log.close()
    output = (tmp_path / "daemon.log").read_text(errors="replace")
    assert daemon.returncode == 0, output
    assert not failures, failures
    assert len(made) >= 17, (made, output)
    with duckdb.connect(str(load(path).db_path), read_only=True) as con:
        stored = con.execute("SELECT flag_id, decision, reviewer FROM reviews ORDER BY review_id").fetchall()
        items = con.execute("SELECT count(*) FROM items").fetchone()
        runs = con.execute("SELECT count(*) FROM runs WHERE trigger = 'daemon'").fetchone()
    assert stored == made  # every decision, in order, none lost or changed
    assert items is not None and items[0] == total
    assert runs is not None and runs[0] >= 3
    assert invoke(["--config", str(path), "verify"]).exit_code == 0
