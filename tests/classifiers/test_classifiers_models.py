"""Seed corpus, calibration, masking, and the linear model's train/save/load/predict."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from classifiers.calibration import calibration, confusion, prf
from classifiers.corpus import (
    LabelledExample,
    labelled_from_items,
    load_bundled_negatives,
    load_seed_corpus,
    neutralised_copies,
)
from classifiers.data.make_seed_corpus import build
from classifiers.linear import LinearStanceModel, train_linear
from classifiers.matcher import RegistryMatcher
from classifiers.models import LABELS, data_version, load_model
from classifiers.testing import (
    jabar_view,
    make_item,
    other_region_registry,
    trained_linear_dir,
)
from monitor.errors import ConfigError
from monitor.model import StaticRegistryView

# ------------------------------------------------------------------ seed corpus


def test_seed_corpus_shape() -> None:
    rows = load_seed_corpus()
    assert len(rows) >= 1500
    labels = Counter(r.label for r in rows)
    assert set(labels) == set(LABELS) and min(labels.values()) >= 300
    assert {r.kind for r in rows} == {"post", "reply", "quote", "repost", "like"}
    assert {"formal", "casual", "slang", "emoji", "hashtags", "mixed_english"} <= {
        r.style for r in rows}
    test = load_seed_corpus("test")
    assert 0.15 <= len(test) / len(rows) <= 0.25


def test_seed_corpus_is_reproducible_and_split_by_fragment() -> None:
    on_disk = [json.loads(line) for line in
               Path("classifiers/data/seed_corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    assert build() == on_disk
    train = {r.text for r in load_seed_corpus("train")}
    test = load_seed_corpus("test")
    assert not train & {r.text for r in test}
    # held-out families: sentences of the test split are not train sentences restyled
    def key(t: str) -> str:
        return "".join(c for c in t.lower() if c.isalpha())[:40]
    train_keys = {key(t) for t in train}
    overlap = sum(key(r.text) in train_keys for r in test) / len(test)
    assert overlap < 0.05


def test_seed_corpus_has_hard_negatives_and_official_neutral_talk() -> None:
    rows = load_seed_corpus()
    unrelated = " ".join(r.text.lower() for r in rows if r.label == "unrelated")
    for word in ("antrian nomor", "✌", "sinetron", "calon pengantin", "kampanye anti narkoba"):
        assert word in unrelated
    neutral = " ".join(r.text.lower() for r in rows if r.label == "neutral")
    for word in ("bawaslu", "kpu", "dpt", "debat", "asn wajib menjaga netralitas"):
        assert word in neutral


def test_bundled_negatives_are_non_political() -> None:
    negs = load_bundled_negatives()
    assert len(negs) == 1500
    assert all(n.label == "unrelated" for n in negs)
    assert not any("jokowi" in n.text or "pilkada" in n.text for n in negs)


# ------------------------------------------------------------------- calibration


def test_calibration_perfect_and_bad() -> None:
    good = calibration([0.0, 0.0, 1.0, 1.0], [False, False, True, True])
    assert good.brier == 0.0 and good.ece == 0.0
    bad = calibration([0.9, 0.9, 0.9, 0.9], [False, False, False, False])
    assert bad.brier == pytest.approx(0.81) and bad.ece == pytest.approx(0.9)
    mixed = calibration([0.25, 0.25, 0.25, 0.25], [True, False, False, False])
    assert mixed.ece == pytest.approx(0.0)
    assert mixed.bins[2].count == 4 and "Brier" in mixed.to_markdown()
    with pytest.raises(ValueError):
        calibration([0.1], [])


def test_prf_and_confusion() -> None:
    m = prf([True, True, False, False], [True, False, True, False])
    assert (m.precision, m.recall, m.f1, m.support) == (0.5, 0.5, 0.5, 2)
    assert confusion(["a", "b", "b"], ["a", "a", "b"], ["a", "b"]) == [[1, 0], [1, 1]]


# ---------------------------------------------------------------------- masking


def test_masking_makes_elections_interchangeable() -> None:
    """The same post about two different elections' candidates reads the same to the model."""
    m = RegistryMatcher()
    a = m.match(make_item("Coblos nomor 3, Hendra Gunawan pasti amanah #JabarHegar"),
                jabar_view().registries)
    b = m.match(make_item("Coblos nomor 2, Joko Susilo pasti amanah #SurabayaHebat"),
                (other_region_registry(),))
    assert a.masked_text == "coblos nomor [NOMOR] , [CALON] pasti amanah [CALON]"
    # A campaign tag's first piece stands for the target; its other words stay ("hebat"),
    # and no name or place of either election is left.
    assert b.masked_text == a.masked_text + " hebat"


def test_labelled_from_items_masks_reviewed_items() -> None:
    items = [(make_item("Pilih Asep Kurniawan!"), "support"),
             (make_item("Rapat anggaran"), "unrelated")]
    ex = labelled_from_items(items, jabar_view())  # type: ignore[arg-type]
    assert [e.text for e in ex] == ["pilih [CALON] !", "rapat anggaran"]
    assert [e.label for e in ex] == ["support", "unrelated"]


# ------------------------------------------------------------------ linear model


def test_linear_train_save_load_predict(tmp_path: Path) -> None:
    train = load_seed_corpus("train")[::3]
    test = load_seed_corpus("test")
    report = train_linear(train, tmp_path / "m", test)
    assert report.version.startswith("linear-") and len(report.version) == len("linear-") + 12
    assert report.version == data_version("linear", train, json.loads(
        (tmp_path / "m" / "meta.json").read_text())["params"])
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert metrics["n"] == len(test) and metrics["partisan"]["f1"] > 0.8
    loaded = load_model(tmp_path / "m")
    assert isinstance(loaded, LinearStanceModel) and loaded.version == report.version
    texts = ["coblos nomor [NOMOR] , [CALON] pasti menang", "antrean nomor 3 di puskesmas"]
    p = loaded.predict_proba(texts)
    assert p.shape == (2, 4) and np.allclose(p.sum(axis=1), 1.0)
    assert LABELS[int(p[0].argmax())] == "support"
    assert LABELS[int(p[1].argmax())] == "unrelated"
    assert loaded.predict_proba([]).shape == (0, 4)


def test_version_changes_with_data() -> None:
    a = [LabelledExample("a", "support"), LabelledExample("b", "oppose")]
    b = [*a, LabelledExample("c", "neutral")]
    assert data_version("linear", a, {}) != data_version("linear", b, {})
    assert data_version("linear", a, {}) == data_version("linear", list(a), {})


def test_default_model_is_cached(tmp_path: Path) -> None:
    path = trained_linear_dir()
    meta = json.loads((path / "meta.json").read_text())
    assert meta["auto"] and meta["kind"] == "linear"
    assert (path / "metrics.json").exists() and (path / "model.joblib").exists()
    from classifiers.api import ensure_default_model

    before = (path / "model.joblib").stat().st_mtime_ns
    assert ensure_default_model(path) == path
    assert (path / "model.joblib").stat().st_mtime_ns == before  # not retrained


def test_load_model_rejects_other_folders(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_model(tmp_path)
    (tmp_path / "meta.json").write_text('{"kind": "svm"}')
    with pytest.raises(ConfigError):
        load_model(tmp_path)


def test_train_with_extra_reviewed_examples(tmp_path: Path) -> None:
    from classifiers.api import train

    extra = labelled_from_items(
        [(make_item("Sudah pasti Teddy Setiadi, the one and only"), "support")],
        StaticRegistryView(jabar_view().registries),
    )
    report = train("linear", tmp_path / "m", extra, params={"C": 1.0})
    base = len(load_seed_corpus("train")) + 1500 + 1
    # plus the bundled real and written posts, rival compositions and neutralised copies
    assert base < report.n_train < 4 * base
    # The held-out rows include the written corpora's hard neutral posts that name a
    # candidate; the default model scores about 0.90 there (C = 1 a little less).
    assert report.metrics["partisan"]["f1"] > 0.85
    from classifiers.models import load_model

    p = load_model(tmp_path / "m").predict_proba(["sudah pasti [CALON] , the one and only"])
    assert p[0][0] == p[0].max()  # the reviewed example's stance was learned


def test_neutralised_copies() -> None:
    rows = [LabelledExample(f"pilih [CALON] nomor [NOMOR] {i}", "support") for i in range(200)]
    rows.append(LabelledExample("tanpa target", "unrelated"))
    copies = neutralised_copies(rows, 0.5)
    assert 60 < len(copies) < 140
    assert all(c.text.startswith("pilih beliau nomor itu") for c in copies)
    assert copies == neutralised_copies(rows, 0.5)  # reproducible


def test_default_model_never_replaces_a_foreign_folder(tmp_path: Path) -> None:
    from classifiers.api import ensure_default_model

    (tmp_path / "other-model").mkdir()
    (tmp_path / "other-model" / "weights.bin").write_bytes(b"x")
    with pytest.raises(ConfigError):
        ensure_default_model(tmp_path)
    assert (tmp_path / "other-model" / "weights.bin").exists()


def test_a_change_in_what_models_read_marks_auto_models_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    # The bundled-data key covers the model-input version too: a normaliser change that
    # alters what a model reads retrains a model trained on first use, like a data change.
    import classifiers.api as api

    before = api._bundled_data_sha()
    monkeypatch.setattr(api, "MODEL_INPUT_VERSION", api.MODEL_INPUT_VERSION + "+next")
    assert api._bundled_data_sha() != before
