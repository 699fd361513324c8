"""storage/review.py against a real DuckDB file: the queue and its filters, decisions, history."""

from __future__ import annotations

from datetime import date

import pytest
from storage_seed import Seeded

from monitor.errors import ReviewError
from storage import review as q
from storage.review import Decision, QueueFilter


def test_the_queue_lists_pending_flags_highest_score_first(seeded: Seeded) -> None:
    rows = q.queue(seeded.store.db, QueueFilter())
    assert [r.text for r in rows] == ["teks 1", "teks 2", "teks 3"]
    assert [r.score for r in rows] == sorted((r.score for r in rows), reverse=True)
    assert rows[0].name == "Budi" and rows[0].region == "3273" and rows[0].targets == ["jabar-1"]


@pytest.mark.parametrize(("flt", "expected"), [
    (QueueFilter(platform="X"), ["teks 1", "teks 2"]),
    (QueueFilter(kind="like"), ["teks 2"]),
    (QueueFilter(region="35"), ["teks 3"]),  # a province code covers its cities
    (QueueFilter(agency="bappeda"), ["teks 3"]),
    (QueueFilter(since=date(2024, 10, 2)), ["teks 2", "teks 3"]),
    (QueueFilter(until=date(2024, 10, 1)), ["teks 1"]),
    (QueueFilter(status="confirmed"), []),
])
def test_each_queue_filter_narrows_the_queue(seeded: Seeded, flt: QueueFilter, expected: list[str]) -> None:
    assert [r.text for r in q.queue(seeded.store.db, flt)] == expected


def test_a_decision_moves_the_flag_out_of_pending_and_into_its_history(seeded: Seeded) -> None:
    written = seeded.decide("1", "confirmed", "ana")
    assert written.decision == "confirmed" and written.reviewer == "ana" and written.seq >= 1
    pending = [r.text for r in q.queue(seeded.store.db, QueueFilter())]
    assert pending == ["teks 2", "teks 3"]
    assert [r.text for r in q.queue(seeded.store.db, QueueFilter(status="confirmed"))] == ["teks 1"]
    seeded.decide("1", "escalated", "budi")
    assert [r.decision for r in q.history(seeded.store.db, seeded.flags["1"])] == ["confirmed", "escalated"]


def test_a_refused_decision_writes_nothing(seeded: Seeded) -> None:
    def refuse(flag_id: int, _history: list[q.Review]) -> None:
        if flag_id == seeded.flags["2"]:
            raise ReviewError("no")

    ids = [seeded.flags["1"], seeded.flags["2"]]
    with pytest.raises(ReviewError):
        q.decide(seeded.store.db, ids, Decision("confirmed", "ana"), refuse)
    assert q.history(seeded.store.db, seeded.flags["1"]) == []


def test_labelled_flags_follow_the_latest_decision(seeded: Seeded) -> None:
    seeded.decide("1", "confirmed", "ana")
    seeded.decide("2", "dismissed", "ana", "not_partisan")
    labelled = {r["item_key"]: r for r in q.labelled_flags(seeded.store.db)}
    assert set(labelled) == {"x:1", "x:2"}
    assert labelled["x:1"]["decision"] == "confirmed" and labelled["x:1"]["targets"] == ["jabar-1"]
    assert labelled["x:2"]["decision"] == "dismissed" and labelled["x:2"]["reason"] == "not_partisan"


def test_near_duplicate_texts_and_embeddings_round_trip(seeded: Seeded) -> None:
    texts = dict(q.near_dup_texts(seeded.store.db))
    assert set(texts) == set(seeded.flags.values())
    flag = seeded.flags["1"]
    q.save_embeddings(seeded.store.db, "m", [(flag, "h1", [0.5, 0.25])])
    cached = q.cached_embeddings(seeded.store.db, "m", [flag, seeded.flags["2"]])
    assert cached == {flag: ("h1", [0.5, 0.25])}
