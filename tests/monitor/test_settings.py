"""Settings: found, validated, and every mistake reported as one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.settings import find_config, load, secret
from monitor.testing import invoke


def test_defaults_resolve_against_the_settings_folder(settings_path: Path) -> None:
    settings = load(settings_path)
    assert settings.db_path == (settings_path.parent / "../data/test.duckdb").resolve()
    assert settings.resolve("roster.csv") == settings_path.parent / "roster.csv"
    assert settings.sources["sample"]["type"] == "file"


def test_config_is_found_by_flag_then_env_then_default() -> None:
    assert find_config("a.toml", {"ASN_MONITOR_CONFIG": "b.toml"}) == Path("a.toml")
    assert find_config(None, {"ASN_MONITOR_CONFIG": "b.toml"}) == Path("b.toml")
    assert find_config(None, {}) == Path("config/asn-monitor.toml")


@pytest.mark.parametrize(
    ("body", "key", "what"),
    [
        ("[classifier]\nflag_threshold = 1.5\n", "classifier.flag_threshold", "less than or equal to 1"),
        ("[classifier]\nflag_treshold = 0.5\n", "classifier.flag_treshold", "unknown key"),
        ("[storage]\nlock_timeout = \"soon\"\n", "storage.lock_timeout", "valid number"),
        ("[sources.a]\npaths = []\n", "sources", "needs a 'type'"),
        ("[pipeline\n", "", "not valid TOML"),
    ],
)
def test_bad_settings_name_file_key_and_problem(tmp_path: Path, body: str, key: str, what: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(ConfigError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message
    assert key in message
    assert what in message
    assert "\n" not in message


def test_bad_settings_through_the_cli_is_one_line_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[classifier]\nflag_threshold = -1\n")
    result = invoke(["--config", str(path), "status"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {path}: classifier.flag_threshold")
    assert "Traceback" not in result.stderr


def test_missing_settings_file(tmp_path: Path) -> None:
    result = invoke(["--config", str(tmp_path / "nope.toml"), "status"])
    assert result.exit_code == 2
    assert "settings file not found" in result.stderr


def test_unknown_source_type_is_named(config_dir: Path) -> None:
    from monitor.testing import write_settings

    path = write_settings(config_dir, sources={"feed": {"type": "myspace"}})
    result = invoke(["--config", str(path), "run", "--once"])
    assert result.exit_code == 2
    assert "[sources.feed].type" in result.stderr
    assert "myspace" in result.stderr


def test_secrets_come_from_the_environment_only() -> None:
    assert secret({"TOKEN": "s3cr3t"}, "TOKEN", "x") == "s3cr3t"
    assert secret({}, None, "x") is None
    with pytest.raises(ConfigError, match="TOKEN is not set"):
        secret({}, "TOKEN", "settings.toml: sources.x.token_env")


def test_a_disabled_source_is_still_validated(config_dir: Path) -> None:
    from monitor.testing import write_settings

    path = write_settings(config_dir, sources={
        "sample": {"type": "file", "paths": ["samples/items.jsonl"]},
        "later": {"type": "mastodon", "enabled": False, "base_url": "http://127.0.0.1:9",
                  "pol_interval": 5},
    })
    result = invoke(["--config", str(path), "run", "--once"])
    assert result.exit_code == 2
    assert "[sources.later].pol_interval: unknown key" in result.stderr
