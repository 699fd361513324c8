"""Roster upkeep commands: ``accounts deactivate``, ``accounts activate``, ``accounts history``."""

from __future__ import annotations

import click

from monitor.cli.output import Printer, console, output_options, table
from monitor.cli.state import CliState, pass_state
from monitor.roster import ImportPlan


def print_plan(plan: ImportPlan, out: Printer, applied: bool) -> None:
    """What an ``accounts import --replace`` does (or would do, until --yes)."""
    out.document({"applied": applied, **plan.to_json()}, human=lambda: _print_plan(plan, applied))


def _print_plan(plan: ImportPlan, applied: bool) -> None:
    rows = [*(("add", a, "") for a in plan.add),
            *(("change", a, "; ".join(c)) for a, c in plan.change.items()),
            *(("deactivate", a, "not in the file") for a in plan.deactivate),
            *(("reactivate", a, "listed again") for a in plan.reactivate)]
    if rows:
        console.print(table("Roster changes" + ("" if applied else " (not applied)"),
                            ["action", "account", "detail"], rows))
    else:
        console.print("The roster file matches the stored roster.", markup=False)
    if not applied and not plan.empty:
        console.print("Nothing changed yet: rerun with --yes to apply.", markup=False)


def _by(by: str | None) -> str | None:
    import os

    return by or os.environ.get("ASN_MONITOR_REVIEWER") or os.environ.get("USER")


@click.command("deactivate")
@click.argument("account_ids", nargs=-1, required=True)
@click.option("--reason", required=True, help="Why (retired, moved, wrong handle, ...).")
@click.option("--by", default=None, help="Who (default: $ASN_MONITOR_REVIEWER, then $USER).")
@pass_state
def deactivate_cmd(state: CliState, account_ids: tuple[str, ...], reason: str, by: str | None) -> None:
    """Stop collecting these accounts; their flags and evidence stay. Kept in the history."""
    from monitor.app import open_store
    from storage.roster import set_active

    changed = set_active(open_store(state.settings).db, list(account_ids), False, reason, _by(by))
    for account_id in account_ids:
        console.print(f"{account_id}: " + ("deactivated" if account_id in changed
                                           else "already inactive"), markup=False)


@click.command("activate")
@click.argument("account_ids", nargs=-1, required=True)
@click.option("--reason", default="reactivated", show_default=True, help="Why.")
@click.option("--by", default=None, help="Who (default: $ASN_MONITOR_REVIEWER, then $USER).")
@pass_state
def activate_cmd(state: CliState, account_ids: tuple[str, ...], reason: str, by: str | None) -> None:
    """Collect these accounts again. Kept in the history."""
    from monitor.app import open_store
    from storage.roster import set_active

    changed = set_active(open_store(state.settings).db, list(account_ids), True, reason, _by(by))
    for account_id in account_ids:
        console.print(f"{account_id}: " + ("activated" if account_id in changed else "already active"),
                      markup=False)


@click.command("history")
@click.argument("account_id", required=False)
@output_options
@pass_state
def history_cmd(state: CliState, account_id: str | None, out: Printer) -> None:
    """Every deactivation and reactivation (of one account, or all), with reason and who."""
    from monitor.app import open_store
    from monitor.localtime import show
    from storage.roster import history

    changes = history(open_store(state.settings).db, account_id)
    zone = state.settings.review.office_zone or "WIB"
    out.records([c.to_json() for c in changes], human=lambda: console.print(table(
        "Account history", ["account", "change", "reason", "by", "when"],
        [(c.account_id, "activated" if c.active else "deactivated", c.reason,
          c.changed_by, show(c.changed_at, zone)) for c in changes])))


def register(cli: click.Group) -> None:
    """Add the upkeep commands to the ``accounts`` group."""
    group = cli.commands["accounts"]
    assert isinstance(group, click.Group)
    for command in (deactivate_cmd, activate_cmd, history_cmd):
        group.add_command(command)
