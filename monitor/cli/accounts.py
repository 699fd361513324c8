"""The roster and the election registries: ``accounts import|list`` and ``registry check``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from monitor.cli.output import Printer, console, output_options, table
from monitor.cli.state import CliState, pass_state


@click.group("accounts")
def accounts_group() -> None:
    """The monitored ASN accounts (the roster)."""


@accounts_group.command("import")
@click.argument("roster", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True,
              help="The file is the whole roster: accounts not in it are deactivated.")
@click.option("--yes", is_flag=True, help="With --replace: apply the changes shown.")
@click.option("--by", default=None, help="Who makes the change (kept in the history).")
@output_options
@pass_state
def accounts_import(state: CliState, roster: Path, replace: bool, yes: bool, by: str | None,
                    out: Printer) -> None:
    """Import a roster CSV (account_id,name,nip,agency,region,platform,handle).

    Comma, semicolon or tab separated; NIPs may contain spaces or dots. Every bad row
    is listed. With --replace, shows what it would add, change and deactivate; --yes applies.
    """
    from monitor.app import open_store
    from monitor.cli.roster import print_plan
    from monitor.inputs import read_regions, read_roster
    from monitor.roster import apply_import, plan_import

    settings = state.settings
    regions = read_regions(settings.resolve(settings.inputs.regions))
    accounts = read_roster(roster, regions)
    store = open_store(settings)
    plan = plan_import(store, accounts, replace)
    if replace and not yes:
        print_plan(plan, out, applied=False)
        return
    store.save_regions(regions.values())
    people, handles = apply_import(store, plan, roster.name, by)

    def human() -> None:
        if replace:
            print_plan(plan, out, applied=True)
        console.print(f"Imported {len(accounts)} rows: {people} people, {handles} new handles.",
                      markup=False)

    out.document({"rows": len(accounts), "people": people, "new_handles": handles,
                  **({"plan": plan.to_json()} if replace else {})}, human=human)


@accounts_group.command("list")
@output_options
@pass_state
def accounts_list(state: CliState, out: Printer) -> None:
    """List monitored accounts with their current handle and stable id."""
    from monitor.app import open_store
    from storage.roster import inactive

    store = open_store(state.settings)
    off = inactive(store.db)
    rows = store.current_handles()
    data = [{**r.account.__dict__, "platform_user_id": r.platform_user_id,
             "active": r.account.account_id not in off} for r in rows]
    out.records(data, "Accounts", ["account_id", "name", "agency", "region", "platform", "handle",
                                   "platform_user_id", "active"])


@click.group("registry")
def registry_group() -> None:
    """Election registries: elections, candidates, parties."""


@registry_group.command("check")
@output_options
@pass_state
def registry_check(state: CliState, out: Printer) -> None:
    """Validate the region table, roster and registries; list candidates, parties and aliases."""
    from monitor.app import load_inputs

    inputs = load_inputs(state.settings)
    out.records([{
        "election": r.election.__dict__,
        "candidates": [c.__dict__ for c in r.candidates],
        "parties": [p.__dict__ for p in r.parties],
        "source": r.source,
    } for r in inputs.registries], human=lambda: _print_registries(inputs))


def _print_registries(inputs: Any) -> None:
    for reg in inputs.registries:
        e = reg.election
        console.print(f"{e.id}: {e.name} ({e.level}, region {e.region or '-'}, voting {e.voting_day},"
                      f" campaign {e.campaign_start} to {e.campaign_end})", markup=False)
        console.print(table("Candidates", ["no", "id", "people", "aliases", "hashtags", "parties"],
                            [(c.ballot_number, c.id, ", ".join(c.people), ", ".join(c.aliases),
                              " ".join("#" + h for h in c.hashtags), ", ".join(c.parties))
                             for c in reg.candidates]))
        console.print(table("Parties", ["no", "id", "names"],
                            [(p.ballot_number, p.id, ", ".join(p.names)) for p in reg.parties]))
    console.print(f"OK: {len(inputs.registries)} registries, {len(inputs.roster)} roster rows, "
                  f"{len(inputs.regions)} regions.", markup=False)


def register(cli: click.Group) -> None:
    """Add ``accounts`` and ``registry`` to ``cli``."""
    for command in (accounts_group, registry_group):
        cli.add_command(command)
