"""The CLI surface: help text everywhere, status, accounts, registry."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from monitor.cli import _register_commands
from monitor.cli import cli as root
from monitor.testing import CliResult, invoke

Cli = Callable[..., CliResult]


def _walk(group: click.Group, prefix: tuple[str, ...] = ()
          ) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _walk(command, (*prefix, name))


def test_every_command_has_help_text() -> None:
    _register_commands()
    commands = list(_walk(root))
    assert len(commands) >= 6
    for path, command in commands:
        assert command.help and len(command.help.strip()) > 15, f"{' '.join(path)} has no help"
        result = invoke([*path, "--help"])
        assert result.exit_code == 0, path
        assert "Usage:" in result.stdout
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{' '.join(path)} {param.opts[0]} has no help"


def test_status_before_and_after_a_run(cli: Cli) -> None:
    empty = cli("status", "--json").json()
    assert empty["last_run"] is None and empty["counts"]["items"] == 0
    assert empty["migrations"][0] == "m001_initial"
    cli("run", "--once")
    after = cli("status", "--json").json()
    assert after["counts"]["items"] > 60
    assert after["pending_reviews"] == after["counts"]["flags"] > 0
    assert after["last_run"]["status"] == "ok"
    text = cli("status")
    assert "Pending reviews:" in text.stdout and "items" in text.stdout


def test_accounts_import_and_list(cli: Cli, tmp_path: Path, config_dir: Path) -> None:
    roster = tmp_path / "more.csv"
    roster.write_text("account_id,name,nip,agency,region,platform,handle\n"
                      "asn-900,Yanti,199001012015032001,Bappeda Kota Bandung,3273,x,yanti_bdg\n")
    result = cli("accounts", "import", str(roster), "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == {"rows": 1, "people": 1, "new_handles": 1}
    listed = cli("accounts", "list", "--json").json()
    assert any(a["account_id"] == "asn-900" and a["handle"] == "yanti_bdg" for a in listed)
    again = cli("accounts", "import", str(roster), "--json").json()
    assert again["new_handles"] == 0


def test_accounts_import_reports_bad_row(cli: Cli, tmp_path: Path) -> None:
    roster = tmp_path / "bad.csv"
    roster.write_text("account_id,name,nip,agency,region,platform,handle\n"
                      "asn-900,Yanti,1990,Bappeda,3273,x,yanti_bdg\n")
    result = cli("accounts", "import", str(roster))
    assert result.exit_code == 2
    assert f"{roster}:2: nip must be 18 digits" in result.stderr


def test_registry_check_lists_candidates_parties_aliases(cli: Cli) -> None:
    result = cli("registry", "check")
    assert result.exit_code == 0, result.stderr
    assert "pilgub-jabar-2024" in result.stdout and "pilbup-bandung-2024" in result.stdout
    assert "#JabarAsih" in result.stdout and "Kang Asep" in result.stdout
    assert "Partai Kebangkitan Bangsa" in result.stdout
    data = cli("registry", "check", "--json").json()
    assert {r["election"]["level"] for r in data} == {"province", "regency"}


def test_registry_check_fails_on_a_bad_registry(cli: Cli, config_dir: Path) -> None:
    path = config_dir / "registries/pilgub-jabar-2024.toml"
    path.write_text(path.read_text().replace('level = "province"', 'level = "village"'))
    result = cli("registry", "check")
    assert result.exit_code == 2
    assert "pilgub-jabar-2024.toml: election.level" in result.stderr


def test_classify_prints_one_json_object_per_item(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    items = root / "config/samples/items.jsonl"
    registry = root / "config/registries/pilgub-jabar-2024.toml"
    regions = tmp_path / "regions.csv"
    regions.write_text((root / "config/regions.csv").read_text())
    # No settings file in the working folder: defaults apply, the registry is given.
    import os

    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        result = invoke(["classify", str(items), "--registry", str(registry)])
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == sum(1 for line in items.open() if line.strip())
    assert set(lines[0]) == {"id", "flagged", "score", "stance", "targets", "target_stances",
                             "high_confidence", "category", "explanation"}
    flagged = [r for r in lines if r["flagged"]]
    import tomllib

    reg = tomllib.loads(registry.read_text())
    known = {c["id"] for c in reg["candidates"]} | {p["id"] for p in reg["parties"]}
    assert flagged and all(r["targets"] and set(r["targets"]) <= known for r in flagged)
    # With the registry applied to everyone, the out-of-region endorsements of a Jawa Barat
    # ticket are flagged too.
    assert len(flagged) >= 10


def test_classify_reports_bad_lines_and_missing_input(cli: Cli, tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    result = cli("classify", str(root / "config/samples/bad-items.jsonl"))
    assert result.exit_code == 0
    assert "bad-items.jsonl:2" in result.stderr and len(result.stdout.splitlines()) == 4
    missing = cli("classify", str(tmp_path / "none.jsonl"))
    assert missing.exit_code == 2 and "file not found" in missing.stderr


def test_run_names_an_unknown_source(cli: Cli) -> None:
    result = cli("run", "--once", "--source", "tiktok")
    assert result.exit_code == 2
    assert "--source tiktok: no enabled source of that name" in result.stderr
