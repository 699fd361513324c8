"""The whole benchmark in one run: transformer variants, cascade, ingest, audit queries.

Steps (each timed on this machine's CPU, with ``threads`` intra-op threads):

1. stage 2: the product's trained linear model (``--linear-dir``, by default
   ``data/models/linear``, trained there on first use exactly as ``make run``
   does; the seed corpus's test split is held out of its training);
2. stage 3: the transformer, timed in every variant of
   :data:`bench.transformer.VARIANTS` on workload texts; the fastest variant whose
   outputs stay close to fp32's wins;
3. recall on the corpus's test split: naive (fp32 transformer on every text)
   against the staged model (:class:`classifiers.staged.StagedStanceModel`:
   linear on every text, the winning variant where stage 1 found a target or
   the linear model is unsure);
4. the cascade end to end on ``items`` workload items, in a separate serving
   process (:mod:`bench.end_to_end`), whose peak RSS is reported;
5. DuckDB ingest: ``Store.save_page`` and ``Store.save_pages`` (ten pages a transaction);
6. the standard audit queries on synthetic stores of each ``audit_sizes``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.cascade import LABELS, score, train_head
from bench.end_to_end import peak_rss_mb
from bench.workload import WorkloadGenerator, load_corpus, texts_of
from classifiers.fast import (
    HeadedTransformer,
    Output,
    SoftmaxHead,
    default_threads,
    label_columns,
    load_tokenizer,
)
from classifiers.matcher import RegistryMatcher
from classifiers.staged import combine, forward_mask, partisan
from classifiers.testing import jabar_view

Log = Callable[[str], None]


@dataclass
class Options:
    """What to run, and how big."""

    items: int = 10_000
    model: str = "minilm"
    audit_sizes: Sequence[int] = (1_000_000, 10_000_000)
    threads: int | None = None
    page_size: int = 2000
    min_agreement: float = 0.9  # a stage-3 variant must decide as fp32 does on this share
    consistency_sample: int = 96  # test texts read alone and in a batch, per variant
    variant_sample: int = 256
    recall_max: int | None = None
    head_train: int | None = None
    ingest_items: int = 2_000
    seed: int = 7
    corpus_size: int = 1600  # synthetic training texts, when the seed corpus is absent
    corpus: str | None = None  # a seed corpus JSONL (default: classifiers/data/seed_corpus.jsonl)
    transformer_dir: str | None = None  # a fine-tuned classification model folder for stage 3
    linear_dir: str = "data/models/linear"  # the product's linear model (trained there if absent)
    work_dir: str | None = None
    unsure: float = 0.2  # stage 2's partisan probability from which stage 3 also reads a text
    sure: float = 0.95  # ... up to which; above it stage 2 has settled the text
    device: str = "cpu"  # resolved (classifiers.device): "cuda" adds the GPU variant


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def masked_texts(gen: WorkloadGenerator, n: int) -> list[str]:
    """Stage-1-masked texts of ``n`` workload items (what stages 2 and 3 see)."""
    matcher, view = RegistryMatcher(), jabar_view()
    return [matcher.match(x.item, view.for_item(x.item)).masked_text for x in gen.items(n)]


def run_bench(opts: Options, echo: Log = print) -> dict[str, Any]:
    """Run every step; returns the figures (the ``--json`` document)."""
    import joblib

    from bench.transformer import build_model, measure_variants, pick_winner, variants_for

    t_all = time.perf_counter()

    def log(msg: str) -> None:
        echo(f"[{time.perf_counter() - t_all:6.1f}s] {msg}")

    threads = opts.threads or default_threads()
    work = Path(opts.work_dir or tempfile.mkdtemp(prefix="asn-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"items": opts.items, "model": opts.model, "threads": threads,
                           "cpu": _cpu_name(), "cores": os.cpu_count(),
                           "python": platform.python_version(), "load_avg_start": os.getloadavg(),
                           "device": opts.device}

    log(f"1/6 corpus and stage 2: the linear model in {opts.linear_dir}")
    train, test, corpus_name = load_corpus(size=opts.corpus_size,
                                            path=Path(opts.corpus) if opts.corpus else None)
    if opts.recall_max:
        test = test[::max(1, len(test) // opts.recall_max)][:opts.recall_max]  # every label
    out["recall_corpus"] = corpus_name
    from classifiers.api import ensure_default_model
    from classifiers.models import load_model

    linear_dir = ensure_default_model(Path(opts.linear_dir)).resolve()
    linear = load_model(linear_dir)
    out["stage2"] = f"{linear.kind} model {linear.version} ({linear_dir})"

    log(f"2/6 stage 3 '{opts.model}': timing {opts.variant_sample} workload texts per variant")
    model, model_dir, real = build_model(opts.model, work / "model", opts.transformer_dir)
    output: Output = "logits" if opts.transformer_dir else "mean"
    out["transformer_dir"] = opts.transformer_dir
    tok = load_tokenizer(model_dir)
    sample = masked_texts(WorkloadGenerator(opts.seed + 1), opts.variant_sample)
    variants = measure_variants(model, tok, sample, model_dir / "onnx", threads,
                                variants_for(opts.device), output=output)
    naive = variants[0]

    log("3/6 stance head, per-variant agreement and recall; naive transformer vs cascade")
    fp32 = next(v for v in variants if v.variant.backend == "onnx").engine  # exact fp32, fast
    head: Any
    if opts.transformer_dir:  # a trained classifier: its own logits, in LABELS order
        head, cols = SoftmaxHead(), label_columns(model_dir, LABELS)
    else:  # a bare encoder: the bench trains a logistic-regression head on its embeddings
        head_set = train[::max(1, len(train) // opts.head_train)] if opts.head_train else train
        head, cols = train_head(fp32.run(texts_of(head_set)), [e.label for e in head_set])
    test_texts, gold = texts_of(test), [e.label for e in test]
    ref = HeadedTransformer(fp32, head, cols).predict_proba(test_texts).argmax(axis=1)
    p2 = np.asarray(linear.predict_proba(test_texts), dtype=np.float64)
    forward = forward_mask(test_texts, p2, opts.unsure, opts.sure)
    alone = test_texts[::max(1, len(test_texts) // opts.consistency_sample)][:opts.consistency_sample]
    for v in variants:
        headed = HeadedTransformer(v.engine, head, cols)
        v.batch_consistency = batch_consistency(headed, alone)
        proba = headed.predict_proba(test_texts)
        v.agreement = float((proba.argmax(axis=1) == ref).mean())
        alone_s = score(gold, (partisan(proba) >= 0.5).tolist())
        v.recall = alone_s.recall
        if v is naive:
            n_s = alone_s
        staged_s = score(gold, (partisan(combine(p2, proba, forward)) >= 0.5).tolist())
        v.cascade_recall, v.cascade_precision = staged_s.recall, staged_s.precision
    winner = pick_winner(variants, opts.min_agreement)
    for v in variants:
        log(f"    {v.variant.name:56s} {v.items_per_s:7.1f} items/s  agree={v.agreement:.3f}"
            f"  recall={v.recall:.3f}  in cascade: recall={v.cascade_recall:.3f}"
            f" precision={v.cascade_precision:.3f}  batch-consistent={v.batch_consistency:.3f}")
    out["variants"] = [{"name": v.variant.name, "backend": v.variant.backend,
                        "items_per_s": v.items_per_s, "speedup": v.items_per_s / naive.items_per_s,
                        "cosine_to_fp32": v.cosine_to_fp32, "agreement_with_fp32": v.agreement,
                        "partisan_recall": v.recall, "cascade_recall": v.cascade_recall,
                        "cascade_precision": v.cascade_precision,
                        "batch_consistency": v.batch_consistency} for v in variants]
    out["winner"] = winner.variant.name
    out["winner_backend"] = winner.variant.backend
    out["naive_items_per_s"] = naive.items_per_s
    out["transformer_items_per_s"] = winner.items_per_s
    out["transformer_speedup"] = winner.items_per_s / naive.items_per_s
    out["real_weights"] = real
    # The cascade on the test split is the staged model with the winner as stage 3
    # (classifiers.staged.combine over the same forward mask, as route() computes it).
    lin_s = score(gold, (partisan(p2) >= 0.5).tolist())
    out.update(naive_recall=n_s.recall, naive_precision=n_s.precision,
               cascade_recall=winner.cascade_recall, cascade_precision=winner.cascade_precision,
               linear_recall=lin_s.recall,
               linear_precision=lin_s.precision, test_partisan=n_s.n_partisan,
               test_items=len(test), test_stage3_fraction=float(forward.mean()) if len(forward) else 0.0)

    log(f"4/6 cascade end to end on {opts.items} items (separate serving process)")
    spec: dict[str, Any] = {
        "items": opts.items, "seed": opts.seed, "model_dir": str(model_dir),
        "backend": winner.variant.backend, "batch_size": winner.variant.batching.batch_size,
        "output": output, "threads": threads,
        "linear_dir": str(linear_dir), "db": str(_fresh(work / "serve.duckdb")),
        "page_size": opts.page_size, "unsure": opts.unsure, "sure": opts.sure}
    if not opts.transformer_dir:
        joblib.dump((head, cols), work / "head.joblib")
        spec["head"] = str(work / "head.joblib")
    served = _serve(spec, work)
    out["cascade_items_per_s"] = served["cascade_items_per_s"]
    out["peak_rss_mb"] = served["peak_rss_mb"]
    out["serving"] = served
    out["cascade_items_per_cpu_s"] = served["cascade_items_per_cpu_s"]
    out["unsure"], out["sure"] = opts.unsure, opts.sure
    out["bytes_per_item"] = served["bytes_per_item"]
    del model, variants, naive, winner, fp32

    log("5/6 DuckDB ingest: Store.save_page and Store.save_pages")
    from bench.ingest import measure_ingest

    out.update(measure_ingest(work, max(opts.items, opts.ingest_items), opts.seed))

    log(f"6/6 audit queries at {', '.join(f'{n:,}' for n in opts.audit_sizes)} items")
    out["audit"] = {}
    for n in opts.audit_sizes:
        out["audit"][str(n)] = _audit(work, n, log)
    for n, key in ((1_000_000, "audit_query_ms_1m"), (10_000_000, "audit_query_ms_10m")):
        got = out["audit"].get(str(n))
        out[key] = got["max_median_ms"] if got else None
    if opts.audit_sizes and out["audit_query_ms_10m"] is None:
        largest = out["audit"][str(max(opts.audit_sizes))]
        out["audit_query_ms_largest"] = largest["max_median_ms"]
    out["bench_process_peak_rss_mb"] = peak_rss_mb()
    out["seconds"] = time.perf_counter() - t_all
    out["load_avg_end"] = os.getloadavg()
    if not opts.work_dir:
        shutil.rmtree(work, ignore_errors=True)
    return out


def batch_consistency(model: HeadedTransformer, texts: Sequence[str]) -> float:
    """Share of ``texts`` whose stance is the same read one at a time as read together."""
    if not texts:
        return 1.0
    together = model.predict_proba(list(texts)).argmax(axis=1)
    alone = np.concatenate([model.predict_proba([t]) for t in texts]).argmax(axis=1)
    return float((together == alone).mean())


def _fresh(path: Path) -> Path:
    """``path`` with any database (and WAL) left there by an earlier run removed."""
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)
    return path


def _serve(spec: dict[str, Any], work: Path) -> dict[str, Any]:
    spec_path, out_path = work / "serve-spec.json", work / "serve-out.json"
    spec_path.write_text(json.dumps(spec))
    root = str(Path(__file__).resolve().parents[1])
    proc = subprocess.run([sys.executable, "-m", "bench.end_to_end", str(spec_path), str(out_path)],
                          cwd=root, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"serving process failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out_path.read_text())
    return result


def _audit(work: Path, n: int, log: Log) -> dict[str, Any]:
    from storage.bulk import generate_audit_data, table_bytes, time_audit_queries
    from storage.store import Store

    path = _fresh(work / f"audit-{n}.duckdb")
    store = Store(path)
    gen_s = generate_audit_data(store.db, n)
    size = table_bytes(store.db)
    timings = time_audit_queries(store.db)
    for t in timings:
        log(f"    {n:>11,} {t.name:40s} {t.median_ms:8.1f} ms")
    path.unlink(missing_ok=True)
    return {"generate_s": gen_s, "db_bytes": size["bytes"], "bytes_per_item": size["bytes"] / n,
            "queries": {t.name: t.median_ms for t in timings},
            "max_median_ms": max(t.median_ms for t in timings)}
