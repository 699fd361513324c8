"""SIGKILL of the daemon (``asn-monitor run`` without ``--once``), several sources on their own threads.

A file source of generated items and a Mastodon source against ``FakeMastodon`` on 127.0.0.1
are polled by the daemon's scheduler, each on its own worker thread, while the process is
killed with SIGKILL at seeded random moments and started again. After every kill, read from
the file: every item is stored once, each source's cursors match what it stored (the file
cursor's offset, the Mastodon walk's position), only 'running' rows are unfinished, and
``verify`` passes. At the end every item of both sources is stored exactly once.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from crash_checks import assert_consistent, consistency, generate_items, kill_at, rows, verify

from monitor.model import Cursor
from monitor.testing import write_settings
from sources.common import Walk, newer_snowflake
from sources.testing import FakeMastodon

ITEMS = 240
STATUSES = 45  # per watched Mastodon account, read 5 to a page
KILLS = 8
BUDGET_S = 35.0
JOBS = 2  # poll jobs that write runs: at most this many 'running' rows per kill


@pytest.fixture
def mastodon() -> Iterator[FakeMastodon]:
    """A fake instance whose domain is the roster's (kabar.example), with partisan and plain statuses."""
    samples = [json.loads(line)["text"] for line in (Path(__file__).resolve().parents[2] /
                                                     "config/samples/items.jsonl").open()
               if line.strip() and json.loads(line).get("text")]
    with FakeMastodon(domain="kabar.example") as fake:
        for n, user in enumerate(("rina", "budi", "yusuf")):
            aid = fake.account(user)
            for k in range(STATUSES):
                fake.status(aid, f"<p>{samples[(n * STATUSES + k) % len(samples)]}</p>")
        yield fake


def _masto_gaps(db: Path, fake: FakeMastodon) -> list[str]:
    """Accounts whose stored statuses differ from what their walk cursor says was read."""
    problems = []
    by_account: dict[str, list[str]] = {}
    for sid, st in fake.statuses.items():
        by_account.setdefault(st["account"]["id"], []).append(sid)
    cursors = {r[0]: r[1] for r in rows(
        db, "SELECT account_key, value FROM source_cursors WHERE source = 'masto' AND stream = 'statuses'")}
    identities = {r[0]: json.loads(r[1])["id"] for r in rows(
        db, "SELECT account_key, value FROM source_cursors WHERE source = 'masto' AND stream = 'identity'")}
    stored: dict[str, set[str]] = {}
    for actor_id, item_id in rows(db, "SELECT actor_id, item_id FROM items WHERE source = 'masto'"):
        stored.setdefault(actor_id, set()).add(item_id)
    for key, aid in identities.items():
        ids = by_account.get(aid, [])
        walk = Walk.decode(Cursor("statuses", cursors[key]) if key in cursors else None)
        if walk.next is not None:  # mid-walk: everything from the newest down to the page boundary
            expected = {i for i in ids if not newer_snowflake(walk.next, i)}
        elif walk.seen is not None:  # a finished walk: everything up to what it saw
            expected = {i for i in ids if not newer_snowflake(i, walk.seen)}
        else:
            expected = set()
        if stored.get(aid, set()) != expected:
            problems.append(f"{key}: stored {len(stored.get(aid, set()))}, cursor says {len(expected)}")
    return problems


def test_sigkill_of_the_daemon_loses_and_repeats_nothing(config_dir: Path, mastodon: FakeMastodon) -> None:
    items_file = config_dir / "samples/generated.jsonl"
    ids = generate_items(items_file, ITEMS, "daemon")
    settings = write_settings(config_dir, sources={
        "gen": {"type": "file", "paths": ["samples/generated.jsonl"], "page_size": 20,
                "poll_interval": 0.5},
        "masto": {"type": "mastodon", "base_url": mastodon.url, "domain": "kabar.example",
                  "page_size": 5, "poll_interval": 0.5, "timeout": 2.0, "max_attempts": 2}},
        extra={"classifier": {"model": "matcher", "model_dir": "../data/models"},
               "digest": {"enabled": False}, "daemon": {"heartbeat_interval": 0.3}})
    db = config_dir.parent / "data/test.duckdb"
    expected_masto = 3 * STATUSES
    rng = random.Random(20241128)
    deadline = time.monotonic() + BUDGET_S
    kills = resets = 0
    progress: list[tuple[int, int]] = []
    while kills < KILLS and time.monotonic() < deadline:
        # A daemon never ends by itself: every run is killed. Most of the first ~1.5 s is
        # start-up; the draw covers start-up, the first cycles and idle polling after them.
        killed, err = kill_at(settings, ["run"], rng.uniform(0.8, 3.5))
        assert killed, err
        kills += 1
        if not db.exists():
            continue
        state = consistency(db, {"gen": items_file})
        assert_consistent(state, max_running=JOBS * kills)
        assert _masto_gaps(db, mastodon) == []
        verify(settings)
        masto = state["items"] - state["gen_items"]
        progress.append((state["gen_items"], masto))
        if state["gen_items"] == ITEMS and masto == expected_masto:
            # All in: start again on a fresh database so that later kills land mid-cycle.
            resets += 1
            shutil.rmtree(config_dir.parent / "data/evidence", ignore_errors=True)
            db.unlink()
            Path(str(db) + ".wal").unlink(missing_ok=True)

    assert kills >= 6, f"only {kills} kills in {BUDGET_S}s"
    # Last restarts: each runs 6 s and is killed too, until both sources have everything
    # (one is enough on an idle machine; a loaded one may need more).
    for _ in range(5):
        killed, err = kill_at(settings, ["run"], 6.0)
        assert killed, err
        kills += 1
        state = consistency(db, {"gen": items_file})
        assert_consistent(state, max_running=JOBS * kills)
        assert _masto_gaps(db, mastodon) == []
        if state["gen_items"] == ITEMS and state["items"] == ITEMS + expected_masto:
            break
    assert state["gen_items"] == ITEMS and state["items"] == ITEMS + expected_masto, state
    assert _masto_gaps(db, mastodon) == []
    stored = {r[0] for r in rows(db, "SELECT item_id FROM items WHERE source = 'gen'")}
    assert stored == set(ids)
    verify(settings)
    print(f"daemon kills survived: {kills}; resets: {resets}; "
          f"(file items, mastodon items) after each kill: {progress}")
