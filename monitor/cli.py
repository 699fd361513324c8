"""The ``asn-monitor`` command line. The only place errors become messages and exit codes.

Command groups live in small modules that register on ``cli``; each command
has help text (a test checks it) and most take ``--json``.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from monitor import __version__
from monitor.errors import AsnMonitorError
from monitor.settings import Settings, find_config, load

console = Console(highlight=False, soft_wrap=True)


@dataclass
class CliState:
    """What every command gets: the settings, loaded on first use."""

    config_path: str | None
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """The validated settings (raises ``ConfigError``)."""
        if self._settings is None:
            self._settings = load(find_config(self.config_path))
        return self._settings


pass_state = click.make_pass_decorator(CliState)


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A rich table with ``columns`` and ``rows`` (values shown with ``str``)."""
    t = Table(title=title, title_justify="left")
    for c in columns:
        t.add_column(c)
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    return t


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Settings file (default: $ASN_MONITOR_CONFIG, then ./config/asn-monitor.toml).")
@click.version_option(__version__, prog_name="asn-monitor")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """asn-monitor: watch ASN accounts for partisan acts and hold each flag for review."""
    ctx.obj = CliState(config_path)


def _register_commands() -> None:
    from monitor import (
        cli_anchor,
        cli_bench,
        cli_check,
        cli_classify,
        cli_core,
        cli_desk,
        cli_model,
        cli_ops,
        cli_review,
        cli_roster,
        cli_users,
    )

    cli_core.register(cli)
    cli_classify.register(cli)
    cli_model.register(cli)
    cli_review.register(cli)
    cli_bench.register(cli)
    cli_ops.register(cli)
    cli_anchor.register(cli)
    importlib.import_module("monitor.cli_intake").register(cli)
    cli_check.register(cli)
    cli_roster.register(cli)
    cli_users.register(cli)
    cli_desk.register(cli)


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
