"""A full cycle from a Bluesky server on 127.0.0.1 into DuckDB: likes, evidence, renames, resume."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from monitor.app import build_pipeline
from monitor.pipeline import run_cycle
from monitor.settings import load
from monitor.testing import write_settings
from sources.testing import FakeBluesky


@pytest.fixture
def fake() -> Iterator[FakeBluesky]:
    with FakeBluesky(appview=False) as f:
        yield f


def _rows(path: Path, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    with duckdb.connect(str(load(path).db_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_bluesky_like_of_a_campaign_post_is_flagged_with_its_evidence(
        fake: FakeBluesky, config_dir: Path) -> None:
    rina = fake.account("rina-guru.bsky.social")          # on the sample roster, Kab. Bandung
    asih = fake.account("asih-jabar.bsky.social")         # ticket 1's campaign account
    campaign = fake.post(asih, "Ayo coblos nomor 1 tanggal 27 November! #JabarAsih")
    like = fake.like(rina, campaign)
    fake.post(rina, "Selamat pagi, anak-anak semangat ujian ya")
    settings_path = write_settings(config_dir, sources={"bsky": {
        "type": "bluesky", "resolver_url": fake.url, "plc_url": fake.url, "appview_url": "",
        "page_size": 1, "timeout": 2.0}})
    pipeline, _ = build_pipeline(load(settings_path))
    _, stats = run_cycle(pipeline)
    # The other Bluesky accounts on the roster do not exist on this server: each fails on its
    # own, and Rina's items still arrive.
    assert stats[0].new == 2
    assert len(stats[0].errors) == 4
    assert all("Unable to resolve handle" in e and "rina" not in e for e in stats[0].errors)

    flagged = _rows(settings_path, "SELECT i.item_id, i.kind, i.actor_id, i.extra FROM flags "
                                   "JOIN items i USING (item_key)")
    assert [(r[0], r[1], r[2]) for r in flagged] == [(like, "like", rina)]
    reference = json.loads(str(flagged[0][3]))["subject_evidence"]
    assert "body" not in reference
    subject_raw = _rows(settings_path, "SELECT source_url, status FROM raw_items WHERE sha256 = ?",
                        [reference["sha256"]])
    assert subject_raw and "getRecord" in str(subject_raw[0][0]) and subject_raw[0][1] == 200

    # The account renames itself; the next cycle follows the DID and records the new handle.
    fake.rename(rina, "rina-baru.bsky.social")
    fake.post(rina, "Hari ini rapat guru")
    run_cycle(pipeline)
    handles = _rows(settings_path, "SELECT handle, platform_user_id FROM account_handles "
                                   "WHERE account_id = 'asn-001' AND platform = 'bluesky' ORDER BY id")
    assert [h[0] for h in handles] == ["rina-guru.bsky.social", "rina-baru.bsky.social"]
    assert all(h[1] == rina for h in handles)
    # Nothing was stored twice.
    assert _rows(settings_path, "SELECT count(*), count(DISTINCT item_key) FROM items") == [(3, 3)]
