"""Anchoring and backup commands: ``anchor head|stamp|list``, ``backup``, ``restore``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from monitor.cli.output import Printer, console, output_options
from monitor.cli.state import CliState, pass_state
from monitor.errors import ChainBroken


@click.group("anchor")
def anchor_group() -> None:
    """The evidence chain's head and its RFC 3161 timestamps ([anchoring] tsa_urls)."""


@anchor_group.command("head")
@output_options
@pass_state
def head_cmd(state: CliState, out: Printer) -> None:
    """Print the chain's current head as SEQ:HASH (keep it; check it later with verify --head)."""
    from monitor.anchoring import head_now
    from monitor.app import open_store

    head = head_now(open_store(state.settings).db)
    out.document({"seq": head.seq, "hash": head.hash, "text": str(head)},
                 human=lambda: click.echo(str(head)))


@anchor_group.command("stamp")
@click.option("--force", is_flag=True, help="Stamp even when this head has a token already.")
@output_options
@pass_state
def stamp_cmd(state: CliState, force: bool, out: Printer) -> None:
    """Timestamp the current head now with every configured TSA (the daemon does it daily)."""
    from monitor.anchoring import stamp_head
    from monitor.app import open_store

    results = stamp_head(open_store(state.settings).db, state.settings, force=force)
    rows: list[dict[str, Any]] = [{"tsa_url": r.tsa_url, "error": r.error,
                                   "token": r.token.to_json() if r.token else None} for r in results]
    out.records(rows, human=lambda: _print_stamps(state, rows))


def _print_stamps(state: CliState, rows: list[dict[str, Any]]) -> None:
    if not state.settings.anchoring.tsa_urls:
        console.print("no TSA configured ([anchoring] tsa_urls)", markup=False)
    elif not rows:
        console.print("the current head is stamped already (use --force to stamp it again)",
                      markup=False)
    for row in rows:
        token = row["token"]
        console.print(f"{row['tsa_url']}: " + (f"head {token['seq']}:{token['head']} at {token['gen_time']}"
                                               if token else f"failed: {row['error']}"), markup=False)


@anchor_group.command("list")
@output_options
@pass_state
def list_cmd(state: CliState, out: Printer) -> None:
    """List the stored timestamp tokens (what each covers, which TSA, when)."""
    from monitor.app import open_store
    from storage.anchors import tokens

    with open_store(state.settings).db.connect() as con:
        rows = [t.to_json() for t in tokens(con)]
    out.records(rows, human=lambda: _print_tokens(rows))


def _print_tokens(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        console.print(f"#{r['token_id']} {r['purpose']} seq {r['seq']} {r['head'][:16]}… "
                      f"{r['tsa_url']} {r['gen_time']}", markup=False)
    console.print(f"{len(rows)} tokens", markup=False)


@click.command("backup")
@click.option("--out", "folder", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="A new folder for the backup (the database, the evidence folder, a manifest).")
@output_options
@pass_state
def backup_cmd(state: CliState, folder: Path, out: Printer) -> None:
    """Back up the database and evidence folder while the daemon runs (a short lock, then a copy)."""
    from monitor.app import open_store
    from monitor.backup import backup

    done = backup(open_store(state.settings).db, state.settings, folder)
    out.document(done.to_json(), human=lambda: console.print(
        f"backup written to {done.folder}: {done.files} files, {done.decisions} decisions, "
        f"chain head {done.head} ({done.seconds:.1f}s)", markup=False))


@click.command("restore")
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--to", "to", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="A new folder for the restored database and evidence folder.")
@output_options
@pass_state
def restore_cmd(state: CliState, folder: Path, to: Path, out: Printer) -> None:
    """Check a backup against its manifest, restore it into a new folder and run verify on it."""
    from monitor.backup import restore

    done = restore(folder, to, state.settings)
    out.document(done.to_json(), human=lambda: console.print(
        f"restored {done.database} and {done.evidence} ({done.decisions} decisions); "
        f"verify: {done.report.links} links, head {done.report.links}:{done.report.head}",
        markup=False))
    if not done.report.ok:
        raise ChainBroken(f"restored copy fails verify: {done.report.problems[0]}")
    if out.for_people:
        console.print("OK: restored copy verified. Point [storage] path and [review] evidence_dir at "
                      "it to use it.", markup=False)


def register(cli: click.Group) -> None:
    """Add the anchor, backup and restore commands to ``cli``."""
    for command in (anchor_group, backup_cmd, restore_cmd):
        cli.add_command(command)
