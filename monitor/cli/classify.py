"""``asn-monitor classify``: classify interchange-format items without touching the database."""

from __future__ import annotations

from pathlib import Path

import click

from monitor.cli.output import Printer, output_options
from monitor.cli.state import CliState, pass_state
from monitor.errors import ConfigError, InputError
from monitor.model import RegistryView, StaticRegistryView
from monitor.settings import Settings


def _settings_or_defaults(state: CliState, need_file: bool) -> Settings:
    """The settings file; without one, defaults relative to the working folder (when allowed)."""
    try:
        return state.settings
    except ConfigError as exc:
        if need_file or exc.what != "settings file not found":
            raise
        settings = Settings()
        settings.base_dir = Path.cwd()
        return settings


def _view(settings: Settings, registries: tuple[Path, ...]) -> RegistryView:
    from monitor.app import load_inputs
    from monitor.inputs import RegionRegistryView, read_regions, read_registry

    if registries:
        regions = read_regions(settings.resolve(settings.inputs.regions))
        return StaticRegistryView(tuple(read_registry(p, regions) for p in registries))
    inputs = load_inputs(settings)
    actor_regions = {(a.platform, a.handle.lower()): a.region for a in inputs.roster}
    return RegionRegistryView(tuple(inputs.registries), inputs.regions, actor_regions)


@click.command("classify")
@click.argument("input_path", metavar="INPUT.jsonl", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--registry", "registries", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Apply this registry to every item (repeatable); default: by the actor's region.")
@output_options(default="jsonl")
@pass_state
def classify_cmd(state: CliState, input_path: Path, registries: tuple[Path, ...], out: Printer) -> None:
    """Classify items from a JSONL file; print a result per item, JSON lines by default (no database)."""
    from monitor.app import build_classifier
    from sources.file import read_items

    if not input_path.exists():
        raise InputError(f"{input_path}: file not found")
    settings = _settings_or_defaults(state, need_file=not registries)
    view = _view(settings, registries)
    items, bad = read_items(input_path)
    for error in bad:
        click.echo(f"skipped {error}", err=True)
    classifier = build_classifier(settings)
    size = settings.classifier.batch_size
    rows = []
    for start in range(0, len(items), size):
        batch = items[start:start + size]
        for item, result in zip(batch, classifier.classify(batch, view), strict=True):
            rows.append({
                "id": item.id, "flagged": result.flagged, "score": round(result.score, 4),
                "stance": result.stance, "targets": list(result.targets),
                "target_stances": [{"target": ts.target, "stance": ts.stance,
                                    "score": round(ts.score, 4)} for ts in result.target_stances],
                "high_confidence": result.high_confidence,
                "category": result.category, "explanation": result.explanation,
            })
    out.records(rows, f"{len(rows)} items")


def register(cli: click.Group) -> None:
    """Add ``classify`` to ``cli``."""
    cli.add_command(classify_cmd)
