"""``asn-monitor train --examples``: your own labelled items join the training data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.testing import CliResult


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    return path


BASE = {"platform": "x", "kind": "post", "actor": "asn_budi",
        "created_at": "2024-11-10T09:00:00+07:00"}


@pytest.mark.slow
def test_train_with_an_examples_file_records_it(cli: object, tmp_path: Path) -> None:
    examples = _write(tmp_path / "kasus.jsonl", [
        {**BASE, "id": "k1", "text": "Tatang Suryana cuma janji, pilih Cecep Hidayat saja",
         "labels": {"bdg-3": "oppose", "bdg-1": "support"}},
        {**BASE, "id": "k2", "text": "Mantap Kang Iwan, lanjutkan!", "label": "support"},
        {**BASE, "id": "k3", "text": "KPU umumkan jadwal debat Cecep Hidayat", "label": "neutral"},
    ])
    out = tmp_path / "model"
    r: CliResult = cli("train", "--examples", str(examples), "--out", str(out),  # type: ignore[operator]
                       "--without-reviews", "--json")
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["file_examples"] == 4  # one per labelled target, one per item label
    meta = json.loads((out / "meta.json").read_text())
    assert meta["trained_on"]["extra"] == {"reviewed": 0, f"examples:{examples}": 4}
    assert meta["trained_on"]["rows_by_source"]["examples"] >= 4
    assert (out / "calibration.json").exists()


def test_an_example_without_a_label_is_refused_with_its_line(cli: object, tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.jsonl", [
        {**BASE, "id": "k1", "text": "Mantap Kang Iwan", "label": "support"},
        {**BASE, "id": "k2", "text": "Kang Iwan lagi"},
    ])
    r: CliResult = cli("train", "--examples", str(bad), "--out", str(tmp_path / "m"))  # type: ignore[operator]
    assert r.exit_code == 2
    assert f"{bad}:2" in r.stderr and "label" in r.stderr
    assert not (tmp_path / "m").exists()


def test_a_target_the_text_does_not_name_is_refused(cli: object, tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.jsonl", [
        {**BASE, "id": "k1", "text": "Mantap Kang Iwan", "labels": {"bdg-3": "support"}},
    ])
    r: CliResult = cli("train", "--examples", str(bad), "--out", str(tmp_path / "m"))  # type: ignore[operator]
    assert r.exit_code == 2
    assert "bdg-3" in r.stderr and "not named" in r.stderr
