"""The message catalogue: Indonesian by default, English on request, no silent gaps."""

from __future__ import annotations

import pytest

from monitor import i18n


def test_indonesian_is_the_default_and_english_is_available() -> None:
    assert i18n.t("category.liking") == "menyukai"
    assert i18n.t("category.liking", "en") == "liking"
    assert i18n.t("stance.oppose", "xx") == "menyerang"


def test_every_english_key_has_an_indonesian_text() -> None:
    with pytest.raises(ValueError, match="no Indonesian text"):
        i18n.register({"en": {"only.english.key": "x"}})
    with pytest.raises(KeyError):
        i18n.t("no.such.key")
