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


@click.command("train")
@click.option("--kind", type=click.Choice(["linear", "transformer"]), default="linear",
              show_default=True, help="The stance model to train.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Model folder (default: classifier.model_dir or classifier.transformer_dir).")
@click.option("--base-model", default="indolem/indobertweet-base-uncased", show_default=True,
              help="Transformer base: a hub id or a local folder.")
@click.option("--epochs", type=click.IntRange(1, 50), default=3, show_default=True,
              help="Transformer epochs.")
@click.option("--without-reviews", is_flag=True, help="Train on the seed corpus only.")
@output_options
@pass_state
def train_cmd(state: CliState, kind: str, out_dir: Path | None, base_model: str, epochs: int,
              without_reviews: bool, out: Printer) -> None:
    """Train the stance model on the seed corpus plus reviewers' confirmed and dismissed flags."""
    from classifiers.api import train

    settings = state.settings
    c = settings.classifier
    folder = out_dir or settings.resolve(c.model_dir if kind == "linear" else c.transformer_dir)
    extra = [] if without_reviews else reviewed_examples(settings)
    log = (lambda line: console.print(line, markup=False)) if out.for_people else None
    report = train(kind, folder, extra, base_model=base_model, epochs=epochs,  # type: ignore[arg-type]
                   log=log)
    out.document({**report.to_json(), "reviewed_examples": len(extra)},
                 human=lambda: _print_training(report, len(extra)))


def _print_training(report: Any, reviewed: int) -> None:
    console.print(f"Trained {report.kind} model {report.version} in {report.seconds:.1f}s on "
                  f"{report.n_train} examples ({reviewed} from reviewers) -> {report.out_dir}",
                  markup=False)
    metrics = report.metrics.get("partisan") or {}
    if metrics:
        console.print(table("Held-out partisan", list(metrics), [list(metrics.values())]))


@click.command("evaluate")
@click.option("--model-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Model folder (default: the one the settings use).")
@click.option("--dataset", "datasets", multiple=True,
              type=click.Choice(["seed-heldout", "real-negatives", "political-stance"]),
              help="Evaluation set (repeatable; default: all three).")
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
    folder = model_dir or settings.resolve(c.model_dir if c.model != "transformer" else c.transformer_dir)
    if model_dir is None and c.model == "linear":
        from classifiers.api import ensure_default_model

        ensure_default_model(folder)
    report = evaluate(folder, datasets or ("seed-heldout", "real-negatives", "political-stance"),
                      shared_data=shared_data or SHARED_DATA, threshold=c.flag_threshold)
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
