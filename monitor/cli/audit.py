"""Checking and rendering the evidence: ``verify`` (the hash chain) and ``evidence render``."""

from __future__ import annotations

from pathlib import Path

import click

from monitor.cli.output import Printer, console, output_options
from monitor.cli.state import CliState, pass_state
from monitor.errors import ChainBroken


@click.group("evidence")
def evidence_group() -> None:
    """Evidence cards: render them after the fact (HTML, and PNG where Chromium is installed)."""


@evidence_group.command("render")
@click.argument("flag_ids", type=int, nargs=-1)
@click.option("--language", type=click.Choice(["id", "en"]), default=None,
              help="Card language (default: [review] language).")
@click.option("--no-png", is_flag=True, help="HTML only, no Chromium screenshot.")
@output_options
@pass_state
def render_cmd(state: CliState, flag_ids: tuple[int, ...], language: str | None, no_png: bool,
               out: Printer) -> None:
    """Render the cards of the given flags, or of every flag that has none yet."""
    from monitor.evidence.card import render_cards
    from storage.evidence import flags_without_card

    db = state.db()
    ids = list(flag_ids) or flags_without_card(db)
    details = render_cards(db, state.settings.evidence_dir, state.settings.review, ids,
                           language, png=not no_png)
    data = [{"flag_id": d.flag_id, "html": (d.file("card_html") or {}).get("path"),
             "png": (d.file("card_png") or {}).get("path")} for d in details]
    def human() -> None:
        for row in data:
            console.print(f"flag {row['flag_id']}: {row['html']} {row['png'] or '(no PNG)'}", markup=False)
        console.print(f"{len(data)} cards under {state.settings.evidence_dir}", markup=False)

    out.records(data, human=human)


@click.command("verify")
@click.option("--head", "heads", multiple=True, metavar="SEQ:HASH",
              help="A head seen earlier (digest email, escalation package): is it still in the chain? "
                   "Repeatable.")
@click.option("--package", "packages", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="An escalation package folder: check its head and timestamps. Repeatable.")
@output_options
@pass_state
def verify_cmd(state: CliState, heads: tuple[str, ...], packages: tuple[Path, ...], out: Printer) -> None:
    """Recompute the hash chain, re-hash raw bytes and evidence files, check timestamps and heads."""
    from monitor.anchoring import parse_head, verify_all

    wanted = [parse_head(h) for h in heads]
    report = verify_all(state.db(), state.settings, wanted, list(packages))
    out.document(report.to_json(), human=lambda: console.print(
        f"{report.links} links, {report.raw_checked} raw responses and "
        f"{report.files_checked} files re-hashed"
        + (f", {report.raw_purged} raw purged" if report.raw_purged else "")
        + f", {report.tokens_checked} timestamps and {report.heads_checked} heads checked"
        + f"; head {report.links}:{report.head}", markup=False))
    if not report.ok:
        first = report.problems[0]
        raise ChainBroken(f"chain broken at {first} ({len(report.problems)} problems)")
    if out.for_people:
        console.print("OK: chain intact", markup=False)


def register(cli: click.Group) -> None:
    """Add ``evidence`` and ``verify`` to ``cli``."""
    for command in (evidence_group, verify_cmd):
        cli.add_command(command)
