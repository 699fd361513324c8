"""``train`` and ``evaluate`` through the CLI: reviewers' decisions become training data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from monitor.testing import CliResult

Cli = Callable[..., CliResult]


def test_train_uses_reviewed_flags_and_evaluate_reports(cli: Cli, tmp_path: Path) -> None:
    assert cli("run", "--once").exit_code == 0
    queue = cli("review", "queue", "--json").json()
    flags = [row["flag_id"] for row in (queue["flags"] if isinstance(queue, dict) else queue)]
    assert len(flags) >= 2
    assert cli("review", "confirm", str(flags[0]), "--reviewer", "ani").exit_code == 0
    dismissed = cli("review", "dismiss", str(flags[1]), "--reason", "not_partisan",
                    "--reviewer", "ani")
    assert dismissed.exit_code == 0, dismissed.stderr

    out = tmp_path / "model"
    trained = cli("train", "--out", str(out), "--json")
    assert trained.exit_code == 0, trained.stderr
    report = trained.json()
    assert report["reviewed_examples"] == 2
    assert report["version"].startswith("linear-")
    assert (out / "meta.json").exists() and (out / "metrics.json").exists()
    assert report["metrics"]["partisan"]["f1"] >= 0.9

    md = tmp_path / "report.md"
    evaluated = cli("evaluate", "--model-dir", str(out), "--dataset", "seed-heldout",
                    "--out", str(md))
    assert evaluated.exit_code == 0, evaluated.stderr
    text = md.read_text()
    assert report["version"] in text
    assert "Confusion" in text and "| **partisan** |" in text
