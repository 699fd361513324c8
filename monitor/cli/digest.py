"""The weekly digest email to leadership: ``digest preview|send|list``."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from monitor.cli.output import Printer, console, output_options
from monitor.cli.state import CliState, pass_state
from monitor.errors import DeliveryError, InputError
from storage.digest import Scope


def _scope(text: str) -> Scope:
    if text == "all":
        return Scope()
    kind, _, value = text.partition(":")
    if kind not in ("region", "agency") or not value:
        raise InputError(f"--audience {text!r}: expected all, region:CODE or agency:NAME")
    return Scope(kind, value)  # type: ignore[arg-type]


@click.group("digest")
def digest_group() -> None:
    """The weekly digest email to leadership (Indonesian by default)."""


@digest_group.command("preview")
@click.option("--week", default=None, help="ISO week, e.g. 2024-W38 (default: the last complete week).")
@click.option("--out", "html_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the HTML (chart inlined) to this file; without it, print the text version.")
@click.option("--language", type=click.Choice(["id", "en"]), default=None,
              help="Language (default: [digest] language, Indonesian).")
@click.option("--audience", default="all", show_default=True,
              help="all, region:CODE or agency:NAME.")
@output_options
@pass_state
def digest_preview(state: CliState, week: str | None, html_path: Path | None, language: str | None,
                   audience: str, out: Printer) -> None:
    """Render a week's digest without sending it."""
    from monitor.digest import parse_week, preview_html, previous_week, render_for

    settings = state.settings
    now = datetime.now(UTC)
    week = parse_week(week) if week else previous_week(now)
    started = time.monotonic()
    rendered, flags = render_for(state.db(), settings, week, _scope(audience),
                                 language or settings.digest.language, now)
    elapsed = time.monotonic() - started
    if html_path is not None:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(preview_html(rendered), encoding="utf-8")
        html_path.with_suffix(".png").write_bytes(rendered.png)
    png_path = html_path.with_suffix(".png") if html_path else None
    data = {"week": week, "audience": audience, "flags": flags, "subject": rendered.subject,
            "text": rendered.text, "html": str(html_path) if html_path else None,
            "png": str(png_path) if png_path else None, "seconds": round(elapsed, 3)}

    def human() -> None:
        if html_path is None:
            click.echo(rendered.subject)
            click.echo()
            click.echo(rendered.text)
        else:
            console.print(f"Digest {week}: {flags} new flags; wrote {html_path} and {png_path} "
                          f"in {elapsed:.2f}s", markup=False)

    out.document(data, human)


@digest_group.command("send")
@click.option("--week", default=None, help="ISO week, e.g. 2024-W38 (default: the last complete week).")
@click.option("--force", is_flag=True, help="Send again even if this week's digest was already sent.")
@output_options
@pass_state
def digest_send(state: CliState, week: str | None, force: bool, out: Printer) -> None:
    """Send a week's digest over SMTP, once per week and audience (unless --force)."""
    from monitor.digest import parse_week, previous_week, send_week

    week = parse_week(week) if week else previous_week(datetime.now(UTC))
    outcomes = send_week(state.db(), state.settings, week, force=force)
    out.records([o.__dict__ for o in outcomes], human=lambda: _print_outcomes(outcomes))
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        raise DeliveryError(f"{len(failed)} of {len(outcomes)} digests for {week} failed; "
                            "recorded as failed, the daemon retries them")


def _print_outcomes(outcomes: list[Any]) -> None:
    for o in outcomes:
            what = {"sent": f"sent to {', '.join(o.recipients)} ({o.flags} new flags, "
                            f"{o.message_id}, {o.seconds:.2f}s)" + (f"; {o.detail}" if o.detail else ""),
                    "skipped": f"not sent: {o.detail} ({o.message_id}); use --force to send again",
                    "failed": f"FAILED, will be retried: {o.detail}"}[o.status]
            console.print(f"digest {o.week} [{o.audience}] {what}", markup=False)


@digest_group.command("list")
@output_options
@pass_state
def digest_list(state: CliState, out: Printer) -> None:
    """The recorded digest deliveries (week, audience, status, attempts, Message-ID)."""
    from storage.digest import DigestLog

    rows = DigestLog(state.db()).deliveries(limit=100)
    out.records([r.to_json() for r in rows], "Digests",
                ["week", "audience", "status", "attempts", "flags", "sent_at", "message_id", "error"])


def register(cli: click.Group) -> None:
    """Add ``digest`` to ``cli``."""
    cli.add_command(digest_group)
