"""``asn-monitor evaluate`` reports the real dev set beside the other sets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from classifiers.devset import SHARED_DATA
from monitor.testing import CliResult

Cli = Callable[..., CliResult]


def test_evaluate_reports_the_real_dev_section(cli: Cli, tmp_path: Path) -> None:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} (evaluation-only data) is missing")
    md = tmp_path / "report.md"
    out = cli("evaluate", "--dataset", "real-dev", "--json", "--out", str(md))
    assert out.exit_code == 0, out.stderr
    sec = out.json()["sections"]["real-dev"]
    subs = sec["subsets"]
    assert subs["tweets"]["n"] >= 550 and subs["blogs"]["n"] >= 400
    assert subs["handwritten"]["n"] >= 150
    for name in ("tweets", "blogs", "handwritten"):
        for key in ("precision", "recall", "f1", "stance_accuracy", "flag_rate_on_neutral"):
            assert key in subs[name]
    floor = sec["keyword_floor"]["subsets"]
    assert floor["tweets"]["recall"] > subs["tweets"]["recall"]  # the floor flags every name
    text = md.read_text(encoding="utf-8")
    assert "## real-dev" in text and "| f1 |" in text and "Keyword floor" in text


def test_without_the_data_folder_the_real_subsets_say_why(cli: Cli, tmp_path: Path) -> None:
    out = cli("evaluate", "--dataset", "real-dev", "--shared-data", str(tmp_path / "none"),
              "--json")
    assert out.exit_code == 0, out.stderr
    subs = out.json()["sections"]["real-dev"]["subsets"]
    assert str(tmp_path / "none") in subs["tweets"]["skipped"]
    assert subs["handwritten"]["n"] >= 150
