"""False friends from sport and rankings: a place in a table is not a ballot number."""

from __future__ import annotations

import pytest

from classifiers.matcher import RegistryMatcher
from classifiers.testing import jabar_registry, make_item


@pytest.mark.parametrize("text", [
    "Persib menang 2-1!! Naik ke nomor 2 klasemen sementara, Maung Bandung juara!",
    "Timnas menang lagi, sekarang peringkat 3 di grup",
    "Alhamdulillah anak saya menang lomba, posisi 2 se-kecamatan",
])
def test_rankings_are_not_ballot_numbers(text: str) -> None:
    result = RegistryMatcher().match(make_item(text), [jabar_registry()])
    assert not [e for e in result.evidence if e.rule == "ballot_number"]


def test_a_campaign_number_with_a_win_word_is_still_found() -> None:
    result = RegistryMatcher().match(make_item("Nomor 2 menang telak, ayo kawal!"), [jabar_registry()])
    assert [e.rule for e in result.evidence] == ["ballot_number"]
