"""How people write a candidate's name beyond the registry's exact spelling.

Used by :mod:`classifiers.matcher` when it compiles a registry (everything here
runs once per registry, except the small per-token look-ups):

* titles and honorifics ("Mbak", "Bu", "Kang", "Abah", "Cak", "Koh", ...) that
  sit before or inside a name belong to the name and are masked with it;
* a registered full name of three or more words is also matched as first name +
  family name ("Anies Baswedan" for "Anies Rasyid Baswedan"); a first name alone
  never is;
* an @-handle or a hashtag piece that concatenates a registered name's words
  ("@aniesbaswedan", "@sandiuno", "#jokowilagi") names that target, when what is
  left around the name is made of known words (titles, campaign words, the
  target's own name words), so "@sylvia" is not "Sylvi" and a short alias
  ("AHY", "BTP") never matches inside a longer handle or hashtag.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field

from classifiers.normalise import BASE_VOCAB, Token, wordlist

# Normalised forms (the slang table turns "pak" into "bapak", "bu" into "ibu").
TITLES: frozenset[str] = frozenset(wordlist(
    """pak bapak bpk bu ibu mbak mba mas kang akang teh teteh abah ambu bang abang cak
    uda uni ning gus daeng om tante koh engkoh cik encik mpok pakde bude kak kakak
    kyai kiai ustadz ustad ustaz habib haji hj h prof dr ir drs tuan nyonya sdr
    saudara saudari"""))
# Words that campaign handles and hashtags add to a name: "#jokowi2periode",
# "@aniesbaswedan_official", "#asalbukanjokowi".
AFFIXES: frozenset[str] = frozenset(wordlist(
    """lagi periode priode tetap tolak menang official resmi real asli id fans fc lovers
    center centre media news tv team tim relawan sahabat teman kawan untuk buat ri dki
    jkt jabar jatim jateng nusantara gubernur presiden capres cagub pilih dukung asal
    bukan ganti bersama peduli nomor no satu aja saja harga mati pasti"""))
# A short alias ("AHY", "BTP", "JKW") is too easy to find inside other words.
MIN_INSIDE = 4
_SEEN_MAX = 50_000
_NOT_LETTERS_RE = re.compile(r"[^a-z]")
_DOMAIN_SUFFIX = ".bsky.social"


def is_title(word: str, raw: str = "") -> bool:
    """Whether a token is a title or honorific (its normalised or its raw form)."""
    return word in TITLES or raw.lower().rstrip(".") in TITLES


def strip_titles(words: Sequence[str]) -> tuple[str, ...]:
    """``words`` without leading titles ("kang asep kurniawan" -> "asep kurniawan")."""
    i = 0
    while i < len(words) and words[i] in TITLES:
        i += 1
    return tuple(words[i:])


def name_variants(words: Sequence[str], is_person: bool) -> list[tuple[str, ...]]:
    """Other spellings of a registered name that still name the person.

    A titled alias also stands without its title when at least two words stay
    (never a first name alone); a full name of three or more words also stands
    as first + family name.
    """
    out: list[tuple[str, ...]] = []
    bare = strip_titles(words)
    if bare != tuple(words) and len(bare) >= 2:
        out.append(bare)
    if is_person and len(bare) >= 3:
        out.append((bare[0], bare[-1]))
    return out


_MAX_INSIDE_SKIP = 2  # titles or initials inside a name: "Sandiaga S. Uno", "Agus H. Yudhoyono"


def _inside_name(word: str, raw: str) -> bool:
    """A token that may sit inside a name: a title, an initial, an abbreviation's dot."""
    return word == "." or (len(word) == 1 and word.isalpha()) or is_title(word, raw)


def phrase_end(toks: Sequence[Token], words: Sequence[str], i: int,
                phrase: tuple[str, ...]) -> int | None:
    """Where ``phrase`` ends when it starts at ``i``, titles and initials inside allowed."""
    k = len(phrase)
    if tuple(words[i:i + k]) == phrase:
        return i + k
    j = i + 1
    for want in phrase[1:]:
        skipped = 0
        while (j < len(words) and words[j] != want and skipped < _MAX_INSIDE_SKIP
               and _inside_name(words[j], toks[j].raw)):
            j, skipped = j + 1, skipped + 1
        if j >= len(words) or words[j] != want:
            return None
        j += 1
    return j


def titles_before(toks: Sequence[Token], masked: Container[int], i: int) -> int:
    """The first of the titles ("Mbak", "Prof. Dr. H.") just before position ``i``."""
    start = i
    for _ in range(4):
        j = start - 1
        if j >= 0 and toks[j].text == "." and j - 1 >= 0:
            j -= 1  # an abbreviated title: "Dr." "H."
        if j < 0 or j in masked or not is_title(toks[j].text, toks[j].raw):
            break
        start = j
    return start


def drop_titles(text: str) -> str:
    """A normalised, pre-masked text with the titles before ``[CALON]`` dropped.

    The matcher masks a title with the name it precedes ("Pak Anies" is one
    ``[CALON]``), so texts written already masked ("Pak [CALON]") are read the same
    way before a model trains on them.
    """
    out: list[str] = []
    for tok in text.split():
        if tok == "[CALON]":
            for _ in range(4):
                if not (out and out[-1] in TITLES):
                    break
                out.pop()
        out.append(tok)
    return " ".join(out)


def handle_key(handle: str) -> str:
    """A handle or hashtag piece as comparable letters: lower-case, no digits, "_" or "."."""
    h = handle.strip().lstrip("@#").lower()
    if h.endswith(_DOMAIN_SUFFIX):
        h = h[: -len(_DOMAIN_SUFFIX)]
    return _NOT_LETTERS_RE.sub("", h)


def _concat(words: Sequence[str]) -> str | None:
    """The words run together, or None when they hold digits ("paslon 01" is no handle)."""
    joined = "".join(words).replace("-", "").replace("'", "")
    return joined if joined.isalpha() and joined.isascii() else None


def segments(text: str, vocab: frozenset[str]) -> bool:
    """Whether ``text`` is empty or splits fully into ``vocab`` words of two letters or more."""
    n = len(text)
    ok = [True] + [False] * n
    for end in range(2, n + 1):
        ok[end] = any(ok[s] and text[s:end] in vocab for s in range(max(0, end - 20), end - 1))
    return ok[n]


@dataclass
class HandleIndex:
    """Registered names run together, to find them in handles and hashtag pieces."""

    exact: dict[str, tuple[str, str]] = field(default_factory=dict)  # concat -> (target, ph)
    inside: list[tuple[str, str, str]] = field(default_factory=list)  # (concat, target, ph)
    around: dict[str, frozenset[str]] = field(default_factory=dict)  # target -> allowed words
    # Handles and tags repeat across a stream: remember answers (bounded).
    _seen: dict[str, tuple[str, str] | None] = field(default_factory=dict)

    def add(self, words: Sequence[str], target: str, placeholder: str) -> None:
        """Index one registered name or alias (already normalised words)."""
        key = _concat(words)
        if key is None:
            return
        self.exact.setdefault(key, (target, placeholder))
        if len(key) >= MIN_INSIDE:
            self.inside.append((key, target, placeholder))
        own = {w for word in words for w in re.split(r"[-']", word) if w.isalpha()}
        self.around[target] = self.around.get(target, _AROUND) | own

    def finish(self) -> None:
        """Longest names first, so "aniesbaswedan" wins over "anies"."""
        self.inside.sort(key=lambda e: -len(e[0]))

    def find(self, token: str) -> tuple[str, str] | None:
        """The (target, placeholder) a handle or hashtag piece names, if any."""
        key = handle_key(token)
        if key in self._seen:
            return self._seen[key]
        hit = self._find(key) if key else None
        if len(self._seen) >= _SEEN_MAX:
            self._seen.clear()
        self._seen[key] = hit
        return hit

    def _find(self, key: str) -> tuple[str, str] | None:
        hit = self.exact.get(key)
        if hit is not None:
            return hit
        for name, target, ph in self.inside:
            pos = key.find(name)
            if pos < 0:
                continue
            allowed = self.around.get(target, _AROUND)
            if segments(key[:pos], allowed) and segments(key[pos + len(name):], allowed):
                return target, ph
        return None


_AROUND: frozenset[str] = BASE_VOCAB | TITLES | AFFIXES


def index_names(entries: Iterable[tuple[Sequence[str], str, str]]) -> HandleIndex:
    """A :class:`HandleIndex` over (words, target, placeholder) entries."""
    index = HandleIndex()
    for words, target, ph in entries:
        index.add(words, target, ph)
    index.finish()
    return index


_RUNS = re.compile(r"(\w)\1+")
MIN_FIRST_NAME = 4  # "Ali", "Ade": too many namesakes even in election talk


def squeeze(word: str) -> str:
    """``word`` with every run of one letter cut to one letter ("ahokk" -> "ahok")."""
    return _RUNS.sub(r"\1", word)


@dataclass
class LooseIndex:
    """The loose spellings of one registry: squeezed one-word names and candidates' first names."""

    squeezed: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # -> target, ph, word
    first_names: dict[str, str] = field(default_factory=dict)  # first name -> candidate id
