"""The daemon's commands: ``run`` (one cycle, or the long-running daemon) and ``status``."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import click

from monitor.cli.output import Printer, console, output_options, table
from monitor.cli.state import CliState, pass_state
from monitor.errors import InputError
from monitor.pipeline import CycleStats, require_sources, run_cycle
from storage.digest import JAKARTA


@click.command("run")
@click.option("--once", is_flag=True, help="Run one full cycle and exit (default: run the daemon).")
@click.option("--source", "only", multiple=True, help="Only this source (repeatable).")
@click.option("--log-json", is_flag=True, help="Daemon logs as JSON lines (default: [daemon] log_format).")
@output_options
@pass_state
def run_cmd(state: CliState, once: bool, only: tuple[str, ...], out: Printer, log_json: bool) -> None:
    """Collect, classify and store: one cycle with --once, else the long-running daemon."""
    from monitor.app import build_pipeline

    settings = state.settings
    stop = threading.Event()
    if not once:
        from monitor import logs
        from monitor.daemon import install_signal_handlers

        # Logging and signals first: a SIGTERM while the pipeline is built still stops cleanly.
        logs.setup("json" if log_json else settings.daemon.log_format, settings.daemon.log_level)
        install_signal_handlers(stop)
    pipeline, _ = build_pipeline(settings)
    require_sources(pipeline.sources, f"{settings.file}: sources")
    unknown = sorted(set(only) - {s.name for s in pipeline.sources})
    if unknown:
        raise InputError(f"--source {', '.join(unknown)}: no enabled source of that name in {settings.file}")
    if not once:
        from monitor.daemon import run_daemon

        run_daemon(settings, pipeline, stop, only=list(only) or None)
        return
    run_id, stats = run_cycle(pipeline, trigger="once", only=list(only) or None)
    out.document({"run_id": run_id, "sources": [s.__dict__ for s in stats]},
                 human=lambda: _print_summary(run_id, stats))


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
    out.document({**report.to_json(), "daemon": daemon}, human=lambda: _print_status(report, daemon))


def _print_status(report: Any, daemon: dict[str, Any]) -> None:
    console.print(table("Tables", ["table", "rows"], sorted(report.counts.items())))
    run = report.last_run
    if run:
        console.print(table("Last run", list(run), [list(run.values())]))
    else:
        console.print("No run yet.")
    if report.last_errors:
        console.print(table("Last error per source", ["source", "account", "type", "message", "at"],
                            [(e["source"], e["account_key"], e["error_type"], e["message"], e["occurred_at"])
                             for e in report.last_errors]))
    console.print(f"Pending reviews: {report.pending_reviews}"
                  + (f" (oldest flagged {report.oldest_pending})" if report.oldest_pending else ""),
                  markup=False)
    if report.renames:
        console.print(table("Handle changes", ["account", "platform", "old", "new", "seen"],
                            [(r["account_id"], r["platform"], r["old_handle"], r["new_handle"],
                              r["seen_at"]) for r in report.renames]))
    print_daemon_status(daemon)


def daemon_status(db: Any) -> dict[str, Any]:
    """The daemon's heartbeat, its jobs' next runs and recent digests (for ``status``)."""
    from storage.daemon_state import DaemonState
    from storage.digest import DigestLog

    ds = DaemonState(db)
    return {"heartbeat": ds.heartbeat(), "jobs": [j.to_json() for j in ds.jobs()],
            "digests": [d.to_json() for d in DigestLog(db).deliveries(limit=5)]}


def _wib(iso: str | None) -> str | None:
    if not iso:
        return None
    return datetime.fromisoformat(iso).astimezone(JAKARTA).strftime("%Y-%m-%d %H:%M:%S")


def print_daemon_status(info: dict[str, Any]) -> None:
    """Print what ``daemon_status`` returned."""
    hb = info["heartbeat"]
    if hb is None:
        console.print("Daemon: never ran.")
    else:
        state = f"stopped {hb['stopped_at']}" if hb["stopped_at"] else f"last heartbeat {hb['beat_at']}"
        console.print(f"Daemon: pid {hb['pid']} on {hb['host']}, started {hb['started_at']}, {state}",
                      markup=False)
    if info["jobs"]:
        console.print(table("Jobs (times in WIB)", ["job", "schedule", "next run", "last status",
                                                   "last finished"],
                            [(j["job_id"], j["schedule"], _wib(j["next_run_at"]) or "-",
                              j["last_status"], _wib(j["last_finished_at"])) for j in info["jobs"]]))
    if info["digests"]:
        console.print(table("Recent digests", ["week", "audience", "status", "attempts", "sent at"],
                            [(d["week"], d["audience"], d["status"], d["attempts"], d["sent_at"])
                             for d in info["digests"]]))


def register(cli: click.Group) -> None:
    """Add ``run`` and ``status`` to ``cli``."""
    for command in (run_cmd, status_cmd):
        cli.add_command(command)
