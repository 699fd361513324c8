"""Progress on long work: shown on a terminal (forced here), silent in pipes; status fits 80 columns."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.testing import invoke, write_settings


@pytest.fixture
def ran(config_dir: Path) -> Path:
    path = write_settings(config_dir, extra={"classifier": {"model": "matcher"},
                                             "digest": {"enabled": False}})
    assert invoke(["--config", str(path), "run", "--once"]).exit_code == 0
    return path


def test_bars_only_on_a_terminal(ran: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASN_MONITOR_PROGRESS", raising=False)
    quiet = invoke(["--config", str(ran), "export", "--format", "csv", "--out", str(tmp_path / "a")])
    assert quiet.exit_code == 0 and quiet.stderr == ""  # captured output is not a terminal
    monkeypatch.setenv("ASN_MONITOR_PROGRESS", "1")
    shown = invoke(["--config", str(ran), "export", "--format", "csv", "--out", str(tmp_path / "b")])
    assert shown.exit_code == 0
    assert "Exporting tables" in shown.stderr and "5/5" in shown.stderr
    retention = invoke(["--config", str(ran), "retention", "run"])
    assert retention.exit_code == 0 and "Purging unflagged content" in retention.stderr
    queue = invoke(["--config", str(ran), "review", "queue"])
    assert queue.exit_code == 0 and "Embedding flag texts" in queue.stderr
    monkeypatch.setenv("ASN_MONITOR_PROGRESS", "0")
    off = invoke(["--config", str(ran), "retention", "run"])
    assert off.stderr == ""


@pytest.mark.slow
def test_first_run_training_shows_progress(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASN_MONITOR_PROGRESS", "1")
    path = write_settings(config_dir, extra={"classifier": {"model_dir": "../data/models/fresh"},
                                             "digest": {"enabled": False}})
    done = invoke(["--config", str(path), "run", "--once"])
    assert done.exit_code == 0, done.stderr
    assert "Training the default model" in done.stderr


def test_status_fits_80_columns(ran: Path) -> None:
    text = invoke(["--config", str(ran), "status"]).stdout
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "Last run" in text and "items_seen" in text
