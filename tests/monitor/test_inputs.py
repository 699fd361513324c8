"""Roster, region table and registries: parsed, validated, applied by region."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.inputs import (
    RegionRegistryView,
    applies,
    read_regions,
    read_registries,
    read_registry,
    read_roster,
)
from monitor.model import Item

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_sample_config_is_valid() -> None:
    regions = read_regions(CONFIG / "regions.csv")
    roster = read_roster(CONFIG / "roster.csv", regions)
    registries = read_registries(["registries/*.toml"], CONFIG, regions)
    assert {r.election.id for r in registries} == {"pilgub-jabar-2024", "pilbup-bandung-2024"}
    assert len(roster) >= 8
    assert all(len(a.nip) == 18 for a in roster)
    jabar = next(r for r in registries if r.election.level == "province")
    assert jabar.candidates[0].hashtags and jabar.candidates[0].accounts


def test_province_election_covers_its_regencies_but_not_other_provinces() -> None:
    regions = read_regions(CONFIG / "regions.csv")
    jabar = read_registry(CONFIG / "registries/pilgub-jabar-2024.toml", regions).election
    bandung = read_registry(CONFIG / "registries/pilbup-bandung-2024.toml", regions).election
    assert applies(jabar, "3204", regions)          # Kabupaten Bandung lies in Jawa Barat
    assert applies(jabar, "32", regions)
    assert not applies(jabar, "3374", regions)      # Kota Semarang is in Jawa Tengah
    assert applies(bandung, "3204", regions)
    assert not applies(bandung, "3273", regions)    # Kota Bandung is not Kabupaten Bandung


def test_region_view_uses_stable_id_then_handle() -> None:
    regions = read_regions(CONFIG / "regions.csv")
    registries = tuple(read_registries(["registries/*.toml"], CONFIG, regions))
    view = RegionRegistryView(registries, regions, {("bluesky", "did:plc:abc"): "3204",
                                                    ("x", "someone"): "3374"})
    when = datetime(2024, 10, 1, tzinfo=UTC)
    by_id = Item("bluesky", "1", "post", "renamed.bsky.social", when, "hi", actor_id="did:plc:abc")
    assert {r.election.id for r in view.for_item(by_id)} == {"pilgub-jabar-2024", "pilbup-bandung-2024"}
    assert view.for_item(Item("x", "2", "post", "@Someone", when, "hi")) == []
    assert view.for_item(Item("x", "3", "post", "stranger", when, "hi")) == ()


def _roster(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text("account_id,name,nip,agency,region,platform,handle\n" + body)
    return path


@pytest.mark.parametrize(
    ("row", "what"),
    [
        ("a1,Ani,12345,Dinas,3204,bluesky,ani.bsky.social", "nip must be 18 digits"),
        ("a1,Ani,198604152010012017,Dinas,9999,bluesky,ani.bsky.social", "unknown region code"),
        ("a1,Ani,198604152010012017,Dinas,3204,friendster,ani", "platform must be one of"),
        ("a1,Ani,198604152010012017,,3204,x,ani", "agency is empty"),
        ("a1;rm -rf,Ani,198604152010012017,Dinas,3204,x,ani", "unsafe characters"),
        ("a1,Ani,198604152010012017,Dinas,3204,x", "expected 7 columns"),
    ],
)
def test_bad_roster_rows_name_file_and_line(tmp_path: Path, row: str, what: str) -> None:
    regions = read_regions(CONFIG / "regions.csv")
    path = _roster(tmp_path, "a0,Budi,198604152010012018,Dinas,3204,x,budi\n" + row + "\n")
    with pytest.raises(ConfigError) as info:
        read_roster(path, regions)
    assert str(info.value).startswith(f"{path}:3: ")
    assert what in str(info.value)


def test_roster_header_must_match(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("id,name\n1,x\n")
    with pytest.raises(ConfigError, match=r"r.csv:1: header must be account_id,name,nip"):
        read_roster(path, read_regions(CONFIG / "regions.csv"))


def test_duplicate_handle_is_refused(tmp_path: Path) -> None:
    path = _roster(tmp_path, "a0,Budi,198604152010012018,Dinas,3204,x,budi\n"
                             "a1,Ani,198604152010012017,Dinas,3204,x,@Budi\n")
    with pytest.raises(ConfigError, match="listed twice"):
        read_roster(path, read_regions(CONFIG / "regions.csv"))


@pytest.mark.parametrize(
    ("edit", "where", "what"),
    [
        (('level = "province"', 'level = "galaxy"'), "election.level", "must be one of"),
        (('region = "32"', 'region = "3204"'), "election.region", "is a regency, not a province"),
        (("campaign_end = 2024-11-23", "campaign_end = 2024-12-23"), "election",
         "campaign_start <= campaign_end <= voting_day"),
        (('id = "jabar-1"', 'id = "jabar-1; DROP TABLE flags"'), "candidates[0].id", "unsafe"),
        (("ballot_number = 1\npeople", 'ballot_number = "one"\npeople'),
         "candidates[0].ballot_number", "must be int"),
        (('parties = ["pkb", "ppp"]', 'parties = ["pkb", "nope"]'), "candidates[0].parties",
         "unknown party id 'nope'"),
    ],
)
def test_bad_registry_names_file_key_and_problem(tmp_path: Path, edit: tuple[str, str],
                                                 where: str, what: str) -> None:
    text = (CONFIG / "registries/pilgub-jabar-2024.toml").read_text()
    assert edit[0] in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(ConfigError) as info:
        read_registry(path, read_regions(CONFIG / "regions.csv"))
    assert str(path) in str(info.value)
    assert where in str(info.value)
    assert what in str(info.value)
