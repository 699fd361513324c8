"""Reviewing flags: ``review`` (interactive, queue, show, confirm, dismiss, escalate, history,
examples)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.table import Table
from rich.text import Text

from monitor.cli.output import Printer, console, output_options
from monitor.cli.review_card import print_card
from monitor.cli.state import CliState, pass_state
from monitor.review import REASON_HELP, REASONS, ReviewService, reviewer_identity
from storage.review import QueueFilter, Review

_REVIEWER = click.option("--reviewer", default=None,
                         help="Who decides (default: the environment variable named by "
                              "[review] reviewer_env, ASN_MONITOR_REVIEWER).")


def _filters(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--election", default=None, help="Only flags about this election id."),
        click.option("--agency", default=None, help="Only ASN whose agency contains this text."),
        click.option("--region", default=None,
                     help="Only ASN in this region code (a province code covers its regencies)."),
        click.option("--platform", default=None, help="Only this platform (bluesky, x, ...)."),
        click.option("--kind", type=click.Choice(["post", "reply", "quote", "repost", "like"]),
                     default=None, help="Only this kind of act."),
        click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
                     help="Only acts on or after this date (YYYY-MM-DD, in the ASN's local zone "
                          "or [review] office_zone)."),
        click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None,
                     help="Only acts on or before this date (YYYY-MM-DD, local as --since)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _queue_filter(status: str = "pending", zone: str | None = None, **kw: Any) -> QueueFilter:
    def day(v: Any) -> date | None:
        return v.date() if v is not None else None

    return QueueFilter(status=status, election=kw.get("election"), agency=kw.get("agency"),
                       region=kw.get("region"), platform=kw.get("platform"), kind=kw.get("kind"),
                       since=day(kw.get("since")), until=day(kw.get("until")), zone=zone)


def _service(state: CliState) -> ReviewService:
    from monitor.app import open_store
    from monitor.users import os_user

    # --reviewer is self-declared: the OS account that ran the command is kept beside it.
    return ReviewService(state.settings, open_store(state.settings),
                         {"via": "cli", "os_user": os_user()})


def _snippet(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width - 1] + "…"


# -- review ------------------------------------------------------------------


@click.group("review", invoke_without_command=True)
@_REVIEWER
@output_options
@_filters
@pass_state
@click.pass_context
def review_group(ctx: click.Context, state: CliState, reviewer: str | None, out: Printer,
                 **filters: Any) -> None:
    """Review flags. Without a subcommand: an interactive session, one flag at a time.

    Keys: c confirm, d dismiss (then pick a reason), C / D the whole near-duplicate
    group, s skip, o open the card, q quit.
    """
    if ctx.invoked_subcommand is not None:
        if reviewer is not None or not out.for_people or any(v is not None for v in filters.values()):
            # Options before the subcommand would be silently ignored: say so instead.
            raise click.UsageError("options go after the subcommand, e.g. "
                                   "'review queue --platform x' or 'review confirm 3 --reviewer ana'")
        return
    from monitor.cli.review_session import run_session

    svc = _service(state)
    who = reviewer_identity(reviewer, state.settings)
    decisions = run_session(svc, who, _queue_filter(zone=state.settings.review.office_zone, **filters),
                            console)
    if not out.for_people:
        out.records([r.to_json() for r in decisions])


@review_group.command("queue")
@_filters
@click.option("--status", type=click.Choice(["pending", "confirmed", "dismissed", "escalated", "any"]),
              default="pending", help="Which flags (default: pending).")
@click.option("--limit", type=int, default=200, help="Show at most this many rows (default 200).")
@click.option("--no-groups", is_flag=True, help="Skip near-duplicate grouping (faster).")
@output_options
@pass_state
def queue_cmd(state: CliState, status: str, limit: int, no_groups: bool, out: Printer,
              **filters: Any) -> None:
    """Pending flags, highest score first, with their near-duplicate groups."""
    office = state.settings.review.office_zone
    q = _service(state).queue(_queue_filter(status, office, **filters), with_groups=not no_groups)
    out.document(q.to_json(), human=lambda: _print_queue(q, status, limit, office))


def _print_queue(q: Any, status: str, limit: int, office: str | None) -> None:
    from monitor.localtime import local, zone_of

    t = Table(title=f"Review queue ({len(q.rows)} {status}; grouping: {q.method})",
              title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, expand=True)
    for col, width in (("id", 4), ("score", 5), ("conf", 6), ("group", 6), ("kind", 6),
                       ("platform", 8), ("ASN", 16), ("region", 6), ("date (local)", 15)):
        t.add_column(col, no_wrap=True, min_width=width)
    t.add_column("text", no_wrap=True, overflow="ellipsis", ratio=1)
    for r in q.rows[:limit]:
        group = f"G{r.group}×{r.group_size}" if r.group is not None else ""
        t.add_row(str(r.flag_id), f"{r.score:.2f}", "high" if r.high_confidence else "review",
                  group, r.kind, r.platform,
                  Text(_snippet(r.name or "?", 16)), r.region or "",
                  f"{local(r.created_at, zone_of(r.region, office)):%Y-%m-%d} {zone_of(r.region, office)}",
                  Text(_snippet(r.text or r.subject_text, 80)))
    console.print(t)
    if len(q.rows) > limit:
        console.print(f"... {len(q.rows) - limit} more (use --limit or filters)", markup=False)


@review_group.command("show")
@click.argument("flag_id", type=int)
@click.option("--language", type=click.Choice(["id", "en"]), default=None,
              help="Language of the rendered card (default: [review] language).")
@click.option("--no-render", is_flag=True, help="Do not render the HTML/PNG card if it is missing.")
@output_options
@pass_state
def show_cmd(state: CliState, flag_id: int, language: str | None, no_render: bool,
             out: Printer) -> None:
    """Show one flag's evidence card and the classifier's explanation (renders the card)."""
    from monitor.evidence.card import ensure_card
    from storage.evidence import flag_detail

    svc = _service(state)
    if no_render:
        detail = flag_detail(svc.db, flag_id)
    else:
        detail = ensure_card(svc.db, state.settings.evidence_dir, state.settings.review, flag_id,
                             language)
    lang = language or state.settings.review.language
    from monitor.stance_words import describe

    out.document({**detail.to_json(), "evidence_dir": str(state.settings.evidence_dir),
                  "stance_words": describe(detail.target_stances, detail.target_names, lang)},
                 human=lambda: print_card(detail, lang))


def _print_decisions(written: list[Review], out: Printer) -> None:
    out.records([r.to_json() for r in written], human=lambda: _show_decisions(written))


def _show_decisions(written: list[Review]) -> None:
    for r in written:
        extra = f" ({r.reason})" if r.reason else ""
        console.print(f"flag {r.flag_id}: {r.decision}{extra} by {r.reviewer} at "
                      f"{r.decided_at.isoformat()} [review {r.review_id}, chain #{r.seq}]",
                      markup=False)


@review_group.command("confirm")
@click.argument("flag_id", type=int)
@click.option("--group", "whole_group", is_flag=True,
              help="Also confirm every pending near-duplicate of this flag (one row each).")
@click.option("--note", default=None, help="A free note kept with the decision.")
@_REVIEWER
@output_options
@pass_state
def confirm_cmd(state: CliState, flag_id: int, whole_group: bool, note: str | None,
                reviewer: str | None, out: Printer) -> None:
    """Confirm that a flag is a partisan act by the rostered ASN."""
    who = reviewer_identity(reviewer, state.settings)
    _print_decisions(_service(state).confirm(flag_id, who, note, whole_group), out)


@review_group.command("dismiss")
@click.argument("flag_id", type=int)
@click.option("--reason", type=click.Choice(REASONS), required=True,
              help="Why: " + "; ".join(f"{k}: {v}" for k, v in REASON_HELP.items()) + ".")
@click.option("--note", default=None, help="A free note (required with --reason other).")
@click.option("--group", "whole_group", is_flag=True,
              help="Also dismiss every pending near-duplicate of this flag (one row each).")
@_REVIEWER
@output_options
@pass_state
def dismiss_cmd(state: CliState, flag_id: int, reason: str, note: str | None, whole_group: bool,
                reviewer: str | None, out: Printer) -> None:
    """Dismiss a flag with a reason from the fixed list."""
    who = reviewer_identity(reviewer, state.settings)
    _print_decisions(_service(state).dismiss(flag_id, who, reason, note, whole_group), out)


@review_group.command("escalate")
@click.argument("flag_id", type=int)
@click.option("--out", "folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the package (default: <evidence_dir>/escalations).")
@click.option("--language", type=click.Choice(["id", "en"]), default=None,
              help="Language of the summary and card (default: [review] language, Indonesian).")
@_REVIEWER
@output_options
@pass_state
def escalate_cmd(state: CliState, flag_id: int, folder: Path | None, language: str | None,
                 reviewer: str | None, out: Printer) -> None:
    """Escalate a confirmed flag: write the package (folder + zip) for Bawaslu -> BKN -> PPK."""
    who = reviewer_identity(reviewer, state.settings)
    written, package = _service(state).escalate(flag_id, who, folder, language)

    def human() -> None:
        _show_decisions([written])
        console.print(f"package: {package['folder']}\nzip:     {package['zip']} "
                      f"(sha256 {package['zip_sha256']})", markup=False)

    out.document({"review": written.to_json(),
                  "package": {k: str(v) if isinstance(v, Path) else v for k, v in package.items()}}, human)


@review_group.command("history")
@click.argument("flag_id", type=int)
@output_options
@pass_state
def history_cmd(state: CliState, flag_id: int, out: Printer) -> None:
    """Every decision on a flag, oldest first, with its chain link."""
    rows = _service(state).history(flag_id)
    out.records([r.to_json() for r in rows], human=lambda: _print_history(flag_id, rows))


def _print_history(flag_id: int, rows: list[Review]) -> None:
    if not rows:
        console.print(f"flag {flag_id}: pending, no decision yet", markup=False)
        return
    t = Table(title=f"History of flag {flag_id}", title_justify="left")
    for col in ("review", "decision", "reason", "reviewer", "at", "note", "chain"):
        t.add_column(col)
    for r in rows:
        t.add_row(str(r.review_id), r.decision, r.reason or "", Text(r.reviewer),
                  r.decided_at.isoformat(), Text(r.note or ""), f"#{r.seq}")
    console.print(t)


@review_group.command("examples")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write JSONL here instead of printing.")
@output_options(default="jsonl")
@pass_state
def examples_cmd(state: CliState, out_file: Path | None, out: Printer) -> None:
    """Reviewed flags as labelled training examples (JSON lines) for the classifier."""
    import json

    from monitor.review import training_examples

    examples = training_examples(_service(state).store)
    if out_file is None:
        out.records(examples, f"{len(examples)} examples")
        return
    out_file.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples), encoding="utf-8")
    console.print(f"{len(examples)} examples written to {out_file}", markup=False)


def register(cli: click.Group) -> None:
    """Add ``review`` to ``cli``."""
    cli.add_command(review_group)
