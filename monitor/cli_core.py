"""Core commands: ``run``, ``status``, ``accounts`` and ``registry``."""

from __future__ import annotations

from pathlib import Path

import click

from monitor.app import pipeline_for
from monitor.cli import CliState, console, emit_json, pass_state, table
from monitor.pipeline import CycleStats, run_cycle


@click.command("run")
@click.option("--once", is_flag=True, help="Run one full cycle and exit (default: run the daemon).")
@click.option("--source", "only", multiple=True, help="Only this source (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--log-json", is_flag=True, help="Daemon logs as JSON lines (default: [daemon] log_format).")
@pass_state
def run_cmd(state: CliState, once: bool, only: tuple[str, ...], as_json: bool, log_json: bool) -> None:
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
    if as_json:
        emit_json({"run_id": run_id, "sources": [s.__dict__ for s in stats]})
    else:
        _print_summary(run_id, stats)
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
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_state
def status_cmd(state: CliState, as_json: bool) -> None:
    """Counts per table, the last run, the last error per source, pending reviews, renames."""
    from monitor.app import open_store
    from monitor.cli_ops import daemon_status, print_daemon_status
    from storage.status import status_report

    report = status_report(open_store(state.settings).db)
    daemon = daemon_status(state)
    if as_json:
        emit_json({**report.to_json(), "daemon": daemon})
        return
    from monitor.localtime import show

    zone = state.settings.review.office_zone or "WIB"  # operators' times: the office's zone
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


@click.group("accounts")
def accounts_group() -> None:
    """The monitored ASN accounts (the roster)."""


@accounts_group.command("import")
@click.argument("roster", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True,
              help="The file is the whole roster: accounts not in it are deactivated.")
@click.option("--yes", is_flag=True, help="With --replace: apply the changes shown.")
@click.option("--by", default=None, help="Who makes the change (kept in the history).")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@pass_state
def accounts_import(state: CliState, roster: Path, replace: bool, yes: bool, by: str | None,
                    as_json: bool) -> None:
    """Import a roster CSV (account_id,name,nip,agency,region,platform,handle).

    Comma, semicolon or tab separated; NIPs may contain spaces or dots. Every bad row
    is listed. With --replace, shows what it would add, change and deactivate; --yes applies.
    """
    from monitor.app import open_store
    from monitor.cli_roster import print_plan
    from monitor.inputs import read_regions, read_roster
    from monitor.roster import apply_import, plan_import

    settings = state.settings
    regions = read_regions(settings.resolve(settings.inputs.regions))
    accounts = read_roster(roster, regions)
    store = open_store(settings)
    plan = plan_import(store, accounts, replace)
    if replace and not yes:
        print_plan(plan, as_json, applied=False)
        return
    store.save_regions(regions.values())
    people, handles = apply_import(store, plan, roster.name, by)
    if as_json:
        emit_json({"rows": len(accounts), "people": people, "new_handles": handles,
                   **({"plan": plan.to_json()} if replace else {})})
        return
    if replace:
        print_plan(plan, False, applied=True)
    console.print(f"Imported {len(accounts)} rows: {people} people, {handles} new handles.",
                  markup=False)


@accounts_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_state
def accounts_list(state: CliState, as_json: bool) -> None:
    """List monitored accounts with their current handle and stable id."""
    from monitor.app import open_store
    from storage.roster import inactive

    store = open_store(state.settings)
    off = inactive(store.db)
    rows = store.current_handles()
    data = [{**r.account.__dict__, "platform_user_id": r.platform_user_id,
             "active": r.account.account_id not in off} for r in rows]
    if as_json:
        emit_json(data)
        return
    console.print(table("Accounts", ["account", "name", "agency", "region", "platform", "handle",
                                     "stable id", "active"],
                        [(d["account_id"], d["name"], d["agency"], d["region"], d["platform"],
                          d["handle"], d["platform_user_id"], "yes" if d["active"] else "NO")
                         for d in data]))


@click.group("registry")
def registry_group() -> None:
    """Election registries: elections, candidates, parties."""


@registry_group.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_state
def registry_check(state: CliState, as_json: bool) -> None:
    """Validate the region table, roster and registries; list candidates, parties and aliases."""
    from monitor.app import load_inputs

    inputs = load_inputs(state.settings)
    if as_json:
        emit_json([{
            "election": r.election.__dict__,
            "candidates": [c.__dict__ for c in r.candidates],
            "parties": [p.__dict__ for p in r.parties],
            "source": r.source,
        } for r in inputs.registries])
        return
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
    """Add the core commands to ``cli``."""
    for command in (run_cmd, status_cmd, accounts_group, registry_group):
        cli.add_command(command)
