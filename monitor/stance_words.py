"""Per-target stances in words: "mendukung A – B, menyerang Partai C" / "supports ..., attacks ...".

Also the act itself in words ("menyukai unggahan yang mendukung kandidat"), which the desk,
the terminal session and the escalation letter share.

Cards, ``review show`` and the digest use this so that a reviewer reads each
target's own stance with the candidates' and parties' names, not their ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from monitor import i18n
from monitor.i18n import t

# Partisan stances first: they are what a reviewer acts on.
ORDER = ("support", "oppose", "neutral", "unrelated")

i18n.register({
    "id": {
        "stance_words.support": "mendukung {names}", "stance_words.oppose": "menyerang {names}",
        "stance_words.neutral": "netral terhadap {names}",
        "stance_words.unrelated": "tidak terkait dengan {names}",
        "stance_words.and": "dan", "stance_words.none": "-",
        "stance_words.high": "keyakinan tinggi", "stance_words.review": "perlu ditinjau",
        "stance_words.label": "Sikap per sasaran",
        "act.post": "membuat unggahan", "act.reply": "membalas unggahan",
        "act.quote": "mengutip unggahan", "act.repost": "membagikan ulang unggahan",
        "act.like": "menyukai unggahan",
        "act.about.support": "yang mendukung", "act.about.oppose": "yang menyerang",
        "act.target.candidate": "kandidat", "act.target.party": "partai",
        "act.target.none": "peserta pemilihan",
    },
    "en": {
        "stance_words.support": "supports {names}", "stance_words.oppose": "attacks {names}",
        "stance_words.neutral": "neutral toward {names}",
        "stance_words.unrelated": "unrelated to {names}",
        "stance_words.and": "and", "stance_words.none": "-",
        "stance_words.high": "high confidence", "stance_words.review": "review only",
        "stance_words.label": "Stance per target",
        "act.post": "posted", "act.reply": "replied to a post", "act.quote": "quoted a post",
        "act.repost": "reposted a post", "act.like": "liked a post",
        "act.about.support": "supporting", "act.about.oppose": "attacking",
        "act.target.candidate": "a candidate", "act.target.party": "a party",
        "act.target.none": "an election contestant",
    },
})


def _join(names: Sequence[str], lang: str) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + f" {t('stance_words.and', lang)} {names[-1]}"


def describe(target_stances: Sequence[Mapping[str, Any]], names: Mapping[str, str],
             lang: str = i18n.DEFAULT) -> str:
    """Each target's stance in words, grouped by stance, targets named from ``names``."""
    groups: dict[str, list[str]] = {}
    for entry in target_stances:
        target = str(entry["target"])
        groups.setdefault(str(entry["stance"]), []).append(names.get(target, target))
    parts = [t(f"stance_words.{stance}", lang, names=_join(groups[stance], lang))
             for stance in ORDER if stance in groups]
    return ", ".join(parts) or t("stance_words.none", lang)


def confidence(high: bool, lang: str = i18n.DEFAULT) -> str:
    """"keyakinan tinggi" / "perlu ditinjau" (high confidence or review-only)."""
    return t("stance_words.high" if high else "stance_words.review", lang)


def act_words(kind: str, stance: str, target_kinds: set[str], lang: str = i18n.DEFAULT) -> str:
    """The act in words, e.g. "menyukai unggahan yang mendukung kandidat"."""
    verb = t(f"act.{kind}", lang) if f"act.{kind}" in _known_acts() else kind
    if stance not in ("support", "oppose"):
        return verb
    whom = ("candidate" if "candidate" in target_kinds else
            "party" if "party" in target_kinds else "none")
    return f"{verb} {t(f'act.about.{stance}', lang)} {t(f'act.target.{whom}', lang)}"


def _known_acts() -> set[str]:
    return {f"act.{k}" for k in ("post", "reply", "quote", "repost", "like")}


def target_label(label: str) -> str:
    """``"candidate:Name"`` -> ``"Name"``."""
    return label.split(":", 1)[1] if ":" in label else label
