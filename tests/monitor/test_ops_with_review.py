"""Digest, audit views and retention together with the real review workflow (review commands)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from monitor.settings import load
from monitor.testing import CliResult, write_settings
from storage.digest import week_of

Cli = Callable[..., CliResult]


# These tests are about the digest, audits and the daemon, not the model: the
# deterministic registry matcher (as in config/asn-monitor.toml) flags 17 of the
# 85 sample items, whatever the default classifier of the day does.
MATCHER = {"classifier": {"model": "matcher", "model_dir": "../data/models"}}


@pytest.fixture
def settings_path(config_dir: Path) -> Path:
    """The test settings with the matcher classifier."""
    return write_settings(config_dir, extra=MATCHER)


def test_decisions_from_review_reach_digest_and_audits_and_retention_keeps_the_chain(
        cli: Cli, settings_path: Path) -> None:
    assert cli("run", "--once").exit_code == 0
    assert cli("review", "confirm", "2", "--reviewer", "ayu").exit_code == 0
    assert cli("review", "dismiss", "3", "--reason", "satire_or_news", "--reviewer", "ayu").exit_code == 0
    assert cli("review", "confirm", "5", "--reviewer", "bima").exit_code == 0

    week = cli("sql", "SELECT pending, confirmed, dismissed FROM audit_flags_by_week", "--format", "json")
    assert week.json() == [{"pending": 14, "confirmed": 2, "dismissed": 1}]
    who = cli("sql", "SELECT reviewer, decisions FROM audit_reviewer_activity ORDER BY 1",
              "--format", "json").json()
    assert who == [{"reviewer": "ayu", "decisions": 2}, {"reviewer": "bima", "decisions": 1}]

    digest = cli("digest", "preview", "--week", week_of(datetime.now(UTC)))
    assert "Dikonfirmasi: #2, #5" in digest.stdout and "Ditolak: #3" in digest.stdout

    # Age everything but the evidence's raw responses (their fetch time is chained).
    with duckdb.connect(str(load(settings_path).db_path)) as con:
        old = datetime.now(UTC) - timedelta(days=100)
        con.execute("UPDATE items SET first_seen_at = ?", [old])
        con.execute("UPDATE raw_items SET fetched_at = ? "
                    "WHERE sha256 NOT IN (SELECT raw_sha256 FROM evidence)", [old])
    purged = cli("retention", "run", "--json").json()
    assert purged["items_purged"] == 68
    verify = cli("verify")
    assert verify.exit_code == 0, verify.stdout + verify.stderr
    assert "chain intact" in verify.stdout
