"""Stage 1: find the candidates and parties an item refers to, and mask them.

The matcher works on normalised tokens (:mod:`classifiers.normalise`) and on
the registries that apply to the item's actor (``RegistryView.for_item``). Its
rules, each recorded as :class:`Evidence` for the reviewer:

``name`` / ``alias``
    a candidate's full name or a registered alias, as a whole-token phrase, also
    as first + family name and with titles before or inside it ("Mbak Sylviana
    Murni", "Anies R. Baswedan"; :mod:`classifiers.matcher_names`), the titles
    masked with the name. A first name alone does not match in everyday text: a
    colleague called "Dedi" is not "Dedi Mulyadi".
``first_name`` / elongated ``alias``
    a candidate's first name in an election text, and a one-word name or alias
    with letters repeated for emphasis ("AHOKK"): the last pass, over what is left
    unmasked (:mod:`classifiers.matcher_loose`).
``hashtag``
    a registered campaign hashtag, compared case-insensitively as a hashtag, or a
    name or alias found in a hashtag ("#AsalBukanJokowi", "#jokowi2priode"); only
    the name's words are masked, so "asal bukan" stays for the stance model.
``party``
    a party name; short all-capital acronyms ("PAN", "PKB") only match when
    written in capitals or after "partai", so the cooking pan stays a pan.
``ballot_number``
    a ballot number in an election frame: strong frames ("coblos 3", "no urut 1",
    "paslon 02", "cagub nomor 4") stand alone; weak ones ("pilih 3!", "nomor 2",
    a bare "02") need election words elsewhere in the item, so "antrian nomor 3"
    is not a ballot.
``hand_sign``
    ☝ ✌ 🤟 (one, two, three fingers) within a few tokens of an election word, so
    a two-finger selfie at a reunion is not a vote.
``account`` / ``mention``
    the engaged post's author, or an @-mention, is a candidate's or party's own
    account on the item's platform; an @-mention also names a target when the
    handle runs its name's words together ("@aniesbaswedan", "@sandiuno").

Every match is masked (``[CALON]``, ``[PARTAI]``, ``[NOMOR]``) in the text the
stance model sees, so a model trained on one election carries to the next.
"""

from __future__ import annotations

from collections.abc import Sequence

from classifiers.ballot import HAND_SIGN_WINDOW, HAND_SIGNS, _disambiguate_numbers, _match_numbers
from classifiers.match_types import (
    CALON,
    ELECTION_BIGRAMS,
    ELECTION_WORDS,
    LAWAN,
    LEVEL_WORDS,
    NOMOR,
    PARTAI,
    SUBJEK,
    Evidence,
    Mask,
    MatchResult,
    Rule,
    _Compiled,
    _has_election_context,
    _level_hint,
    _Phrase,
)
from classifiers.matcher_loose import build_loose_index, match_loose, name_context
from classifiers.matcher_names import (
    MIN_INSIDE,
    index_names,
    name_variants,
    phrase_end,
    titles_before,
)
from classifiers.normalise import Normalised, Normaliser, Token, normalise
from monitor.model import ENGAGEMENT_KINDS, Item, Registry

__all__ = ["CALON", "ELECTION_BIGRAMS", "ELECTION_WORDS", "HAND_SIGNS", "HAND_SIGN_WINDOW",
           "LAWAN", "LEVEL_WORDS", "NOMOR", "PARTAI", "SUBJEK", "Evidence", "MatchResult",
           "RegistryMatcher", "Rule", "model_text"]


def _handle(h: str) -> str:
    return h.strip().lstrip("@").lower()


def _allies(reg: Registry) -> dict[str, frozenset[str]]:
    """Each target with the targets on its side: a ticket and the parties that carry it."""
    side: dict[str, set[str]] = {c.id: {c.id, *c.parties} for c in reg.candidates}
    for party in reg.parties:
        side.setdefault(party.id, {party.id}).update(
            c.id for c in reg.candidates if party.id in c.parties)
    return {t: frozenset(s) for t, s in side.items()}

class RegistryMatcher:
    """Stage 1 of the cascade: registry rules over normalised text and accounts."""

    version = "matcher-1"

    def __init__(self, normaliser: Normaliser | None = None) -> None:
        self._base = normaliser or Normaliser()
        self._cache: dict[str, _Compiled] = {}
        self._by_id: dict[int, tuple[Registry, _Compiled]] = {}
        self._normalisers: dict[tuple[int, ...], Normaliser] = {}

    def _compile(self, reg: Registry) -> _Compiled:
        # Registries are fixed for a run: remember each object (kept alive here so
        # its id is not reused) to avoid hashing the whole registry per item.
        seen = self._by_id.get(id(reg))
        if seen is not None and seen[0] is reg:
            return seen[1]
        key = reg.fingerprint()
        if key in self._cache:
            self._by_id[id(reg)] = (reg, self._cache[key])
            return self._cache[key]
        eid = reg.election.id
        phrases: list[_Phrase] = []
        hashtags: dict[str, str] = {}
        accounts: dict[tuple[str, str], tuple[str, str]] = {}
        for cand in reg.candidates:
            for person in cand.people:
                phrases.extend(self._spellings(person, cand.id, eid, "name"))
            for alias in cand.aliases:
                phrases.extend(self._spellings(alias, cand.id, eid, "alias"))
            for tag in cand.hashtags:
                hashtags[tag.lstrip("#").lower()] = cand.id
            for platform, handles in cand.accounts.items():
                for h in handles:
                    accounts[(platform, _handle(h))] = (cand.id, CALON)
        for party in reg.parties:
            for name in party.names:
                acro = name if name.isupper() and len(name.replace("-", "")) <= 5 else None
                phrases.append(_Phrase(self._words(name), party.id, eid, "party", PARTAI, acro))
            for platform, handles in party.accounts.items():
                for h in handles:
                    accounts[(platform, _handle(h))] = (party.id, PARTAI)
        phrases = _one_per_spelling(phrases)
        # Acronyms need capitals or "partai" ("PPP" even squeezes to "p"): not in handles.
        names = index_names((p.words, p.target, p.placeholder) for p in phrases if not p.acronym)
        # Longest phrases first, so "partai demokrat" wins over "demokrat".
        phrases.sort(key=lambda p: -len(p.words))
        by_first: dict[str, list[_Phrase]] = {}
        for ph in phrases:  # already longest first
            by_first.setdefault(ph.words[0], []).append(ph)
        loose = build_loose_index(
            ((p.words[0], p.target, p.placeholder) for p in phrases
             if len(p.words) == 1 and not p.acronym),
            ((self._words(person), cand.id) for cand in reg.candidates for person in cand.people))
        compiled = _Compiled(reg, phrases, hashtags, accounts, by_first, _allies(reg), names, loose)
        compiled.handles = {h: hit for (_, h), hit in accounts.items()}
        self._cache[key] = compiled
        self._by_id[id(reg)] = (reg, compiled)
        return compiled

    def _words(self, phrase: str) -> tuple[str, ...]:
        return tuple(t.text for t in self._base(phrase).tokens if t.kind != "punct")

    def _spellings(self, name: str, target: str, eid: str, rule: Rule) -> list[_Phrase]:
        words = self._words(name)
        # A ticket's acronym ("ASIH", "TAJU") is often also a given name ("Bu Asih
        # tukang sayur"): it counts in capitals or in an election text.
        acro = name if rule == "alias" and _is_acronym(name) else None
        return [_Phrase(w, target, eid, rule, CALON, acro)
                for w in [words, *name_variants(words, rule == "name")]]

    def normaliser_for(self, registries: Sequence[Registry]) -> Normaliser:
        """A normaliser that can split hashtags into the registries' names."""
        key = tuple(id(self._compile(reg)) for reg in registries)
        if key not in self._normalisers:
            words: set[str] = set()
            for reg in registries:
                for p in self._compile(reg).phrases:
                    # a short alias split out of a longer tag ("#bantpbtp") is a false find
                    words.update(w for w in p.words if len(w) >= MIN_INSIDE)
            self._normalisers[key] = self._base.with_vocab(words)
        return self._normalisers[key]

    def match(self, item: Item, registries: Sequence[Registry]) -> MatchResult:
        """Find targets in ``item`` (its text and the engaged post's) for ``registries``."""
        compiled = [self._compile(r) for r in registries]
        norm = self.normaliser_for(registries) if registries else self._base
        own_text, subject_text = item.text, item.subject.text if item.subject else None
        parts: list[tuple[Normalised, bool]] = []
        if item.kind in ("reply", "quote", "post"):
            parts.append((norm(own_text), False))
        if item.kind != "post" and subject_text:
            parts.append((norm(subject_text), True))
        all_words = [t.text for n, _ in parts for t in n.tokens]
        context = _has_election_context(all_words)
        evidence: list[Evidence] = []
        masks_per_part: list[dict[int, Mask]] = []
        for n, in_subject in parts:
            masks: dict[int, Mask] = {}
            evidence.extend(self._match_tokens(n, compiled, masks, in_subject, context))
            masks_per_part.append(masks)
        first_names_ok = name_context(all_words, context, bool(evidence))
        for (n, in_subject), masks in zip(parts, masks_per_part, strict=True):
            for c in compiled:
                evidence.extend(match_loose(n.tokens, c.loose, c.registry.election.id, masks,
                                            in_subject, first_names_ok))
        if not context and (evidence or _political(all_words)):
            # Acronyms again, now that the text is known to be political talk: "PKS"
            # beside a named candidate, or beside "DPR", is the party, not an agreement.
            for (n, in_subject), masks in zip(parts, masks_per_part, strict=True):
                evidence.extend(_match_phrases(n, compiled, masks, in_subject, True,
                                               party_acronyms_only=True))
        # Numbers and hand signs: their frames may rely on names found anywhere.
        words_context = context
        context = context or bool(evidence)
        level_hint = _level_hint(all_words)
        for (n, in_subject), masks in zip(parts, masks_per_part, strict=True):
            evidence.extend(
                _match_numbers(n, compiled, masks, in_subject, context, level_hint)
            )
        evidence.extend(self._match_accounts(item, compiled))
        evidence = _disambiguate_numbers(list(dict.fromkeys(evidence)))  # one line per find
        targets = tuple(dict.fromkeys(e.target for e in evidence))
        kept = set(targets)
        # A number that could name several targets belongs to the one disambiguation kept.
        masks_per_part = [{i: (ph, next((t for t in owner.split("|") if t in kept), ""))
                           for i, (ph, owner) in masks.items()} for masks in masks_per_part]
        rendered = [n for n, _ in parts]
        sides = _sides(compiled, targets)
        return MatchResult(
            targets=targets,
            evidence=tuple(evidence),
            masked_text=_join(item.kind, rendered, masks_per_part, None),
            election_context=words_context,
            account_match=any(e.rule == "account" for e in evidence),
            elections=tuple(dict.fromkeys(e.election for e in evidence)),
            by_target={t: _join(item.kind, rendered, masks_per_part, sides[t]) for t in targets},
        )

    def _match_tokens(
        self, n: Normalised, compiled: Sequence[_Compiled], masks: dict[int, Mask],
        in_subject: bool, context: bool,
    ) -> list[Evidence]:
        toks = n.tokens
        out: list[Evidence] = []
        # Hashtags first. One piece of a campaign hashtag stands for its target (_tag_slot);
        # its other words ("2 periode", "ganti") stay for the stance model.
        tagged: set[int] = set()
        for c in compiled:
            for i, t in enumerate(toks):
                if t.kind != "hashtag" or i in masks or t.start in tagged:
                    continue
                target = c.hashtags.get(t.raw.lstrip("#").lower())
                if target is None:
                    continue
                tagged.add(t.start)
                masks[_tag_slot(toks, i, c, target)] = (CALON, target)
                out.append(Evidence("hashtag", t.raw, target, c.registry.election.id, in_subject))
            for i, t in enumerate(toks):
                if t.kind == "mention" and i not in masks:
                    hit = c.handles.get(_handle(t.text)) or c.names.find(t.text)
                    if hit is not None:
                        masks[i] = (hit[1], hit[0])
                        out.append(Evidence("mention", t.raw, hit[0],
                                            c.registry.election.id, in_subject))
        out.extend(_match_phrases(n, compiled, masks, in_subject, context))
        out.extend(_match_tag_pieces(toks, compiled, masks, in_subject))
        return out

    def _match_accounts(self, item: Item, compiled: Sequence[_Compiled]) -> list[Evidence]:
        if item.kind not in ENGAGEMENT_KINDS or item.subject is None:
            return []
        author = _handle(item.subject.author)
        out: list[Evidence] = []
        for c in compiled:
            hit = c.accounts.get((item.platform, author))
            if hit is not None:
                out.append(Evidence("account", item.subject.author, hit[0],
                                    c.registry.election.id, True))
        return out


def _tag_slot(toks: Sequence[Token], i: int, c: _Compiled, target: str) -> int:
    """Which piece of a registered hashtag (starting at ``i``) stands for its target.

    The piece that names the target ("#2019TetapJokowi" -> "2019 tetap [CALON]"); in
    a tag that names no one, the office it is about, since that office is the target
    the tag was registered for ("#2019GantiPresiden" -> "2019 ganti [CALON]"); else
    its first piece ("#SalamDuaJari" -> "[CALON] dua jari").
    """
    pieces = [j for j in range(i, len(toks)) if toks[j].start == toks[i].start]
    for j in pieces:
        hit = c.names.find(toks[j].text)
        if hit is not None and hit[0] == target:
            return j
    return next((j for j in pieces if toks[j].text in LEVEL_WORDS), i)


def _match_tag_pieces(toks: Sequence[Token], compiled: Sequence[_Compiled],
                      masks: dict[int, Mask], in_subject: bool) -> list[Evidence]:
    """Hashtag pieces the splitter could not cut that run a name together: "#jokowilagi".

    A word of letters and digits is a hashtag written without "#" ("JOKOWI2PRIODE").
    """
    out: list[Evidence] = []
    for i, t in enumerate(toks):
        if t.kind == "word":
            if t.text.isalpha() or t.text.isdigit() or not t.text.isalnum():
                continue
        elif t.kind != "hashtag" or t.text.isdigit():
            continue
        if i in masks:
            continue
        for c in compiled:
            hit = c.names.find(t.text)
            if hit is not None:
                masks[i] = (hit[1], hit[0])
                out.append(Evidence("hashtag", t.raw, hit[0], c.registry.election.id,
                                    in_subject))
                break
    return out


def _match_phrases(n: Normalised, compiled: Sequence[_Compiled], masks: dict[int, Mask],
                   in_subject: bool, context: bool, party_acronyms_only: bool = False,
                   ) -> list[Evidence]:
    """Names, aliases and parties; with ``party_acronyms_only``, only party acronyms."""
    toks = n.tokens
    words = [t.text for t in toks]
    out: list[Evidence] = []
    # Leftmost-longest: at each position the longest phrase that fits wins,
    # so "partai demokrat" is one party mention, not "partai" + "demokrat".
    for c in compiled:
        for i, w in enumerate(words):
            for p in c.by_first.get(w, ()):
                if party_acronyms_only and not (p.rule == "party" and p.acronym):
                    continue
                k = len(p.words)  # the common exact case inline: match() is hot
                end = i + k if tuple(words[i:i + k]) == p.words else (
                    phrase_end(toks, words, i, p.words) if k > 1 else None)
                if end is None or any(j in masks for j in range(i, end)):
                    continue
                if p.acronym and not (_alias_acronym_ok(toks, i, context) if p.rule == "alias"
                                      else _acronym_ok(toks, i, p.acronym, context)):
                    continue
                start = titles_before(toks, masks, i) if p.placeholder == CALON else i
                for j in range(start, end):
                    masks[j] = (p.placeholder, p.target)
                in_tag = all(toks[j].kind == "hashtag" for j in range(i, end))
                out.append(Evidence("hashtag" if in_tag else p.rule,
                                    toks[i].raw if in_tag else " ".join(p.words),
                                    p.target, c.registry.election.id, in_subject))
                break
    return out


# Words of party politics (not of an election): enough to read a capitalised party
# acronym as the party.
POLITICAL_WORDS = frozenset({"partai", "parpol", "koalisi", "fraksi", "ketum", "dpr", "dprd",
                             "oposisi", "rezim"})


def _political(words: Sequence[str]) -> bool:
    return any(w in POLITICAL_WORDS for w in words)


def _one_per_spelling(phrases: Sequence[_Phrase]) -> list[_Phrase]:
    """One phrase per (words, target): the first (a name before an alias) wins.

    A spelling also registered in mixed case ("JKW" and "Jkw") is not held to the
    acronym rule: the registry says the lower-case form names the candidate too.
    """
    chosen: dict[tuple[tuple[str, ...], str], _Phrase] = {}
    for p in phrases:
        key = (p.words, p.target)
        if p.words and (key not in chosen or (chosen[key].acronym and not p.acronym)):
            chosen[key] = p
    return list(chosen.values())


def _is_acronym(name: str) -> bool:
    letters = name.replace("-", "")
    return name.isupper() and letters.isalpha() and len(letters) <= 5


def _alias_acronym_ok(toks: Sequence[Token], i: int, context: bool) -> bool:
    """A ticket's acronym counts written in capitals, or anywhere in an election text."""
    return context or (toks[i].raw.isupper() and len(toks[i].raw) > 1)


def _acronym_ok(toks: Sequence[Token], i: int, acronym: str, context: bool) -> bool:
    """A party acronym counts right after "partai", or in capitals in an election text.

    "PAN" is also a frying pan and "PKB" a job-training centre, so capitals alone
    are not enough.
    """
    if i > 0 and toks[i - 1].text == "partai":
        return True
    raw = toks[i].raw
    return context and (raw == acronym or (raw.isupper() and len(raw) > 1))



def _sides(compiled: Sequence[_Compiled], targets: Sequence[str]) -> dict[str, frozenset[str]]:
    """For each found target, the targets read on its side (itself and its allies)."""
    out: dict[str, frozenset[str]] = {}
    for t in targets:
        side = {t}
        for c in compiled:
            side |= c.allies.get(t, frozenset())
        out[t] = frozenset(side)
    return out


def _render(n: Normalised, masks: dict[int, Mask], side: frozenset[str] | None = None) -> str:
    """The normalised text with masked tokens replaced, runs of one placeholder merged.

    With ``side``, targets outside it read ``[LAWAN]``.
    """
    def word_at(i: int) -> str | None:
        mask = masks.get(i)
        if mask is None:
            return None
        return mask[0] if side is None or mask[1] in side else LAWAN

    out: list[str] = []
    for i, t in enumerate(n.tokens):
        word = word_at(i)
        if word is None:
            # "Anies-Sandi", "Ahok & Djarot": one ticket, read as one placeholder
            if not (t.text in _JOINERS and out and out[-1] == word_at(i + 1)):
                out.append(t.text)
        elif not (out and out[-1] == word):
            out.append(word)
    return " ".join(out)


_JOINERS = frozenset({"-", "–", "&", "/", "+"})


def _join(kind: str, parts: Sequence[Normalised], masks: Sequence[dict[int, Mask]],
          side: frozenset[str] | None) -> str:
    """The model text of an item: own words, then ``[SUBJEK]`` and the engaged post."""
    rendered = [_render(n, m, side) for n, m in zip(parts, masks, strict=True)]
    if kind in ("reply", "quote") and len(rendered) > 1:
        return f"{rendered[0]} {SUBJEK} {rendered[1]}".strip()
    return rendered[0].strip() if rendered else ""


def model_text(text: str | None, subject_text: str | None = None, kind: str = "post") -> str:
    """The text the stance model sees for an item with no registry (no masking).

    Replies and quotes: own words, then ``[SUBJEK]``, then the engaged post;
    likes and reposts: the engaged post only.
    """
    own = normalise(text).text
    sub = normalise(subject_text).text
    if kind in ("reply", "quote"):
        return f"{own} {SUBJEK} {sub}".strip() if sub else own
    if kind in ("like", "repost"):
        return sub or own
    return own
