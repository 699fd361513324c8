"""The dev set's figures on a tiny hand-made example, and the keyword floor."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from classifiers.devset import DevItem, Gold, load_registries, view_for
from classifiers.devset_metrics import KeywordFloor, score_subset, target_stances
from monitor.model import Item, Result, Stance

WHEN = datetime(2017, 1, 5, tzinfo=UTC)


def _item(n: int, text: str, *gold: tuple[str, Stance]) -> DevItem:
    golds = tuple(Gold("pilkada-dki-2017" if t else "", t, s) for t, s in gold)
    return DevItem("tweets", Item("x", f"t{n}", "post", "a", WHEN, text), golds,
                   ("pilkada-dki-2017",))


def _result(n: int, flagged: bool, stance: str, *targets: str) -> Result:
    return Result(f"x:t{n}", flagged, 0.9 if flagged else 0.1, stance,  # type: ignore[arg-type]
                  tuple(targets), "posting", "", "test", "v")


def test_figures_on_a_hand_made_example() -> None:
    items = [
        _item(1, "a", ("dki17-2", "support")),                        # flagged right
        _item(2, "b", ("dki17-1", "oppose"), ("dki17-2", "support")),  # flagged, one stance for both
        _item(3, "c", ("dki17-3", "oppose")),                         # missed
        _item(4, "d", ("dki17-3", "neutral")),                        # neutral, flagged
        _item(5, "e", ("dki17-1", "neutral")),                        # neutral, not flagged
        _item(6, "f", ("", "unrelated")),                             # names none, flagged
        _item(7, "g", ("", "neutral")),                               # names none
    ]
    results = [
        _result(1, True, "support", "dki17-2"),
        _result(2, True, "oppose", "dki17-1", "dki17-2"),
        _result(3, False, "neutral", "dki17-3"),
        _result(4, True, "oppose", "dki17-3"),
        _result(5, False, "neutral", "dki17-1"),
        _result(6, True, "support", "dki17-1"),
        _result(7, False, "unrelated"),
    ]
    f = score_subset(items, results)
    # Items: gold partisan 1,2,3; flagged 1,2,4,6 -> tp 2, fp 2, fn 1.
    assert (f["precision"], f["recall"]) == (0.5, pytest.approx(2 / 3, abs=1e-4))
    assert f["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3), abs=1e-4)
    assert f["flag_rate_on_neutral"] == 0.5 and f["fpr_none_named"] == 0.5
    # Pairs: 1 dki17-2 support right; 2 dki17-1 oppose right, dki17-2 support wrong; 3 missed.
    assert f["stance_accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert f["stance_accuracy_all"] == 0.5
    assert f["stance_balanced"] == 0.75  # support 1 of 2 right, oppose 1 of 1
    assert f["recall_support"] == 1.0 and f["recall_oppose"] == 0.5
    assert f["per_target"]["dki17-2"] == {"n_partisan": 2, "recall": 1.0, "stance_accuracy": 0.5}
    assert f["per_target"]["dki17-3"] == {"n_partisan": 1, "recall": 0.0, "stance_accuracy": None}
    assert (f["n"], f["n_partisan"], f["n_neutral_named"], f["n_none_named"]) == (7, 3, 2, 2)


def test_a_per_target_list_is_read_when_results_carry_one() -> None:
    from dataclasses import replace

    from monitor.model import TargetStance

    both = replace(_result(1, True, "oppose", "dki17-1"), targets=("dki17-1", "dki17-2"),
                   target_stances=(TargetStance("dki17-1", "oppose", 0.9),
                                   TargetStance("dki17-2", "support", 0.8)))
    assert target_stances(both) == {"dki17-1": "oppose", "dki17-2": "support"}
    assert target_stances(_result(1, True, "oppose", "dki17-1")) == {"dki17-1": "oppose"}


def test_keyword_floor_flags_whatever_names_a_target() -> None:
    items = [_item(1, "Ahok mantap", ("dki17-2", "support")),
             _item(2, "Debat pilkada jam berapa?", ("", "neutral")),
             _item(3, "KPU tetapkan Anies-Sandi nomor 3", ("dki17-3", "neutral"))]
    floor = KeywordFloor()
    view = view_for(items, load_registries())
    results = floor.classify([d.item for d in items], view)
    assert [r.flagged for r in results] == [True, False, True]
    assert results[0].targets == ("dki17-2",)
    f = score_subset(items, results, has_stance=False)
    assert f["recall"] == 1.0 and f["flag_rate_on_neutral"] == 1.0 and "stance_accuracy" not in f
