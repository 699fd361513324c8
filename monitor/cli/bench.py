"""``asn-monitor bench``: the throughput, recall, memory and audit-query benchmark."""

from __future__ import annotations

from pathlib import Path

import click

from monitor.cli.output import Printer, output_options


@click.command("bench")
@click.option("--items", type=click.IntRange(min=10), default=10_000, show_default=True,
              help="Workload items for the end-to-end cascade run.")
@click.option("--model", type=click.Choice(["minilm", "indobert-base", "tiny"]), default="minilm",
              show_default=True, help="Stage-3 transformer (tiny: the CI smoke model).")
@click.option("--audit-sizes", default="1000000,10000000", show_default=True,
              help="Comma-separated store sizes (items) to time the audit queries on; '' skips.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Intra-op threads (default: every core this process may use).")
@click.option("--page-size", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Items per page in the end-to-end run.")
@click.option("--variant-sample", type=click.IntRange(min=8), default=256, show_default=True,
              help="Workload texts each stage-3 variant is timed on.")
@click.option("--recall-max", type=click.IntRange(min=1), default=None,
              help="Use at most this many test-split texts for recall (default: all).")
@click.option("--head-train", type=click.IntRange(min=8), default=None,
              help="Train the stage-3 head on at most this many texts (default: all).")
@click.option("--ingest-items", type=click.IntRange(min=10), default=2000, show_default=True,
              help="Items written through Store.save_page (and again through save_pages).")
@click.option("--corpus-size", type=click.IntRange(min=40), default=1600, show_default=True,
              help="Synthetic training texts when classifiers/data/seed_corpus.jsonl is absent.")
@click.option("--corpus", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Seed corpus JSONL for recall (default: classifiers/data/seed_corpus.jsonl if present).")
@click.option("--unsure", type=click.FloatRange(0, 1), default=0.2, show_default=True,
              help="Stage 2's partisan probability from which stage 3 also reads a text.")
@click.option("--sure", type=click.FloatRange(0, 1), default=0.95, show_default=True,
              help="Stage 2's partisan probability from which a text is settled without stage 3.")
@click.option("--min-agreement", type=click.FloatRange(0, 1), default=0.9, show_default=True,
              help="A stage-3 variant wins only if, on its own, its stance equals fp32's on this share "
                   "of test texts (it must also keep the cascade's recall and precision).")
@click.option("--transformer-dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="A fine-tuned sequence-classification model folder to use as stage 3 (overrides --model).")
@click.option("--linear-dir", type=click.Path(file_okay=False), default="data/models/linear",
              show_default=True,
              help="Stage 2: a trained linear model folder; the default model is trained there if absent.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Where the transformer may also run: on a GPU, a PyTorch GPU variant is timed too.")
@click.option("--work-dir", type=click.Path(file_okay=False), default=None,
              help="Keep models and databases here (default: a temporary folder, removed).")
@click.option("--out", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the figures as JSON to this file.")
@output_options
def bench_cmd(items: int, model: str, audit_sizes: str, threads: int | None, page_size: int,
              variant_sample: int, recall_max: int | None, head_train: int | None,
              ingest_items: int, corpus_size: int, corpus: str | None,
              unsure: float, sure: float, min_agreement: float, transformer_dir: str | None,
              linear_dir: str, device: str, work_dir: str | None,
              json_path: str | None, out: Printer) -> None:
    """Benchmark the cascade, the transformer variants, DuckDB ingest and the audit queries."""
    import json

    from bench.report import print_report
    from bench.run import Options, run_bench
    from classifiers.device import resolve_device

    sizes = tuple(int(s) for s in audit_sizes.replace("_", "").split(",") if s.strip())
    opts = Options(items=items, model=model, audit_sizes=sizes, threads=threads, page_size=page_size,
                   variant_sample=variant_sample, recall_max=recall_max, head_train=head_train,
                   ingest_items=ingest_items, corpus_size=corpus_size, corpus=corpus,
                   unsure=unsure, sure=sure, min_agreement=min_agreement,
                   transformer_dir=transformer_dir, linear_dir=linear_dir,
                   work_dir=work_dir, device=resolve_device(device, "--device"))
    echo = (lambda m: click.echo(m, err=True)) if out.for_people else (lambda _m: None)
    from monitor.progress import task

    with task("Benchmarking (figures follow)"):
        result = run_bench(opts, echo=echo)
    text = json.dumps(result, indent=2, ensure_ascii=False, default=str)
    out.document(result, human=lambda: print_report(result))
    if json_path:
        Path(json_path).write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {json_path}", err=True)


def register(cli: click.Group) -> None:
    """Add ``bench`` to the command group."""
    cli.add_command(bench_cmd)
