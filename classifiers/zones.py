"""Which words of a masked text are said of the target, and which of its rivals.

A bag of words cannot tell "[LAWAN] korupsi , pilih [CALON]" from
"[CALON] korupsi , pilih [LAWAN]". Splitting the text into clauses (at
punctuation and at contrast words such as "tapi", "mending", "daripada") and
giving each clause to the placeholder it names lets the stance model weigh an
insult of a rival differently from an insult of the target. A clause that names
no one belongs to the clause before it (the first ones to the first that names
someone): "jangan pilih [LAWAN] , partainya bawa kepentingan pengusaha" is all
about the rival.
"""

from __future__ import annotations

from typing import Literal

Zone = Literal["own", "rival", "none"]
OWN = frozenset({"[CALON]", "[PARTAI]", "[NOMOR]"})
RIVAL = "[LAWAN]"
_BREAKS = frozenset({".", ",", "!", "?", ";", ":", "[SUBJEK]"})
_CONTRAST = frozenset({"tapi", "tetapi", "namun", "mending", "mendingan", "daripada", "sedangkan",
                       "padahal", "vs", "versus", "beda", "bukan", "sementara", "ketimbang"})


def clauses(tokens: list[str]) -> list[list[str]]:
    """The tokens cut at punctuation and before contrast words."""
    out: list[list[str]] = [[]]
    for tok in tokens:
        if tok in _CONTRAST and out[-1]:
            out.append([])
        out[-1].append(tok)
        if tok in _BREAKS:
            out.append([])
    return [c for c in out if c]


def _zone_of(clause: list[str]) -> Zone:
    own = any(t in OWN for t in clause)
    rival = RIVAL in clause
    if own and not rival:
        return "own"
    if rival and not own:
        return "rival"
    return "none"


def zoned(text: str) -> list[tuple[Zone, list[str]]]:
    """Each clause of ``text`` with the zone it belongs to."""
    parts = clauses(text.split())
    zones: list[Zone] = [_zone_of(c) for c in parts]
    last: Zone = next((z for z in zones if z != "none"), "none")
    for i, z in enumerate(zones):
        if z == "none":
            zones[i] = last
        else:
            last = z
    return list(zip(zones, parts, strict=True))


def split_zones(text: str) -> tuple[str, str]:
    """(words said of the target, words said of its rivals)."""
    own: list[str] = []
    rival: list[str] = []
    for zone, clause in zoned(text):
        (rival if zone == "rival" else own).extend(clause)
    return " ".join(own), " ".join(rival)
