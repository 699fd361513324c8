"""The stream in the real daemon and through server trouble, against the real PDS.

- SIGKILL of ``asn-monitor run`` while the stream flows, at random moments, then a clean
  SIGTERM: every act stored once, none lost, the stored seq matches the stored items,
  ``verify`` passes.
- The PDS restarted mid-stream: the consumer reconnects and catches up.
- A cursor older than the PDS keeps events for: ``#info OutdatedCursor``, then a backfill
  with ``listRecords``, not a silent gap.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from crash_checks import EXE, assert_consistent, consistency, rows, verify
from websockets.sync.client import connect

from monitor.app import build_pipeline
from monitor.settings import load
from monitor.stream import StreamJob
from monitor.testing import write_settings
from sources.bluesky_stream import BlueskyStreamSource, decode_frame
from sources.testing.peer import Peer, PeerError, PeerToolsMissing, restart_pds, running_peer

pytestmark = [pytest.mark.peer, pytest.mark.slow, pytest.mark.timeout(900)]
ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = "Ayo coblos nomor 1 tanggal 27 November! #JabarAsih"


def config(tmp: Path, peer: Peer, handle: str, campaign: str, **source: Any) -> Path:
    """A config whose one Bluesky roster account (asn-001) is ``handle`` on the peer."""
    cfg = tmp / "config"
    shutil.copytree(ROOT / "config", cfg)
    lines = (cfg / "roster.csv").read_text(encoding="utf-8").splitlines()
    rina = next(ln for ln in lines if ln.startswith("asn-001,") and ",bluesky," in ln)
    kept = [ln for ln in lines[1:] if ",bluesky," not in ln]
    (cfg / "roster.csv").write_text("\n".join([lines[0], *kept, rina.rsplit(",", 1)[0] + f",{handle}"])
                                    + "\n", encoding="utf-8")
    reg = cfg / "registries" / "pilgub-jabar-2024.toml"
    reg.write_text(reg.read_text(encoding="utf-8").replace("asih-jabar.bsky.social", campaign),
                   encoding="utf-8")
    return write_settings(cfg, sources={"bsky": {
        "type": "bluesky-stream", "stream_url": peer.pds_url, "resolver_url": peer.pds_url,
        "plc_url": peer.plc_url, "appview_url": "", "timeout": 5, "batch_seconds": 0.2,
        "backoff_max": 2.0, **source}})


def seed_base(peer: Peer, tag: str) -> dict[str, Any]:
    return peer.seed_accounts({"accounts": [{"name": "rina", "handle": f"rina-{tag}.test"},
                                   {"name": "asih", "handle": f"asih-{tag}.test"}],
                      "actions": [{"as": "asih", "post": CAMPAIGN, "key": "camp"}]}, f"base-{tag}")


def play(peer: Peer, tag: str, name: str, actions: list[dict[str, Any]]) -> dict[str, Any]:
    return peer.seed({"accounts": [], "actions": actions}, name,
                     resume=peer.home / f"base-{tag}.result.json")


def daemon(settings: Path, log: Path) -> subprocess.Popen[bytes]:
    """``asn-monitor run`` with its log appended to ``log``; returns once the stream started."""
    before = log.read_text().count("event=stream_started") if log.exists() else 0
    with log.open("ab") as out:
        proc = subprocess.Popen([str(EXE), "--config", str(settings), "run", "--source", "bsky"],
                                stdout=subprocess.DEVNULL, stderr=out, env=dict(os.environ))
    deadline = time.monotonic() + 90
    while log.read_text().count("event=stream_started") == before:
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.1)
    return proc


def _count(db: Path, sql: str) -> int:
    try:
        return int(rows(db, sql)[0][0])
    except Exception:  # the daemon holds the file at that moment: ask again
        return 0


def stream_creates(peer: Peer, did: str, upto: int) -> dict[str, int]:
    """URI -> seq of every post/like/repost create by ``did`` the PDS streamed up to ``upto``."""
    out: dict[str, int] = {}
    url = peer.pds_url.replace("http", "ws", 1) + "/xrpc/com.atproto.sync.subscribeRepos?cursor=0"
    with connect(url, max_size=5 * 1024 * 1024, open_timeout=10) as ws:
        while True:
            ev = decode_frame(bytes(ws.recv(timeout=10)), {did})  # type: ignore[arg-type]
            if ev.kind == "commit":
                for op in ev.ops:
                    if op.action == "create":
                        out[f"at://{did}/{op.collection}/{op.rkey}"] = int(ev.seq or 0)
            if ev.seq is not None and ev.seq >= upto:
                return out


def test_sigkill_while_streaming_loses_nothing_and_stores_nothing_twice(
        bsky_peer: Peer, tmp_path: Path) -> None:
    seeded = seed_base(bsky_peer, "k")
    did = seeded["accounts"]["rina"]["did"]
    settings = config(tmp_path, bsky_peer, "rina-k.test", "asih-k.test")
    db = load(settings).db_path
    log = tmp_path / "daemon.log"
    build_pipeline(load(settings))  # the model and the database exist before the first kill
    made: list[str] = []
    deleted: list[str] = []
    done = threading.Event()

    def writer() -> None:
        # A new campaign post each round: the PDS keeps one like per account and subject
        # (a second like of the same post deletes the first in the same commit).
        for n in range(14):
            acts = [{"as": "asih", "post": f"{CAMPAIGN} ({n})", "key": f"c{n}"},
                    {"as": "rina", "like": f"c{n}", "key": f"l{n}"},
                    {"as": "rina", "post": f"Catatan kerja hari ke-{n}", "key": f"p{n}"},
                    {"as": "rina", "repost": f"c{n}", "key": f"r{n}"}]
            if n % 3 == 0:
                acts.append({"as": "rina", "delete": f"l{n}"})
            got = play(bsky_peer, "k", f"round{n}", acts)
            made.extend(got["records"][k]["uri"] for k in (f"l{n}", f"p{n}", f"r{n}"))
            if n % 3 == 0:
                deleted.append(got["records"][f"l{n}"]["uri"])
            time.sleep(0.3)
        done.set()

    rng = random.Random(1616)
    proc = daemon(settings, log)
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    # The first kill comes once the stream has stored something (and so its seq).
    deadline = time.monotonic() + 60
    while not _count(db, "SELECT count(*) FROM source_cursors WHERE account_key = 'firehose'"):
        assert time.monotonic() < deadline and proc.poll() is None, log.read_text()[-3000:]
        time.sleep(0.5)
    kills = 0
    while not done.is_set() and kills < 4:
        time.sleep(rng.uniform(0.3, 3.0))  # while the writer's acts stream in
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        kills += 1
        assert_consistent(consistency(db), max_running=kills * 2)
        proc = daemon(settings, log)
    thread.join(120)
    assert done.is_set()
    deadline = time.monotonic() + 90
    wanted = {f"bluesky:{u}" for u in made}
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            stored = {r[0] for r in rows(db, "SELECT item_key FROM items")}
        except Exception:  # the daemon holds the write lock at that moment
            stored = set()
        if wanted <= stored:
            break
        time.sleep(1.0)
    time.sleep(1.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
    assert log.read_text().rstrip().splitlines()[-1].count("event=daemon_stopped")
    assert "event=stream_stopped" in log.read_text()
    # Every act once, none lost; deletions recorded once, each about a stored item.
    items = rows(db, "SELECT item_id, extra FROM items WHERE actor_id = ?", [did])
    ids = [r[0] for r in items]
    assert len(ids) == len(set(ids))
    assert set(made) <= set(ids), set(made) - set(ids)
    gone = rows(db, "SELECT item_id, item_seen FROM item_withdrawals WHERE actor_id = ?", [did])
    assert sorted(gone) == sorted((u, True) for u in deleted)
    # The stored seq matches the stored items: every roster create the PDS streamed up to
    # it is stored, and no stored item came from a frame beyond it.
    seq = int(rows(db, "SELECT value FROM source_cursors WHERE source = 'bsky' "
                       "AND account_key = 'firehose'")[0][0])
    seqs = [json.loads(r[1]).get("seq") for r in items]
    assert all(s is None or s <= seq for s in seqs)
    streamed = stream_creates(bsky_peer, did, seq)
    assert {u for u, s in streamed.items() if s <= seq} <= set(ids)
    assert_consistent(consistency(db), max_running=kills * 2)
    verify(settings)


@pytest.fixture(scope="module")
def short_memory_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    """A PDS of its own that keeps stream events for cursors only 3 seconds."""
    try:
        with running_peer(tmp_path_factory.mktemp("bsky-short"),
                          {"PDS_REPO_BACKFILL_LIMIT_MS": "3000"}) as peer:
            yield peer
    except PeerToolsMissing as exc:
        pytest.skip(str(exc))
    except PeerError as exc:
        pytest.fail(str(exc))


def _job(settings: Path) -> tuple[StreamJob, threading.Event, threading.Thread]:
    pipeline, _ = build_pipeline(load(settings))
    source = pipeline.sources[0]
    assert isinstance(source, BlueskyStreamSource)
    stop = threading.Event()
    job = StreamJob(pipeline, source, stop)
    thread = threading.Thread(target=job.run, daemon=True)
    thread.start()
    return job, stop, thread


def _wait(what: str, check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _stored(job: StreamJob, uri: str) -> list[tuple[Any, ...]]:
    with job.pipeline.store.db.connect() as con:
        return con.execute("SELECT extra FROM items WHERE item_id = ?", [uri]).fetchall()


def test_pds_restart_mid_stream_reconnects_and_catches_up(
        short_memory_peer: Peer, tmp_path: Path) -> None:
    peer = short_memory_peer
    seed_base(peer, "r")
    job, stop, thread = _job(config(tmp_path, peer, "rina-r.test", "asih-r.test"))
    try:
        _wait("connected", lambda: job.reader is not None and job.reader.connected, 60)
        first = play(peer, "r", "before", [{"as": "rina", "like": "camp", "key": "a"}])
        _wait("the first like", lambda: _stored(job, first["records"]["a"]["uri"]))
        assert job.reader is not None
        restart_pds(peer, down_s=1.0)
        later = play(peer, "r", "after", [{"as": "rina", "repost": "camp", "key": "b"},
                                          {"as": "rina", "like": "camp", "key": "c"}])
        for key in ("b", "c"):
            _wait(f"{key} after the restart", lambda k=key: _stored(job, later["records"][k]["uri"]))
        _wait("reconnected", lambda: job.reader is not None and job.reader.connected)
        assert job.reader.reconnects >= 1
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()


def test_a_cursor_older_than_the_pds_keeps_gives_a_backfill_not_a_gap(
        short_memory_peer: Peer, tmp_path: Path) -> None:
    peer = short_memory_peer
    seed_base(peer, "o")
    settings = config(tmp_path, peer, "rina-o.test", "asih-o.test")
    job, stop, thread = _job(settings)
    _wait("connected", lambda: job.reader is not None and job.reader.connected, 60)
    first = play(peer, "o", "seen", [{"as": "rina", "like": "camp", "key": "a"}])
    _wait("the first like", lambda: _stored(job, first["records"]["a"]["uri"]))
    stop.set()
    thread.join(30)
    # While the consumer is down, an act; then longer than the PDS keeps events.
    missed = play(peer, "o", "missed", [{"as": "rina", "repost": "camp", "key": "b"}])
    time.sleep(4.5)
    job, stop, thread = _job(settings)
    try:
        got = _wait("the missed repost", lambda: _stored(job, missed["records"]["b"]["uri"]))
        assert "via" not in json.loads(got[0][0])  # read with listRecords, not from a frame
        _wait("the backfill to finish", lambda: job.backfills >= 1)
        assert job.last_error and "OutdatedCursor" in job.last_error
    finally:
        stop.set()
        thread.join(30)
