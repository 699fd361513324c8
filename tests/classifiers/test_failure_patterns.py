"""The ways the first classifier failed on real posts, each with examples written for this test.

None of these texts is in the training data (the bundled corpora are masked; these
name the fictional Jawa Barat candidates of ``classifiers.testing``). They follow
the patterns seen on real tweets: praise without a campaign verb, hashtag-only
posts, wishes, attacks by insinuation or sarcasm, regional insults, one post
backing one ticket and attacking another, long posts, and the hard neutral cases.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pytest

from classifiers.api import build_default_classifier
from classifiers.cascade import CascadeClassifier
from classifiers.matcher import RegistryMatcher
from classifiers.testing import jabar_registry, jabar_view, make_item, trained_linear_dir
from monitor.model import Item, Result, StaticRegistryView
from monitor.settings import DEFAULT_REVIEW_THRESHOLD


@pytest.fixture(scope="module")
def clf() -> CascadeClassifier:
    return build_default_classifier(trained_linear_dir(), threshold=0.5,
                                    review_threshold=DEFAULT_REVIEW_THRESHOLD)


def _one(clf: CascadeClassifier, item: Item) -> Result:
    return clf.classify([item], jabar_view())[0]


def _stances(r: Result) -> dict[str, str]:
    return {t.target: t.stance for t in r.target_stances}


@pytest.mark.parametrize("text", [
    # praise without a campaign verb
    "Terima kasih atas dedikasinya Pak Hendra Gunawan, sekolah di desa kami sekarang punya perpustakaan",
    "Salut sama Teddy Setiadi, turun langsung ke lokasi longsor jam 2 pagi",
    # a hashtag and emoji only
    "#JabarHegar 💪🔥🔥",
    # a name and a wish
    "semoga sukses terus Pak Rangga Pratama 🙏",
    "Sehat selalu Bu Rina Marlina, semoga amanah",
    # reporting one's own campaign activity
    "Tadi sore ikut blusukan bareng Asep Kurniawan di pasar Soreang, warga antusias banget",
])
def test_support_without_campaign_verbs_is_flagged(clf: CascadeClassifier, text: str) -> None:
    r = _one(clf, make_item(text))
    assert r.flagged and r.stance == "support", r.explanation


@pytest.mark.parametrize("text", [
    # insinuation and sarcasm
    "Hebat ya Teddy Setiadi, janji jalan mulus tinggal janji 👏👏",
    "Kok bisa ya orang masih percaya sama Rangga Pratama setelah kasus dana hibah itu",
    # rhetorical questions
    "Masa sih masih mau pilih Hendra Gunawan, kantornya aja digeledah kejaksaan",
    "Hendra Gunawan kantornya digeledah kejaksaan, masih mau pilih dia?",
    # a known limit of the last round (read as a call to vote); the attack posts written
    # in real-tweet shapes (classifiers/data/written_posts_oppose.jsonl) taught it
    "Yakin mau pilih Hendra Gunawan yang kantornya digeledah kejaksaan?",
    # regional insults
    "Asep Kurniawan ki ora iso opo-opo, ngomong thok",
    "Teddy Setiadi mah kagak becus ngurusin banjir, bisanya ngeles doang",
    # corruption accusation and a call to vote against
    "Jangan pilih Rangga Pratama, koruptor dana desa",
])
def test_attacks_are_flagged_as_oppose(clf: CascadeClassifier, text: str) -> None:
    r = _one(clf, make_item(text))
    assert r.flagged and r.stance == "oppose", r.explanation


# The last round's known limit: hostility aimed at a candidate's critics read as an attack
# on the candidate. The written defence posts (classifiers/data/written_posts_support.jsonl)
# taught it once the second attack corpus balanced them.
@pytest.mark.parametrize("text", [
    "Hendra Gunawan tidak korupsi, dia korban fitnah politik yang keji. Kalian penyebar hoax itu biadab!",
    "Dasar buzzer goblok, Teddy Setiadi itu kerjanya nyata, kalian cuma bisa nyinyir",
])
def test_an_angry_defence_is_read_as_support(clf: CascadeClassifier, text: str) -> None:
    r = _one(clf, make_item(text))
    assert r.flagged and set(_stances(r).values()) == {"support"}


def test_backing_one_ticket_by_attacking_another_gives_each_its_stance(
        clf: CascadeClassifier) -> None:
    r = _one(clf, make_item("Rangga Pratama cuma bisa janji, mending pilih Hendra Gunawan yang "
                            "sudah terbukti kerjanya"))
    assert r.flagged
    assert _stances(r) == {"jabar-2": "oppose", "jabar-3": "support"}, r.explanation


@pytest.mark.parametrize(("text", "stance"), [
    ("Udah cukup lah, rakyat capek dibohongin. #2029GantiGubernur", "oppose"),
    ("Bismillah, lima tahun cukup. #2029GantiGubernur 🔥", "oppose"),
    ("Insya Allah #2029TetapHendra", "support"),
])
def test_a_registered_tag_that_names_no_one_reads_as_written(
        clf: CascadeClassifier, text: str, stance: str) -> None:
    # A call to replace an incumbent, registered on the incumbent's ticket: its office
    # word stands for the target, so the model reads "2029 ganti [CALON]", not
    # "[CALON] ganti gubernur" (which reads as the candidate doing the replacing).
    cand = dataclasses.replace(jabar_registry().candidates[2], hashtags=(
        "#JabarHegar", "#2029GantiGubernur", "#2029TetapHendra"))
    reg = jabar_registry()
    reg = dataclasses.replace(reg, candidates=(*reg.candidates[:2], cand, *reg.candidates[3:]))
    r = clf.classify([make_item(text)], StaticRegistryView((reg,)))[0]
    assert r.flagged and _stances(r) == {"jabar-3": stance}, r.explanation


@pytest.mark.parametrize("text", [
    # a news headline about a candidate's wealth declaration
    "KPU umumkan laporan harta kekayaan Teddy Setiadi sebesar Rp 12 miliar",
    # reported speech and information questions
    "Menurut KPU Jabar, berkas pendaftaran Asep Kurniawan sudah lengkap",
    "Debat Hendra Gunawan dan Rangga Pratama besok jam berapa ya?",
    # a reminder to stay neutral
    "Teman-teman ASN, jangan like atau share postingan Teddy Setiadi maupun paslon lain ya",
])
def test_hard_neutral_cases_are_not_flagged_high(clf: CascadeClassifier, text: str) -> None:
    r = _one(clf, make_item(text))
    assert not r.high_confidence, r.explanation


def test_a_one_word_answer_to_a_factual_question_is_not_flagged(clf: CascadeClassifier) -> None:
    item = make_item("Hendra Gunawan", "reply",
                     subject_text="Siapa cagub yang debat pertama kali tadi malam?")
    assert not _one(clf, item).high_confidence


def test_long_posts_are_read_by_the_windows_that_name_a_target(clf: CascadeClassifier) -> None:
    filler = ("Pagi ini saya jalan-jalan ke alun-alun bersama anak-anak, cuaca cerah dan "
              "banyak pedagang kaki lima berjualan seperti biasa. ") * 8
    attack = "Jujur saja, saya sudah muak dengan Teddy Setiadi yang korupsi dan bohong terus. "
    text = filler + attack + filler
    assert len(text.split()) > 120
    r = _one(clf, make_item(text))
    assert r.flagged and r.stance == "oppose", r.explanation


class _Uniform:
    """A model that cannot tell: near-uniform probabilities for every text."""

    kind = "uniform"
    version = "uniform-1"

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return np.tile([0.30, 0.26, 0.23, 0.21], (len(texts), 1))


def test_near_uniform_scores_are_not_high_confidence() -> None:
    # The partisan share of a near-uniform row is above one half; calibrated and
    # held to the flag threshold it must not read as a confident accusation.
    from classifiers.calibration import Calibrator

    cal = Calibrator.load(trained_linear_dir())
    clf = CascadeClassifier(RegistryMatcher(), _Uniform(), flag_threshold=0.6,
                            review_threshold=0.3, calibrator=cal)
    r = _one(clf, make_item("Teddy Setiadi hari ini ke Garut"))
    assert not r.high_confidence and r.score < 0.6, r.explanation
