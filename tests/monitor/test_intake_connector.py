"""A reported Mastodon URL is fetched through the Mastodon connector (a fake instance on 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path

from crash_checks import rows

from monitor.testing import invoke, write_settings
from sources.testing import FakeMastodon


def test_a_reported_mastodon_post_is_read_through_its_connector(config_dir: Path) -> None:
    with FakeMastodon(domain="kabar.example") as fake:
        rina = fake.account("rina")  # asn-001 on the roster: rina@kabar.example
        fake.status(rina, "<p>Selamat pagi rekan guru</p>")
        sid = fake.status(rina, "<p>Ayo dukung Cecep Hidayat dan Nia Kurniasih, paslon nomor 01! "
                                "#BandungCenia</p>")
        settings = write_settings(config_dir, sources={"masto": {
            "type": "mastodon", "base_url": fake.url, "domain": "kabar.example", "timeout": 2.0}})
        url = f"https://kabar.example/@rina/{sid}"
        got = invoke(["--config", str(settings), "intake", "--account", "asn-001", "--url", url, "--json"])
        assert got.exit_code == 0, got.stderr
        again = invoke(["--config", str(settings), "intake", "--account", "asn-001", "--url", url,
                        "--anonymous", "--json"])
        assert again.exit_code == 0, again.stderr
    out = got.json()
    assert out["platform"] == "mastodon" and out["archive"] is None  # no browser: the API's own bytes
    assert out["item_key"] == f"mastodon:{sid}" and again.json()["flag_id"] == out["flag_id"]
    db = settings.parent.parent / "data" / "test.duckdb"
    source, connector = rows(db, "SELECT i.source, r.connector FROM items i JOIN raw_items r "
                                 "ON r.sha256 = i.raw_sha256 WHERE i.item_key = ?", [out["item_key"]])[0]
    assert source == "masto" and connector.startswith("mastodon")
    assert rows(db, "SELECT count(*) FROM items WHERE account_id = 'asn-001'") == [(2,)]  # its page, whole
    assert rows(db, "SELECT origin FROM flag_origin WHERE flag_id = ?", [out["flag_id"]]) == [("report",)]
    assert rows(db, "SELECT count(*) FROM reports WHERE flag_id = ?", [out["flag_id"]]) == [(2,)]
    assert rows(db, "SELECT count(*) FROM source_cursors WHERE source = 'masto'")[0][0] >= 1
    assert invoke(["--config", str(settings), "verify"]).exit_code == 0
