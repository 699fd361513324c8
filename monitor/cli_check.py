"""``asn-monitor check``: every configuration problem at once (``--online``: hosts, SMTP, Chromium)."""

from __future__ import annotations

import click

from monitor.cli import CliState, console, emit_json, pass_state, table
from monitor.errors import ConfigError, SourceError
from monitor.settings import find_config


@click.command("check")
@click.option("--online", is_flag=True,
              help="Also reach each enabled source's hosts, the SMTP server and Chromium.")
@click.option("--json", "as_json", is_flag=True, help="Print the problems (and probes) as JSON.")
@pass_state
def check_cmd(state: CliState, online: bool, as_json: bool) -> None:
    """Check the settings, sources, paths, roster, regions and registries; list every problem."""
    from monitor import check

    path = find_config(state.config_path)
    settings, problems = check.check_file(path)
    probes = check.online(settings) if online and settings is not None and not problems else []
    failed = [p for p in probes if not p.ok]
    if as_json:
        emit_json({"settings": str(path), "problems": [p.__dict__ for p in problems],
                   "probes": [p.__dict__ for p in probes]})
    else:
        for p in problems:
            console.print(f"problem {p}", markup=False)
        if probes:
            console.print(table("Online checks", ["check", "ok", "detail"],
                                [(p.what, "yes" if p.ok else "NO", p.detail) for p in probes]))
        if not problems and not failed:
            console.print(f"OK: {path}" + (" (online checks passed)" if online else ""),
                          markup=False)
    if problems:
        raise ConfigError(str(path), f"{len(problems)} problem(s) found")
    if failed:
        raise SourceError(f"{len(failed)} online check(s) failed: "
                          + "; ".join(f"{p.what}: {p.detail}" for p in failed))


def register(cli: click.Group) -> None:
    """Add ``check`` to ``cli``."""
    cli.add_command(check_cmd)
