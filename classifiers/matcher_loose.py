"""The matcher's last pass: names written loosely, found only where nothing stricter matched.

Two ways real posts name a candidate that the exact phrases miss:

* **elongated**: "AHOKK", "Aniesss", "jokowiii": a one-word name or alias with letters
  repeated for emphasis. Both sides are squeezed (every run of one letter becomes one
  letter) before they are compared, so names that have a double letter still match.
* **with a clitic**: "Ahoknya", "Aniesku", "Jokowilah", "Ahok-nya": a one-word name or alias
  with "-nya", "-lah", "-kah", "-pun", "-mu" or "-ku" written onto it.
* **first name in an election text**: "Mbak Sylviana please ...", "Rangga jadi gubernur?".
  A first name alone never matches in everyday text (a colleague called "Dedi" is not
  "Dedi Mulyadi"), but in a text that uses election words, names an office ("gubernur",
  "bupati"), or names a registry target by a stricter rule, it is the candidate. A first
  name that two candidates of one registry share is never used, nor one shorter than
  four letters.

The stance model still decides whether such a text takes a side; this pass only lets it
read the text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from classifiers.match_types import CALON, LEVEL_WORDS, Evidence, Mask
from classifiers.matcher_names import MIN_FIRST_NAME, LooseIndex, squeeze, strip_titles, titles_before
from classifiers.normalise import Token


def build_loose_index(one_word: Iterable[tuple[str, str, str]],
                      people: Iterable[tuple[Sequence[str], str]]) -> LooseIndex:
    """From (word, target, placeholder) of one-word names and aliases, and (name words, candidate)."""
    index = LooseIndex()
    for word, target, placeholder in one_word:
        # Very short aliases ("jk", "sbi") squeeze into everyday words: only exact matches.
        if len(word) >= MIN_FIRST_NAME and word.isalpha():
            index.squeezed.setdefault(squeeze(word), (target, placeholder, word))
    owners: dict[str, set[str]] = {}
    for words, target in people:
        bare = strip_titles(words)
        if len(bare) >= 2 and len(bare[0]) >= MIN_FIRST_NAME and bare[0].isalpha():
            owners.setdefault(bare[0], set()).add(target)
    index.first_names = {w: next(iter(t)) for w, t in owners.items() if len(t) == 1}
    return index


def name_context(words: Sequence[str], context: bool, found: bool) -> bool:
    """Whether a first name may stand for a candidate here: election words, an office, a target."""
    return context or found or any(w in LEVEL_WORDS for w in words)


def match_loose(toks: Sequence[Token], index: LooseIndex, election: str,
                masks: dict[int, Mask], in_subject: bool, first_names_ok: bool) -> list[Evidence]:
    """Mask the elongated names and (where ``first_names_ok``) the first names left unmasked."""
    out: list[Evidence] = []
    for i, t in enumerate(toks):
        if i in masks or t.kind not in ("word", "hashtag"):
            continue
        hit = _with_clitic(t.text, index)
        if not t.text.isalpha() and hit is None:
            continue
        short = squeeze(t.text)
        # Only a word with repeated letters: an exact spelling the main pass left alone
        # (an acronym outside an election text) stays unmatched.
        if hit is None and short != t.text:
            hit = index.squeezed.get(short)
        if hit is not None:
            target, placeholder, word = hit
            masks[i] = (placeholder, target)
            out.append(Evidence("alias", f"{t.raw} ({word})", target, election, in_subject))
            continue
        owner = index.first_names.get(t.text) if first_names_ok else None
        if owner is not None:
            for j in range(titles_before(toks, masks, i), i + 1):
                masks[j] = (CALON, owner)
            out.append(Evidence("first_name", t.raw, owner, election, in_subject))
    return out


# Indonesian clitics written onto a word: "Ahoknya", "Aniesku", "Jokowilah", "Ahok-nya".
CLITICS = ("nya", "lah", "kah", "pun", "mu", "ku")


def _with_clitic(word: str, index: LooseIndex) -> tuple[str, str, str] | None:
    """The one-word name or alias under a clitic, if the word is one with a clitic."""
    stem = word
    for clitic in CLITICS:
        if word.endswith(clitic):
            stem = word[: -len(clitic)].rstrip("-")
            break
    if stem == word or len(stem) < MIN_FIRST_NAME or not stem.isalpha():
        return None
    hit = index.squeezed.get(squeeze(stem))
    # The stem must be the registered spelling itself, not a squeezed cousin of it.
    return hit if hit is not None and hit[2] == stem else None
