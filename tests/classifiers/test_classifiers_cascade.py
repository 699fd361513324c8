"""The cascade's flag rule, results and batching, over the trained default model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from classifiers.api import build_default_classifier
from classifiers.cascade import CascadeClassifier
from classifiers.matcher import RegistryMatcher
from classifiers.models import load_model
from classifiers.testing import jabar_view, make_item, other_region_registry, trained_linear_dir
from monitor.model import Item, Result, StaticRegistryView


@pytest.fixture(scope="module")
def clf() -> CascadeClassifier:
    return build_default_classifier(trained_linear_dir(), threshold=0.5)


def _one(clf: CascadeClassifier, item: Item) -> Result:
    return clf.classify([item], jabar_view())[0]


@pytest.mark.parametrize(
    "text",
    [
        "Tanggal 27 jangan lupa coblos nomor 3, Hendra Gunawan pemimpin amanah!",
        "Asep Kurniawan paling layak jadi gubernur, ayo menangkan! #JabarBerkah",
        "pokoknya #JabarMenyala menang satu putaran 💪🔥",
    ],
)
def test_support_posts_are_flagged(clf: CascadeClassifier, text: str) -> None:
    r = _one(clf, make_item(text))
    assert r.flagged and r.stance == "support" and r.score >= 0.5
    assert r.targets and r.category == "posting"


def test_oppose_post_is_flagged(clf: CascadeClassifier) -> None:
    r = _one(clf, make_item("Jangan pilih Teddy Setiadi, janji manis doang, gagal total"))
    assert r.flagged and r.stance == "oppose" and r.targets == ("jabar-4",)


@pytest.mark.parametrize(
    "text",
    [
        # official, neutral talk that names candidates
        "KPU Jabar menetapkan nomor urut: Asep Kurniawan dan Rina Marlina nomor urut 1",
        "Debat kedua pilgub Jabar digelar Sabtu malam, Hendra Gunawan dan Teddy Setiadi hadir",
        "ASN wajib netral, jangan like atau share konten kampanye Rangga Pratama maupun lawannya",
        # false friends
        "Nostalgia nonton Bujang Kota, Rangga Pratama lucu banget dulu",
        "Antrian nomor 3 di puskesmas lama banget",
        "Selamat ultah Pak Asep, rekan kerja terbaik di bagian umum!",
        "Reuni SMA angkatan 2005 seru banget ✌️😁",
    ],
)
def test_neutral_and_false_friends_are_not_flagged(clf: CascadeClassifier, text: str) -> None:
    r = _one(clf, make_item(text))
    assert not r.flagged, r.explanation


def test_like_of_campaign_account_is_flagged_even_without_text(clf: CascadeClassifier) -> None:
    r = _one(clf, make_item(None, "like", subject_author="ranggapratama.bsky.social"))
    assert r.flagged and r.targets == ("jabar-2",) and r.category == "liking"
    assert r.score >= 0.9 and "account" in r.explanation


def test_repost_of_campaign_account_clearly_unrelated_is_vetoed(clf: CascadeClassifier) -> None:
    item = make_item(None, "repost", subject_author="ranggapratama.bsky.social",
                     subject_text="Baksonya enak banget, kuahnya gurih, recommended!")
    r = _one(clf, item)
    assert not r.flagged and r.category == "sharing"
    assert "unrelated" in r.explanation


def test_reply_agreeing_with_a_campaign_post(clf: CascadeClassifier) -> None:
    item = make_item("Setuju banget!", "reply",
                     subject_text="Coblos nomor 2, Rangga Pratama pasti bawa Jabar maju!")
    r = _one(clf, item)
    assert r.flagged and r.stance == "support" and r.category == "commenting"
    item = make_item("Ingat ASN harus netral ya pak", "reply",
                     subject_text="Coblos nomor 2, Rangga Pratama pasti bawa Jabar maju!")
    assert not _one(clf, item).flagged


def test_other_regions_candidates_are_not_flagged(clf: CascadeClassifier) -> None:
    item = make_item("Coblos BANI, Bagus Prasetyo wali kota terbaik!")
    assert not clf.classify([item], jabar_view())[0].flagged
    other = StaticRegistryView((other_region_registry(),))
    assert clf.classify([item], other)[0].flagged


def test_result_fields_and_explanation(clf: CascadeClassifier) -> None:
    item = make_item("Coblos nomor 3! Hendra Gunawan pasti menang")
    r = _one(clf, item)
    assert r.item_key == item.key and r.version == clf.version
    assert r.version.startswith("linear-") and r.model == "cascade/linear"
    assert 'ballot_number "coblos nomor 3"' in r.explanation
    assert "name \"hendra gunawan\" -> jabar-3" in r.explanation
    assert "partisan score" in r.explanation and "model input for jabar-3:" in r.explanation
    assert clf.name == "cascade" and callable(clf.classify)


def test_the_explanation_shows_the_reading_that_decided(clf: CascadeClassifier) -> None:
    # Two candidates named: the model read the text once per target, each time with the
    # other as [LAWAN]; the evidence must show the reading behind the verdict.
    r = _one(clf, make_item("Hendra Gunawan korupsi, pilih Asep Kurniawan saja"))
    top = max(r.target_stances, key=lambda t: t.score)
    line = next(x for x in r.explanation.splitlines() if x.startswith("model input for "))
    assert line.startswith(f"model input for {top.target}: ")
    assert "[CALON]" in line and "[LAWAN]" in line


def test_threshold_comes_from_the_caller() -> None:
    item = make_item("Hendra Gunawan oke juga sih kayaknya")
    lo = build_default_classifier(trained_linear_dir(), threshold=0.0)
    hi = build_default_classifier(trained_linear_dir(), threshold=1.0)
    r_lo, r_hi = lo.classify([item], jabar_view())[0], hi.classify([item], jabar_view())[0]
    assert r_lo.score == r_hi.score
    assert not r_hi.flagged
    assert r_lo.flagged == (r_lo.stance in ("support", "oppose"))
    with pytest.raises(ValueError):
        CascadeClassifier(RegistryMatcher(), lo.model, flag_threshold=1.5)


def test_items_without_targets_skip_the_model(clf: CascadeClassifier) -> None:
    r = _one(clf, make_item("Macet parah di tol Cikampek"))
    assert (r.flagged, r.stance, r.score, r.targets) == (False, "unrelated", 0.0, ())


class _SpyModel:
    kind = "spy"
    version = "spy-1"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        return np.tile([0.7, 0.1, 0.1, 0.1], (len(texts), 1))


def test_batching_and_order() -> None:
    spy = _SpyModel()
    clf = CascadeClassifier(RegistryMatcher(), spy, batch_size=4)
    items = [make_item(f"Coblos nomor {i % 4 + 1} ya") for i in range(10)]
    items.insert(3, make_item("sarapan bubur ayam"))
    results = clf.classify(items, jabar_view())
    assert [r.item_key for r in results] == [i.key for i in items]
    # one model pass over every target's text, in chunks of the batch size
    texts = sum(len(r.targets) for r in results)
    assert sum(spy.calls) == texts and max(spy.calls) == 4 and spy.calls[:-1] == [4] * (len(spy.calls) - 1)
    assert [r.flagged for r in results].count(False) == 1
    assert results[0].version == "spy-1"


def test_long_texts_are_scored_by_target_windows() -> None:
    spy = _SpyModel()
    clf = CascadeClassifier(RegistryMatcher(), spy)
    filler = "Rapat berjalan lancar dan semua peserta hadir tepat waktu . " * 30
    text = filler + "Coblos nomor 3 Hendra Gunawan ! " + filler
    clf.classify([make_item(text)], jabar_view())
    assert spy.calls == [1]  # only the window that names the target


def test_loaded_model_dir_can_be_any_trained_model(tmp_path: Path) -> None:
    model = load_model(trained_linear_dir())
    assert model.kind == "linear"


def test_like_of_campaign_everyday_post_is_still_flagged(clf: CascadeClassifier) -> None:
    item = make_item(None, "like", subject_author="ranggapratama.bsky.social",
                     subject_text="Terima kasih relawan Cirebon!")
    r = _one(clf, item)
    assert r.flagged and r.targets == ("jabar-2",)
