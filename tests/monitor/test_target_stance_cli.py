"""Per-target stances end to end: settings, ``classify``, ``run --once``, the queue, cards, digest."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from monitor.errors import ConfigError
from monitor.settings import DEFAULT_REVIEW_THRESHOLD, load
from monitor.testing import CliResult, invoke, write_settings
from storage.digest import week_of

# An ASN of Kabupaten Bandung backs ticket 1 (bdg-1) while attacking ticket 3 (bdg-3).
TWO_TICKETS = {
    "platform": "x", "id": "1856210934471230013", "kind": "post", "actor": "wawan_soreang",
    "created_at": "2024-11-15T19:22:10+07:00",
    "text": "Jangan pilih TAJU, janjinya kosong semua. Pilih CENIA nomor 1 aja, Kang Cecep "
            "sama Teh Nia jelas kerjanya #BandungCenia",
    "url": "https://x.com/wawan_soreang/status/1856210934471230013",
}
KEY = "x:1856210934471230013"
CENIA = "Cecep Hidayat – Nia Kurniasih"
TAJU = "Tatang Suryana – Ujang Mulyana"
NO_PNG = {"review": {"chromium": "", "fetch_images": False}}


def _with_item(config_dir: Path) -> None:
    samples = config_dir / "samples" / "items.jsonl"
    text = samples.read_text(encoding="utf-8")
    if TWO_TICKETS["id"] not in text:
        samples.write_text(text + json.dumps(TWO_TICKETS, ensure_ascii=False) + "\n", encoding="utf-8")


@pytest.fixture
def settings_path(config_dir: Path) -> Path:
    """The test settings (default linear model) over the samples plus the two-ticket item."""
    _with_item(config_dir)
    return write_settings(config_dir, extra=NO_PNG)


def _settings(config_dir: Path, classifier: dict[str, object]) -> Path:
    path = write_settings(config_dir, name="variant.toml")
    text = path.read_text(encoding="utf-8")
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in classifier.items())
    path.write_text(text.replace("[classifier]\n", "[classifier]\n" + extra, 1), encoding="utf-8")
    return path


def test_review_threshold_defaults_and_must_not_exceed_the_flag_threshold(config_dir: Path) -> None:
    old = load(write_settings(config_dir))  # a file without the new keys
    assert old.classifier.queue_threshold == DEFAULT_REVIEW_THRESHOLD == 0.1
    assert old.classifier.stage_names == ("matcher", "linear")
    low = load(_settings(config_dir, {"flag_threshold": 0.08}))
    assert low.classifier.queue_threshold == 0.08  # a file whose flag threshold is lower still
    staged = load(_settings(config_dir, {"model": "staged", "review_threshold": 0.25}))
    assert staged.classifier.stage_names == ("matcher", "linear", "transformer")
    assert staged.classifier.queue_threshold == 0.25
    with pytest.raises(ConfigError, match=r"classifier.*review_threshold \(0.6\) must be <= "
                                          r"flag_threshold \(0.5\)"):
        load(_settings(config_dir, {"review_threshold": 0.6}))
    items = config_dir / "one.jsonl"
    items.write_text(json.dumps(TWO_TICKETS) + "\n", encoding="utf-8")
    bad = invoke(["--config", str(_settings(config_dir, {"review_threshold": 0.6})), "classify",
                  str(items)])
    assert bad.exit_code != 0 and "review_threshold" in bad.stderr


def test_stages_from_the_settings_reach_the_classifier(config_dir: Path) -> None:
    items = config_dir / "one.jsonl"
    items.write_text(json.dumps(TWO_TICKETS) + "\n", encoding="utf-8")
    path = _settings(config_dir, {"stages": ["matcher", "tests_no_such_module:stage"]})
    result = invoke(["--config", str(path), "classify", str(items)])
    assert result.exit_code != 0 and "tests_no_such_module" in result.stderr


def test_classify_prints_each_targets_stance(config_dir: Path, settings_path: Path) -> None:
    items = config_dir / "one.jsonl"
    items.write_text(json.dumps(TWO_TICKETS) + "\n", encoding="utf-8")
    result = invoke(["--config", str(settings_path), "classify", str(items)])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["flagged"] is True and isinstance(out["high_confidence"], bool)
    assert set(out["targets"]) >= {"bdg-1", "bdg-3"} and out["stance"] in ("support", "oppose")
    stances = {t["target"]: t["stance"] for t in out["target_stances"]}
    assert stances["bdg-1"] == "support" and stances["bdg-3"] == "oppose"
    assert all(0.0 <= t["score"] <= 1.0 for t in out["target_stances"])


def _rows(settings_path: Path, sql: str, params: list[object] | None = None
          ) -> list[tuple[object, ...]]:
    with duckdb.connect(str(load(settings_path).db_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_run_stores_target_stances_and_the_card_and_digest_name_them(
        cli: Callable[..., CliResult], settings_path: Path) -> None:
    assert cli("run", "--once").exit_code == 0
    flags = _rows(settings_path, "SELECT item_key, targets, target_stances, high_confidence, score "
                                 "FROM flags")
    assert len(flags) >= 15
    for _, targets, per, high, score in flags:
        assert {t["target"] for t in json.loads(str(per))} >= set(json.loads(str(targets))) - {""}
        assert high == (float(str(score)) >= 0.5)
    (flag_id,), = _rows(settings_path, "SELECT flag_id FROM flags WHERE item_key = ?", [KEY])

    rows = cli("review", "queue", "--json", "--no-groups").json()["flags"]
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    mine = next(r for r in rows if r["flag_id"] == flag_id)
    assert {(t["target"], t["stance"]) for t in mine["target_stances"]} >= {
        ("bdg-1", "support"), ("bdg-3", "oppose")}
    assert "high" in cli("review", "queue", "--no-groups").stdout

    shown = cli("review", "show", str(flag_id), "--json")
    assert shown.exit_code == 0, shown.stderr
    words = shown.json()["stance_words"]
    assert words.startswith(f"mendukung {CENIA}") and f"menyerang {TAJU}" in words
    card = Path(shown.json()["evidence_dir"]) / f"cards/{flag_id}/card-id.html"
    assert f"mendukung {CENIA}" in card.read_text(encoding="utf-8")
    english = cli("review", "show", str(flag_id), "--json", "--language", "en").json()
    assert english["stance_words"].startswith(f"supports {CENIA}")
    assert f"attacks {TAJU}" in english["stance_words"]
    assert f"attacks {TAJU}" in (Path(english["evidence_dir"])
                                 / f"cards/{flag_id}/card-en.html").read_text(encoding="utf-8")
    assert "Stances" in cli("review", "show", str(flag_id)).stdout

    week = week_of(datetime.now(UTC))
    digest = cli("digest", "preview", "--week", week)
    assert digest.exit_code == 0 and f"mendukung {CENIA}" in digest.stdout
    assert f"menyerang {TAJU}" in digest.stdout
    english_digest = cli("digest", "preview", "--week", week, "--language", "en")
    assert f"supports {CENIA}" in english_digest.stdout
