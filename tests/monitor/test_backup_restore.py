"""Backups taken while the daemon runs restore to a store that passes verify; corruption is named."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from monitor.backup import PREFIX, daily_backup
from monitor.settings import load
from monitor.testing import CliResult, DaemonProcess, invoke, write_settings
from storage.db import Database

FAST = {"classifier": {"model": "matcher", "model_dir": "../data/models"}, "digest": {"enabled": False},
        "daemon": {"heartbeat_interval": 0.3}, "review": {"chromium": ""}}
SOURCES = {"sample": {"type": "file", "paths": ["samples/items.jsonl"], "page_size": 10,
                      "poll_interval": 0.5}}


@pytest.mark.slow
def test_backup_during_the_daemon_restores_and_holds_every_prior_decision(
        config_dir: Path, tmp_path: Path) -> None:
    path = write_settings(config_dir, extra=FAST, sources=SOURCES)

    def cli(*args: str) -> CliResult:
        return invoke(["--config", str(path), *args])

    daemon = DaemonProcess(path)
    try:
        daemon.wait_for("event=cycle_done")
        daemon.wait_for("event=heartbeat")
        decided = []
        for args in (("confirm", "3"), ("confirm", "5"), ("dismiss", "6", "--reason", "not_partisan")):
            result = cli("review", *args, "--reviewer", "ana", "--json")
            assert result.exit_code == 0, result.stderr
            decided += [r["review_id"] for r in result.json()]
        card = cli("evidence", "render", "3", "--no-png", "--json")  # an evidence file to back up
        assert card.exit_code == 0, card.stderr
        backup = cli("backup", "--out", str(tmp_path / "b1"), "--json")
        assert backup.exit_code == 0, backup.stderr
        assert cli("review", "confirm", "7", "--reviewer", "ana").exit_code == 0  # after the backup
        daemon.wait_for("event=heartbeat")  # still running, still writing
    finally:
        code = daemon.stop()
    assert code == 0, "\n".join(daemon.seen[-20:])
    info = backup.json()
    assert info["decisions"] == len(decided) and info["files"] >= 2

    restored = invoke(["--config", str(path), "restore", str(tmp_path / "b1"), "--to",
                       str(tmp_path / "r1"), "--json"])
    assert restored.exit_code == 0, restored.stderr + restored.stdout
    out = restored.json()
    assert out["verify"]["ok"] and out["verify"]["heads_checked"] == 1 and out["verify"]["files_checked"] >= 1
    with duckdb.connect(str(tmp_path / "r1" / "database.duckdb"), read_only=True) as con:
        kept = sorted(int(r[0]) for r in con.execute("SELECT review_id FROM reviews").fetchall())
    assert kept == sorted(decided)  # every decision before the backup, none after it
    assert (tmp_path / "r1" / "evidence" / "cards" / "3" / "card-id.html").exists()

    # One flipped byte in the backup's database: refused, the file named, nothing restored.
    shutil.copytree(tmp_path / "b1", tmp_path / "b2")
    db_copy = tmp_path / "b2" / "database.duckdb"
    data = bytearray(db_copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    db_copy.write_bytes(bytes(data))
    bad = invoke(["--config", str(path), "restore", str(tmp_path / "b2"), "--to", str(tmp_path / "r2")])
    assert bad.exit_code == 2
    assert f"{db_copy}: does not match its SHA-256" in bad.stderr
    assert not (tmp_path / "r2").exists()
    # A changed evidence file is named the same way.
    shutil.rmtree(tmp_path / "b2")
    shutil.copytree(tmp_path / "b1", tmp_path / "b2")
    card_copy = tmp_path / "b2" / "evidence" / "cards" / "3" / "card-id.html"
    card_copy.write_text("<p>edited</p>")
    bad = invoke(["--config", str(path), "restore", str(tmp_path / "b2"), "--to", str(tmp_path / "r2")])
    assert bad.exit_code == 2 and f"{card_copy}: does not match its SHA-256" in bad.stderr


def test_daily_backup_keeps_the_last_n(config_dir: Path, tmp_path: Path) -> None:
    path = write_settings(config_dir, extra={**FAST, "backup": {"dir": str(tmp_path / "daily"), "keep": 2}},
                          sources=SOURCES)
    assert invoke(["--config", str(path), "run", "--once"]).exit_code == 0
    settings = load(path)
    db = Database(settings.db_path)
    (tmp_path / "daily" / f".{PREFIX}20261031T020000Z.partial").mkdir(parents=True)  # a killed backup
    start = datetime(2026, 11, 1, 2, tzinfo=UTC)
    for day in range(3):
        done = daily_backup(db, settings, start + timedelta(days=day))
        assert done is not None and done.head.seq > 0
    kept = sorted(p.name for p in (tmp_path / "daily").iterdir())
    assert kept == [f"{PREFIX}20261102T020000Z", f"{PREFIX}20261103T020000Z"]
    restored = invoke(["--config", str(path), "restore", str(tmp_path / "daily" / kept[-1]), "--to",
                       str(tmp_path / "r"), "--json"])
    assert restored.exit_code == 0 and restored.json()["verify"]["ok"], restored.stdout


def test_backup_refuses_a_folder_in_use(config_dir: Path, tmp_path: Path) -> None:
    path = write_settings(config_dir, extra=FAST, sources=SOURCES)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    result = invoke(["--config", str(path), "backup", "--out", str(tmp_path / "full")])
    assert result.exit_code == 2 and "exists and is not empty" in result.stderr
    inside = invoke(["--config", str(path), "backup", "--out", str(load(path).evidence_dir / "b")])
    assert inside.exit_code == 2 and "inside the evidence folder" in inside.stderr
