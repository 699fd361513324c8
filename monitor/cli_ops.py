"""Operations and audit commands: ``digest``, ``sql``, ``export`` and ``retention``."""

from __future__ import annotations

import csv
import io
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click

from monitor.cli import CliState, console, emit_json, pass_state, table
from monitor.errors import DeliveryError, InputError
from storage.digest import Scope


def _db(state: CliState) -> Any:
    from monitor.app import open_store

    return open_store(state.settings).db


def _read_only_db(state: CliState) -> Any:
    """The database for auditors: never migrated or written, so a read-only copy works too."""
    from storage.db import Database

    settings = state.settings
    if not settings.db_path.exists():
        raise InputError(f"{settings.db_path}: no database yet (run `asn-monitor run --once` first)")
    return Database(settings.db_path, lock_timeout=settings.storage.lock_timeout)


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
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the HTML (chart inlined) to this file; without it, print the text version.")
@click.option("--language", type=click.Choice(["id", "en"]), default=None,
              help="Language (default: [digest] language, Indonesian).")
@click.option("--audience", default="all", show_default=True,
              help="all, region:CODE or agency:NAME.")
@pass_state
def digest_preview(state: CliState, week: str | None, out: Path | None, language: str | None,
                   audience: str) -> None:
    """Render a week's digest without sending it."""
    from monitor.digest import parse_week, preview_html, previous_week, render_for

    settings = state.settings
    now = datetime.now(UTC)
    week = parse_week(week) if week else previous_week(now)
    started = time.monotonic()
    rendered, flags = render_for(_db(state), settings, week, _scope(audience),
                                 language or settings.digest.language, now)
    elapsed = time.monotonic() - started
    if out is None:
        click.echo(rendered.subject)
        click.echo()
        click.echo(rendered.text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(preview_html(rendered), encoding="utf-8")
    out.with_suffix(".png").write_bytes(rendered.png)
    console.print(f"Digest {week}: {flags} new flags; wrote {out} and {out.with_suffix('.png')} "
                  f"in {elapsed:.2f}s", markup=False)


@digest_group.command("send")
@click.option("--week", default=None, help="ISO week, e.g. 2024-W38 (default: the last complete week).")
@click.option("--force", is_flag=True, help="Send again even if this week's digest was already sent.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@pass_state
def digest_send(state: CliState, week: str | None, force: bool, as_json: bool) -> None:
    """Send a week's digest over SMTP, once per week and audience (unless --force)."""
    from monitor.digest import parse_week, previous_week, send_week

    week = parse_week(week) if week else previous_week(datetime.now(UTC))
    outcomes = send_week(_db(state), state.settings, week, force=force)
    if as_json:
        emit_json([o.__dict__ for o in outcomes])
    else:
        for o in outcomes:
            what = {"sent": f"sent to {', '.join(o.recipients)} ({o.flags} new flags, "
                            f"{o.message_id}, {o.seconds:.2f}s)" + (f"; {o.detail}" if o.detail else ""),
                    "skipped": f"not sent: {o.detail} ({o.message_id}); use --force to send again",
                    "failed": f"FAILED, will be retried: {o.detail}"}[o.status]
            console.print(f"digest {o.week} [{o.audience}] {what}", markup=False)
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        raise DeliveryError(f"{len(failed)} of {len(outcomes)} digests for {week} failed; "
                            "recorded as failed, the daemon retries them")


@digest_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_state
def digest_list(state: CliState, as_json: bool) -> None:
    """The recorded digest deliveries (week, audience, status, attempts, Message-ID)."""
    from storage.digest import DigestLog

    rows = DigestLog(_db(state)).deliveries(limit=100)
    if as_json:
        emit_json([r.to_json() for r in rows])
        return
    console.print(table("Digests", ["week", "audience", "status", "attempts", "flags", "sent at",
                                    "message id", "error"],
                        [(r.week, r.audience, r.status, r.attempts, r.flags, r.sent_at, r.message_id,
                          r.error) for r in rows]))


def _cell(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (datetime, date)) else value


@click.command("sql")
@click.argument("statement")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="Output format.")
@pass_state
def sql_cmd(state: CliState, statement: str, fmt: str) -> None:
    """Run one read-only SELECT query and print its rows (see docs/audits.md for the views)."""
    from storage.audit import query

    columns, rows = query(_read_only_db(state), statement)
    if fmt == "json":
        emit_json([{c: _cell(v) for c, v in zip(columns, r, strict=True)} for r in rows])
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_cell(v) for v in r] for r in rows)
        sys.stdout.write(buf.getvalue())
    else:
        console.print(table(f"{len(rows)} rows", columns, [[_cell(v) for v in r] for r in rows]))


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), required=True,
              help="File format (Parquet written natively by DuckDB).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First day (WIB) of flags to export.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last day (WIB, inclusive) of flags to export.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write flags, items, classifications, reviews and evidence files into.")
@click.option("--pseudonymise", is_flag=True,
              help="Replace names, NIPs, handles and URLs with stable keyed hashes (key: "
                   "$ASN_MONITOR_PSEUDONYM_KEY, or [audit] pseudonym_key_env).")
@click.option("--json", "as_json", is_flag=True, help="Print the files written as JSON.")
@pass_state
def export_cmd(state: CliState, fmt: str, since: datetime | None, until: datetime | None, out: Path,
               pseudonymise: bool, as_json: bool) -> None:
    """Export flags (with names, agencies, regions, candidates) and their items, reviews, evidence."""
    from monitor.audit_export import pseudonymiser
    from monitor.progress import task
    from storage.audit import EXPORT_TABLES, export

    hasher = pseudonymiser(state.settings) if pseudonymise else None
    with task("Exporting tables", total=len(EXPORT_TABLES)) as advance:
        written = export(_read_only_db(state), out, fmt,  # type: ignore[arg-type]
                         since.date() if since else None, until.date() if until else None,
                         on_table=lambda _t: advance(), pseudonymise=hasher)
    if as_json:
        emit_json({t: {"path": str(p), "rows": n} for t, (p, n) in written.items()})
        return
    console.print(table("Exported", ["table", "rows", "file"],
                        [(t, n, p) for t, (p, n) in written.items()]))


@click.group("retention")
def retention_group() -> None:
    """Data minimisation: purge the content of items that were never flagged."""


@retention_group.command("run")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Override [retention] raw_days for this run.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_state
def retention_run(state: CliState, days: int | None, as_json: bool) -> None:
    """Purge text and raw bytes of unflagged items first seen more than raw_days ago."""
    from monitor.progress import task
    from storage.audit import purge_unflagged

    raw_days = days or state.settings.retention.raw_days
    with task("Purging unflagged content"):
        result = purge_unflagged(_db(state), raw_days)
    if as_json:
        emit_json({"raw_days": raw_days, "cutoff": result.cutoff.isoformat(),
                   "items_purged": result.items_purged, "raw_purged": result.raw_purged})
        return
    console.print(f"Retention ({raw_days} days, cutoff {result.cutoff:%Y-%m-%d %H:%M} UTC): "
                  f"{result.items_purged} items and {result.raw_purged} raw responses purged.",
                  markup=False)


def daemon_status(state: CliState) -> dict[str, Any]:
    """The daemon's heartbeat, its jobs' next runs and recent digests (for ``status``)."""
    from storage.daemon_state import DaemonState
    from storage.digest import DigestLog
    from storage.stream import StreamState

    db = _db(state)
    ds = DaemonState(db)
    return {"heartbeat": ds.heartbeat(), "jobs": [j.to_json() for j in ds.jobs()],
            "crashes": ds.crashes(hours=24),
            "digests": [d.to_json() for d in DigestLog(db).deliveries(limit=5)],
            **StreamState(db).report()}


def print_daemon_status(info: dict[str, Any], zone: str = "WIB") -> None:
    """Print what ``daemon_status`` returned (times in ``zone``, named)."""
    from monitor.localtime import show

    hb = info["heartbeat"]
    if hb is None:
        console.print("Daemon: never ran.")
    else:
        state = (f"stopped {show(hb['stopped_at'], zone, True)}" if hb["stopped_at"]
                 else f"last heartbeat {show(hb['beat_at'], zone, True)}")
        console.print(f"Daemon: pid {hb['pid']} on {hb['host']}, started "
                      f"{show(hb['started_at'], zone, True)}, {state}", markup=False)
    crashes = info.get("crashes") or {}
    if crashes.get("count"):
        console.print(f"Daemon CRASHED {crashes['count']} times in the last {crashes['hours']:g} h; "
                      f"last at {show(crashes['last_at'], zone, True)}: {crashes['last_error']}",
                      markup=False)
    if info["jobs"]:
        console.print(table(f"Jobs (times in {zone})", ["job", "schedule", "next run", "status",
                                                       "last finished"],
                            [(j["job_id"], j["schedule"], show(j["next_run_at"], zone),
                              j["last_status"], show(j["last_finished_at"], zone))
                             for j in info["jobs"]]))
        for j in info["jobs"]:
            if j["last_status"] == "failed" and j["last_error"]:
                console.print(f"job {j['job_id']} failed: {j['last_error']}", markup=False)
    print_stream_status(info, zone)
    if info["digests"]:
        console.print(table("Recent digests", ["week", "audience", "status", "attempts", "sent at"],
                            [(d["week"], d["audience"], d["status"], d["attempts"],
                              show(d["sent_at"], zone)) for d in info["digests"]]))


def print_stream_status(info: dict[str, Any], zone: str) -> None:
    """Print the live streams (last seq, lag), accounts not active, and withdrawals."""
    from monitor.localtime import show

    if info.get("streams"):
        console.print(table(f"Streams (times in {zone})", ["source", "last seq", "lag (s)", "connected",
                                                      "reconnects", "backfills", "updated"],
                            [(s["source"], s["last_seq"], "-" if s["lag_s"] is None
                              else f"{s['lag_s']:.1f}", "yes" if s["connected"] else "no",
                              s["reconnects"], s["backfills"], show(s["updated_at"], zone))
                             for s in info["streams"]]))
    if info.get("inactive_accounts"):
        console.print(table("Accounts not active", ["account", "platform", "id", "status", "since"],
                            [(a["account_id"], a["platform"], a["platform_user_id"], a["status"],
                              show(a["changed_at"], zone)) for a in info["inactive_accounts"]]))
    w = info.get("withdrawals") or {}
    if w.get("total"):
        console.print(f"Withdrawn records: {w['total']} ({w['of_stored_items']} of stored items, "
                      f"{w['never_seen']} never seen before their deletion)", markup=False)


def register(cli: click.Group) -> None:
    """Add the operations and audit commands to ``cli``."""
    for command in (digest_group, sql_cmd, export_cmd, retention_group):
        cli.add_command(command)
