"""DuckDB storage: migrations, one-transaction pages, de-duplication, permissions."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from monitor.errors import StorageError
from monitor.model import Cursor, Fetched, Item, Raw, Result
from storage import migrations
from storage.db import Database
from storage.store import PageRecord, Store


def _fetched(n: int) -> Fetched:
    item = Item("x", str(n), "post", "budi", datetime(2024, 10, 1, tzinfo=UTC), f"halo {n}")
    raw = Raw(f'{{"id": "{n}"}}'.encode(), f"http://127.0.0.1/{n}", datetime.now(UTC), "test", "1")
    return Fetched(item, raw)


def _result(n: int, flagged: bool) -> Result:
    return Result(f"x:{n}", flagged, 0.9 if flagged else 0.1, "support" if flagged else "unrelated",
                  ("jabar-1",) if flagged else (), "posting", "because", "test", "v1")


def test_fresh_db_records_every_migration_in_order(fresh_db: Store) -> None:
    names = [name for _, name in fresh_db.db.applied_migrations()]
    assert names == [m.__name__ for m in migrations.MIGRATIONS]


def test_opening_an_older_file_upgrades_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.duckdb"
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:1])
    monkeypatch.setattr("storage.db.MIGRATIONS", migrations.MIGRATIONS[:1])
    Database(path).migrate()
    with duckdb.connect(str(path)) as con:
        assert con.execute("SELECT count(*) FROM schema_migrations").fetchone() == (1,)
    monkeypatch.undo()
    applied = Database(path).migrate()
    assert applied == [m.__name__ for m in migrations.MIGRATIONS[1:]]
    assert Database(path).migrate() == []


def test_database_file_is_owner_only(fresh_db: Store) -> None:
    mode = stat.S_IMODE(os.stat(fresh_db.db.path).st_mode)
    assert mode == 0o600


def test_page_is_stored_with_cursor_and_flags_in_one_go(fresh_db: Store) -> None:
    run = fresh_db.begin_run("test")
    items = [(_fetched(1), None, "halo 1"), (_fetched(2), None, "halo 2")]
    page = PageRecord(run, "src", "feed", items=items,
                      results=[_result(1, True), _result(2, False)], cursor=Cursor("s", "42"))
    flag_ids = fresh_db.save_page(page)
    assert len(flag_ids) == 1
    assert fresh_db.cursors("src", "feed") == {"s": Cursor("s", "42")}
    assert fresh_db.known_item_keys(["x:1", "x:2", "x:3"]) == {"x:1", "x:2"}
    with fresh_db.db.connect() as con:
        assert con.execute("SELECT items_new, flags_new FROM runs").fetchone() == (2, 1)
        assert con.execute("SELECT status FROM flag_status").fetchone() == ("pending",)


def test_a_failing_page_writes_nothing(fresh_db: Store) -> None:
    run = fresh_db.begin_run("test")
    # A NULL category breaks a NOT NULL constraint after the item rows were written.
    broken = Result("x:1", True, 0.9, "support", (), None, "x", "t", "v")  # type: ignore[arg-type]
    page = PageRecord(run, "src", "feed", items=[(_fetched(1), None, "halo 1")],
                      results=[broken], cursor=Cursor("s", "99"))
    with pytest.raises(StorageError, match="NOT NULL"):
        fresh_db.save_page(page)
    assert fresh_db.known_item_keys(["x:1"]) == set()
    assert fresh_db.cursors("src", "feed") == {}
    with fresh_db.db.connect() as con:
        assert con.execute("SELECT count(*) FROM flags").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM raw_items").fetchone() == (0,)


def test_the_same_item_is_stored_once(fresh_db: Store) -> None:
    run = fresh_db.begin_run("test")
    for _ in range(2):
        fresh_db.save_page(PageRecord(run, "src", "feed", items=[(_fetched(7), None, "x")],
                                      results=[_result(7, True)]))
    with fresh_db.db.connect() as con:
        assert con.execute("SELECT count(*) FROM items").fetchone() == (1,)
        assert con.execute("SELECT count(*) FROM flags").fetchone() == (1,)
