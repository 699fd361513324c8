"""One way to print: every command that prints records takes the same output options, and
every listing command prints valid JSON with ``--json`` (and JSON lines, CSV with the others)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest

from monitor.cli import _register_commands
from monitor.cli import cli as root
from monitor.testing import CliResult

Cli = Callable[..., CliResult]
OUTPUT_FLAGS = {"--table", "--csv", "--json", "--jsonl"}
# Commands that do heavy or outward work when run (a whole cycle, training, a benchmark, an
# email, a report taken in, a timestamp request); their output options are checked, they are not run here.
NOT_RUN = {("run",), ("bench",), ("train",), ("evaluate",), ("digest", "send"), ("digest", "preview"),
           ("review",), ("evidence", "render"), ("retention", "run"), ("intake",),
           ("anchor", "stamp")}


def _walk(group: click.Group, prefix: tuple[str, ...] = ()
          ) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _walk(command, (*prefix, name))


def _printing() -> list[tuple[tuple[str, ...], click.Command]]:
    _register_commands()
    return [(p, c) for p, c in _walk(root) if getattr(c.callback, "prints_records", False)]


def _listing() -> list[tuple[str, ...]]:
    return [p for p, c in _printing() if p not in NOT_RUN and not any(x.required for x in c.params)]


def test_every_printing_command_has_the_same_output_options() -> None:
    printing = _printing()
    assert len(printing) >= 20
    for path, command in printing:
        flags = {o for p in command.params if isinstance(p, click.Option) for o in p.opts}
        assert flags >= OUTPUT_FLAGS, f"{' '.join(path)} lacks {OUTPUT_FLAGS - flags}"
    # No command declares a --json of its own outside the shared options.
    for path, command in _walk(root):
        if not getattr(command.callback, "prints_records", False):
            opts = {o for p in command.params if isinstance(p, click.Option) for o in p.opts}
            assert "--json" not in opts, f"{' '.join(path)} has its own --json"


def test_the_listing_commands_are_the_expected_ones() -> None:
    listing = set(_listing())
    assert {("status",), ("accounts", "list"), ("registry", "check"), ("digest", "list"),
            ("review", "queue"), ("verify",), ("review", "examples")} <= listing


@pytest.mark.parametrize("path", _listing(), ids=" ".join)
def test_every_listing_command_prints_valid_json_lines_and_csv(cli: Cli, path: tuple[str, ...]) -> None:
    as_json = cli(*path, "--json")
    assert as_json.exit_code == 0, as_json.stderr
    json.loads(as_json.stdout)
    lines = cli(*path, "--jsonl")
    assert lines.exit_code == 0, lines.stderr
    for line in lines.stdout.splitlines():
        json.loads(line)
    table = cli(*path, "--csv")
    assert table.exit_code == 0, table.stderr
    rows = list(csv.reader(io.StringIO(table.stdout)))
    assert not rows or len({len(r) for r in rows}) == 1  # a header and rows of the same width


def test_json_means_the_same_after_a_run(cli: Cli, tmp_path: Path) -> None:
    run = cli("run", "--once", "--json")
    assert run.exit_code == 0, run.stderr
    assert run.json()["run_id"] >= 1
    listed = cli("accounts", "list", "--json").json()
    assert isinstance(listed, list) and listed and {"account_id", "handle"} <= set(listed[0])
    queue = cli("review", "queue", "--json").json()
    assert queue["flags"] and queue["grouping"]
    rows = cli("sql", "SELECT account_id FROM accounts ORDER BY 1", "--jsonl").stdout.splitlines()
    people = sorted({a["account_id"] for a in listed})
    assert [json.loads(r)["account_id"] for r in rows] == people
    legacy = cli("sql", "SELECT count(*) AS n FROM accounts", "--format", "json").json()
    assert legacy == [{"n": len(people)}]
