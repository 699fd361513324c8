"""Stage 1: the normaliser and the registry matcher, each rule and each false friend."""

from __future__ import annotations

import pytest

from classifiers.matcher import RegistryMatcher, model_text
from classifiers.normalise import Normaliser, normalise, split_hashtag, squeeze_repeats
from classifiers.testing import (
    jabar_registry,
    jabar_view,
    make_item,
    national_registry,
    other_region_registry,
)

# ---------------------------------------------------------------- normaliser


def test_slang_is_expanded() -> None:
    assert normalise("yg gak dtg tgl 5").text == "yang tidak dtg tanggal 5"
    assert normalise("Gw udh nyoblos").text == "saya sudah mencoblos"


def test_repeated_letters_are_squeezed() -> None:
    assert normalise("bangeeeet").text == "banget"
    assert normalise("MAAAAF").text == "maaf"  # a real double letter is kept
    assert normalise("gaaaak").text == "tidak"  # squeezed, then slang
    assert squeeze_repeats("mantaaap") == "mantap"
    assert normalise("wkwkwkwk").text == "tertawa"


def test_case_is_folded_but_raw_kept() -> None:
    n = normalise("PILKADA Damai")
    assert n.words == ["pilkada", "damai"]
    assert n.tokens[0].raw == "PILKADA"


def test_hashtags_split_into_words() -> None:
    n = normalise("Ayo #JakartaMenyala #Pilgub2029")
    assert n.text == "ayo jakarta menyala pilgub 2029"
    assert n.hashtags == ("jakartamenyala", "pilgub2029")
    assert split_hashtag("#jabarjuara") == ["jabar", "juara"] or split_hashtag(
        "#jabarjuara"
    ) == ["jabarjuara"]
    # a lower-case tag splits when its words are known
    assert Normaliser(extra_vocab=["dedi"])("#pilihdedi").text == "pilih dedi"
    assert split_hashtag("#zzqx") == ["zzqx"]


def test_emoji_are_tokens_without_modifiers() -> None:
    n = normalise("mantap☝️✌🏽🔥🔥")
    assert n.words == ["mantap", "☝", "✌", "🔥", "🔥"]
    assert [t.kind for t in n.tokens][1:] == ["emoji"] * 4


def test_placeholders_and_urls_survive() -> None:
    n = normalise("[CALON] nomor [NOMOR] https://example.org/x")
    assert n.words == ["[CALON]", "nomor", "[NOMOR]", "[URL]"]


# ------------------------------------------------------------------- matcher


@pytest.fixture(scope="module")
def matcher() -> RegistryMatcher:
    return RegistryMatcher()


REGS = jabar_view().registries


def _m(matcher: RegistryMatcher, text: str | None, kind: str = "post", **kw: str):  # type: ignore[no-untyped-def]
    return matcher.match(make_item(text, kind, **kw), REGS)  # type: ignore[arg-type]


def test_full_name_and_alias(matcher: RegistryMatcher) -> None:
    r = _m(matcher, "Asep Kurniawan pemimpin yg amanah")
    assert r.targets == ("jabar-1",)
    assert r.masked_text == "[CALON] pemimpin yang amanah"
    r = _m(matcher, "Dukung ASRI utk Jabar!")
    assert r.targets == ("jabar-1",) and r.evidence[0].rule == "alias"


def test_hashtag(matcher: RegistryMatcher) -> None:
    r = _m(matcher, "Bismillah #jabarmenyala")
    assert r.targets == ("jabar-2",)
    assert r.evidence[0].rule == "hashtag"
    assert "[CALON]" in r.masked_text and "menyala" not in r.masked_text


def test_party_names_and_acronyms(matcher: RegistryMatcher) -> None:
    r = _m(matcher, "Partai Gerindra solid untuk pemilu")
    assert r.targets == ("gerindra",) and r.masked_text == "[PARTAI] solid untuk pemilu"
    assert _m(matcher, "Kampanye PKS rame").targets == ("pks",)
    assert _m(matcher, "ayo pilih partai pan").targets == ("pan",)


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("Ayo coblos nomor 3 cagub kita!", "jabar-3"),
        ("no urut 1 paling amanah buat pilgub", "jabar-1"),
        ("paslon 02 makin di depan #pilgub", "jabar-2"),
        ("pilih 3! #Pilgub2029", "jabar-3"),
        ("Capres nomor 1 pasti menang", "pilpres-1"),
    ],
)
def test_ballot_numbers_in_election_frame(matcher: RegistryMatcher, text: str, target: str) -> None:
    r = _m(matcher, text)
    assert r.targets == (target,)
    assert "[NOMOR]" in r.masked_text
    assert r.evidence[0].rule == "ballot_number"


def test_ballot_number_level_is_picked_per_number(matcher: RegistryMatcher) -> None:
    r = _m(matcher, "Capres 02 menang, cagub 4 juga")
    assert set(r.targets) == {"pilpres-2", "jabar-4"}


def test_hand_sign_next_to_election_words(matcher: RegistryMatcher) -> None:
    r = _m(matcher, "Besok ke TPS ya gaes ✌️")
    assert set(r.targets) == {"jabar-2", "pilpres-2"}
    assert r.evidence[0].rule == "hand_sign"
    r = _m(matcher, "cagub ☝️ mantap")
    assert r.targets == ("jabar-1",)


def test_engagement_with_campaign_account(matcher: RegistryMatcher) -> None:
    r = _m(matcher, None, "like", subject_author="@RanggaPratama.bsky.social")
    assert r.targets == ("jabar-2",) and r.account_match
    # the same account on another platform is someone else
    item = make_item(None, "like", subject_author="ranggapratama.bsky.social", platform="x")
    assert not matcher.match(item, REGS).account_match
    r = _m(matcher, None, "repost", subject_author="gerindra.bsky.social",
           subject_text="Rapat akbar hari ini")
    assert r.targets == ("gerindra",) and r.masked_text == "rapat akbar hari ini"


def test_reply_sees_the_engaged_post(matcher: RegistryMatcher) -> None:
    r = _m(matcher, "setuju!", "reply", subject_text="Coblos no urut 2 cagub Jabar")
    assert r.targets == ("jabar-2",)
    assert r.masked_text == "setuju ! [SUBJEK] coblos no urut [NOMOR] cagub jabar"
    assert r.evidence[0].in_subject


def test_only_applicable_registries(matcher: RegistryMatcher) -> None:
    item = make_item("Bagus Prasetyo walikota terbaik, coblos BANI")
    assert matcher.match(item, REGS).targets == ()
    assert matcher.match(item, (other_region_registry(),)).targets == ("sby-1",)
    assert matcher.match(make_item("coblos nomor 3"), ()).targets == ()


@pytest.mark.parametrize(
    "text",
    [
        "Antrian nomor 3 di puskesmas lama banget",
        "Loket no 2 tutup, pindah ke nomor 3",
        "pilih 3 menu paket hemat, enak",
        "Selamat ultah Pak Asep, rekan kantor terbaik!",  # shares a first name with jabar-1
        "Rapat dengan Bu Rina bagian keuangan jam 2",
        "Reuni SMA seru banget ✌️😁",  # two-finger selfie
        "Foto bareng keluarga ✌️✌️ liburan ke Pangandaran",
        "Beli PAN anti lengket buat masak, mantap",  # frying pan, not the party
        "Kamar nomor 2 di lantai 3 ya",
        "Nonton bola jam 02 pagi",
    ],
)
def test_false_friends_do_not_match(matcher: RegistryMatcher, text: str) -> None:
    assert _m(matcher, text).targets == ()


def test_tv_series_actor_is_matched_but_left_to_the_model(matcher: RegistryMatcher) -> None:
    # The name is a real match; deciding that a rerun of "Bujang Kota" is not
    # campaigning is stage 2's job, so the name is masked for the model.
    r = _m(matcher, "Nostalgia nonton Bujang Kota, Rangga Pratama lucu banget dulu")
    assert r.targets == ("jabar-2",)
    assert r.masked_text == "nostalgia menonton bujang kota , [CALON] lucu banget dulu"
    assert not r.election_context


def test_model_text_without_registry() -> None:
    assert model_text("mantap", "Coblos 3", "reply") == "mantap [SUBJEK] coblos 3"
    assert model_text(None, "Coblos 3", "like") == "coblos 3"


def test_registries_compile_once(matcher: RegistryMatcher) -> None:
    regs = (jabar_registry(), national_registry())
    matcher.match(make_item("x"), regs)
    n = len(matcher._cache)
    matcher.match(make_item("y"), regs)
    assert len(matcher._cache) == n


def test_named_candidate_disambiguates_the_number(matcher: RegistryMatcher) -> None:
    assert set(_m(matcher, "Coblos nomor 3 ya").targets) == {"jabar-3", "pilpres-3"}
    assert _m(matcher, "Coblos nomor 3, Hendra Gunawan menang!").targets == ("jabar-3",)
    assert set(_m(matcher, "Coblos nomor 1, Hendra Gunawan menang!").targets) == {
        "jabar-3", "jabar-1", "pilpres-1"}


def test_weak_number_frame_with_campaign_words(matcher: RegistryMatcher) -> None:
    assert set(_m(matcher, "Nomor 2 menang telak, tunggu saja").targets) == {
        "jabar-2", "pilpres-2"}
    assert _m(matcher, "Vote 3! Hendra Gunawan for gubernur").targets == ("jabar-3",)
    assert _m(matcher, "Timnas menang, nomor punggung 10 main bagus").targets == ()
    assert _m(matcher, "Pilih nomor 1 atau 2 untuk jawaban kuis").targets == ()


def test_stray_hand_sign_does_not_add_a_target(matcher: RegistryMatcher) -> None:
    r = _m(matcher, "Coblos no 3 ya, Abah Hendra Gunawan pemimpin amanah ☝️ #JabarHegar")
    assert r.targets == ("jabar-3",)
    assert any(e.term == "coblos no 3" for e in r.evidence)


def test_kamusalay_is_read_from_shared_only() -> None:
    """The CC BY-NC-SA slang file is read from ../shared for experiments, never copied."""
    from pathlib import Path

    from classifiers.slang import load_kamusalay

    shared = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    assert load_kamusalay(Path("/nonexistent")) == {}
    table = load_kamusalay(shared)
    if not table:
        pytest.skip(f"new_kamusalay.csv not found under {shared}")
    assert len(table) > 10000
    n = Normaliser(slang={**table})
    assert n("gw gak tau").text.split()[-1] == table.get("tau", "tau")
    assert not list(Path(__file__).resolve().parents[2].joinpath("classifiers").rglob(
        "*kamusalay*"))
