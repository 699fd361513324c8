"""Local zones for people: WIB, WITA, WIT by province, in display and in the queue's date filter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from monitor.app import open_store
from monitor.localtime import in_region, zone_name
from monitor.settings import load
from monitor.testing import CliResult
from storage.desk import DeskFilter, queue_page

Cli = Callable[..., CliResult]


def test_zone_by_province_code() -> None:
    assert [zone_name(c) for c in ("3204", "32", "3171", "6101", "6201")] == ["WIB"] * 5
    assert [zone_name(c) for c in ("51", "5271", "5301", "6301", "6401", "6501", "7101", "7601")] == [
        "WITA"] * 8
    assert [zone_name(c) for c in ("8101", "8201", "9101", "9471", "9601")] == ["WIT"] * 5
    assert zone_name(None) == "WIB"


def test_local_time_names_the_zone() -> None:
    when = datetime(2024, 10, 1, 23, 30, tzinfo=UTC)
    assert in_region(when, "3204") == "2024-10-02 06:30 WIB"
    assert in_region(when, "5171") == "2024-10-02 07:30 WITA"
    assert in_region(when.isoformat(), "9471", seconds=True) == "2024-10-02 08:30:00 WIT"


def test_date_filter_follows_the_asns_zone(cli: Cli, settings_path: Path) -> None:
    """An act at 16:30 UTC is 1 October 23:30 WIB but 2 October 00:30 WITA."""
    assert cli("run", "--once").exit_code == 0
    settings = load(settings_path)
    with duckdb.connect(str(settings.db_path)) as con:
        flag, key = con.execute("SELECT flag_id, item_key FROM flags WHERE account_id = 'asn-008' "
                                "ORDER BY flag_id LIMIT 1").fetchone()  # type: ignore[misc]
        con.execute("UPDATE items SET created_at = ? WHERE item_key = ?",
                    [datetime(2024, 10, 1, 16, 30, tzinfo=UTC), key])
    db = open_store(settings).db

    def days(day: date) -> set[int]:
        return {r.flag_id for r in queue_page(db, DeskFilter(status="any", since=day, until=day,
                                                             per_page=500)).rows}

    assert flag in days(date(2024, 10, 1)) and flag not in days(date(2024, 10, 2))
    with duckdb.connect(str(settings.db_path)) as con:
        con.execute("UPDATE accounts SET region = '5171' WHERE account_id = 'asn-008'")
    assert flag in days(date(2024, 10, 2)) and flag not in days(date(2024, 10, 1))
