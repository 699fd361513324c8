"""storage/audit.py and the audit views of m006 against a real DuckDB file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from storage_seed import Seeded

from monitor.errors import InputError
from storage.audit import check_select, purge_unflagged, query


def _view(seeded: Seeded, sql: str) -> list[dict[str, object]]:
    columns, rows = query(seeded.store.db, sql)
    return [dict(zip(columns, r, strict=True)) for r in rows]


def test_query_reads_and_refuses_anything_but_one_select(seeded: Seeded) -> None:
    assert query(seeded.store.db, "SELECT count(*) AS n FROM flags") == (["n"], [(3,)])
    for bad in ("DELETE FROM flags", "SELECT 1; DROP TABLE flags", "COPY flags TO '/tmp/x.csv'"):
        with pytest.raises(InputError):
            check_select(bad)


def test_audit_flags_joins_account_region_status_and_model(seeded: Seeded) -> None:
    seeded.decide("1", "confirm", "ana")  # the imperative spelling is normalised by the view
    rows = {r["item_key"]: r for r in _view(seeded, "SELECT * FROM audit_flags")}
    assert set(rows) == {"x:1", "x:2", "bluesky:3"}
    first = rows["x:1"]
    assert first["status"] == "confirmed" and first["account_name"] == "Budi"
    assert first["region_name"] == "Kota Bandung" and first["province"] == "32"
    assert first["model"] == "test-model" and first["kind"] == "post"
    assert rows["x:2"]["status"] == "pending"


def test_counts_by_week_agency_region_and_target(seeded: Seeded) -> None:
    seeded.decide("1", "confirmed", "ana")
    seeded.decide("2", "dismissed", "ana", "not_partisan")
    weeks = _view(seeded, "SELECT week, flags, pending, confirmed, dismissed FROM audit_flags_by_week "
                          "ORDER BY week")
    assert sum(w["flags"] for w in weeks) == 3  # type: ignore[misc]
    assert sum(w["confirmed"] for w in weeks) == 1 and sum(w["dismissed"] for w in weeks) == 1  # type: ignore[misc]
    agencies = {r["agency"]: r["flags"] for r in _view(seeded, "SELECT agency, sum(flags) AS flags "
                                                                "FROM audit_flags_by_agency GROUP BY agency")}
    assert agencies == {"Dinas Pendidikan Kota Bandung": 2, "Bappeda Kota Surabaya": 1}
    regions = {r["region"]: r["province"] for r in _view(seeded, "SELECT * FROM audit_flags_by_region")}
    assert regions == {"3273": "32", "3578": "35"}
    targets = {r["target"]: r["target_type"] for r in _view(seeded, "SELECT * FROM audit_flags_by_candidate")}
    assert targets == {"jabar-1": "other", "jabar-2": "other", "pkb": "other"}  # no registry loaded


def test_review_turnaround_activity_and_decision_models(seeded: Seeded) -> None:
    seeded.decide("1", "confirmed", "ana")
    seeded.decide("1", "escalated", "budi")
    turnaround = {r["flag_id"]: r for r in _view(seeded, "SELECT * FROM audit_review_turnaround")}
    assert turnaround[seeded.flags["1"]]["first_decision"] == "confirmed"
    assert turnaround[seeded.flags["2"]]["first_decision_at"] is None
    activity = {r["reviewer"]: r for r in _view(seeded, "SELECT * FROM audit_reviewer_activity")}
    assert activity["ana"]["confirms"] == 1 and activity["budi"]["escalations"] == 1
    models = _view(seeded, "SELECT decision, model, version FROM audit_decision_models ORDER BY review_id")
    assert models == [{"decision": "confirmed", "model": "test-model", "version": "v1"},
                      {"decision": "escalated", "model": "test-model", "version": "v1"}]


def test_retention_purges_only_old_unflagged_items(seeded: Seeded) -> None:
    db = seeded.store.db
    assert purge_unflagged(db, 30, now=datetime.now(UTC)).items_purged == 0  # all first seen now
    later = purge_unflagged(db, 30, now=datetime.now(UTC) + timedelta(days=31))
    assert later.items_purged == 1  # bluesky:4, the one unflagged item
    texts = dict(query(db, "SELECT item_key, text FROM items")[1])
    assert texts["bluesky:4"] is None and texts["x:1"] == "teks 1"
