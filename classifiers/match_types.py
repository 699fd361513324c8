"""What stage 1 shares with its rules: placeholders, election words, evidence, match results.

Kept apart from :mod:`classifiers.matcher` so the ballot-number rules
(:mod:`classifiers.ballot`) and the matcher read the same vocabulary without
importing each other.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from classifiers.matcher_names import HandleIndex, LooseIndex
from classifiers.normalise import wordlist
from monitor.model import Level, Registry

Rule = Literal["name", "alias", "first_name", "hashtag", "party", "ballot_number", "hand_sign",
               "account", "mention"]

CALON = "[CALON]"
PARTAI = "[PARTAI]"
NOMOR = "[NOMOR]"
SUBJEK = "[SUBJEK]"  # separates the actor's own words from the engaged post's text
# In the text read for one target, every other target that is not its ally (its
# own party, its own candidate) becomes [LAWAN], so "X korupsi, pilih Y" reads as
# an attack on X in X's text and as support in Y's.
LAWAN = "[LAWAN]"
Mask = tuple[str, str]  # (placeholder, target id) of a masked token

# Words that by themselves say "this is about an election".
ELECTION_WORDS: frozenset[str] = frozenset(
    wordlist(
    """pemilu pilpres pileg pilkada pilgub pilbup pilwalkot pemilihan coblos mencoblos
    nyoblos dicoblos pencoblosan capres cawapres cagub cawagub cabup cawabup cawalkot
    cawawalkot caleg paslon kampanye tps golput kpu bawaslu pemenangan relawan
    timses quickcount""")
)
ELECTION_BIGRAMS: frozenset[tuple[str, str]] = frozenset(
    {("surat", "suara"), ("nomor", "urut"), ("no", "urut"), ("hak", "pilih"),
     ("quick", "count"), ("hitung", "cepat"), ("kotak", "suara"), ("hari", "h")}
)
# Words that point at one level of election, to pick the registry for a number.
LEVEL_WORDS: dict[str, Level] = {
    "capres": "national", "cawapres": "national", "pilpres": "national",
    "presiden": "national", "cagub": "province", "cawagub": "province",
    "pilgub": "province", "gubernur": "province", "cabup": "regency", "cawabup": "regency",
    "pilbup": "regency", "bupati": "regency", "cawalkot": "city", "cawawalkot": "city",
    "pilwalkot": "city", "walikota": "city",
}


@dataclass(frozen=True)
class Evidence:
    """One reason the matcher gave for a target."""

    rule: Rule
    term: str
    target: str
    election: str
    in_subject: bool = False

    def describe(self) -> str:
        """A short line for the reviewer, e.g. ``name "dedi mulyadi" -> cand-4``."""
        where = " (in engaged post)" if self.in_subject else ""
        return f'{self.rule} "{self.term}" -> {self.target} [{self.election}]{where}'


@dataclass(frozen=True)
class MatchResult:
    """What stage 1 found in one item, and the masked texts for stage 2.

    ``masked_text`` masks every target with its placeholder; ``by_target`` holds,
    for each target, the text in which only it and its allies keep their
    placeholder and every other target reads ``[LAWAN]``.
    """

    targets: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    masked_text: str
    election_context: bool  # the item uses election words (pemilu, coblos, paslon, ...)
    account_match: bool
    elections: tuple[str, ...] = field(default=())
    by_target: Mapping[str, str] = field(default_factory=dict)

    def text_for(self, target: str) -> str:
        """The masked text as read for ``target`` (the plain masked text if unknown)."""
        return self.by_target.get(target, self.masked_text)

    @property
    def matched(self) -> bool:
        """Whether any target was found."""
        return bool(self.targets)


@dataclass(frozen=True)
class _Phrase:
    words: tuple[str, ...]
    target: str
    election: str
    rule: Rule
    placeholder: str
    acronym: str | None = None  # original capitals an acronym must be written in


@dataclass
class _Compiled:
    registry: Registry
    phrases: list[_Phrase]
    hashtags: dict[str, str]
    accounts: dict[tuple[str, str], tuple[str, str]]  # (platform, handle) -> (target, placeholder)
    by_first: dict[str, list[_Phrase]] = field(default_factory=dict)  # first word -> phrases
    allies: dict[str, frozenset[str]] = field(default_factory=dict)  # target -> its side
    names: HandleIndex = field(default_factory=HandleIndex)  # names run together
    loose: LooseIndex = field(default_factory=LooseIndex)  # elongated names, first names
    handles: dict[str, tuple[str, str]] = field(default_factory=dict)  # any platform


def _has_election_context(words: Sequence[str]) -> bool:
    if any(w in ELECTION_WORDS for w in words):
        return True
    return any((a, b) in ELECTION_BIGRAMS for a, b in itertools.pairwise(words))


def _level_hint(words: Iterable[str]) -> set[Level]:
    return {LEVEL_WORDS[w] for w in words if w in LEVEL_WORDS}
