"""One full cycle through the real CLI, DuckDB file and sample data."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from monitor.app import build_pipeline
from monitor.errors import AccountUnavailable
from monitor.model import Account, Cursor, Fetched, Item, Page, Raw
from monitor.pipeline import run_cycle
from monitor.settings import load
from monitor.testing import CliResult, write_settings

ROOT = Path(__file__).resolve().parents[2]
Cli = Callable[..., CliResult]


def _labels() -> dict[str, list[str]]:
    text = (ROOT / "config/samples/README.md").read_text()
    match = re.search(r"```json\n(.*?)```", text, re.S)
    assert match, "config/samples/README.md must end with the JSON block of labels"
    return json.loads(match.group(1))


def _query(settings_path: Path, sql: str) -> list[tuple[object, ...]]:
    db = load(settings_path).db_path
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_run_once_flags_partisan_items_and_passes_the_rest(cli: Cli, settings_path: Path) -> None:
    result = cli("run", "--once")
    assert result.exit_code == 0, result.stderr
    assert "sample" in result.stdout and "flagged" in result.stdout
    labels = _labels()
    flagged = {r[0] for r in _query(settings_path,
                                    "SELECT i.item_id FROM flags JOIN items i USING (item_key)")}
    partisan = set(labels["partisan"])
    assert len(flagged & partisan) >= 12
    assert not flagged & set(labels["false_friends"])
    assert not flagged & set(labels["unrelated"])
    assert not flagged & set(labels["out_of_region"])
    precision = len(flagged & partisan) / len(flagged)
    assert precision >= 0.9
    total = _query(settings_path, "SELECT count(*) FROM items")[0][0]
    assert total == sum(1 for line in (ROOT / "config/samples/items.jsonl").open() if line.strip())


def test_every_flag_has_evidence_and_a_classification(cli: Cli, settings_path: Path) -> None:
    assert cli("run", "--once").exit_code == 0
    rows = _query(settings_path, """
        SELECT f.flag_id, e.raw_sha256, r.sha256, c.model, c.version, e.account_json
        FROM flags f JOIN evidence e USING (flag_id) JOIN raw_items r ON r.sha256 = e.raw_sha256
        JOIN classifications c ON c.id = f.classification_id""")
    assert rows and len(rows) == _query(settings_path, "SELECT count(*) FROM flags")[0][0]
    for _, raw_sha, stored_sha, model, version, account in rows:
        assert raw_sha == stored_sha and model and version
        assert len(json.loads(str(account))["nip"]) == 18


def test_second_run_adds_nothing(cli: Cli, settings_path: Path) -> None:
    assert cli("run", "--once").exit_code == 0
    count_sql = ("SELECT (SELECT count(*) FROM items), (SELECT count(*) FROM raw_items), "
                 "(SELECT count(*) FROM flags), (SELECT count(*) FROM evidence), "
                 "(SELECT count(*) FROM classifications)")
    before = _query(settings_path, count_sql)
    second = cli("run", "--once", "--json")
    assert second.exit_code == 0
    assert second.json()["sources"][0]["new"] == 0
    assert _query(settings_path, count_sql) == before


def test_malformed_line_is_reported_and_good_lines_imported(config_dir: Path) -> None:
    from monitor.testing import invoke

    path = write_settings(config_dir, sources={"bad": {"type": "file",
                                                       "paths": ["samples/bad-items.jsonl"]}})
    result = invoke(["--config", str(path), "run", "--once"])
    assert result.exit_code == 0, result.stderr
    assert re.search(r"skipped bad-items\.jsonl:2: not valid JSON", result.stdout)
    assert re.search(r"skipped bad-items\.jsonl:5: 'kind' must be one of", result.stdout)
    assert _query(path, "SELECT count(*) FROM items")[0][0] == 4
    errors = _query(path, "SELECT message FROM run_errors WHERE error_type = 'skipped' ORDER BY id")
    assert [str(m[0]).split(":")[1] for m in errors] == ["2", "5"]
    again = invoke(["--config", str(path), "run", "--once", "--json"])
    assert again.json()["sources"][0]["new"] == 0
    assert _query(path, "SELECT count(*) FROM items")[0][0] == 4


class _Crash(Exception):
    pass


def test_crash_between_pages_loses_and_repeats_nothing(settings_path: Path) -> None:
    settings = load(settings_path)
    settings.sources["sample"]["page_size"] = 10
    pipeline, _ = build_pipeline(settings)
    real = pipeline.classifier
    calls = {"n": 0}

    class Flaky:
        name, version = real.name, real.version

        def classify(self, items, registries):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] == 4:
                raise _Crash("power cut")
            return real.classify(items, registries)

    pipeline.classifier = Flaky()
    with pytest.raises(_Crash):
        run_cycle(pipeline)
    stored = _query(settings_path, "SELECT count(*) FROM items")[0][0]
    assert stored == 30  # three whole pages, nothing of the fourth
    assert _query(settings_path, "SELECT status FROM runs")[0][0] == "failed"
    pipeline.classifier = real
    run_cycle(pipeline)
    keys = _query(settings_path, "SELECT item_key, count(*) FROM items GROUP BY 1 HAVING count(*) > 1")
    assert keys == []
    assert _query(settings_path, "SELECT count(*) FROM items")[0][0] == 85


class _PerAccount:
    """A per-account source: one account fails, the others yield one item each."""

    name, platform, version = "fake", "bluesky", "1"

    def streams(self) -> Sequence[str]:
        return ["posts"]

    def fetch(self, account: Account, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        if account.account_id == "asn-001":
            raise AccountUnavailable(f"{account.handle}: account deleted")
        if "posts" in cursors:
            return
        item = Item("bluesky", f"at://{account.account_id}/1", "post", account.handle,
                    datetime(2024, 10, 1, tzinfo=UTC), "Selamat pagi",
                    actor_id=f"did:plc:{account.account_id}")
        raw = Raw(b"{}", "http://127.0.0.1/x", datetime.now(UTC), "fake", "1", 200)
        yield Page(account.key, [Fetched(item, raw)], cursor=Cursor("posts", "1"))


def test_one_failing_account_does_not_stop_the_others(settings_path: Path, cli: Cli) -> None:
    settings = load(settings_path)
    pipeline, inputs = build_pipeline(settings)
    pipeline.sources = [_PerAccount()]
    _, stats = run_cycle(pipeline)
    bluesky = [a for a in inputs.roster if a.platform == "bluesky"]
    assert stats[0].new == len(bluesky) - 1
    assert any("account deleted" in e for e in stats[0].errors)
    status = cli("status", "--json").json()
    assert status["last_errors"][0]["error_type"] == "account_unavailable"
    assert status["last_run"]["status"] == "partial"
    # asn-004 first appeared with its stable id; a new handle for the same id is a rename.
    pipeline.sources = [_Renamer()]
    run_cycle(pipeline)
    renames = cli("status", "--json").json()["renames"]
    assert [(r["account_id"], r["new_handle"]) for r in renames] == [("asn-004", "baru.bsky.social")]


class _Renamer(_PerAccount):
    def fetch(self, account: Account, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        if account.account_id != "asn-004":
            return
        item = Item("bluesky", "at://asn-004/2", "post", "baru.bsky.social",
                    datetime(2024, 10, 2, tzinfo=UTC), "Halo", actor_id="did:plc:asn-004")
        raw = Raw(b"{}", "http://127.0.0.1/y", datetime.now(UTC), "fake", "1", 200)
        yield Page(account.key, [Fetched(item, raw)], cursor=Cursor("posts", "2"))


def test_console_script_runs_a_cycle_in_a_fresh_folder(tmp_path: Path) -> None:
    """What `make run` does, through the installed console script, in a copy of config/."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    exe = Path(sys.executable).with_name("asn-monitor")
    proc = subprocess.run([str(exe), "--config", "config/asn-monitor.toml", "run", "--once"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert "total" in proc.stdout
    assert (tmp_path / "data/asn-monitor.duckdb").exists()
    bad = subprocess.run([str(exe), "--config", "missing.toml", "status"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
