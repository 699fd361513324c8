"""The cascade end to end (collect page -> classify -> store), measured in a process of its own.

The benchmark runs this as ``python -m bench.end_to_end SPEC.json OUT.json`` so that
the peak RSS it reports belongs to a process holding only what serving needs:
the matcher, the linear model, the stage-3 engine (ONNX Runtime for the ONNX
variants: no PyTorch is imported then), DuckDB and the pages in flight.

The classifier is the product's: :class:`classifiers.cascade.CascadeClassifier`
over :class:`classifiers.staged.StagedStanceModel`, as ``classifier.model =
"staged"`` builds it in the daemon.

Each page goes through :func:`monitor.pipeline.process_page` (normalise,
de-duplicate, classify, evidence, store) exactly as in a cycle, into the
pipeline's own ``Store``.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.cascade import LABELS, Recorder, score
from bench.workload import Labelled, WorkloadGenerator
from classifiers.cascade import CascadeClassifier
from classifiers.fast import Batching, FastTransformer, HeadedTransformer, SoftmaxHead, label_columns
from classifiers.matcher import RegistryMatcher
from classifiers.models import load_model
from classifiers.normalise import normalise
from classifiers.staged import StagedStanceModel, StageStats
from classifiers.testing import jabar_view
from monitor.model import Account, Cursor, Fetched, Page, Raw
from monitor.pipeline import AccountIndex, Pipeline, process_page
from storage.bulk import load_accounts, table_bytes
from storage.store import Store


class BenchSource:
    """A stand-in ``Source`` for pages the benchmark builds itself (never fetched from)."""

    name = "bench"
    platform = "bluesky"
    version = "1"

    def streams(self) -> Sequence[str]:
        """One stream, like a firehose."""
        return ["firehose"]

    def fetch(self, account: Account, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        """Nothing: the benchmark hands pages to ``process_page`` directly."""
        return iter(())


def pages_of(labelled: Sequence[Labelled], page_size: int) -> list[Page]:
    """Pages of ``page_size`` items with raw bodies (the item's JSON) and a cursor each."""
    now = datetime.now(UTC)
    pages = []
    for start in range(0, len(labelled), page_size):
        chunk = labelled[start:start + page_size]
        fetched = [Fetched(x.item, Raw(json.dumps(x.item.to_json(), ensure_ascii=False).encode(),
                                       "wss://jetstream.example/subscribe", now, "bench", "1"))
                   for x in chunk]
        pages.append(Page("firehose", fetched, cursor=Cursor("firehose", str(start + len(chunk)))))
    return pages


def peak_rss_mb() -> float:
    """This process's peak resident set size, in MiB.

    ``VmHWM`` is the high-water mark of this process's own address space. (Linux
    carries ``ru_maxrss`` over from the parent across fork and exec, so a
    serving process started by a big benchmark process would report the
    parent's peak.)
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_cascade(spec: Mapping[str, Any]) -> Recorder:
    """The product cascade from the spec's saved models, recording its decisions."""
    model_dir = Path(spec["model_dir"])
    engine = FastTransformer.from_pretrained(
        model_dir, backend=spec["backend"], output=spec.get("output", "mean"),
        batching=Batching(batch_size=int(spec.get("batch_size", 32))), threads=int(spec["threads"]))
    if spec.get("head"):  # a bare encoder: the bench's head on its pooled embeddings
        import joblib

        head, columns = joblib.load(spec["head"])
        transformer = HeadedTransformer(engine, head, columns, version="bench-head")
    else:  # a classification model: its own logits
        transformer = HeadedTransformer(engine, SoftmaxHead(), label_columns(model_dir, LABELS),
                                        version="classifier")
    staged = StagedStanceModel(load_model(Path(spec["linear_dir"])), transformer,
                               unsure=float(spec.get("unsure", 0.2)),
                               sure=float(spec.get("sure", 0.95)))
    return Recorder(CascadeClassifier(RegistryMatcher(), staged))


def serve(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Run the workload of ``spec`` through the cascade and the store; return the figures."""
    rec = build_cascade(spec)
    gen = WorkloadGenerator(int(spec["seed"]), accounts=int(spec.get("accounts", 500)))
    labelled = gen.items(int(spec["items"]))
    store = Store(spec["db"])
    load_accounts(store.db, [(a.account_id, a.name, a.nip, a.agency, a.region, a.platform, a.handle)
                             for a in gen.accounts])
    view = jabar_view()
    index = AccountIndex.build(store.current_handles())
    page_size = int(spec.get("page_size", 2000))
    rec.classify([x.item for x in labelled[:64]], view)  # warm-up, not stored or counted
    rec = Recorder(rec.cascade)
    rec.staged.stats = StageStats()
    source = BenchSource()
    pipeline = Pipeline(store=store, sources=[source], classifier=rec,
                        registries=lambda _i: view, normalise=lambda t: normalise(t).text,
                        batch_size=page_size)
    pages = pages_of(labelled, page_size)
    run_id = store.begin_run("bench")
    started, cpu_started = time.perf_counter(), time.process_time()
    flagged = 0
    for page in pages:
        flagged += process_page(pipeline, source, page, run_id, index, view).flagged
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    store.finish_run(run_id, "ok")
    with store.db.connect() as con:
        con.execute("CHECKPOINT")
    size = table_bytes(store.db)
    s = score([x.label for x in labelled], [rec.decisions.get(x.item.key, False) for x in labelled])
    stages = rec.stage_seconds()
    st = rec.staged.stats
    return {
        "items": len(labelled), "seconds": seconds, "cascade_items_per_s": len(labelled) / seconds,
        "cpu_seconds": cpu_seconds, "cascade_items_per_cpu_s": len(labelled) / cpu_seconds,
        "cascade_classify_items_per_s": len(labelled) / rec.seconds if rec.seconds else 0.0,
        "stage_seconds": stages, "pipeline_and_store_seconds": seconds - rec.seconds,
        "stage2_items": st.texts, "stage3_items": st.forwarded,
        "stage2_fraction": st.texts / max(1, rec.items),
        "stage3_fraction": st.forwarded / max(1, rec.items), "flags": flagged,
        "workload_recall": s.recall, "workload_precision": s.precision,
        "workload_partisan": s.n_partisan, "db_bytes": size["bytes"],
        "bytes_per_item": size["bytes"] / max(1, size["items"]),
        "store": "save_page", "page_size": page_size,
        "torch_imported": "torch" in sys.modules, "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.end_to_end SPEC.json OUT.json``."""
    args = list(sys.argv[1:] if argv is None else argv)
    spec = json.loads(Path(args[0]).read_text())
    Path(args[1]).write_text(json.dumps(serve(spec), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
