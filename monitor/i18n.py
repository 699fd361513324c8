"""Messages for documents Bawaslu staff read, in Indonesian (default) and English.

Each feature registers its own catalogue with ``register``; ``t`` looks a key
up in the requested language and falls back to Indonesian, never to the key
silently: a missing key is a bug, so it raises ``KeyError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Language = Literal["id", "en"]
LANGUAGES: tuple[Language, ...] = ("id", "en")
DEFAULT: Language = "id"

_CATALOGUE: dict[str, dict[str, str]] = {"id": {}, "en": {}}


def register(messages: Mapping[str, Mapping[str, str]]) -> None:
    """Add ``{"id": {key: text}, "en": {key: text}}``; every key needs an Indonesian text."""
    for key in messages.get("en", {}):
        if key not in messages.get("id", {}) and key not in _CATALOGUE["id"]:
            raise ValueError(f"message {key!r} has English but no Indonesian text")
    for lang in LANGUAGES:
        _CATALOGUE[lang].update(messages.get(lang, {}))


def t(key: str, lang: str = DEFAULT, **values: object) -> str:
    """The message ``key`` in ``lang`` (Indonesian when missing there), formatted with ``values``."""
    table = _CATALOGUE.get(lang, _CATALOGUE[DEFAULT])
    text = table.get(key) or _CATALOGUE[DEFAULT][key]
    return text.format(**values) if values else text


# The SKB 2022 categories and stances, shared by cards, summaries and the digest.
register({
    "id": {
        "category.posting": "membuat unggahan", "category.commenting": "mengomentari",
        "category.sharing": "membagikan", "category.liking": "menyukai",
        "category.following": "mengikuti akun kampanye",
        "stance.support": "mendukung", "stance.oppose": "menyerang",
        "stance.neutral": "netral", "stance.unrelated": "tidak terkait",
    },
    "en": {
        "category.posting": "posting", "category.commenting": "commenting",
        "category.sharing": "sharing", "category.liking": "liking",
        "category.following": "following a campaign account",
        "stance.support": "support", "stance.oppose": "attack",
        "stance.neutral": "neutral", "stance.unrelated": "unrelated",
    },
})
