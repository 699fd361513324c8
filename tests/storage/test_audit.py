"""Audit views, the read-only ``sql`` command, ``export`` and the retention pass."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from monitor.settings import load
from monitor.testing import CliResult, write_settings

Cli = Callable[..., CliResult]


# These tests are about the digest, audits and the daemon, not the model: the
# deterministic registry matcher (as in config/asn-monitor.toml) flags 17 of the
# 85 sample items, whatever the default classifier of the day does.
MATCHER = {"classifier": {"model": "matcher", "model_dir": "../data/models"}}


@pytest.fixture
def settings_path(config_dir: Path) -> Path:
    """The test settings with the matcher classifier."""
    return write_settings(config_dir, extra=MATCHER)


def _db(settings_path: Path) -> str:
    return str(load(settings_path).db_path)


def _query(settings_path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(_db(settings_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _add_reviews(settings_path: Path) -> None:
    """Three decisions by two reviewers, as the review commands append them."""
    with duckdb.connect(_db(settings_path)) as con:
        created = con.execute("SELECT created_at FROM flags WHERE flag_id = 1").fetchone()[0]  # type: ignore[index]
        # The review commands write the past tense; one row in the imperative checks the views accept both.
        rows = [(1, "confirmed", "ayu", 2), (2, "dismissed", "ayu", 5), (1, "escalated", "bima", 26),
                (3, "confirm", "bima", 1)]
        for flag_id, decision, reviewer, hours in rows:
            con.execute("INSERT INTO reviews (flag_id, decision, reason, reviewer, decided_at) "
                        "VALUES (?, ?, 'test', ?, ?)",
                        [flag_id, decision, reviewer, created + timedelta(hours=hours)])


@pytest.fixture
def ran(cli: Cli, settings_path: Path) -> Path:
    result = cli("run", "--once")
    assert result.exit_code == 0, result.stderr
    return settings_path


def test_audit_views_agree_with_the_flags(ran: Path, cli: Cli) -> None:
    _add_reviews(ran)
    total = _query(ran, "SELECT count(*) FROM flags")[0][0]
    assert total == 17
    week = _query(ran, "SELECT sum(flags), sum(pending), sum(confirmed), sum(dismissed), "
                       "sum(escalated) FROM audit_flags_by_week")[0]
    assert week == (17, 14, 1, 1, 1)  # flag 1's latest decision is 'escalated'
    assert _query(ran, "SELECT sum(flags) FROM audit_flags_by_agency")[0][0] == 17
    assert _query(ran, "SELECT sum(flags) FROM audit_flags_by_region")[0][0] == 17
    names = dict(_query(ran, "SELECT target, label FROM audit_flags_by_candidate"))
    assert names["jabar-2"] == "Dedi Kurniadi & Rizal Fahmi"
    turnaround = dict(_query(ran, "SELECT flag_id, hours_to_first_decision FROM audit_review_turnaround "
                                  "WHERE first_decision IS NOT NULL"))
    assert turnaround[1] == pytest.approx(2.0, abs=0.01) and turnaround[2] == pytest.approx(5.0, abs=0.01)
    activity = {r[0]: r[1:4] for r in _query(ran, "SELECT reviewer, decisions, flags_reviewed, "
                                                  "escalations FROM audit_reviewer_activity")}
    assert activity == {"ayu": (2, 2, 0), "bima": (2, 2, 1)}
    models = _query(ran, "SELECT DISTINCT model, version FROM audit_decision_models")
    assert len(models) == 1 and all(models[0])


def test_sql_is_read_only_and_prints_table_csv_json(ran: Path, cli: Cli) -> None:
    table = cli("sql", "SELECT week, flags FROM audit_flags_by_week")
    assert table.exit_code == 0 and "17" in table.stdout and "week" in table.stdout
    as_csv = cli("sql", "WITH x AS (SELECT agency, flags FROM audit_flags_by_agency) "
                        "SELECT agency, sum(flags) AS n FROM x GROUP BY 1 ORDER BY 2 DESC, 1",
                 "--format", "csv")
    rows = list(csv.reader(as_csv.stdout.splitlines()))
    assert rows[0] == ["agency", "n"] and rows[1] == ["Bappeda Provinsi Jawa Barat", "4"]
    as_json = cli("sql", "SELECT flag_id, flagged_at FROM audit_flags ORDER BY 1 LIMIT 2",
                  "--format", "json").json()
    assert as_json[0]["flag_id"] == 1 and datetime.fromisoformat(as_json[0]["flagged_at"])
    for bad, why in [("DELETE FROM flags", "not DELETE"),
                     ("UPDATE flags SET score = 0", "not UPDATE"),
                     ("COPY flags TO '/tmp/x.csv'", "not COPY"),
                     ("SELECT 1; DROP TABLE flags", "2 statements"),
                     ("ATTACH '/tmp/other.duckdb'", "not ATTACH"),
                     ("SELEC 1", "does not parse"),
                     ("SELECT * FROM read_csv('/etc/passwd')", "disabled by configuration")]:
        result = cli("sql", bad)
        assert result.exit_code == 2, bad
        assert why in result.stderr, (bad, result.stderr)
    assert _query(ran, "SELECT count(*) FROM flags")[0][0] == 17


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export_writes_one_file_per_table(ran: Path, cli: Cli, tmp_path: Path, fmt: str) -> None:
    _add_reviews(ran)
    out = tmp_path / "export"
    result = cli("export", "--format", fmt, "--out", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    files = {row["table"]: row for row in result.json()}
    assert set(files) == {"flags", "items", "classifications", "reviews", "evidence"}
    reader = "read_parquet" if fmt == "parquet" else "read_csv_auto"
    with duckdb.connect() as con:
        def count(table: str) -> int:
            return int(con.execute(f"SELECT count(*) FROM {reader}(?)",  # noqa: S608
                                   [str(out / f"{table}.{fmt}")]).fetchone()[0])  # type: ignore[index]
        assert count("flags") == 17 and count("items") == 17 and count("evidence") == 17
        assert count("reviews") == 4 and count("classifications") == 17
        columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}(?)",  # noqa: S608
                                             [str(out / f"evidence.{fmt}")]).fetchall()]
    assert "sha256" in columns and "item_json" not in columns  # metadata only
    today = datetime.now(UTC).date()
    future = cli("export", "--format", fmt, "--out", str(tmp_path / "none"), "--json",
                 "--since", (today + timedelta(days=2)).isoformat())
    assert {v["table"]: v["rows"] for v in future.json()} == dict.fromkeys(files, 0)
    window = cli("export", "--format", fmt, "--out", str(tmp_path / "win"), "--json",
                 "--since", (today - timedelta(days=1)).isoformat(),
                 "--until", (today + timedelta(days=1)).isoformat())
    assert {v["table"]: v["rows"] for v in window.json()}["flags"] == 17


def test_retention_purges_old_unflagged_content_and_keeps_flags(ran: Path, cli: Cli) -> None:
    young = cli("retention", "run", "--json").json()
    assert young["items_purged"] == 0 and young["raw_purged"] == 0
    with duckdb.connect(_db(ran)) as con:  # pretend everything was collected 100 days ago
        old = datetime.now(UTC) - timedelta(days=100)
        con.execute("UPDATE items SET first_seen_at = ?", [old])
        con.execute("UPDATE raw_items SET fetched_at = ?", [old])
    result = cli("retention", "run", "--json").json()  # default raw_days = 90
    assert result["items_purged"] == 85 - 17
    assert result["raw_purged"] >= 1
    unflagged = _query(ran, "SELECT count(*), count(text), count(subject_text), max(length(norm_text)) "
                            "FROM items WHERE item_key NOT IN (SELECT item_key FROM flags)")[0]
    assert unflagged == (68, 0, 0, 0)
    flagged = _query(ran, "SELECT count(*), count(text) FROM items "
                          "WHERE item_key IN (SELECT item_key FROM flags)")[0]
    assert flagged[1] > 0
    kept = _query(ran, "SELECT count(*), count(r.body) FROM evidence e "
                       "JOIN raw_items r ON r.sha256 = e.raw_sha256")[0]
    assert kept == (17, 17)
    purged = _query(ran, "SELECT count(*) FROM raw_items WHERE body IS NULL AND purged_at IS NOT NULL")
    assert purged[0][0] == result["raw_purged"]
    assert _query(ran, "SELECT count(*) FROM purged_items")[0][0] == 68
    assert cli("retention", "run", "--json").json()["items_purged"] == 0
    # De-duplication still works on purged items: a second cycle adds nothing.
    again = cli("run", "--once", "--json")
    assert again.json()["sources"][0]["new"] == 0
    runs = _query(ran, "SELECT raw_days, items_purged FROM retention_runs ORDER BY id")
    assert runs == [(90, 0), (90, 68), (90, 0)]


def test_retention_setting_is_validated(config_dir: Path) -> None:
    from monitor.testing import invoke, write_settings

    path = write_settings(config_dir, extra={"retention": {"raw_days": 0}})
    result = invoke(["--config", str(path), "retention", "run"])
    assert result.exit_code == 2 and "retention.raw_days" in result.stderr
    path = write_settings(config_dir, extra={"retention": {"raw_dayz": 3}})
    assert "unknown key" in invoke(["--config", str(path), "status"]).stderr
