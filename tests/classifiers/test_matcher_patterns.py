"""Matching failure patterns seen on real tweets: titles, mojibake, handles and hashtags.

The registries are the real development-set ones (DKI 2017, Pilpres 2019, Jabar 2018)
with their ``accounts`` and ``hashtags`` emptied, so a handle or a tag can only be
found by the rules under test, never by the registered lists.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifiers.devset import load_registries
from classifiers.matcher import MatchResult, RegistryMatcher
from classifiers.matcher_names import handle_key, name_variants, segments
from classifiers.normalise import normalise, repair_mojibake
from classifiers.testing import jabar_view, make_item
from monitor.model import Registry


def _bare(reg: Registry) -> Registry:
    cands = tuple(dataclasses.replace(c, accounts={}, hashtags=()) for c in reg.candidates)
    parties = tuple(dataclasses.replace(p, accounts={}) for p in reg.parties)
    return dataclasses.replace(reg, candidates=cands, parties=parties)


_REGS = load_registries()
DKI = (_bare(_REGS["pilkada-dki-2017"]),)
PRES = (_bare(_REGS["pilpres-2019"]),)
JABAR18 = (_bare(_REGS["pilgub-jabar-2018"]),)
TEST_REGS = tuple(jabar_view().registries)


@pytest.fixture(scope="module")
def matcher() -> RegistryMatcher:
    return RegistryMatcher()


def _m(matcher: RegistryMatcher, text: str, regs: tuple[Registry, ...]) -> MatchResult:
    return matcher.match(make_item(text), regs)


# ------------------------------------------------------ titles and full names

@pytest.mark.parametrize(("text", "regs", "target", "masked"), [
    ("Mbak Sylviana Murni orangnya tegas", DKI, "dki17-1", "[CALON] orangnya tegas"),
    ("Bu Sylvi debat tadi malam", DKI, "dki17-1", "[CALON] debat tadi malam"),
    ("Pak Basuki Tjahaja Purnama kerja nyata", DKI, "dki17-2", "[CALON] kerja nyata"),
    ("Om Sandi keren", DKI, "dki17-3", "[CALON] keren"),
    ("Koh Ahok lagi", DKI, "dki17-2", "[CALON] lagi"),
    ("Kang Asep Kurniawan amanah", TEST_REGS, "jabar-1", "[CALON] amanah"),
    ("Abah Hendra Gunawan datang", TEST_REGS, "jabar-3", "[CALON] datang"),
    ("Cak Hendra Gunawan datang", TEST_REGS, "jabar-3", "[CALON] datang"),
    ("Uda Rangga Pratama hadir", TEST_REGS, "jabar-2", "[CALON] hadir"),
    ("Ning Sri Wulandari hadir", TEST_REGS, "jabar-2", "[CALON] hadir"),
    ("Gus Yusuf Hamdani hadir", TEST_REGS, "pilpres-3", "[CALON] hadir"),
    ("Daeng Teddy Setiadi hadir", TEST_REGS, "jabar-4", "[CALON] hadir"),
    ("Prof. Dr. H. Yusuf Hamdani hadir", TEST_REGS, "pilpres-3", "[CALON] hadir"),
])
def test_titles_are_masked_with_the_name(
    matcher: RegistryMatcher, text: str, regs: tuple[Registry, ...], target: str, masked: str,
) -> None:
    r = _m(matcher, text, regs)
    assert r.targets == (target,)
    assert r.masked_text == masked


@pytest.mark.parametrize(("text", "regs", "target", "masked"), [
    ("Basuki Purnama menang", DKI, "dki17-2", "[CALON] menang"),  # Basuki Tjahaja Purnama
    ("Uu Ulum hadir", JABAR18, "jabar18-1", "[CALON] hadir"),  # Uu Ruzhanul Ulum
    ("Sandiaga S. Uno hadir", DKI, "dki17-3", "[CALON] hadir"),  # an initial inside
    ("Agus H. Yudhoyono hadir", DKI, "dki17-1", "[CALON] hadir"),
    ("Basuki Pak Tjahaja Purnama", DKI, "dki17-2", "[CALON]"),  # a title inside
])
def test_full_name_as_first_and_family_name_or_with_inner_title(
    matcher: RegistryMatcher, text: str, regs: tuple[Registry, ...], target: str, masked: str,
) -> None:
    r = _m(matcher, text, regs)
    assert r.targets == (target,)
    assert r.masked_text == masked
    assert r.evidence[0].rule in ("name", "alias")


@pytest.mark.parametrize(("text", "regs"), [
    ("Rapat sama Pak Dedi dari bagian umum", JABAR18),  # Dedi Mulyadi's first name
    ("Selamat ultah Pak Asep, rekan kantor terbaik!", TEST_REGS),
    ("Mbak Sylviana dari HRD sudah datang", DKI),  # Sylviana Murni's first name
    ("Bu Rina bagian keuangan", TEST_REGS),
])
def test_a_first_name_with_a_title_is_still_not_the_candidate(
    matcher: RegistryMatcher, text: str, regs: tuple[Registry, ...],
) -> None:
    assert _m(matcher, text, regs).targets == ()


def test_name_variants_never_leave_a_first_name_alone() -> None:
    assert name_variants(("kang", "asep", "kurniawan"), False) == [("asep", "kurniawan")]
    assert name_variants(("mas", "agus"), False) == []
    assert name_variants(("anies", "rasyid", "baswedan"), True) == [("anies", "baswedan")]
    assert name_variants(("sylviana", "murni"), True) == []


def test_titles_keep_per_target_masking(matcher: RegistryMatcher) -> None:
    r = _m(matcher, "Mbak Sylviana Murni lebih baik dari Pak Basuki Tjahaja Purnama", DKI)
    assert set(r.targets) == {"dki17-1", "dki17-2"}
    assert r.text_for("dki17-1") == "[CALON] lebih baik dari [LAWAN]"
    assert r.text_for("dki17-2") == "[LAWAN] lebih baik dari [CALON]"


# ------------------------------------------------------------------- mojibake

@pytest.mark.parametrize(("broken", "fixed"), [
    ("Anies\u00c2 Baswedan", "Anies Baswedan"),  # the half of a no-break space
    ("Anies\u00c2", "Anies"),
    ("Anies\u00c2, hebat", "Anies, hebat"),
    ("\u00e2\u20ac\u0153Ahok\u00e2\u20ac\u009d", "\u201cAhok\u201d"),  # “Ahok” via cp1252
    ("wkwk \u00f0\u009f\u0098\u0082", "wkwk \U0001f602"),  # 😂 via Latin-1
    ("wkwk \u00f0\u0178\u02dc\u201a", "wkwk \U0001f602"),  # 😂 via cp1252
    ("Caf\u00c3\u00a9", "Caf\u00e9"),
    ("\u00c3\u0192\u00c2\u00a9", "\u00e9"),  # two round trips
])
def test_mojibake_is_repaired(broken: str, fixed: str) -> None:
    assert repair_mojibake(broken) == fixed


@pytest.mark.parametrize("text", [
    "caf\u00e9 \u270c\ufe0f \U0001f602 \u201cok\u201d",  # correct text is left alone
    "Jokowi \u00e0 la carte, na\u00efve",
    "harga Rp 10.000 \u00b1 5%",
    "",
])
def test_correct_text_is_not_touched(text: str) -> None:
    assert repair_mojibake(text) == text


# Real post text: Indonesian letters, punctuation, typographic quotes, accents, emoji.
_POST_CHARS = st.sampled_from(list(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,!?#@-'\"\n"
    "\u00e9\u00e8\u00fc\u00f1\u00a0\u201c\u201d\u2018\u2019\u2026\u2013\u2014\u20ac"
    "\u270c\u261d\U0001f602\U0001f525\U0001f91f\U0001f3fd\ufe0f"))


@settings(max_examples=300, deadline=None)
@given(st.text(_POST_CHARS, max_size=60))
def test_repair_undoes_a_latin1_round_trip_and_keeps_correct_text(text: str) -> None:
    assert repair_mojibake(text) == text
    assert repair_mojibake(text.encode("utf-8").decode("latin-1")) == text
    try:
        cp1252 = text.encode("utf-8").decode("cp1252")
    except UnicodeDecodeError:  # a byte cp1252 leaves undefined
        return
    assert repair_mojibake(cp1252) == text


@pytest.mark.parametrize(("text", "regs", "target"), [
    ("Anies\u00c2 Baswedan pemimpin kita", DKI, "dki17-3"),
    ("\u00e2\u20ac\u0153Ahok\u00e2\u20ac\u009d menang", DKI, "dki17-2"),
    ("Jokowi\u00f0\u009f\u0098\u0082\u00f0\u009f\u0098\u0082 lucu", PRES, "pres19-01"),
    ("Mbak Sylviana\u00c2 Murni", DKI, "dki17-1"),
])
def test_names_are_found_in_mis_encoded_text(
    matcher: RegistryMatcher, text: str, regs: tuple[Registry, ...], target: str,
) -> None:
    r = _m(matcher, text, regs)
    assert r.targets == (target,)
    assert "\u00c2" not in r.masked_text and "\u00e2" not in r.masked_text


def test_normaliser_repairs_before_tokenising() -> None:
    assert normalise("mantap\u00f0\u009f\u0098\u0082").words == ["mantap", "\U0001f602"]


# ------------------------------------------------- handles and hashtags

@pytest.mark.parametrize(("text", "regs", "target"), [
    ("Mantap @aniesbaswedan", DKI, "dki17-3"),
    ("Mantap @sandiuno", DKI, "dki17-3"),
    ("cc @AgusYudhoyono", DKI, "dki17-1"),
    ("cc @ridwankamil", JABAR18, "jabar18-1"),
    ("cc @jokowi", PRES, "pres19-01"),
    ("cc @Jokowi_2019", PRES, "pres19-01"),
    ("cc @aniesbaswedan.bsky.social", DKI, "dki17-3"),
])
def test_unregistered_handles_of_a_candidate(
    matcher: RegistryMatcher, text: str, regs: tuple[Registry, ...], target: str,
) -> None:
    r = _m(matcher, text, regs)
    assert r.targets == (target,)
    assert [e.rule for e in r.evidence] == ["mention"]
    assert r.masked_text.endswith("[CALON]")


@pytest.mark.parametrize(("text", "regs", "target", "masked"), [
    ("#Jokowi2Periode", PRES, "pres19-01", "[CALON] 2 periode"),
    ("#jokowi2priode", PRES, "pres19-01", "[CALON] 2 priode"),
    ("#AniesSandi", DKI, "dki17-3", "[CALON]"),
    ("#aniessandi", DKI, "dki17-3", "[CALON]"),
    ("#AsalBukanJokowi", PRES, "pres19-01", "asal bukan [CALON]"),
    ("#asalbukanjokowi", PRES, "pres19-01", "asal bukan [CALON]"),
    ("#jokowilagi", PRES, "pres19-01", "[CALON]"),
])
def test_hashtags_that_run_a_name_with_campaign_words(
    matcher: RegistryMatcher, text: str, regs: tuple[Registry, ...], target: str, masked: str,
) -> None:
    r = _m(matcher, text, regs)
    assert r.targets == (target,)
    assert {e.rule for e in r.evidence} == {"hashtag"}
    assert r.masked_text == masked


@pytest.mark.parametrize(("text", "regs"), [
    ("cc @sylvia_putri", DKI),  # "Sylvi" with a letter left over
    ("cc @basukirahmat", DKI),  # someone else called Basuki
    ("cc @ahyani", DKI),  # AHY is short: never inside a longer handle
    ("cc @btp_kantor", DKI),
    ("#sahabatahy", DKI),  # ... nor inside a longer hashtag
    ("#rkmania", JABAR18),
    ("#sandiwara malam ini", DKI),  # a play, not Sandi
    ("cc @jokoanwar", PRES),  # the film director, not the alias "Joko"
])
def test_handles_and_hashtags_that_only_look_like_names(
    matcher: RegistryMatcher, text: str, regs: tuple[Registry, ...],
) -> None:
    assert _m(matcher, text, regs).targets == ()


def test_handles_and_hashtags_keep_per_target_masking(matcher: RegistryMatcher) -> None:
    r = _m(matcher, "Dukung @sandiuno, #AsalBukanJokowi", PRES)
    assert set(r.targets) == {"pres19-01", "pres19-02"}
    assert r.text_for("pres19-02") == "dukung [CALON] , asal bukan [LAWAN]"
    assert r.text_for("pres19-01") == "dukung [LAWAN] , asal bukan [CALON]"


def test_handle_key_and_segments() -> None:
    assert handle_key("@Anies_Baswedan.2017") == "aniesbaswedan"
    assert handle_key("@ridwankamil.bsky.social") == "ridwankamil"
    assert segments("", frozenset())
    assert segments("lagiaja", frozenset({"lagi", "aja"}))
    assert not segments("a", frozenset({"a"}))  # one-letter leftovers never count


# ------------------------------------------------ found on the real dev set

@pytest.mark.parametrize(("broken", "fixed"), [
    (r"mulu\xf0\x9f\x98\x82", "mulu\U0001f602"),  # escaped UTF-8 bytes from a tweet dump
    (r"dungu\xe2\x80\xa6 penuh", "dungu\u2026 penuh"),
    (r"C:\x41 and \xff\xfe", r"C:\x41 and \xff\xfe"),  # ASCII escapes and non-UTF-8 stay
    (r"lucu\xf0\x9f\x98\x82\nmirip", "lucu\U0001f602\nmirip"),  # and its escaped line breaks
    (r"C:\new\x41", r"C:\new\x41"),  # after a colon "\n" is a path, left alone
    (r"Hebat ya.\n Jokowi\nEnte", "Hebat ya.\n Jokowi\nEnte"),  # dumps with no escaped bytes
])
def test_escaped_utf8_bytes_are_decoded(broken: str, fixed: str) -> None:
    assert repair_mojibake(broken) == fixed


def test_a_hashtag_written_without_hash(matcher: RegistryMatcher) -> None:
    r = _m(matcher, "Mantap Pak Presiden; Horas; JOKOWI2PRIODE", PRES)
    assert r.targets == ("pres19-01",)
    assert r.masked_text.endswith("[CALON]")
    # a hyphenated pair is a word, not a tag written without "#"
    assert all(e.rule != "hashtag" for e in _m(matcher, "kata Anies-Rasyid hari ini", DKI).evidence)


def test_a_squeezed_party_acronym_is_no_tag(matcher: RegistryMatcher) -> None:
    # "PPP" normalises to "p"; a tag piece "P" must not become the party.
    assert _m(matcher, "Asian Games ayo #YukP", DKI).targets == ()


# ------------------------------------------- loose spellings (classifiers.matcher_loose)

@pytest.mark.parametrize(("text", "regs", "target"), [
    ("AHOKK AKU PADAMUUU 2 PERIODEEE", DKI, "dki17-2"),
    ("aniesss pokoknya", DKI, "dki17-3"),
    ("jokowiii lagi", PRES, "pres19-01"),
])
def test_an_elongated_name_is_the_candidate(
    matcher: RegistryMatcher, text: str, regs: tuple[Registry, ...], target: str,
) -> None:
    assert _m(matcher, text, regs).targets == (target,)


def test_a_name_elongated_past_the_normaliser_is_found_squeezed(matcher: RegistryMatcher) -> None:
    # The normaliser cuts three repeated letters to one; "AHOKK" keeps two.
    m = _m(matcher, "AHOKK AKU PADAMU", DKI)
    assert [(e.rule, e.term) for e in m.evidence] == [("alias", "AHOKK (ahok)")]
    assert m.masked_text.startswith("[CALON]")


@pytest.mark.parametrize(("text", "regs", "target"), [
    ("Mbak Sylviana please, anda sehat? #DebatPilkada", DKI, "dki17-1"),  # election words
    ("Rangga jadi gubernur? No thanks", TEST_REGS, "jabar-2"),  # an office named
    ("Pak Dedi lebih baik dari Ridwan Kamil", JABAR18, "jabar18-4"),  # another target named
])
def test_a_first_name_in_an_election_text_is_the_candidate(
    matcher: RegistryMatcher, text: str, regs: tuple[Registry, ...], target: str,
) -> None:
    m = _m(matcher, text, regs)
    assert target in m.targets
    assert any(e.rule == "first_name" for e in m.evidence)
    assert "[CALON]" in m.text_for(target) and "mbak" not in m.text_for(target)


def test_a_first_name_two_candidates_share_never_matches() -> None:
    from classifiers.matcher_loose import build_loose_index

    index = build_loose_index([], [(("asep", "kurniawan"), "a"), (("asep", "sunandar"), "b"),
                                   (("rangga", "pratama"), "c"), (("ali", "akbar"), "d")])
    assert index.first_names == {"rangga": "c"}  # "asep" is shared, "ali" too short


def test_a_registered_hashtag_keeps_its_words_for_the_stance_model(matcher: RegistryMatcher) -> None:
    regs = (_REGS["pilpres-2019"],)
    m = _m(matcher, "Horee #2019GantiPresiden", regs)
    assert m.targets == ("pres19-01",)
    # a tag that names no one: its office stands for the target it was registered for,
    # so the call to replace reads as people write it ("2019 ganti [CALON]")
    assert m.masked_text == "horee 2019 ganti [CALON]"
    assert _m(matcher, "#Jokowi2Periode mantap", regs).masked_text == "[CALON] 2 periode mantap"
    assert _m(matcher, "#2019TetapJokowi", regs).masked_text == "2019 tetap [CALON]"
    dki = (_REGS["pilkada-dki-2017"],)
    assert _m(matcher, "#SalamDuaJari warga", dki).masked_text == "[CALON] dua jari warga"
    # one line of evidence per find, even when a name inside the tag is found again
    tagged = _m(matcher, "dukung #PrabowoSandi2019", regs)
    assert [e.rule for e in tagged.evidence] == ["hashtag"]


def test_an_acronym_also_registered_in_mixed_case_matches_in_lower_case(
        matcher: RegistryMatcher) -> None:
    # Pilpres 2019 lists "JKW" and "Jkw": a lower-case "jkw" outside election talk is the
    # candidate. "BTP" (DKI 2017) is listed only in capitals, so "btp" needs election talk.
    hit = _m(matcher, "ogah yg ngajak plh jkw pasti idiot", PRES)
    assert hit.targets == ("pres19-01",)
    assert _m(matcher, "kode btp di resep itu apa ya", DKI).targets == ()
    assert _m(matcher, "BTP tadi pagi ke pasar", DKI).targets == ("dki17-2",)


@pytest.mark.parametrize(("text", "targets"), [
    # another target named: the text is political talk, so the capitals are the party
    ("PDIP gencar serang KPK, bubarkan PDIP! Dukung Jokowi", ("pres19-01", "pdip")),
    # a word of party politics, with no election word
    ("Fraksi PKS walk out dari sidang DPR", ("pks",)),
    # neither: "PKS" may be a "perjanjian kerja sama"
    ("kode PKS di surat kontrak itu apa ya", ()),
    ("PKS laknat", ()),
])
def test_a_party_acronym_in_political_talk(matcher: RegistryMatcher, text: str,
                                           targets: tuple[str, ...]) -> None:
    assert _m(matcher, text, PRES).targets == targets


@pytest.mark.parametrize(("text", "masked"), [
    # X/Twitter's API and its dumps write "&" as "&amp;": one ticket, not "amp ;"
    ("Ahok &amp; Djarot menang", "[CALON] menang"),
    # a ticket's two names joined by a dash or slash read as one placeholder
    ("Anies - Sandi menang pakai hoaks", "[CALON] menang pakai hoaks"),
    ("Anies/Sandi &gt; semuanya", "[CALON] semuanya"),
])
def test_a_ticket_written_with_joiners_is_one_placeholder(matcher: RegistryMatcher, text: str,
                                                          masked: str) -> None:
    m = _m(matcher, text, DKI)
    assert m.text_for(m.targets[0]) == masked


@pytest.mark.parametrize(("text", "target", "masked"), [
    ("Ahoknya kalah telak", "dki17-2", "[CALON] kalah telak"),
    ("pilih Aniesmu saja sana", "dki17-3", "pilih [CALON] saja sana"),
    ("si Ahok-nya aja", "dki17-2", "si [CALON] saja"),
    ("Djarotlah yang pantas", "dki17-2", "[CALON] yang pantas"),
])
def test_a_name_with_a_clitic_is_the_candidate(matcher: RegistryMatcher, text: str, target: str,
                                               masked: str) -> None:
    m = _m(matcher, text, DKI)
    assert m.targets == (target,) and m.masked_text == masked


@pytest.mark.parametrize("text", ["pakai bahasanya sendiri", "bukunya bagus", "Agusnya mana"])
def test_a_word_with_a_clitic_that_names_no_one_is_left(matcher: RegistryMatcher, text: str) -> None:
    # "Agus" alone is no alias of the DKI registry (only "Mas Agus", "Agus Yudhoyono")
    assert _m(matcher, text, DKI).targets == ()


def test_only_whole_html_entities_are_unescaped() -> None:
    # "&not" without its ";" is a word that follows "&", not the "¬" sign
    assert normalise("Black&nothing &amp; co").text == "black nothing co"
