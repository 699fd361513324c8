"""The ``asn-monitor`` command line. The only place errors become messages and exit codes.

Command modules (``monitor/cli/<what users do>.py``) each register their commands on
``cli`` through ``register(cli)``; none imports this module back. Every command has help
text and every command that prints records takes the same output options (``--json``
and friends, ``monitor.cli.output``); a test walks them all.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import click

from monitor import __version__
from monitor.cli.output import console, emit_json, table
from monitor.cli.state import CliState, pass_state
from monitor.errors import AsnMonitorError

# Kept importable from here for command modules written before the package existed; new
# modules import them from monitor.cli.output and monitor.cli.state instead.
__all__ = ["COMMAND_MODULES", "CliState", "cli", "console", "emit_json", "main", "pass_state", "run", "table"]

# The command modules, each with ``register(cli: click.Group) -> None``; named by what users do.
COMMAND_MODULES = (
    "monitor.cli.daemon",
    "monitor.cli.accounts",
    "monitor.cli.classify",
    "monitor.cli.model",
    "monitor.cli.review",
    "monitor.cli.audit",
    "monitor.cli.bench",
    "monitor.cli.digest",
    "monitor.cli.data",
    "monitor.cli.anchor",
    "monitor.cli.intake",
    "monitor.cli.check",
    "monitor.cli.roster",  # adds to the ``accounts`` group: after monitor.cli.accounts
    "monitor.cli.users",
    "monitor.cli.desk",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Settings file (default: $ASN_MONITOR_CONFIG, then ./config/asn-monitor.toml).")
@click.version_option(__version__, prog_name="asn-monitor")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """asn-monitor: watch ASN accounts for partisan acts and hold each flag for review."""
    ctx.obj = CliState(config_path)


def _register_commands() -> None:
    """Let every command module add its commands to ``cli`` (the one registration hook).

    A new module is one more name in ``COMMAND_MODULES`` (``monitor.cli.<what users do>``);
    a top-level ``monitor/cli_<topic>.py`` with ``register(cli)`` registers the same way,
    by adding its dotted name there.
    """
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(cli)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    _register_commands()
    try:
        result = cli.main(args=list(argv) if argv is not None else None, prog_name="asn-monitor",
                          standalone_mode=False)
    except AsnMonitorError as exc:
        problems = getattr(exc, "problems", None)
        if problems:  # several problems in one file: one line each
            click.echo(f"error: {getattr(exc, 'where', '')}: {len(problems)} problems:", err=True)
            for line in problems:
                click.echo("  " + " ".join(str(line).split()), err=True)
            return exc.exit_code
        # One line, always: multi-line driver messages are folded.
        click.echo("error: " + " ".join(str(exc).split()), err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return result if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
