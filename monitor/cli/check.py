"""``asn-monitor check``: every configuration problem at once (``--online``: hosts, SMTP, Chromium)."""

from __future__ import annotations

from typing import Any

import click

from monitor.cli.output import Printer, console, output_options, table
from monitor.cli.state import CliState, pass_state
from monitor.errors import ConfigError, SourceError
from monitor.settings import find_config


@click.command("check")
@click.option("--online", is_flag=True,
              help="Also reach each enabled source's hosts, the SMTP server and Chromium.")
@output_options
@pass_state
def check_cmd(state: CliState, online: bool, out: Printer) -> None:
    """Check the settings, sources, paths, roster, regions and registries; list every problem."""
    from monitor import check

    path = find_config(state.config_path)
    settings, problems = check.check_file(path)
    probes = check.online(settings) if online and settings is not None and not problems else []
    failed = [p for p in probes if not p.ok]
    out.document({"settings": str(path), "problems": [p.__dict__ for p in problems],
                  "probes": [p.__dict__ for p in probes]},
                 human=lambda: _print_check(path, problems, probes, online))
    if problems:
        raise ConfigError(str(path), f"{len(problems)} problem(s) found")
    if failed:
        raise SourceError(f"{len(failed)} online check(s) failed: "
                          + "; ".join(f"{p.what}: {p.detail}" for p in failed))


def _print_check(path: Any, problems: list[Any], probes: list[Any], online: bool) -> None:
    for p in problems:
        console.print(f"problem {p}", markup=False)
    if probes:
        console.print(table("Online checks", ["check", "ok", "detail"],
                            [(p.what, "yes" if p.ok else "NO", p.detail) for p in probes]))
    if not problems and not any(not p.ok for p in probes):
        console.print(f"OK: {path}" + (" (online checks passed)" if online else ""), markup=False)


def register(cli: click.Group) -> None:
    """Add ``check`` to ``cli``."""
    cli.add_command(check_cmd)
