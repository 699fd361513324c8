"""The classifier is the list of stages the settings name; a new stage is one class plus one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.api import build_default_classifier
from classifiers.stages import StageConfig, build_stages
from classifiers.testing import jabar_view, make_item, trained_linear_dir
from monitor.errors import ConfigError
from monitor.testing import invoke, write_settings

TEST_STAGE = "classifiers.testing:keyword_stage"


def test_a_stage_named_by_path_runs_after_the_model() -> None:
    clf = build_default_classifier(trained_linear_dir(), stages=["matcher", "linear", TEST_STAGE])
    assert [s.name for s in clf.stages] == ["matcher", "linear", "keyword"]
    plain, keyed = clf.classify([make_item("Teddy Setiadi hari ini ke Garut"),
                                 make_item("Teddy Setiadi hari ini ke Garut #uji-tahap")],
                                jabar_view())
    assert keyed.flagged and keyed.stance == "support" and keyed.score > 0.9
    assert not plain.high_confidence
    assert "keyword-1" in keyed.version


def test_the_stage_list_comes_from_the_settings(config_dir: Path) -> None:
    settings = write_settings(config_dir, extra={"classifier": {
        "model_dir": str(trained_linear_dir()), "stages": ["matcher", "linear", TEST_STAGE]}})
    items = config_dir / "in.jsonl"
    items.write_text(json.dumps({
        # a Kabupaten Bandung ASN on the sample roster, so the regency election applies
        "platform": "bluesky", "id": "1", "kind": "post", "actor": "sitinur-nakes.bsky.social",
        "created_at": "2024-11-10T09:00:00+07:00",
        "text": "Kang Iwan hari ini ke Soreang #uji-tahap"}) + "\n", encoding="utf-8")
    r = invoke(["--config", str(settings), "classify", str(items)])
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout.splitlines()[0])
    assert out["flagged"] and out["stance"] == "support"
    assert out["target_stances"][0]["target"] == "bdg-2"


@pytest.mark.parametrize(("names", "error"), [
    (["linear"], "first stage must be"),
    (["matcher", "no-such-stage"], "unknown stage 'no-such-stage'"),
    (["matcher", "classifiers.testing:nothing_here"], "cannot load stage"),
])
def test_bad_stage_lists_are_config_errors(names: list[str], error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        build_stages(names, StageConfig(model_dir=trained_linear_dir()))
