"""Times shown to people are in the ASN's local zone (or the office's), with the zone named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from monitor.localtime import show
from monitor.testing import invoke, write_settings

# asn-004's flag at 2024-10-27T15:18:36Z is 22:18 WIB on the 27th but 00:18 WIT on the 28th.
LATE = "2024-10-27T15:18:36"


def _jayapura(config_dir: Path, office: str | None = None) -> Path:
    """The sample collected, then asn-004 moved to Jayapura (WIT) by a roster import."""
    review = {"office_zone": office} if office else {}
    path = write_settings(config_dir, extra={"classifier": {"model": "matcher"},
                                             "digest": {"enabled": False}, "review": review})
    assert invoke(["--config", str(path), "run", "--once"]).exit_code == 0
    moved = config_dir / "moved.csv"
    moved.write_text((config_dir / "roster.csv").read_text(encoding="utf-8").replace(
        "Dinas Perhubungan Kota Bandung,3273", "Dinas Perhubungan Kota Jayapura,9171"), encoding="utf-8")
    assert invoke(["--config", str(path), "accounts", "import", str(moved)]).exit_code == 0
    return path


def _cli(path: Path, *args: str) -> Any:
    return invoke(["--config", str(path), *args])


def _late_flag(path: Path) -> int:
    rows = _cli(path, "review", "queue", "--no-groups", "--json").json()["flags"]
    (flag,) = [r for r in rows if r["created_at"].startswith(LATE)]
    assert flag["region"] == "9171"
    return int(flag["flag_id"])


def test_queue_card_and_since_in_the_asns_zone(config_dir: Path) -> None:
    path = _jayapura(config_dir)
    flag = _late_flag(path)
    since = _cli(path, "review", "queue", "--no-groups", "--json", "--since", "2024-10-28",
                 "--region", "9171").json()["flags"]
    assert [r["flag_id"] for r in since] == [flag]  # the 28th in Jayapura
    until = _cli(path, "review", "queue", "--no-groups", "--json", "--until", "2024-10-27",
                 "--region", "9171").json()["flags"]
    assert flag not in [r["flag_id"] for r in until]
    table = _cli(path, "review", "queue", "--no-groups", "--region", "9171").stdout
    assert "2024-10-28 WIT" in table
    # The card is evidence: it shows the act in the zone of the region the ASN had when flagged.
    card = _cli(path, "review", "show", str(flag)).stdout
    assert "2024-10-27 22:18:36 WIB" in card and "2024-10-27 15:18:36 UTC" in card


def test_card_of_an_asn_in_jayapura_says_wit(config_dir: Path) -> None:
    from monitor.evidence.card import card_html
    from monitor.settings import load
    from storage.evidence import flag_detail
    from storage.store import Store

    path = _jayapura(config_dir)
    flag = _late_flag(path)
    settings = load(path)
    detail = flag_detail(Store(settings.db_path).db, flag)
    detail.account["region"] = "9171"
    html = card_html(detail, settings.evidence_dir)
    assert "2024-10-28 00:18:36 WIT" in html and "WIB" not in html


def test_office_zone_overrides(config_dir: Path) -> None:
    path = _jayapura(config_dir, office="WIB")
    flag = _late_flag(path)
    since = _cli(path, "review", "queue", "--no-groups", "--json", "--since", "2024-10-28",
                 "--region", "9171").json()["flags"]
    assert flag not in [r["flag_id"] for r in since]  # still the 27th in Jakarta
    assert "2024-10-27 WIB" in _cli(path, "review", "queue", "--no-groups", "--region", "9171").stdout
    status = _cli(path, "status").stdout
    assert " WIB" in status and "UTC" not in status.replace("+00:00", "")


def test_show_names_the_zone() -> None:
    assert show("2024-10-27T15:18:36+00:00", "WITA") == "2024-10-27 23:18 WITA"
    assert show(None, "WIB") == "-"
