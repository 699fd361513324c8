"""Review commands: ``review`` (interactive, queue, show, confirm, dismiss, escalate, history,
examples), ``evidence render`` and ``verify``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from monitor.cli import CliState, console, emit_json, pass_state
from monitor.errors import ChainBroken
from monitor.review import REASON_HELP, REASONS, ReviewService, reviewer_identity
from storage.evidence import FlagDetail
from storage.review import QueueFilter, Review

_JSON = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
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


def _flt(status: str = "pending", zone: str | None = None, **kw: Any) -> QueueFilter:
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
@_JSON
@_filters
@pass_state
@click.pass_context
def review_group(ctx: click.Context, state: CliState, reviewer: str | None, as_json: bool,
                 **filters: Any) -> None:
    """Review flags. Without a subcommand: an interactive session, one flag at a time.

    Keys: c confirm, d dismiss (then pick a reason), C / D the whole near-duplicate
    group, s skip, o open the card, q quit.
    """
    if ctx.invoked_subcommand is not None:
        if reviewer is not None or as_json or any(v is not None for v in filters.values()):
            # Options before the subcommand would be silently ignored: say so instead.
            raise click.UsageError("options go after the subcommand, e.g. "
                                   "'review queue --platform x' or 'review confirm 3 --reviewer ana'")
        return
    from monitor.review_session import run_session

    svc = _service(state)
    who = reviewer_identity(reviewer, state.settings)
    decisions = run_session(svc, who, _flt(zone=state.settings.review.office_zone, **filters), console)
    if as_json:
        emit_json([r.to_json() for r in decisions])


@review_group.command("queue")
@_filters
@click.option("--status", type=click.Choice(["pending", "confirmed", "dismissed", "escalated", "any"]),
              default="pending", help="Which flags (default: pending).")
@click.option("--limit", type=int, default=200, help="Show at most this many rows (default 200).")
@click.option("--no-groups", is_flag=True, help="Skip near-duplicate grouping (faster).")
@_JSON
@pass_state
def queue_cmd(state: CliState, status: str, limit: int, no_groups: bool, as_json: bool,
              **filters: Any) -> None:
    """Pending flags, highest score first, with their near-duplicate groups."""
    from monitor.localtime import local, zone_of

    office = state.settings.review.office_zone
    q = _service(state).queue(_flt(status, office, **filters), with_groups=not no_groups)
    if as_json:
        emit_json(q.to_json())
        return
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


def print_card(detail: FlagDetail, lang: str = "id") -> None:
    """The evidence card in the terminal (all values printed as text, never as markup)."""
    item, acc = detail.item, detail.account
    from monitor.evidence import local_time
    from monitor.model import region_zone, skb_category
    from monitor.stance_words import confidence, describe

    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    rows: list[tuple[str, str]] = [
        ("Flag", f"#{detail.flag_id} ({detail.status})   score {detail.score:.2f}"),
        ("ASN", f"{acc.get('name')}   NIP {acc.get('nip')}"),
        ("Agency", f"{acc.get('agency')}   region {acc.get('region')}"),
        ("Account", f"{item.get('platform')} @{item.get('actor')}"),
        ("Time", local_time(item.get("created_at"), region_zone(acc.get("region")))),
        ("Link", str(item.get("url") or "-")),
        ("Act", f"{item.get('kind')} (SKB: {skb_category(str(item.get('kind')))})   "
                f"stance {detail.stance} -> {', '.join(detail.targets) or '-'}"),
        ("Stances", f"{describe(detail.target_stances, detail.target_names, lang)} "
                    f"({confidence(detail.high_confidence, lang)})"),
        ("Text", str(item.get("text") or "(no text)")),
    ]
    subject = item.get("subject")
    if subject:
        rows.append(("Engaged with", f"@{subject.get('author')}: {subject.get('text') or ''} "
                                     f"{subject.get('url') or ''}"))
    rows.append(("Classifier", f"{detail.model} {detail.version}: {detail.explanation}"))
    images = [f for f in detail.files if f["role"] == "image"]
    for f in images:
        rows.append(("Image", f"{f['url']} {f['sha256'] or f['error']}"))
    rows.append(("Raw", f"sha256 {detail.raw_sha256}  {detail.raw_meta.get('source_url')}  "
                        f"fetched {detail.raw_meta.get('fetched_at')}"))
    for role in ("card_html", "card_png"):
        card = detail.file(role)
        if card is not None:
            rows.append(("Card", f"{card['path']}  sha256 {card['sha256']}"))
    for k, v in rows:
        t.add_row(k, Text(v))
    console.print(Panel(t, title=f"Evidence card #{detail.flag_id}", title_align="left"))


@review_group.command("show")
@click.argument("flag_id", type=int)
@click.option("--language", type=click.Choice(["id", "en"]), default=None,
              help="Language of the rendered card (default: [review] language).")
@click.option("--no-render", is_flag=True, help="Do not render the HTML/PNG card if it is missing.")
@_JSON
@pass_state
def show_cmd(state: CliState, flag_id: int, language: str | None, no_render: bool,
             as_json: bool) -> None:
    """Show one flag's evidence card and the classifier's explanation (renders the card)."""
    from monitor.evidence import ensure_card
    from storage.evidence import flag_detail

    svc = _service(state)
    if no_render:
        detail = flag_detail(svc.db, flag_id)
    else:
        detail = ensure_card(svc.db, state.settings.evidence_dir, state.settings.review, flag_id,
                             language)
    lang = language or state.settings.review.language
    if as_json:
        from monitor.stance_words import describe

        emit_json({**detail.to_json(), "evidence_dir": str(state.settings.evidence_dir),
                   "stance_words": describe(detail.target_stances, detail.target_names, lang)})
        return
    print_card(detail, lang)


def _print_decisions(written: list[Review], as_json: bool) -> None:
    if as_json:
        emit_json([r.to_json() for r in written])
        return
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
@_JSON
@pass_state
def confirm_cmd(state: CliState, flag_id: int, whole_group: bool, note: str | None,
                reviewer: str | None, as_json: bool) -> None:
    """Confirm that a flag is a partisan act by the rostered ASN."""
    who = reviewer_identity(reviewer, state.settings)
    _print_decisions(_service(state).confirm(flag_id, who, note, whole_group), as_json)


@review_group.command("dismiss")
@click.argument("flag_id", type=int)
@click.option("--reason", type=click.Choice(REASONS), required=True,
              help="Why: " + "; ".join(f"{k}: {v}" for k, v in REASON_HELP.items()) + ".")
@click.option("--note", default=None, help="A free note (required with --reason other).")
@click.option("--group", "whole_group", is_flag=True,
              help="Also dismiss every pending near-duplicate of this flag (one row each).")
@_REVIEWER
@_JSON
@pass_state
def dismiss_cmd(state: CliState, flag_id: int, reason: str, note: str | None, whole_group: bool,
                reviewer: str | None, as_json: bool) -> None:
    """Dismiss a flag with a reason from the fixed list."""
    who = reviewer_identity(reviewer, state.settings)
    _print_decisions(_service(state).dismiss(flag_id, who, reason, note, whole_group), as_json)


@review_group.command("escalate")
@click.argument("flag_id", type=int)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the package (default: <evidence_dir>/escalations).")
@click.option("--language", type=click.Choice(["id", "en"]), default=None,
              help="Language of the summary and card (default: [review] language, Indonesian).")
@_REVIEWER
@_JSON
@pass_state
def escalate_cmd(state: CliState, flag_id: int, out: Path | None, language: str | None,
                 reviewer: str | None, as_json: bool) -> None:
    """Escalate a confirmed flag: write the package (folder + zip) for Bawaslu -> BKN -> PPK."""
    who = reviewer_identity(reviewer, state.settings)
    written, package = _service(state).escalate(flag_id, who, out, language)
    if as_json:
        emit_json({"review": written.to_json(), "package": {k: str(v) if isinstance(v, Path) else v
                                                            for k, v in package.items()}})
        return
    _print_decisions([written], False)
    console.print(f"package: {package['folder']}\nzip:     {package['zip']} "
                  f"(sha256 {package['zip_sha256']})", markup=False)


@review_group.command("history")
@click.argument("flag_id", type=int)
@_JSON
@pass_state
def history_cmd(state: CliState, flag_id: int, as_json: bool) -> None:
    """Every decision on a flag, oldest first, with its chain link."""
    rows = _service(state).history(flag_id)
    if as_json:
        emit_json([r.to_json() for r in rows])
        return
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
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write JSONL here instead of printing.")
@_JSON
@pass_state
def examples_cmd(state: CliState, out: Path | None, as_json: bool) -> None:
    """Reviewed flags as labelled training examples (JSONL) for the classifier."""
    import json

    from monitor.review import training_examples

    examples = training_examples(_service(state).store)
    if as_json:
        emit_json(examples)
        return
    lines = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples)
    if out is None:
        click.echo(lines, nl=False)
    else:
        out.write_text(lines, encoding="utf-8")
        console.print(f"{len(examples)} examples written to {out}", markup=False)


# -- evidence / verify -------------------------------------------------------


@click.group("evidence")
def evidence_group() -> None:
    """Evidence cards: render them after the fact (HTML, and PNG where Chromium is installed)."""


@evidence_group.command("render")
@click.argument("flag_ids", type=int, nargs=-1)
@click.option("--language", type=click.Choice(["id", "en"]), default=None,
              help="Card language (default: [review] language).")
@click.option("--no-png", is_flag=True, help="HTML only, no Chromium screenshot.")
@_JSON
@pass_state
def render_cmd(state: CliState, flag_ids: tuple[int, ...], language: str | None, no_png: bool,
               as_json: bool) -> None:
    """Render the cards of the given flags, or of every flag that has none yet."""
    from monitor.evidence import render_cards
    from storage.evidence import flags_without_card

    svc = _service(state)
    ids = list(flag_ids) or flags_without_card(svc.db)
    details = render_cards(svc.db, state.settings.evidence_dir, state.settings.review, ids,
                           language, png=not no_png)
    data = [{"flag_id": d.flag_id, "html": (d.file("card_html") or {}).get("path"),
             "png": (d.file("card_png") or {}).get("path")} for d in details]
    if as_json:
        emit_json(data)
        return
    for row in data:
        console.print(f"flag {row['flag_id']}: {row['html']} {row['png'] or '(no PNG)'}", markup=False)
    console.print(f"{len(data)} cards under {state.settings.evidence_dir}", markup=False)


@click.command("verify")
@click.option("--head", "heads", multiple=True, metavar="SEQ:HASH",
              help="A head seen earlier (digest email, escalation package): is it still in the chain? "
                   "Repeatable.")
@click.option("--package", "packages", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="An escalation package folder: check its head and timestamps. Repeatable.")
@_JSON
@pass_state
def verify_cmd(state: CliState, heads: tuple[str, ...], packages: tuple[Path, ...], as_json: bool) -> None:
    """Recompute the hash chain, re-hash raw bytes and evidence files, check timestamps and heads."""
    from monitor.anchoring import parse_head, verify_all
    from monitor.app import open_store

    wanted = [parse_head(h) for h in heads]
    report = verify_all(open_store(state.settings).db, state.settings, wanted, list(packages))
    if as_json:
        emit_json(report.to_json())
    else:
        console.print(f"{report.links} links, {report.raw_checked} raw responses and "
                      f"{report.files_checked} files re-hashed"
                      + (f", {report.raw_purged} raw purged" if report.raw_purged else "")
                      + f", {report.tokens_checked} timestamps and {report.heads_checked} heads checked"
                      + f"; head {report.links}:{report.head}", markup=False)
    if not report.ok:
        first = report.problems[0]
        raise ChainBroken(f"chain broken at {first} ({len(report.problems)} problems)")
    if not as_json:
        console.print("OK: chain intact", markup=False)


def register(cli: click.Group) -> None:
    """Add the review, evidence and verify commands to ``cli``."""
    for command in (review_group, evidence_group, verify_cmd):
        cli.add_command(command)
