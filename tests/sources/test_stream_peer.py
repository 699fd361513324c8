"""The ``bluesky-stream`` source against the real PDS's ``subscribeRepos``, through the pipeline.

One consumer (``StreamJob``, the daemon's stream job) runs on a thread for the whole
module; each test plays acts on the PDS with ``seed.py`` and waits, bounded, for what
must be stored in DuckDB.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.app import build_pipeline
from monitor.evidence.card import card_html
from monitor.pipeline import Pipeline
from monitor.settings import load
from monitor.stream import StreamJob
from monitor.testing import invoke, write_settings
from sources.bluesky_stream import BlueskyStreamSource
from sources.common import tid_time
from sources.testing.peer import Peer
from storage.evidence import flag_detail
from storage.stream import StreamState

pytestmark = [pytest.mark.peer, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = "Ayo coblos nomor 1 tanggal 27 November! #JabarAsih"


def stream_config(tmp: Path, peer: Peer, roster: dict[str, str], **source: Any) -> Path:
    """A config whose Bluesky roster is ``roster`` (account id -> handle) on the peer."""
    config = tmp / "config"
    shutil.copytree(ROOT / "config", config)
    lines = (config / "roster.csv").read_text(encoding="utf-8").splitlines()
    kept = [ln for ln in lines[1:] if ",bluesky," not in ln]
    people = {ln.split(",")[0]: ln.rsplit(",", 2)[0] for ln in lines[1:] if ",bluesky," in ln}
    rows = [f"{people[aid]},bluesky,{handle}" for aid, handle in roster.items()]
    (config / "roster.csv").write_text("\n".join([lines[0], *kept, *rows]) + "\n", encoding="utf-8")
    reg = config / "registries" / "pilgub-jabar-2024.toml"
    reg.write_text(reg.read_text(encoding="utf-8").replace("asih-jabar.bsky.social", "asih.test"),
                   encoding="utf-8")
    settings = {"type": "bluesky-stream", "stream_url": peer.pds_url, "resolver_url": peer.pds_url,
                "plc_url": peer.plc_url, "appview_url": "", "timeout": 5, "batch_seconds": 0.2,
                **source}
    return write_settings(config, sources={"bsky": settings})


@dataclass
class Running:
    """A stream job on a thread, its pipeline and its stop event."""

    pipeline: Pipeline
    job: StreamJob
    stop: threading.Event
    thread: threading.Thread

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.pipeline.store.db.connect() as con:
            return con.execute(sql, params or []).fetchall()

    def wait(self, what: str, check: Callable[[], Any], timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = check()
            if got:
                return got
            assert self.thread.is_alive(), "the stream job ended"
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


def start(settings_path: Path) -> Running:
    pipeline, _ = build_pipeline(load(settings_path))
    source = pipeline.sources[0]
    assert isinstance(source, BlueskyStreamSource)
    stop = threading.Event()
    job = StreamJob(pipeline, source, stop)
    thread = threading.Thread(target=job.run, name="test-stream", daemon=True)
    thread.start()
    running = Running(pipeline, job, stop, thread)
    running.wait("the stream to connect", lambda: job.reader is not None and job.reader.connected,
                 timeout=60)
    return running


@pytest.fixture(scope="module")
def world(bsky_peer: Peer, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[Peer, Running, dict[str, Any]]]:
    scenario = {
        "accounts": [{"name": "rina", "handle": "rina-s.test"}, {"name": "asih", "handle": "asih.test"},
                     {"name": "orang", "handle": "orang-lain.test"}],
        "actions": [{"as": "asih", "post": CAMPAIGN, "key": "camp"},
                    {"as": "rina", "like": "camp", "key": "old-like"}],
    }
    seeded = bsky_peer.seed_accounts(scenario, "stream-base")
    time.sleep(2.5)  # the old like is older than the first walk's horizon (below)
    tmp = tmp_path_factory.mktemp("stream")
    settings = stream_config(tmp, bsky_peer, {"asn-001": "rina-s.test"}, backfill_days=2 / 86400)
    running = start(settings)
    yield bsky_peer, running, {"seeded": seeded, "settings": settings}
    running.close()


def play(peer: Peer, name: str, actions: list[dict[str, Any]]) -> dict[str, Any]:
    return peer.seed({"accounts": [], "actions": actions}, name,
                     resume=peer.home / "stream-base.result.json")


def test_a_like_and_its_deletion_within_one_second_are_both_recorded(world: Any) -> None:
    peer, run, ctx = world
    result = play(peer, "like-unlike", [{"as": "rina", "like": "camp", "key": "l1"},
                                       {"as": "rina", "delete": "l1"}])
    uri = result["records"]["l1"]["uri"]
    key = f"bluesky:{uri}"
    got = run.wait("the withdrawal", lambda: run.rows(
        "SELECT item_seen, withdrawn_at, account_id FROM item_withdrawals WHERE item_key = ?", [key]))
    assert got[0][0] is True and got[0][2] == "asn-001"
    # Withdrawn within a second of being made (the like's TID is its creation time).
    made = tid_time(uri.rsplit("/", 1)[1])
    assert made is not None and (got[0][1] - made).total_seconds() < 1.0
    item = run.rows("SELECT kind, actor_id, extra, raw_sha256 FROM items WHERE item_key = ?", [key])
    assert item and item[0][0] == "like"
    extra = json.loads(item[0][2])
    assert extra["via"] == "firehose" and extra["subject_evidence"]["sha256"]
    raw = run.rows("SELECT source_url, connector FROM raw_items WHERE sha256 = ?", [item[0][3]])
    assert "subscribeRepos?cursor=" in raw[0][0] and raw[0][1] == "bluesky-stream:bsky"
    # The like of a campaign post is flagged; the card says when it was taken back (WIB: 3204).
    flag = run.wait("the flag", lambda: run.rows("SELECT flag_id FROM flags WHERE item_key = ?", [key]))
    detail = flag_detail(run.pipeline.store.db, flag[0][0])
    html = card_html(detail, Path(str(ctx["settings"])).parent)
    assert "ditarik pada" in html and " WIB" in html.split("ditarik pada", 1)[1][:40]
    # A like made before monitoring began (older than the first walk) and withdrawn now: a
    # deletion of a record never seen, recorded as such.
    old = ctx["seeded"]["records"]["old-like"]["uri"]
    assert not run.rows("SELECT 1 FROM items WHERE item_id = ?", [old])
    play(peer, "old-unlike", [{"as": "rina", "delete": "old-like"}])
    never = run.wait("the unseen withdrawal", lambda: run.rows(
        "SELECT item_seen FROM item_withdrawals WHERE item_id = ?", [old]))
    assert never == [(False,)]
    status = invoke(["--config", str(ctx["settings"]), "status", "--json"])
    assert status.exit_code == 0, status.stderr
    daemon = status.json()["daemon"]
    assert daemon["withdrawals"]["never_seen"] >= 1
    # The heartbeat: the last stored seq and how far behind the stream it is.
    beat = run.wait("a heartbeat", lambda: [b for b in StreamState(run.pipeline.store.db).report()
                                            ["streams"] if b["last_seq"] and b["lag_s"] is not None])
    assert beat[0]["source"] == "bsky" and beat[0]["connected"] and beat[0]["lag_s"] < 60


def test_a_repost_of_a_campaign_post_is_flagged_within_seconds(world: Any) -> None:
    peer, run, _ = world
    result = play(peer, "repost", [{"as": "rina", "repost": "camp", "key": "rp"}])
    written = time.monotonic()
    key = f"bluesky:{result['records']['rp']['uri']}"
    flag = run.wait("the repost's flag", lambda: run.rows(
        "SELECT f.flag_id, e.raw_sha256 FROM flags f JOIN evidence e USING (flag_id) "
        "WHERE f.item_key = ?", [key]), timeout=10)
    assert time.monotonic() - written < 5.0
    detail = flag_detail(run.pipeline.store.db, flag[0][0])
    assert detail.item["kind"] == "repost" and detail.item["subject"]["text"] == CAMPAIGN
    assert detail.raw_meta["connector"] == "bluesky-stream:bsky"


def test_an_account_not_on_the_roster_produces_nothing(world: Any) -> None:
    peer, run, _ = world
    before = run.rows("SELECT count(*) FROM items")[0][0]
    seq_before = run.wait("a stored seq", lambda: run.job.stored_seq)
    play(peer, "stranger", [{"as": "orang", "like": "camp", "key": "o1"},
                            {"as": "orang", "post": CAMPAIGN, "key": "o2"},
                            {"as": "orang", "delete": "o1"}])
    # The stream moves past the stranger's events ...
    run.wait("the seq to pass the stranger's events",
             lambda: run.job.stored_seq is not None and run.job.stored_seq >= seq_before + 3)
    # ... and nothing of theirs is stored.
    assert run.rows("SELECT count(*) FROM items")[0][0] == before
    orang = peer.home / "stranger.result.json"
    did = json.loads(orang.read_text())["accounts"]["orang"]["did"]
    assert not run.rows("SELECT 1 FROM items WHERE actor_id = ?", [did])
    assert not run.rows("SELECT 1 FROM item_withdrawals WHERE actor_id = ?", [did])


def test_a_handle_change_is_recorded_from_the_identity_event(world: Any) -> None:
    peer, run, ctx = world
    play(peer, "rename", [{"as": "rina", "handle": "rina-baru.test"}])
    handles = run.wait("the new handle", lambda: [r for r in run.rows(
        "SELECT handle, platform_user_id, seen_by FROM account_handles WHERE account_id = 'asn-001' "
        "AND platform = 'bluesky' ORDER BY id") if r[0] == "rina-baru.test"])
    assert handles[0][2] == "bsky"  # recorded by the stream, no item needed
    did = ctx["seeded"]["accounts"]["rina"]["did"]
    assert handles[0][1] == did
    # Items after the rename carry the new handle.
    result = play(peer, "after-rename", [{"as": "rina", "post": "Rapat guru hari ini", "key": "b1"}])
    uri = result["records"]["b1"]["uri"]
    got = run.wait("the post", lambda: run.rows("SELECT actor FROM items WHERE item_id = ?", [uri]))
    assert got == [("rina-baru.test",)]


def test_a_taken_down_account_is_marked_and_shown_in_status(world: Any) -> None:
    peer, run, ctx = world
    did = ctx["seeded"]["accounts"]["rina"]["did"]
    admin = ("admin", peer.env.get("PDS_ADMIN_PASSWORD", "admin-pass"))
    body = {"subject": {"$type": "com.atproto.admin.defs#repoRef", "did": did},
            "takedown": {"applied": True, "ref": "test"}}
    r = httpx.post(f"{peer.pds_url}/xrpc/com.atproto.admin.updateSubjectStatus", json=body,
                   auth=admin, timeout=10)
    assert r.status_code == 200, r.text
    try:
        got = run.wait("the account notice", lambda: run.rows(
            "SELECT active, status, account_id FROM account_states WHERE platform_user_id = ?", [did]))
        assert got == [(False, "takendown", "asn-001")]
        status = invoke(["--config", str(ctx["settings"]), "status"])
        assert status.exit_code == 0 and "takendown" in status.stdout and "Streams" in status.stdout
    finally:
        body["takedown"] = {"applied": False}
        httpx.post(f"{peer.pds_url}/xrpc/com.atproto.admin.updateSubjectStatus", json=body,
                   auth=admin, timeout=10)
    back = run.wait("the account active again", lambda: run.rows(
        "SELECT 1 FROM account_states WHERE platform_user_id = ? AND active", [did]))
    assert back
