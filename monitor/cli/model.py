"""``asn-monitor train`` and ``evaluate``: the stance model, from seed corpus and reviewers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from monitor.cli.output import Printer, console, output_options, table
from monitor.cli.state import CliState, pass_state
from monitor.settings import Settings


def reviewed_examples(settings: Settings) -> list[Any]:
    """Reviewers' confirmed and dismissed flags, masked like the seed corpus."""
    from classifiers.corpus import labelled_from_items
    from monitor.app import load_inputs, open_store
    from monitor.model import Item, Kind, StaticRegistryView, Subject
    from monitor.review import training_examples

    if not settings.db_path.exists():
        return []
    rows = training_examples(open_store(settings))
    if not rows:
        return []
    # Masking only needs the names; every registry's names are masked, whatever the region.
    view = StaticRegistryView(tuple(load_inputs(settings).registries))
    now = datetime.now(UTC)
    labelled = []
    for row in rows:
        subject = Subject("reviewed", "unknown", row["subject_text"]) if row["subject_text"] else None
        kind: Kind = row["kind"] if subject is not None or row["kind"] == "post" else "post"
        item = Item(row["platform"], str(row["item_key"]), kind, "reviewed", now, row["text"] or "",
                    subject=subject)
        labelled.append((item, row["label"]))
    return labelled_from_items(labelled, view)


def file_examples(settings: Settings, path: Path) -> list[Any]:
    """Labelled items from a JSONL file, masked with the configured registries."""
    from classifiers.corpus import labelled_per_target
    from monitor.app import load_inputs
    from monitor.errors import InputError
    from monitor.model import StaticRegistryView
    from sources.file import item_from_json

    labelled: list[Any] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not valid JSON ({exc.msg})") from exc
        label = obj.get("labels") or obj.get("label") if isinstance(obj, dict) else None
        if not label:
            raise InputError(f"{where}: needs \"label\" (a stance) or \"labels\" "
                             "({target: stance})")
        labelled.append((item_from_json(obj, where), label))
    view = StaticRegistryView(tuple(load_inputs(settings).registries))
    return labelled_per_target(labelled, view)


@click.command("train")
@click.option("--kind", type=click.Choice(["linear", "transformer"]), default="linear",
              show_default=True, help="The stance model to train.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Model folder (default: classifier.model_dir or classifier.transformer_dir).")
@click.option("--base-model", default="indolem/indobertweet-base-uncased", show_default=True,
              help="Transformer base: a hub id or a local folder.")
@click.option("--epochs", type=click.IntRange(1, 50), default=3, show_default=True,
              help="Transformer epochs.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
              help="Where the transformer trains (default: classifier.device; auto: CUDA if present).")
@click.option("--time-budget", type=click.FloatRange(min=1), default=None,
              help="Transformer: stop after this many seconds of training (the best weights are kept).")
@click.option("--micro-batch-size", type=click.IntRange(min=1), default=None,
              help="Transformer: texts per forward pass; the batch of 16 is accumulated over them.")
@click.option("--compile/--no-compile", "compile_", default=None,
              help="Transformer: torch.compile the model (default: classifier.torch_compile).")
@click.option("--without-reviews", is_flag=True, help="Train on the seed corpus only.")
@click.option("--examples", "example_files", multiple=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="JSONL of labelled items (e.g. past Bawaslu cases) to add; repeatable.")
@output_options
@pass_state
def train_cmd(state: CliState, kind: str, out_dir: Path | None, base_model: str, epochs: int,
              device: str | None, time_budget: float | None, micro_batch_size: int | None,
              compile_: bool | None, without_reviews: bool, example_files: tuple[Path, ...],
              out: Printer) -> None:
    """Train the stance model on the bundled corpora, reviewers' decisions and your own examples.

    An examples file holds one interchange item a line (as ``classify`` reads)
    with ``"label": "support"`` or, per target, ``"labels": {"jabar-2": "oppose",
    "jabar-3": "support"}``; the configured registries mask the names.
    """
    from classifiers.api import train

    settings = state.settings
    c = settings.classifier
    resolved = "cpu"
    if kind == "transformer":
        from classifiers.device import resolve_device

        where = "--device" if device else f"{settings.file}: classifier.device"
        resolved = resolve_device(device or c.device, where)
    params = {"time_budget_s": time_budget, "micro_batch_size": micro_batch_size,
              "compile": c.torch_compile if compile_ is None else compile_}
    folder = out_dir or (settings.model_dir if kind == "linear" else settings.transformer_dir)
    reviewed = [] if without_reviews else reviewed_examples(settings)
    by_file = {str(path): file_examples(settings, path) for path in example_files}
    own = [ex for examples in by_file.values() for ex in examples]
    log = (lambda line: console.print(line, markup=False)) if out.for_people else None
    sources = {"reviewed": len(reviewed), **{f"examples:{p}": len(e) for p, e in by_file.items()}}
    from monitor.progress import task

    with task(f"Training the {kind} model"):
        report = train(kind, folder, [*reviewed, *own], base_model=base_model,  # type: ignore[arg-type]
                       epochs=epochs, log=log, device=resolved, extra_sources=sources,
                       params={k: v for k, v in params.items()
                               if v is not None and kind == "transformer"})
    out.document({**report.to_json(), "reviewed_examples": len(reviewed), "file_examples": len(own)},
                 human=lambda: _print_training(report, len(reviewed), len(own)))


def _print_training(report: Any, reviewed: int, own: int) -> None:
    console.print(f"Trained {report.kind} model {report.version} in {report.seconds:.1f}s on "
                  f"{report.n_train} examples ({reviewed} from reviewers, {own} from "
                  f"example files) -> {report.out_dir}", markup=False)
    metrics = report.metrics.get("partisan") or {}
    if metrics:
        console.print(table("Held-out partisan", list(metrics), [list(metrics.values())]))


@click.command("evaluate")
@click.option("--model-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Model folder (default: the one the settings use).")
@click.option("--dataset", "datasets", multiple=True,
              type=click.Choice(["seed-heldout", "real-negatives", "political-stance", "real-dev"]),
              help="Evaluation set (repeatable; default: all four).")
@click.option("--shared-data", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the public datasets (default: ../shared/data beside the project).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report here (Markdown; .json for JSON).")
@output_options
@pass_state
def evaluate_cmd(state: CliState, model_dir: Path | None, datasets: tuple[str, ...],
                 shared_data: Path | None, out_path: Path | None, out: Printer) -> None:
    """Precision, recall, F1 per class, confusion matrix and calibration, as a report."""
    from classifiers.evaluate import (
        SHARED_DATA,
        evaluate,
    )

    settings = state.settings
    c = settings.classifier
    folder = model_dir or (settings.model_dir if c.model != "transformer" else settings.transformer_dir)
    if model_dir is None and c.model == "linear":
        from classifiers.api import ensure_default_model

        ensure_default_model(folder)
    report = evaluate(folder, datasets or ("seed-heldout", "real-negatives", "political-stance",
                                           "real-dev"),
                      shared_data=shared_data or SHARED_DATA, threshold=c.flag_threshold,
                      review_threshold=c.queue_threshold)
    if out_path is not None:
        text = (json.dumps(report.to_json(), indent=2) if out_path.suffix == ".json"
                else report.to_markdown())
        out_path.write_text(text, encoding="utf-8")
    out.document(report.to_json(), human=lambda: console.print(
        report.to_markdown() if out_path is None else f"Report written to {out_path}", markup=False))


def register(cli: click.Group) -> None:
    """Add ``train`` and ``evaluate`` to ``cli``."""
    cli.add_command(train_cmd)
    cli.add_command(evaluate_cmd)
