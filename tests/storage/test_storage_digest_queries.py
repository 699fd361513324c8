"""storage/digest.py against a real DuckDB file: a week's digest data and the delivery log."""

from __future__ import annotations

from datetime import UTC, datetime

from storage_seed import Seeded

from storage.digest import DigestLog, Scope, digest_data, week_bounds, week_of


def test_week_bounds_are_wib_iso_weeks() -> None:
    start, end = week_bounds("2024-W40")
    assert start.astimezone(UTC).isoformat() == "2024-09-29T17:00:00+00:00"  # Monday 00:00 WIB
    assert (end - start).days == 7
    assert week_of(start) == "2024-W40"


def test_digest_data_of_this_week_by_scope(seeded: Seeded) -> None:
    seeded.decide("1", "confirmed", "ana")
    now = datetime.now(UTC)
    week = week_of(now)
    data = digest_data(seeded.store.db, week, now=now)
    assert len(data.new_flags) == 3 and data.decided == {"confirmed": [seeded.flags["1"]]}
    assert data.pending == 2
    assert dict(data.top_agencies) == {"Dinas Pendidikan Kota Bandung": 2, "Bappeda Kota Surabaya": 1}
    assert sum(sum(c.values()) for c in data.per_day.values()) == 3
    east = digest_data(seeded.store.db, week, Scope("region", "35"), now=now)
    assert [f.account_name for f in east.new_flags] == ["Sari"] and east.scope_name == "Jawa Timur"
    agency = digest_data(seeded.store.db, week, Scope("agency", "Bappeda Kota Surabaya"), now=now)
    assert len(agency.new_flags) == 1
    assert digest_data(seeded.store.db, "2020-W01", now=now).new_flags == []


def test_a_delivery_is_claimed_once_then_marked_sent_or_failed(seeded: Seeded) -> None:
    log = DigestLog(seeded.store.db)
    assert log.claim("2024-W40", "all", ["a@127.0.0.1"], "id", "<m1>", force=False) is None
    blocking = log.claim("2024-W40", "all", ["a@127.0.0.1"], "id", "<m2>", force=False)
    assert blocking is not None and blocking.status == "sending"
    log.mark_sent("2024-W40", "all", "<m1>", 3)
    sent = log.get("2024-W40", "all")
    assert sent is not None and sent.status == "sent" and sent.flags == 3 and sent.attempts == 1
    assert log.claim("2024-W40", "all", ["a@127.0.0.1"], "id", "<m3>", force=True) is None
    log.mark_failed("2024-W40", "all", "smtp down")
    again = log.get("2024-W40", "all")
    assert again is not None and again.status == "failed" and again.attempts == 2
    assert again.error == "smtp down"
    assert [d.week for d in log.deliveries()] == ["2024-W40"]
