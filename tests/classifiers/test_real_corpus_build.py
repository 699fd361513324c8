"""The bundled real political rows are what their generator makes from ../shared/data today.

The rows are masked by the registry matcher, so a matcher change that is not followed by
a rebuild would train the model on texts masked one way and read posts masked another.
"""

from __future__ import annotations

import json

import pytest

from classifiers.corpus import LabelledExample
from classifiers.data.make_real_corpus import REAL_POLITICAL, nerp_rows, smsa_rows
from classifiers.devset import SHARED_DATA
from classifiers.matcher import RegistryMatcher
from classifiers.testing import jabar_view, make_item


def test_real_political_rows_match_their_generator() -> None:
    smsa = SHARED_DATA / "indonlu-smsa" / "train_preprocess.tsv"
    nerp = SHARED_DATA / "indonlu-nerp" / "train_preprocess.txt"
    if not (smsa.exists() and nerp.exists()):
        pytest.skip(f"needs the IndoNLU train splits under {SHARED_DATA}")
    matcher = RegistryMatcher()
    built = [*smsa_rows(smsa, matcher), *nerp_rows(nerp, matcher)]
    bundled = [json.loads(line) for line in REAL_POLITICAL.read_text(encoding="utf-8").splitlines()]
    changed = [b["source"] for b, s in zip(built, bundled, strict=False) if b != s]
    assert len(built) == len(bundled) and not changed, (
        f"{REAL_POLITICAL.name} is stale ({len(bundled)} rows, generator gives {len(built)}; "
        f"first differing: {changed[:3]}): run python -m classifiers.data.make_real_corpus")


@pytest.mark.parametrize(("written", "real"), [
    ("Pak [CALON] hebat", "Pak Hendra Gunawan hebat"),
    ("mantap Kang [CALON] !", "mantap Kang Asep Kurniawan !"),
    ("bapak saya dukung [CALON]", "bapak saya dukung Hendra Gunawan"),
])
def test_written_posts_are_trained_as_the_matcher_reads_posts(written: str, real: str) -> None:
    # The written corpora come masked by their authors ("Pak [CALON]"); the matcher masks
    # a title with the name. Training must see what the model will read.
    match = RegistryMatcher().match(make_item(real), jabar_view().registries)
    assert LabelledExample(written, "support").model_input() == match.text_for(match.targets[0])
