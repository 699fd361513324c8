"""Seeding a real DuckDB file with a small, known set of regions, accounts, items, flags and reviews."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.model import Account, Fetched, Item, Raw, Region, Result
from storage.review import Decision, Review, decide
from storage.store import PageRecord, Store

REGIONS = [Region("32", "Jawa Barat", "province", "32"), Region("3273", "Kota Bandung", "city", "32"),
           Region("35", "Jawa Timur", "province", "35"), Region("3578", "Kota Surabaya", "city", "35")]
ACCOUNTS = [
    Account("asn-1", "Budi", "199001012015031001", "Dinas Pendidikan Kota Bandung", "3273", "x", "budi"),
    Account("asn-2", "Sari", "199002022015032002", "Bappeda Kota Surabaya", "3578", "bluesky", "sari.bsky"),
]
# (account, platform, item id, kind, created_at, flagged, score, targets)
ITEMS = [
    (ACCOUNTS[0], "x", "1", "post", datetime(2024, 10, 1, 3, tzinfo=UTC), True, 0.95, ("jabar-1",)),
    (ACCOUNTS[0], "x", "2", "like", datetime(2024, 10, 2, 3, tzinfo=UTC), True, 0.80, ("jabar-2",)),
    (ACCOUNTS[1], "bluesky", "3", "post", datetime(2024, 10, 9, 3, tzinfo=UTC), True, 0.70, ("pkb",)),
    (ACCOUNTS[1], "bluesky", "4", "post", datetime(2024, 10, 9, 4, tzinfo=UTC), False, 0.10, ()),
]


def _allow(_flag_id: int, _history: list[Review]) -> None:
    """A review rule that allows every decision (the rules are the service's business)."""


@dataclass
class Seeded:
    """The seeded store and the flag ids by item id."""

    store: Store
    flags: dict[str, int]

    def decide(self, item_id: str, decision: str, reviewer: str, reason: str | None = None) -> Review:
        """Record one decision on the flag of ``item_id``."""
        return decide(self.store.db, [self.flags[item_id]], Decision(decision, reviewer, reason), _allow)[0]


def _page(run_id: int, account: Account, platform: str, item_id: str, kind: str, when: datetime,
          flagged: bool, score: float, targets: tuple[str, ...]) -> PageRecord:
    item = Item(platform, item_id, kind, account.handle, when, f"teks {item_id}")  # type: ignore[arg-type]
    raw = Raw(f'{{"id": "{item_id}"}}'.encode(), f"http://127.0.0.1/{item_id}", when, "test", "1")
    result = Result(item.key, flagged, score, "support" if flagged else "unrelated", targets,
                    "posting" if kind == "post" else "liking", "because", "test-model", "v1")
    items = [(Fetched(item, raw), account.account_id, item.text or "")]
    return PageRecord(run_id, "src", account.key, items=items, results=[result])


@pytest.fixture
def seeded(tmp_path: Path) -> Seeded:
    """Two ASN in two provinces, four items of which three are flagged, no review yet."""
    store = Store(tmp_path / "seeded.duckdb", lock_timeout=5)
    store.save_regions(REGIONS)
    store.save_roster(ACCOUNTS)
    run = store.begin_run("test")
    flags: dict[str, int] = {}
    for row in ITEMS:
        ids = store.save_page(_page(run, *row))  # type: ignore[arg-type]
        if ids:
            flags[row[2]] = ids[0]
    store.finish_run(run, "ok")
    return Seeded(store, flags)
