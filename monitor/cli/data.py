"""The data itself, for auditors and operators: ``sql``, ``export`` and ``retention run``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from monitor.cli.output import FORMATS, Printer, console, output_options
from monitor.cli.state import CliState, pass_state


@click.command("sql")
@click.argument("statement")
@click.option("--format", "legacy_format", type=click.Choice(FORMATS), default=None,
              help="The same as --table, --csv, --json or --jsonl (kept for existing scripts).")
@output_options
@pass_state
def sql_cmd(state: CliState, statement: str, legacy_format: str | None, out: Printer) -> None:
    """Run one read-only SELECT query and print its rows (see docs/audits.md for the views)."""
    from storage.audit import query

    columns, rows = query(state.read_only_db(), statement)
    printer = Printer(legacy_format) if legacy_format else out
    printer.rows(columns, rows, f"{len(rows)} rows")


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), required=True,
              help="File format (Parquet written natively by DuckDB).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First day (WIB) of flags to export.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last day (WIB, inclusive) of flags to export.")
@click.option("--out", "folder", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write flags, items, classifications, reviews and evidence files into.")
@click.option("--pseudonymise", is_flag=True,
              help="Replace names, NIPs, handles and URLs with stable keyed hashes (key: "
                   "$ASN_MONITOR_PSEUDONYM_KEY, or [audit] pseudonym_key_env).")
@output_options
@pass_state
def export_cmd(state: CliState, fmt: str, since: datetime | None, until: datetime | None, folder: Path,
               pseudonymise: bool, out: Printer) -> None:
    """Export flags (with names, agencies, regions, candidates) and their items, reviews, evidence."""
    from monitor.audit_export import pseudonymiser
    from monitor.progress import task
    from storage.audit import EXPORT_TABLES, export

    hasher = pseudonymiser(state.settings) if pseudonymise else None
    with task("Exporting tables", total=len(EXPORT_TABLES)) as advance:
        written = export(state.read_only_db(), folder, fmt,  # type: ignore[arg-type]
                         since.date() if since else None, until.date() if until else None,
                         on_table=lambda _t: advance(), pseudonymise=hasher)
    out.records([{"table": t, "rows": n, "file": str(p)} for t, (p, n) in written.items()], "Exported")


@click.group("retention")
def retention_group() -> None:
    """Data minimisation: purge the content of items that were never flagged."""


@retention_group.command("run")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Override [retention] raw_days for this run.")
@output_options
@pass_state
def retention_run(state: CliState, days: int | None, out: Printer) -> None:
    """Purge text and raw bytes of unflagged items first seen more than raw_days ago."""
    from monitor.progress import task
    from storage.audit import purge_unflagged

    raw_days = days or state.settings.retention.raw_days
    with task("Purging unflagged content"):
        result = purge_unflagged(state.db(), raw_days)
    out.document({"raw_days": raw_days, "cutoff": result.cutoff.isoformat(),
                  "items_purged": result.items_purged, "raw_purged": result.raw_purged},
                 human=lambda: console.print(
                     f"Retention ({raw_days} days, cutoff {result.cutoff:%Y-%m-%d %H:%M} UTC): "
                     f"{result.items_purged} items and {result.raw_purged} raw responses purged.",
                     markup=False))


def register(cli: click.Group) -> None:
    """Add ``sql``, ``export`` and ``retention`` to ``cli``."""
    for command in (sql_cmd, export_cmd, retention_group):
        cli.add_command(command)
