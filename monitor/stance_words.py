"""Per-target stances in words: "mendukung A – B, menyerang Partai C" / "supports ..., attacks ...".

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
    },
    "en": {
        "stance_words.support": "supports {names}", "stance_words.oppose": "attacks {names}",
        "stance_words.neutral": "neutral toward {names}",
        "stance_words.unrelated": "unrelated to {names}",
        "stance_words.and": "and", "stance_words.none": "-",
        "stance_words.high": "high confidence", "stance_words.review": "review only",
        "stance_words.label": "Stance per target",
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
