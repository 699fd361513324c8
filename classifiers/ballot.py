"""Stage 1's ballot-number and hand-sign rules: "coblos 3", "paslon 02", ☝ near an election word.

Strong frames ("coblos 3", "no urut 1", "paslon 02", "cagub nomor 4") stand
alone; weak ones ("pilih 3!", "nomor 2", a bare "02") need election words
elsewhere in the item, so "antrian nomor 3" is not a ballot. A number that fits
several elections keeps the candidate also named.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from classifiers.match_types import (
    ELECTION_WORDS,
    LEVEL_WORDS,
    NOMOR,
    Evidence,
    Mask,
    Rule,
    _Compiled,
    _has_election_context,
)
from classifiers.normalise import Normalised
from monitor.model import Level

HAND_SIGNS: dict[str, int] = {"☝": 1, "✌": 2, "🤟": 3}
HAND_SIGN_WINDOW = 5

_STRONG_FRAMES = {"coblos", "mencoblos", "nyoblos", "dicoblos", "paslon", "capres", "cawapres",
                  "cagub", "cawagub", "cabup", "cawabup", "cawalkot", "cawawalkot", "caleg"}
_WEAK_VERBS = {"pilih", "memilih", "dukung", "mendukung", "menangkan", "pilihan", "vote"}
# Campaign words that, besides ELECTION_WORDS, let a weak number frame count
# ("nomor 2 menang telak"); the stance model still decides whether it is partisan.
_WEAK_FRAME_CONTEXT = frozenset({"menang", "menangkan", "unggul", "putaran"})
_NOT_BALLOT_BEFORE = {"jam", "pukul", "tanggal", "rt", "rw", "lantai", "kamar", "antrean",
                      "loket", "halaman", "bab", "pasal", "ayat", "episode", "eps", "season",
                      "meja", "gate", "tahun", "kelas", "gang", "blok", "peringkat", "posisi",
                      "ranking", "rangking", "klasemen", "skor", "menit"}
# Sport and rankings share "menang ... nomor 2" with campaigns: "naik ke nomor 2 klasemen".
_NOT_BALLOT_AFTER = {"klasemen", "liga", "grup", "dunia", "nasional", "sementara", "teratas"}

_NUMBER_RULES = ("ballot_number", "hand_sign")


def _disambiguate_numbers(evidence: list[Evidence]) -> list[Evidence]:
    """A number that fits several elections keeps only the candidate also named.

    "Coblos nomor 3, Hendra Gunawan" is ticket 3 of the governor election, not
    ticket 3 of the presidential one.
    """
    named = {e.target for e in evidence if e.rule not in _NUMBER_RULES}
    groups: dict[tuple[str, str, bool], set[str]] = {}
    for e in evidence:
        if e.rule in _NUMBER_RULES:
            groups.setdefault((e.rule, e.term, e.in_subject), set()).add(e.target)
    kept = [e for e in evidence
            if e.rule not in _NUMBER_RULES
            or not (groups[(e.rule, e.term, e.in_subject)] & named)
            or e.target in named]
    # A hand sign is the weakest cue: when names or written numbers point at
    # other candidates, a stray ☝ is decoration, not a second target.
    strong = {e.target for e in kept if e.rule != "hand_sign"}
    if strong:
        kept = [e for e in kept if e.rule != "hand_sign" or e.target in strong]
    return kept


_NUM_RE = re.compile(r"^0?\d{1,2}$")


def _match_numbers(
    n: Normalised, compiled: Sequence[_Compiled], masks: dict[int, Mask], in_subject: bool,
    context: bool, level_hint: set[Level],
) -> list[Evidence]:
    toks = n.tokens
    words = [t.text for t in toks]
    out: list[Evidence] = []
    for i, t in enumerate(toks):
        if i in masks:
            continue
        if t.kind == "emoji" and t.text in HAND_SIGNS:
            lo, hi = max(0, i - HAND_SIGN_WINDOW), i + HAND_SIGN_WINDOW + 1
            near = words[lo:i] + words[i + 1:hi]
            near_masked = any(j in masks for j in range(lo, min(hi, len(toks))) if j != i)
            if _has_election_context(near) or near_masked:
                ev = _number_targets(HAND_SIGNS[t.text], t.raw, compiled, level_hint, False,
                                     in_subject, "hand_sign")
                if ev:
                    masks[i] = (NOMOR, _any_of(ev))
                    out.extend(ev)
            continue
        if t.kind not in ("number", "hashtag") or not _NUM_RE.match(t.text):
            continue
        frame = _ballot_frame(words, i)
        if frame is None:
            continue
        strength, party_frame = frame
        if strength == "weak" and not (context or _WEAK_FRAME_CONTEXT & set(words)):
            continue
        # The nearest level word before the number decides ("capres 02, cagub 4").
        local = next((LEVEL_WORDS[w] for w in reversed(words[max(0, i - 3):i])
                      if w in LEVEL_WORDS), None)
        hint = {local} if local else level_hint
        ev = _number_targets(int(t.text), t.text, compiled, hint, party_frame, in_subject,
                             "ballot_number", frame_words=" ".join(words[max(0, i - 2):i + 1]))
        if ev:
            masks[i] = (NOMOR, _any_of(ev))
            out.extend(ev)
    return out


def _any_of(evidence: Sequence[Evidence]) -> str:
    """The owner of a number that may name several targets, settled after disambiguation."""
    return "|".join(dict.fromkeys(e.target for e in evidence))


def _ballot_frame(words: Sequence[str], i: int) -> tuple[str, bool] | None:
    """Whether the number at ``i`` sits in a ballot frame: ("strong"|"weak", party?)."""
    prev = words[max(0, i - 3):i]
    p1 = prev[-1] if prev else ""
    nxt = words[i + 1] if i + 1 < len(words) else ""
    if p1 in _NOT_BALLOT_BEFORE or nxt in _NOT_BALLOT_AFTER:
        return None
    # "nomor urut 3", "no urut 02"
    if len(prev) >= 2 and prev[-1] == "urut" and prev[-2] in ("nomor", "no"):
        return ("strong", "partai" in prev)
    if p1 in ("nomor", "no"):
        before = prev[-2] if len(prev) >= 2 else ""
        if before in _NOT_BALLOT_BEFORE:
            return None
        if before in _STRONG_FRAMES or before in ("calon", "pasangan"):
            return ("strong", False)
        if before == "partai":
            return ("strong", True)
        return ("weak", False)
    if p1 in _STRONG_FRAMES:
        return ("strong", False)
    if p1 == "partai":
        return ("strong", True)
    # "pilih 3!", "dukung 02": the number must end the phrase, not count a noun.
    if p1 in _WEAK_VERBS and (nxt == "" or not nxt.isalpha() or nxt in ELECTION_WORDS):
        return ("weak", False)
    # a bare "02" in an election post ("02 menang!") is how ballots are written
    if words[i].startswith("0") and len(words[i]) == 2:
        return ("weak", False)
    return None


def _number_targets(
    number: int, term: str, compiled: Sequence[_Compiled], level_hint: set[Level],
    party_frame: bool, in_subject: bool, rule: Rule, frame_words: str = "",
) -> list[Evidence]:
    out: list[Evidence] = []
    for c in compiled:
        level = c.registry.election.level
        if level_hint and level not in level_hint and not party_frame:
            continue
        shown = frame_words or term
        if not party_frame:
            for cand in c.registry.candidates:
                if cand.ballot_number == number:
                    out.append(Evidence(rule, shown, cand.id, c.registry.election.id, in_subject))
        if party_frame or not c.registry.candidates:
            for party in c.registry.parties:
                if party.ballot_number == number:
                    out.append(Evidence(rule, shown, party.id, c.registry.election.id,
                                        in_subject))
    return out
