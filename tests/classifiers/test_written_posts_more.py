"""The hand-written stance corpus stays well-formed, and its checker catches each kind of fault."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.data.check_written_posts import check

DATA = Path(__file__).resolve().parents[2] / "classifiers" / "data"
CORPUS = DATA / "written_posts_more.jsonl"
NEUTRAL = DATA / "written_posts_neutral.jsonl"


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("written_posts*.jsonl")))
def test_each_written_corpus_is_clean_and_trained_on(name: str) -> None:
    from classifiers.corpus import WRITTEN_CORPORA

    assert check(DATA / name) == []
    assert DATA / name in WRITTEN_CORPORA  # a corpus that is shipped is also used


def test_no_text_is_in_two_written_corpora() -> None:
    seen: dict[str, str] = {}
    for path in sorted(DATA.glob("written_posts*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            key = " ".join(json.loads(line)["text"].lower().split())
            assert seen.setdefault(key, path.name) == path.name, (key, seen[key], path.name)


def test_neutral_corpus_holds_what_it_is_for() -> None:
    rows = [json.loads(line) for line in NEUTRAL.read_text(encoding="utf-8").splitlines()]
    labels = [r["label"] for r in rows]
    assert labels.count("neutral") >= 600 and labels.count("unrelated") >= 150
    # The contrast pairs take a side on purpose; every other line names a target neutrally.
    assert {r["label"] for r in rows if r["source"] == "written-c:contrast"} == {"support", "oppose"}


def test_committed_corpus_is_clean_and_balanced() -> None:
    labels = [json.loads(line)["label"] for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    assert len(labels) >= 900
    assert labels.count("support") >= 350 and labels.count("oppose") >= 350
    assert labels.count("neutral") >= 150


def test_checker_names_each_fault(tmp_path: Path) -> None:
    rows = [
        '{"text": "Semoga sukses Bu [CALON]", "label": "support", "source": "written-b:wish"}',
        "not json",
        '{"text": "Hebat sekali", "label": "oppose", "source": "written-b:sarcasm"}',
        '{"text": "Debat [CALON] jam berapa?", "label": "netral", "source": "written-b:question"}',
        '{"text": "semoga  SUKSES bu [CALON]", "label": "support", "source": "written-b:wish"}',
        '{"text": "Pilih [CALN]", "label": "neutral", "source": "written-b:typo"}',
        '{"text": "[CALON] 💪", "label": "support", "source": "seed"}',
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    problems = check(path)
    assert any(p.startswith("line 2: not JSON") for p in problems)
    assert any(p.startswith("line 3: oppose text names no") for p in problems)
    assert any(p.startswith("line 4: label 'netral'") for p in problems)
    assert "line 5: duplicate of line 1" in problems
    assert "line 6: unknown placeholder [CALN]" in problems
    assert any(p.startswith("line 7: source 'seed'") for p in problems)
    assert len(problems) == 6
