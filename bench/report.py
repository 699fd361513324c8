"""The benchmark's printed table: the figures against the performance targets (docs/performance.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

TARGET_CASCADE = 1000.0
TARGET_SPEEDUP = 4.0
TARGET_RSS_MB = 1536.0
TARGET_AUDIT_MS = 1000.0


def _ok(good: bool | None) -> str:
    return "" if good is None else ("yes" if good else "NO")


def summary_rows(r: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(measure, value, target, met?) rows."""
    a10 = r.get("audit_query_ms_10m")
    a1 = r.get("audit_query_ms_1m")
    serving = r.get("serving", {})
    rows = [
        ("naive: transformer fp32 on every item", f"{r['naive_items_per_s']:.1f} items/s", "", ""),
        ("stage 3 winner: " + str(r["winner"]), f"{r['transformer_items_per_s']:.1f} items/s",
         f">= {TARGET_SPEEDUP:.0f}x naive",
         _ok(r["transformer_speedup"] >= TARGET_SPEEDUP) + f" ({r['transformer_speedup']:.1f}x)"),
        ("cascade end to end (classify + store)", f"{r['cascade_items_per_s']:.0f} items/s",
         f">= {TARGET_CASCADE:.0f}", _ok(r["cascade_items_per_s"] >= TARGET_CASCADE)),
        ("  items per CPU-second (contention-free)", f"{r['cascade_items_per_cpu_s']:.0f}", "", ""),
        ("  of which reach stage 3", f"{serving.get('stage3_fraction', 0):.1%}", "", ""),
        ("partisan recall, naive / cascade",
         f"{r['naive_recall']:.3f} / {r['cascade_recall']:.3f}", "cascade >= naive",
         _ok(r["cascade_recall"] >= r["naive_recall"])),
        ("partisan precision, naive / cascade",
         f"{r['naive_precision']:.3f} / {r['cascade_precision']:.3f}", "", ""),
        ("peak RSS, serving process", f"{r['peak_rss_mb']:.0f} MB", f"<= {TARGET_RSS_MB:.0f}",
         _ok(r["peak_rss_mb"] <= TARGET_RSS_MB)),
        ("ingest, Store.save_page (100/page)", f"{r['ingest_items_per_s']:.0f} items/s", "", ""),
        ("ingest, Store.save_pages (10 pages/transaction)",
         f"{r['ingest_batched_items_per_s']:.0f} items/s", "", ""),
        ("stored bytes per item (cascade run)", f"{r['bytes_per_item']:.0f} B", "", ""),
        ("audit queries at 1M, slowest", "-" if a1 is None else f"{a1:.0f} ms", "< 1000",
         _ok(None if a1 is None else a1 < TARGET_AUDIT_MS)),
        ("audit queries at 10M, slowest", "-" if a10 is None else f"{a10:.0f} ms", "< 1000",
         _ok(None if a10 is None else a10 < TARGET_AUDIT_MS)),
    ]
    if a10 is None and r.get("audit_query_ms_largest") is not None:
        rows.append(("audit queries at largest size run", f"{r['audit_query_ms_largest']:.0f} ms",
                     "", ""))
    return rows


def print_report(r: Mapping[str, Any], console: Console | None = None) -> None:
    """Print the variants table and the summary table."""
    console = console or Console(highlight=False)
    v = Table(title=f"Stage 3 '{r['model']}' on {r['threads']} threads ({r['cpu']})",
              title_justify="left")
    for c in ("variant", "items/s", "speed-up", "cosine to fp32", "same stance as fp32",
              "partisan recall", "in cascade: recall / precision", "same alone as in a batch"):
        v.add_column(c)
    for row in r["variants"]:
        v.add_row(("* " if row["name"] == r["winner"] else "") + row["name"],
                  f"{row['items_per_s']:.1f}", f"{row['speedup']:.1f}x",
                  f"{row['cosine_to_fp32']:.4f}", f"{row['agreement_with_fp32']:.1%}",
                  f"{row['partisan_recall']:.3f}",
                  f"{row.get('cascade_recall', 0):.3f} / {row.get('cascade_precision', 0):.3f}",
                  f"{row.get('batch_consistency', 1):.1%}")
    console.print(v)
    t = Table(title=f"asn-monitor bench: {r['items']:,} items, recall on {r['recall_corpus']}",
              title_justify="left")
    for c in ("measure", "value", "target", "met"):
        t.add_column(c)
    for row in summary_rows(r):
        t.add_row(*row)
    console.print(t)
