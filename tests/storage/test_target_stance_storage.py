"""Per-target stances and the high-confidence mark in a real DuckDB file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from monitor.inputs import read_regions, read_registry
from monitor.model import Fetched, Item, Raw, Result, TargetStance
from storage import migrations
from storage.bulk import generate_audit_data
from storage.db import Database
from storage.evidence import flag_detail
from storage.review import QueueFilter, queue
from storage.store import Evidence, PageRecord, Store

CONFIG = Path(__file__).resolve().parents[2] / "config"


def _fetched(n: int) -> Fetched:
    item = Item("x", str(n), "post", "wawan_soreang", datetime(2024, 11, 15, tzinfo=UTC), f"teks {n}")
    raw = Raw(f'{{"id": "{n}"}}'.encode(), f"http://127.0.0.1/{n}", datetime.now(UTC), "test", "1")
    return Fetched(item, raw)


def _result(n: int, score: float, high: bool, per: tuple[TargetStance, ...]) -> Result:
    return Result(f"x:{n}", score >= 0.35, score, per[0].stance if per else "unrelated",
                  tuple(p.target for p in per), "posting", "because", "test", "v1",
                  target_stances=per, high_confidence=high)


def _store_with_registry(tmp_path: Path) -> Store:
    store = Store(tmp_path / "t.duckdb", lock_timeout=5)
    regions = read_regions(CONFIG / "regions.csv")
    store.save_regions(regions.values())
    store.save_registries([read_registry(CONFIG / "registries/pilbup-bandung-2024.toml", regions)])
    return store


BOTH = (TargetStance("bdg-1", "support", 0.91), TargetStance("bdg-3", "oppose", 0.77))


def _save(store: Store, specs: list[tuple[int, float, bool, tuple[TargetStance, ...]]]) -> list[int]:
    run = store.begin_run("test")
    items: list[tuple[Fetched, str | None, str]] = [(_fetched(n), None, f"teks {n}")
                                                    for n, *_ in specs]
    evidence = [Evidence(f"x:{n}", f.raw.sha256, {"id": str(n)}, {}, "0" * 64)
                for (n, *_), (f, _, _) in zip(specs, items, strict=True)]
    page = PageRecord(run, "src", "feed", items=items,
                      results=[_result(n, s, h, p) for n, s, h, p in specs], evidence=evidence)
    return store.save_page(page)


def test_target_stances_and_confidence_are_stored_with_the_flag(tmp_path: Path) -> None:
    store = _store_with_registry(tmp_path)
    flag_ids = _save(store, [(1, 0.91, True, BOTH), (2, 0.1, False, ())])
    assert len(flag_ids) == 1
    with store.db.connect() as con:
        cls = con.execute("SELECT item_key, target_stances, high_confidence FROM classifications "
                          "ORDER BY item_key").fetchall()
        flag = con.execute("SELECT target_stances, high_confidence FROM flags").fetchone()
        rows = con.execute("SELECT flag_id, target, target_type, label, stance, score, high_confidence "
                           "FROM audit_flag_targets ORDER BY target").fetchall()
        audit = con.execute("SELECT high_confidence, target_stances FROM audit_flags").fetchone()
    assert json.loads(cls[0][1]) == [{"target": "bdg-1", "stance": "support", "score": 0.91},
                                     {"target": "bdg-3", "stance": "oppose", "score": 0.77}]
    assert cls[0][2] is True and cls[1][1] == "[]" and cls[1][2] is False
    assert flag is not None and flag[1] is True and json.loads(flag[0]) == json.loads(cls[0][1])
    assert rows == [(flag_ids[0], "bdg-1", "candidate", "Cecep Hidayat – Nia Kurniasih", "support",
                     0.91, True),
                    (flag_ids[0], "bdg-3", "candidate", "Tatang Suryana – Ujang Mulyana", "oppose",
                     0.77, True)]
    assert audit is not None and audit[0] is True
    detail = flag_detail(store.db, flag_ids[0])
    assert detail.high_confidence is True
    assert [(t["target"], t["stance"]) for t in detail.target_stances] == [("bdg-1", "support"),
                                                                          ("bdg-3", "oppose")]
    assert detail.target_names == {"bdg-1": "Cecep Hidayat – Nia Kurniasih",
                                   "bdg-3": "Tatang Suryana – Ujang Mulyana"}


def test_queue_is_ordered_by_score_and_marks_review_only_flags(tmp_path: Path) -> None:
    store = _store_with_registry(tmp_path)
    party = (TargetStance("gerindra", "oppose", 0.4),)
    _save(store, [(1, 0.4, False, party), (2, 0.95, True, BOTH), (3, 0.6, True, BOTH[:1])])
    rows = queue(store.db, QueueFilter())
    assert [r.score for r in rows] == [0.95, 0.6, 0.4]
    assert [r.high_confidence for r in rows] == [True, True, False]
    assert rows[2].target_stances == [{"target": "gerindra", "stance": "oppose", "score": 0.4}]
    assert rows[0].to_json()["target_stances"][1]["stance"] == "oppose"


def test_old_flags_get_their_item_stance_per_target(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.duckdb"
    before = migrations.MIGRATIONS[:-1]
    monkeypatch.setattr("storage.db.MIGRATIONS", before)
    old = Store(path, lock_timeout=5)
    run = old.begin_run("test")
    with old.db.connect() as con:
        # Rows as the m006 schema wrote them (no target_stances, no high_confidence).
        con.execute("INSERT INTO classifications (item_key, model, version, flagged, score, stance, "
                    "targets, category, explanation, classified_at, run_id) VALUES "
                    "('x:1', 'm', 'v', true, 0.8, 'support', '[\"bdg-1\", \"pkb\"]', 'posting', '', "
                    "now(), ?)", [run])
        con.execute("INSERT INTO flags (item_key, classification_id, score, stance, targets, "
                    "category, created_at, run_id) SELECT item_key, id, score, stance, targets, "
                    "category, now(), run_id FROM classifications")
    monkeypatch.undo()
    assert Database(path).migrate() == ["m015_classifier_target_stances"]
    with duckdb.connect(str(path)) as con:
        got = con.execute("SELECT f.target_stances, f.high_confidence, c.high_confidence "
                          "FROM flags f JOIN classifications c ON c.id = f.classification_id"
                          ).fetchone()
    assert got is not None
    assert json.loads(got[0]) == [{"target": "bdg-1", "stance": "support", "score": 0.8},
                                  {"target": "pkb", "stance": "support", "score": 0.8}]
    assert got[1] is True and got[2] is True


def test_bulk_audit_data_fills_the_new_columns(tmp_path: Path) -> None:
    db = Database(tmp_path / "bulk.duckdb")
    db.migrate()
    generate_audit_data(db, 2000, flag_rate=0.05)
    with db.connect() as con:
        flags, high, targets = con.execute(
            "SELECT count(*), count(*) FILTER (high_confidence), "
            "(SELECT count(*) FROM audit_flag_targets) FROM flags").fetchone()  # type: ignore[misc]
    assert flags > 0 and high == flags and targets == flags
