"""The shipped region table: every province, regency and city, with codes and time zones."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from monitor.inputs import read_regions
from monitor.localtime import province_zone
from monitor.testing import invoke

REPO = Path(__file__).resolve().parents[2]
REGIONS = REPO / "config" / "regions.csv"
WITA = {"Bali", "Nusa Tenggara Barat", "Nusa Tenggara Timur", "Kalimantan Selatan",
        "Kalimantan Timur", "Kalimantan Utara", "Sulawesi Utara", "Sulawesi Tengah",
        "Sulawesi Selatan", "Sulawesi Tenggara", "Sulawesi Barat", "Gorontalo"}
WIT = {"Maluku", "Maluku Utara", "Papua", "Papua Barat", "Papua Selatan", "Papua Tengah",
       "Papua Pegunungan", "Papua Barat Daya"}


def test_every_province_regency_and_city_with_its_zone() -> None:
    regions = read_regions(REGIONS)
    levels = Counter(r.level for r in regions.values())
    assert levels["province"] == 38
    assert levels["regency"] + levels["city"] == 514
    provinces = {r.code: r for r in regions.values() if r.level == "province"}
    for r in regions.values():
        assert r.province in provinces
        assert r.timezone == provinces[r.province].timezone  # a zone per province
        assert len(r.code) == (2 if r.level == "province" else 4) and r.code.startswith(r.province)
    zones = {p.name: p.timezone for p in provinces.values()}
    assert {n for n, z in zones.items() if z == "WITA"} == WITA
    assert {n for n, z in zones.items() if z == "WIT"} == WIT
    assert regions["7371"].name == "Kota Makassar" and regions["7371"].timezone == "WITA"
    assert regions["9171"].name == "Kota Jayapura" and regions["9171"].timezone == "WIT"
    assert regions["3204"].name == "Kabupaten Bandung" and regions["3204"].timezone == "WIB"


def test_source_and_licence_recorded() -> None:
    note = (REPO / "config" / "regions-source" / "README.md").read_text(encoding="utf-8")
    assert "idn-area-data" in note and "ODbL" in note
    assert "Open Database License" in (REPO / "config" / "regions-source" / "LICENSE-ODbL.md"
                                       ).read_text(encoding="utf-8")


def test_table_without_zone_column_takes_the_province_zone(tmp_path: Path) -> None:
    old = tmp_path / "regions.csv"
    old.write_text("code,name,level,province\n73,Sulawesi Selatan,province,73\n"
                   "7371,Kota Makassar,city,73\n32,Jawa Barat,province,32\n", encoding="utf-8")
    regions = read_regions(old)
    assert regions["7371"].timezone == "WITA" and regions["32"].timezone == "WIB"
    assert province_zone("94") == "WIT"


def test_bad_zone_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "regions.csv"
    with REGIONS.open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    rows[1][4] = "CET"
    bad.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    done = invoke(["--config", str(_settings(tmp_path, bad)), "check"])
    assert done.exit_code == 2 and "timezone must be WIB, WITA or WIT" in done.stdout


def _settings(tmp_path: Path, regions: Path) -> Path:
    import shutil

    from monitor.testing import write_settings

    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    shutil.copy(regions, config / "regions.csv")
    return write_settings(config, extra={"classifier": {"model": "matcher"}})


def test_registry_check_catches_a_region_that_does_not_exist(config_dir: Path,
                                                            settings_path: Path) -> None:
    reg = config_dir / "registries" / "pilbup-bandung-2024.toml"
    reg.write_text(reg.read_text(encoding="utf-8").replace('region = "3204"', 'region = "3299"'),
                   encoding="utf-8")
    done = invoke(["--config", str(settings_path), "registry", "check"])
    assert done.exit_code == 2
    assert "unknown region code '3299'" in done.stderr


def test_sample_roster_and_registries_load_against_the_full_table(settings_path: Path) -> None:
    done = invoke(["--config", str(settings_path), "registry", "check"])
    assert done.exit_code == 0, done.stderr
    assert "552 regions" in done.stdout
