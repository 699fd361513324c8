"""Normalise Indonesian social-media text before matching and modelling.

What it does, in order, for each token:

* lower-cases words (the original surface stays on the token, because a few
  registry rules, such as party acronyms, need the original case);
* squeezes letters repeated three or more times ("bangeeet" -> "banget",
  "maaaaf" -> "maaf": two are kept when that gives a known word);
* expands slang from the project's own table (:mod:`classifiers.slang`);
* splits hashtags into words (``#JakartaMenyala`` -> ``jakarta menyala``), by
  case changes and digits, or, for an all-lower-case tag, by a vocabulary;
* keeps every emoji as a token of its own, with skin tones and variation
  selectors stripped (``☝️`` and ``☝🏽`` both become ``☝``);
* keeps target placeholders (``[CALON]``, ``[PARTAI]``, ``[NOMOR]``) intact;
* first of all, repairs mojibake: UTF-8 text that was decoded as Latin-1 or
  cp1252 somewhere upstream ("Ã©" -> "é", "â€œ" -> "“", "Anies\u00c2 " ->
  "Anies "), so that names are still found (:func:`repair_mojibake`).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from classifiers.slang import DOUBLE_LETTER_WORDS, SLANG

TokenKind = Literal["word", "number", "emoji", "hashtag", "mention", "url", "punct", "placeholder"]

_EMOJI_RANGES = (
    "\U0001f000-\U0001faff"  # pictographs, emoticons, transport, symbols & pictographs ext.
    "\u2600-\u27bf"  # misc symbols and dingbats (☝ ✌ ❤ ✅)
    "\u2b00-\u2bff"  # arrows, stars (⭐)
    "\u2190-\u21ff"
    "\u2300-\u23ff"  # ⌚ ⏰
)
_MODIFIERS = "\ufe0f\ufe0e\u200d\U0001f3fb-\U0001f3ff\u20e3"

_TOKEN_RE = re.compile(
    r"(?P<placeholder>\[[A-Z_]+\])"
    r"|(?P<url>https?://\S+|www\.\S+)"
    r"|(?P<mention>@[A-Za-z0-9_.]+)"
    r"|(?P<hashtag>#\w+)"
    rf"|(?P<emoji>[{_EMOJI_RANGES}][{_MODIFIERS}]*)"
    r"|(?P<word>[^\W_]+(?:[-'][^\W_]+)*)"
    r"|(?P<punct>[!?.,;:/()\"“”'-])"
)
_MODIFIER_RE = re.compile(f"[{_MODIFIERS}]")
_REPEAT_RE = re.compile(r"(\w)\1{2,}")
_LAUGH_RE = re.compile(r"^(?:wk)+w?k?$|^(?:ha){2,}h?$|^(?:he){2,}h?$|^(?:hi){2,}h?$")
_CAMEL_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[^\W\d_]+")

# Mojibake: a UTF-8 lead byte read as Latin-1/cp1252 (Â..ô) followed by the
# characters that continuation bytes 0x80-0xBF become under either code page.
_CONT = "\u0080-\u00bf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
_MOJIBAKE_RE = re.compile(
    f"[\u00c2-\u00df][{_CONT}]|[\u00e0-\u00ef][{_CONT}]{{2}}|[\u00f0-\u00f4][{_CONT}]{{3}}"
)
# UTF-8 bytes written out as Python escapes by some tweet dumps: "\\xf0\\x9f\\x98\\x82".
_ESCAPED_BYTES_RE = re.compile(r"(?:\\x[89a-fA-F][0-9a-fA-F])+")  # high bytes only
_MOJIBAKE_LEAD_RE = re.compile("[\u00c2-\u00f4]")  # cheap test: most texts hold none
# What is left of a no-break space (C2 A0) once the A0 became a plain space.
_STRAY_A_CIRC_RE = re.compile(r"\u00c2(?=[\s\W_]|$)")


def _to_byte(ch: str) -> int:
    try:
        return ch.encode("cp1252")[0]
    except UnicodeEncodeError:  # the five bytes cp1252 leaves undefined stay as themselves
        return ord(ch)


def _plausible(ch: str) -> bool:
    """Whether a repaired character is one posts use: Latin letters, punctuation, symbols, emoji.

    Correct text can look like mojibake ("è––" reads as the bytes of a CJK character);
    Indonesian posts carry no CJK, so such a "repair" is refused.
    """
    cp = ord(ch)
    return (cp < 0x250 or 0x2000 <= cp < 0x2C00 or 0xFE00 <= cp <= 0xFE0F
            or 0x1F000 <= cp < 0x1FB00)


def _repair_run(m: re.Match[str]) -> str:
    run = m.group()
    try:
        fixed = bytes(_to_byte(c) for c in run).decode("utf-8")
    except UnicodeDecodeError:
        return run
    return fixed if _plausible(fixed) else run


def _unescape_run(m: re.Match[str]) -> str:
    try:
        return bytes.fromhex(m.group().replace("\\x", "")).decode("utf-8")
    except UnicodeDecodeError:
        return m.group()


_ESCAPED_BREAK_RE = re.compile(r"(?<!:)\\n")
_HTML_ENTITY_RE = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")


def _unescape_html(text: str) -> str:
    """HTML entities as X/Twitter's API and its dumps write them ("&amp;" is "&").

    Only whole entities: ``html.unescape`` alone also reads "Black&nothing" as "Black¬hing".
    """
    return _HTML_ENTITY_RE.sub(lambda m: html.unescape(m.group()), text)


def repair_mojibake(text: str) -> str:
    """Undo a UTF-8 -> Latin-1/cp1252 mis-decoding, sequence by sequence.

    Each candidate sequence is re-encoded and decoded as UTF-8 and replaced only
    when that succeeds, so correct text around it (real emoji, real "é") is left
    alone. Twice, for text that went through the round trip twice. A stray "Â"
    before a space, punctuation or the end (a no-break space half repaired
    upstream) is dropped. Escaped UTF-8 bytes ("\\xf0\\x9f\\x98\\x82") are decoded too, and
    escaped line breaks ("\\n") become line breaks.
    """
    if "\\x" in text:
        text = _ESCAPED_BYTES_RE.sub(_unescape_run, text)
    if "\\n" in text:
        # Exports and dumps write line breaks as "\\n": "lucu\\nmirip" is two words, not
        # "lucu" and "nmirip". After a colon it is more likely a path ("C:\\new").
        text = _ESCAPED_BREAK_RE.sub("\n", text)
    if not _MOJIBAKE_LEAD_RE.search(text):
        return text
    for _ in range(2):
        fixed = _MOJIBAKE_RE.sub(_repair_run, text)
        if fixed == text:
            break
        text = fixed
    return _STRAY_A_CIRC_RE.sub("", text)


def wordlist(words: str) -> list[str]:
    """Whitespace-separated words as a list (keeps long word tables readable)."""
    return words.split()


# Common words used to split all-lower-case hashtags. Registry names are added
# by the matcher, so "#kangdedijuara" splits once "dedi" is known.
BASE_VOCAB: frozenset[str] = frozenset(
    wordlist(
    """
    pemilu pilpres pileg pilkada pilgub pilbup pilwalkot capres cawapres cagub cawagub cabup
    cawabup cawalkot paslon calon partai coblos nyoblos pilih nomor urut satu dua tiga empat
    lima menang juara hebat lanjut lanjutkan terus maju bersama rakyat indonesia jakarta jawa
    barat timur tengah bandung bogor bekasi depok surabaya medan bali sumatera kalimantan
    sulawesi papua menyala baru bangkit bersatu damai sejuk adil jujur netral asn tolak
    jangan asal bukan ganti presiden gubernur bupati walikota wali kota kota kabupaten
    provinsi pemimpin pilihan kita kami untuk dan yang di ke dari tanpa tidak pasti
    pasti rumah sehat cerdas sejahtera makmur maju mundur hijau biru merah kuning putih
    kang teh pak bu abah mas mbak bang cak uda daeng ayo gaskeun dukung bela kawal
    selamat pagi siang malam hari ini besok minggu liburan keluarga reuni kantor
    kopi makan enak mantap keren semangat sukses lancar berkah aman tps kpu bawaslu
    debat kampanye suara hak pilih golput """)
)


@dataclass(frozen=True)
class Token:
    """One normalised token and where it came from in the original text."""

    text: str
    raw: str
    kind: TokenKind
    start: int
    end: int


@dataclass(frozen=True)
class Normalised:
    """A text after normalisation: its tokens, and the hashtags it carried."""

    original: str
    tokens: tuple[Token, ...]
    hashtags: tuple[str, ...] = field(default=())

    @property
    def text(self) -> str:
        """The normalised text: token texts joined by single spaces."""
        return " ".join(t.text for t in self.tokens)

    @property
    def words(self) -> list[str]:
        """Normalised token texts, in order."""
        return [t.text for t in self.tokens]


def squeeze_repeats(word: str, known: Iterable[str] | None = None) -> str:
    """Squeeze letters repeated three or more times.

    Two letters are kept when that gives a known word ("maaaaf" -> "maaf"),
    otherwise one ("bangeeet" -> "banget", "gaaak" -> "gak").
    """
    if not _REPEAT_RE.search(word):
        return word
    known_set = set(known) if known is not None else _KNOWN
    two = _REPEAT_RE.sub(r"\1\1", word)
    if two in known_set:
        return two
    return _REPEAT_RE.sub(r"\1", word)


def strip_emoji_modifiers(emoji: str) -> str:
    """The base emoji, without variation selectors, skin tones or joiners."""
    return _MODIFIER_RE.sub("", emoji) or emoji


def split_hashtag(tag: str, vocab: frozenset[str] | set[str] = BASE_VOCAB) -> list[str]:
    """Split a hashtag body into lower-case words.

    Case changes and digits split first (``JakartaMenyala2024`` -> ``jakarta
    menyala 2024``). An all-lower-case run is segmented with ``vocab`` when every
    piece is a known word; otherwise it stays whole.
    """
    body = tag.lstrip("#")
    out: list[str] = []
    for part in _CAMEL_RE.findall(body):
        low = part.lower()
        if part.isdigit() or not (part.islower() or part.isupper()) or low in vocab:
            out.append(low)
            continue
        out.extend(_segment(low, vocab))
    return out


def _segment(word: str, vocab: frozenset[str] | set[str]) -> list[str]:
    """Fewest-pieces segmentation of ``word`` into ``vocab`` words, else ``[word]``."""
    n = len(word)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for end in range(1, n + 1):
        for start in range(max(0, end - 20), end):
            prev = best[start]
            piece = word[start:end]
            if prev is None or (piece not in vocab and not piece.isdigit()):
                continue
            cand = [*prev, piece]
            cur = best[end]
            if cur is None or len(cand) < len(cur):
                best[end] = cand
    found = best[n]
    return found if found and len(found) > 1 else [word]


_KNOWN: frozenset[str] = frozenset(
    set(SLANG) | {w for v in SLANG.values() for w in v.split()} | DOUBLE_LETTER_WORDS | BASE_VOCAB
)


class Normaliser:
    """Turns raw social-media text into :class:`Normalised` tokens.

    ``slang`` replaces the built-in table (for example with the kamusalay file
    at evaluation time); ``extra_vocab`` adds words for hashtag splitting.
    """

    def __init__(
        self,
        slang: Mapping[str, str] | None = None,
        extra_vocab: Iterable[str] = (),
    ) -> None:
        self.slang: Mapping[str, str] = SLANG if slang is None else slang
        self.vocab: frozenset[str] = BASE_VOCAB | frozenset(w.lower() for w in extra_vocab)
        self.known: frozenset[str] = _KNOWN | frozenset(self.slang) | self.vocab

    def with_vocab(self, words: Iterable[str]) -> Normaliser:
        """A normaliser like this one that also knows ``words`` for hashtag splitting."""
        return Normaliser(self.slang, self.vocab | frozenset(w.lower() for w in words))

    def normalise_word(self, word: str) -> list[str]:
        """Normalise one word: lower-case, squeeze repeats, laughter, slang."""
        low = word.lower()
        if _LAUGH_RE.match(low):
            return ["tertawa"]
        if low in self.slang:
            return self.slang[low].split()
        squeezed = squeeze_repeats(low, self.known)
        if _LAUGH_RE.match(squeezed):
            return ["tertawa"]
        if squeezed in self.slang:
            return self.slang[squeezed].split()
        once = _REPEAT_RE.sub(r"\1", low)
        if once != squeezed and once in self.slang:
            return self.slang[once].split()
        # Indonesian writes plurals as "org2" / "calon2": keep the base word.
        if len(squeezed) > 2 and squeezed[-1] == "2" and squeezed[:-1].isalpha():
            return self.normalise_word(squeezed[:-1])
        return [squeezed]

    def __call__(self, text: str | None) -> Normalised:
        """Normalise ``text`` (``None`` is treated as empty)."""
        text = unicodedata.normalize("NFC", _unescape_html(repair_mojibake(text or "")))
        tokens: list[Token] = []
        hashtags: list[str] = []
        for m in _TOKEN_RE.finditer(text):
            kind = m.lastgroup
            raw = m.group()
            start, end = m.span()
            if kind == "placeholder":
                tokens.append(Token(raw, raw, "placeholder", start, end))
            elif kind == "url":
                tokens.append(Token("[URL]", raw, "url", start, end))
            elif kind == "mention":
                tokens.append(Token(raw.lower().rstrip("."), raw, "mention", start, end))
            elif kind == "hashtag":
                hashtags.append(raw[1:].lower())
                for part in split_hashtag(raw, self.vocab):
                    for w in self.normalise_word(part) if not part.isdigit() else [part]:
                        tokens.append(Token(w, raw, "hashtag", start, end))
            elif kind == "emoji":
                tokens.append(Token(strip_emoji_modifiers(raw), raw, "emoji", start, end))
            elif kind == "word":
                if raw.isdigit():
                    tokens.append(Token(raw, raw, "number", start, end))
                    continue
                for w in self.normalise_word(raw):
                    tokens.append(Token(w, raw, "word", start, end))
            elif kind == "punct":
                tokens.append(Token(raw, raw, "punct", start, end))
        return Normalised(text, tuple(tokens), tuple(hashtags))


_DEFAULT = Normaliser()


def normalise(text: str | None) -> Normalised:
    """Normalise ``text`` with the built-in slang table and vocabulary."""
    return _DEFAULT(text)
