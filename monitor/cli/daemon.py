"""The daemon's commands: ``run`` (one cycle, or the long-running daemon) and ``status``."""

from __future__ import annotations

from typing import Any

import click

from monitor.app import pipeline_for
from monitor.cli.output import Printer, console, output_options, table
from monitor.cli.state import CliState, pass_state
from monitor.pipeline import CycleStats, run_cycle


@click.command("run")
@click.option("--once", is_flag=True, help="Run one full cycle and exit (default: run the daemon).")
@click.option("--source", "only", multiple=True, help="Only this source (repeatable).")
@click.option("--log-json", is_flag=True, help="Daemon logs as JSON lines (default: [daemon] log_format).")
@output_options
@pass_state
def run_cmd(state: CliState, once: bool, only: tuple[str, ...], out: Printer, log_json: bool) -> None:
    """Collect, classify and store: one cycle with --once, else the long-running daemon."""
    from monitor.check import preflight, raise_if_failed

    settings = state.settings
    preflight(settings)  # every settings, path and input problem at once, before anything starts
    if not once:
        from monitor.daemon import start

        start(settings, list(only) or None, log_json)
        return
    pipeline = pipeline_for(settings, only)
    run_id, stats = run_cycle(pipeline, trigger="once", only=list(only) or None)
    out.document({"run_id": run_id, "sources": [s.__dict__ for s in stats]},
                 human=lambda: _print_summary(run_id, stats))
    raise_if_failed(stats)


def _print_summary(run_id: int, stats: list[CycleStats]) -> None:
    counts = [[s.pages, s.seen, s.new, s.duplicate, s.skipped, s.flagged, len(s.errors)] for s in stats]
    rows: list[list[object]] = [[s.source, *c] for s, c in zip(stats, counts, strict=True)]
    rows.append(["total", *(sum(col) for col in zip(*counts, strict=True))] if counts else ["total"])
    console.print(table(f"Run {run_id}", ["source", "pages", "seen", "new", "duplicate",
                                           "skipped", "flagged", "errors"], rows))
    for s in stats:
        for line in s.skipped_detail[:20]:
            console.print(f"skipped {line}", markup=False)
        for line in s.errors[:20]:
            console.print(f"error   {s.source} {line}", markup=False)


@click.command("status")
@output_options
@pass_state
def status_cmd(state: CliState, out: Printer) -> None:
    """Counts per table, the last run, the last error per source, pending reviews, renames."""
    from storage.status import status_report

    db = state.db()
    report = status_report(db)
    daemon = daemon_status(db)
    zone = state.settings.review.office_zone or "WIB"  # operators' times: the office's zone
    out.document({**report.to_json(), "daemon": daemon},
                 human=lambda: _print_status(report, daemon, zone))


def _print_status(report: Any, daemon: dict[str, Any], zone: str) -> None:
    from monitor.localtime import show

    console.print(table("Tables", ["table", "rows"], sorted(report.counts.items())))
    run = report.last_run
    if run:  # one row per field: 11 columns side by side would not fit a terminal
        console.print(table("Last run", ["field", "value"],
                            [(k, show(v, zone, seconds=True) if k.endswith("_at") else v)
                             for k, v in run.items()]))
    else:
        console.print("No run yet.")
    if report.last_errors:
        console.print(table("Last error per source", ["source", "account", "type", "message", "at"],
                            [(e["source"], e["account_key"], e["error_type"], e["message"],
                              show(e["occurred_at"], zone)) for e in report.last_errors]))
    oldest = report.oldest_pending
    console.print(f"Pending reviews: {report.pending_reviews}"
                  + (f" (oldest flagged {show(oldest, zone)})" if oldest else ""), markup=False)
    if report.renames:
        console.print(table("Handle changes", ["account", "platform", "old", "new", "seen"],
                            [(r["account_id"], r["platform"], r["old_handle"], r["new_handle"],
                              show(r["seen_at"], zone)) for r in report.renames]))
    print_daemon_status(daemon, zone)


def daemon_status(db: Any) -> dict[str, Any]:
    """The daemon's heartbeat, its jobs' next runs, crashes, streams and recent digests (for ``status``)."""
    from storage.daemon_state import DaemonState
    from storage.digest import DigestLog
    from storage.stream import StreamState

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
    """Add ``run`` and ``status`` to ``cli``."""
    for command in (run_cmd, status_cmd):
        cli.add_command(command)
