"""DuckDB ingest: ``Store.save_page`` (one page a transaction) and ``Store.save_pages`` (ten).

The pages carry workload items with raw bodies and one result each (2 % of
them flags with evidence), so every table ``save_page`` touches is written.
Classification is not part of this figure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.end_to_end import pages_of
from bench.workload import Labelled, WorkloadGenerator
from monitor.model import Account, Page, Result, skb_category
from monitor.pipeline import MappedItem, MappedPage, snapshot
from storage.bulk import load_accounts, table_bytes
from storage.store import PageRecord, Store

PAGE = 100  # a Bluesky listRecords page


def _records(pages: Sequence[Page], labelled: Sequence[Labelled], run_id: int,
             accounts: dict[str, str]) -> list[PageRecord]:
    gold = {x.item.key: x.label for x in labelled}
    out = []
    for page in pages:
        results = []
        for f in page.items:
            label = gold[f.item.key]
            flagged = label in ("support", "oppose")
            results.append(Result(f.item.key, flagged, 0.9 if flagged else 0.05,
                                  "support" if flagged else "unrelated", (),
                                  skb_category(f.item.kind), "bench", "bench", "1"))
        norm = MappedPage()
        for f in page.items:
            acc_id = accounts[f.item.actor]
            norm.items.append(MappedItem(f, Account(acc_id, "", "", "", "", "bluesky", f.item.actor),
                                         f.item.text or ""))
        out.append(PageRecord(run_id=run_id, source="bench", account_key=page.account_key,
                              items=[(f, a.account_id, n) for f, a, n in norm.items],
                              results=results, evidence=snapshot(norm, results),
                              cursor=page.cursor))
    return out


def _time(path: Path, labelled: Sequence[Labelled], gen: WorkloadGenerator,
          write: Callable[[Store, list[PageRecord]], None]) -> tuple[float, Store]:
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)
    store = Store(path)
    load_accounts(store.db, [(a.account_id, a.name, a.nip, a.agency, a.region, a.platform, a.handle)
                             for a in gen.accounts])
    accounts = {a.handle: a.account_id for a in gen.accounts}
    run_id = store.begin_run("bench")
    records = _records(pages_of(labelled, PAGE), labelled, run_id, accounts)
    t = time.perf_counter()
    write(store, records)
    return len(labelled) / (time.perf_counter() - t), store


def measure_ingest(work: Path, n_items: int, seed: int) -> dict[str, Any]:
    """Items per second through ``save_page`` and ``save_pages`` (ten pages), ``n_items`` each."""
    gen = WorkloadGenerator(seed + 2)
    labelled = gen.items(n_items)

    def per_page(store: Store, records: list[PageRecord]) -> None:
        for r in records:
            store.save_page(r)

    def batched(store: Store, records: list[PageRecord]) -> None:
        for i in range(0, len(records), 10):
            store.save_pages(records[i:i + 10])

    page_rate, _ = _time(work / "ingest-page.duckdb", labelled, gen, per_page)
    batch_rate, store = _time(work / "ingest-batch.duckdb", labelled, gen, batched)
    with store.db.connect() as con:
        con.execute("CHECKPOINT")
    size = table_bytes(store.db)
    return {
        "ingest_items_per_s": page_rate,
        "ingest_batched_items_per_s": batch_rate,
        "ingest_page_size": PAGE,
        "ingest_bytes_per_item": size["bytes"] / max(1, size["items"]),
    }
