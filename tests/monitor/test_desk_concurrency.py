"""The desk beside the running daemon: two signed-in sessions deciding at once lose no decision.

DuckDB lets one process hold the file at a time; the daemon, the desk and its
sessions take turns through short connections (the daemon keeps reading a
growing source meanwhile). Repeated over several rounds.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from monitor.settings import load
from monitor.testing import write_settings
from monitor.testing.desk import login, post_form, seed, serve

ROUNDS = 3
PER_ROUND = 3


def _grow(source: Path, lines: list[str], stop: threading.Event) -> None:
    """Append re-numbered copies of the sample items while the test runs."""
    n = 0
    while not stop.is_set() and n < 200:
        n += 1
        with source.open("a", encoding="utf-8") as handle:
            for line in lines[:5]:
                item = json.loads(line)
                item["id"] = f"{item['id']}-copy{n}"
                handle.write(json.dumps(item) + "\n")
        stop.wait(0.5)


def _until_daemon_stored(log: Path, daemon: subprocess.Popen[bytes], limit: float = 90) -> None:
    """Wait (bounded) until the daemon has stored items of its growing source.

    On a loaded machine the decisions can all be made before the daemon's first cycle
    has finished; stopping it then would test nothing of "beside the daemon".
    """
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and daemon.poll() is None:
        if re.search(r"event=cycle_done .*source=live .*new=[1-9]", log.read_text(errors="replace")):
            return
        time.sleep(0.5)


def _pending(client: httpx.Client) -> list[int]:
    return [int(x) for x in re.findall(r'data-flag="(\d+)"', client.get("/").text)]


def _decide(client: httpx.Client, flags: list[int], action: str, done: list[tuple[int, str]],
            errors: list[str]) -> None:
    for flag in flags:
        data = {"note": "keputusan bersamaan"} if action == "confirm" else {"reason": "duplicate"}
        try:
            resp = post_form(client, f"/flag/{flag}", f"/flag/{flag}/{action}", data)
            page = client.get(f"/flag/{flag}").text
        except httpx.HTTPError as exc:
            errors.append(f"{flag}: {exc}")
            continue
        if resp.status_code == 303 and "Keputusan tercatat" in page:
            done.append((flag, action))
        else:
            errors.append(f"{flag} {action}: HTTP {resp.status_code}")


@pytest.mark.slow
def test_two_sessions_and_the_daemon_lose_no_decision(tmp_path: Path) -> None:
    settings_path = seed(tmp_path, hostile=False)
    config = settings_path.parent
    lines = (config / "samples" / "items.jsonl").read_text(encoding="utf-8").splitlines()
    growing = config / "samples" / "growing.jsonl"
    growing.write_text("", encoding="utf-8")
    daemon_settings = write_settings(config, name="daemon.toml", sources={
        "live": {"type": "file", "paths": ["samples/growing.jsonl"], "poll_interval": 1, "page_size": 5}})
    exe = Path(sys.executable).with_name("asn-monitor")
    log = (tmp_path / "daemon.log").open("wb")
    daemon = subprocess.Popen([str(exe), "--config", str(daemon_settings), "run"], stdout=log,
                              stderr=subprocess.STDOUT)
    stop = threading.Event()
    feeder = threading.Thread(target=_grow, args=(growing, lines, stop))
    feeder.start()
    done_a: list[tuple[int, str]] = []
    done_b: list[tuple[int, str]] = []
    errors: list[str] = []
    try:
        with serve(settings_path) as base:
            a, b = login(base, "koor"), login(base, "koor2")
            for _ in range(ROUNDS):
                pending = _pending(a)[:2 * PER_ROUND]
                assert len(pending) >= 2, "flags left to decide"
                workers = [
                    threading.Thread(target=_decide, args=(a, pending[0::2], "confirm", done_a, errors)),
                    threading.Thread(target=_decide, args=(b, pending[1::2], "dismiss", done_b, errors))]
                for w in workers:
                    w.start()
                for w in workers:
                    w.join(timeout=120)
            assert daemon.poll() is None, "the daemon kept running"
            _until_daemon_stored(tmp_path / "daemon.log", daemon)
    finally:
        stop.set()
        feeder.join(timeout=10)
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(timeout=10)
        log.close()
    assert not errors, errors
    assert len(done_a) + len(done_b) >= ROUNDS * 2
    with duckdb.connect(str(load(settings_path).db_path), read_only=True) as con:
        stored = con.execute("SELECT flag_id, decision, reviewer FROM reviews").fetchall()
        items = con.execute("SELECT count(*) FROM items WHERE item_id LIKE '%-copy%'").fetchone()
    assert items is not None and items[0] > 0, "the daemon stored items meanwhile"
    expected = {(f, "confirmed", "koor") for f, _ in done_a} | {(f, "dismissed", "koor2") for f, _ in done_b}
    assert expected <= set(stored) and len(stored) == len(expected)
