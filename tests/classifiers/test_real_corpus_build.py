"""The bundled real political rows are what their generator makes from ../shared/data today.

The rows are masked by the registry matcher, so a matcher change that is not followed by
a rebuild would train the model on texts masked one way and read posts masked another.
"""

from __future__ import annotations

import json

import pytest

from classifiers.data.make_real_corpus import REAL_POLITICAL, nerp_rows, smsa_rows
from classifiers.devset import SHARED_DATA
from classifiers.matcher import RegistryMatcher


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
