"""``asn-monitor intake`` end to end: archive, classify, chain, card, escalation, audit, tampering."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from crash_checks import rows
from intake_site import png, site

from monitor.intake.archive import loopback_for_tests
from monitor.testing import CliResult

pytestmark = pytest.mark.skipif(shutil.which("chromium") is None or shutil.which("tesseract") is None,
                                reason="needs Debian chromium and tesseract-ocr")
Cli = Callable[..., CliResult]


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with site() as url:
        yield url


def _intake(cli: Cli, *args: str) -> dict[str, Any]:
    result = cli("intake", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return result.json()  # type: ignore[no-any-return]


def _db(settings_path: Path) -> Path:
    return settings_path.parent.parent / "data" / "test.duckdb"


def test_url_report_is_archived_chained_carded_escalated_and_reported_twice(
        cli: Cli, settings_path: Path, base: str) -> None:
    with loopback_for_tests():
        first = _intake(cli, "--account", "asn-001", "--url", f"{base}/share/1", "--note",
                        "dibagikan di grup alumni", "--reporter-name", "Budi Pelapor",
                        "--reporter-contact", "0812-0000-1919")
        again = _intake(cli, "--account", "asn-001", "--url", f"{base}/share/1?utm_source=wa#top",
                        "--anonymous", "--channel", "internal")
    assert first["new_item"] and not again["new_item"]
    assert again["flag_id"] == first["flag_id"] and again["item_key"] == first["item_key"]
    assert first["archive"]["final_url"] == f"{base}/post/1" and first["archive"]["status"] == 200
    assert first["classification"]["flagged"] and "bdg-1" in first["classification"]["targets"]
    roles = {f["role"]: f for f in first["files"]}
    assert {"archive_png", "archive_mhtml"} <= set(roles)
    db, flag = _db(settings_path), first["flag_id"]
    assert rows(db, "SELECT count(*) FROM items WHERE item_key = ?", [first["item_key"]]) == [(1,)]
    assert rows(db, "SELECT channel, anonymous FROM reports WHERE flag_id = ? ORDER BY report_id",
                [flag]) == [("public", False), ("internal", True)]
    assert rows(db, "SELECT name, contact FROM reporters") == [("Budi Pelapor", "0812-0000-1919")]
    assert rows(db, "SELECT origin FROM flag_origin WHERE flag_id = ?", [flag]) == [("report",)]
    verify = cli("verify", "--json")
    assert verify.exit_code == 0 and verify.json()["files_checked"] >= 2

    card = cli("evidence", "render", str(flag), "--no-png", "--json")
    assert card.exit_code == 0, card.stderr
    html = (settings_path.parent.parent / "data/evidence" / card.json()[0]["html"]).read_text()
    assert f"{base}/post/1" in html and first["archive"]["snapshot_sha256"] in html
    assert html.count("data:image/png;base64,") >= 1 and "Budi" not in html and "0812" not in html

    assert cli("review", "confirm", str(flag), "--reviewer", "ana").exit_code == 0
    esc = cli("review", "escalate", str(flag), "--reviewer", "ana", "--json")
    assert esc.exit_code == 0, esc.stderr
    folder = Path(esc.json()["package"]["folder"])
    kept = {p.name for p in (folder / "archive").iterdir()}
    assert kept == {Path(roles["archive_png"]["path"]).name, Path(roles["archive_mhtml"]["path"]).name}
    reports = json.loads((folder / "reports.json").read_text())
    assert len(reports) == 2 and "Budi" not in (folder / "reports.json").read_text()
    letter = (folder / "ringkasan.md").read_text()
    assert first["archive"]["snapshot_sha256"] in letter and "2 laporan" in letter and "Budi" not in letter

    by_source = dict(rows(db, "SELECT source, sum(reports) FROM audit_reports_by_source GROUP BY source"))
    assert by_source["public"] == 1 and by_source["internal"] == 1
    assert rows(db, "SELECT platform, reports, items FROM audit_reports_by_platform") == [("web", 2, 1)]
    turnaround = rows(db, "SELECT count(hours_to_decision) FROM audit_report_turnaround")
    assert turnaround == [(2,)]
    refused = cli("sql", "SELECT name FROM reporters")
    assert refused.exit_code == 2 and "personal data" in refused.stderr

    snapshot = settings_path.parent.parent / "data/evidence" / roles["archive_mhtml"]["path"]
    snapshot.write_bytes(snapshot.read_bytes().replace(b"Cecep", b"Cecap"))
    broken = cli("verify")
    assert broken.exit_code == 6 and f"{roles['archive_mhtml']['path']} does not match" in broken.stderr


def test_report_on_someone_not_on_the_roster_with_uploads(cli: Cli, settings_path: Path,
                                                         tmp_path: Path) -> None:
    shot = tmp_path / "tiktok.png"
    shot.write_bytes(png("Dukung paslon 02 Iwan Setiawan", (640, 160)))
    pdf = tmp_path / "kronologi.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% laporan\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")
    out = _intake(cli, "--name", "Dedi Kurnia", "--nip", "198001012005011002", "--agency",
                  "Dinas Perhubungan Kabupaten Bandung", "--region", "3204", "--file", str(shot),
                  "--file", str(pdf), "--platform", "tiktok")
    assert out["account_id"].startswith("lapor-") and out["platform"] == "tiktok"
    db = _db(settings_path)
    assert rows(db, "SELECT name, nip FROM accounts WHERE account_id = ?", [out["account_id"]]) == [
        ("Dedi Kurnia", "198001012005011002")]
    handles = rows(db, "SELECT count(*) FROM account_handles WHERE account_id = ?", [out["account_id"]])
    assert handles == [(0,)]
    assert rows(db, "SELECT count(*) FROM reporters") == [(0,)]  # anonymous: nothing kept
    assert {f["role"] for f in out["files"]} == {"upload", "upload_display"}
    assert sum(f["role"] == "upload" for f in out["files"]) == 2
    assert cli("verify").exit_code == 0
    with duckdb.connect(str(db)) as con:  # someone edits the report row behind asn-monitor's back
        con.execute("UPDATE reports SET note = 'diubah' WHERE item_key = ?", [out["item_key"]])
    broken = cli("verify")
    assert broken.exit_code == 6 and "(report " in broken.stderr and "content changed" in broken.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--account", "asn-001"], "needs a URL or at least one uploaded file"),
    (["--account", "nobody", "--url", "https://example.org/x"], "not on the roster"),
    (["--name", "A", "--agency", "B", "--nip", "123", "--url", "https://example.org/x"], "18 digits"),
    (["--account", "asn-001", "--url", "ftp://example.org/x"], "only http(s) URLs"),
    (["--account", "asn-001", "--url", "http://127.0.0.1:9/x"], "loopback address"),
])
def test_bad_reports_are_refused_with_a_clear_error(cli: Cli, args: list[str], message: str) -> None:
    result = cli("intake", *args)
    assert result.exit_code in (2, 8) and message in result.stderr, result.stderr


def test_a_post_a_connector_collected_is_one_item_with_its_report(cli: Cli, settings_path: Path) -> None:
    assert cli("run", "--once").exit_code == 0
    db = _db(settings_path)
    items_before = rows(db, "SELECT count(*) FROM items")
    flag, key, url, account = rows(db, "SELECT f.flag_id, i.item_key, i.url, i.account_id FROM flags f "
                                       "JOIN items i USING (item_key) WHERE i.url LIKE 'https://bsky.app/%' "
                                       "ORDER BY f.flag_id LIMIT 1")[0]
    out = _intake(cli, "--account", account, "--url", f"{url}?utm_source=share")
    assert (out["flag_id"], out["item_key"], out["new_item"], out["archive"]) == (flag, key, False, None)
    assert rows(db, "SELECT origin FROM flag_origin WHERE flag_id = ?", [flag]) == [("collected",)]

    # A post the classifier let pass, shared as a mobile link: matched by its status id, no
    # archive (the host is not even reachable here), and the report raises the flag.
    key2, item_id2, account2 = rows(
        db, "SELECT item_key, item_id, account_id FROM items i WHERE platform = 'x' AND account_id "
            "IS NOT NULL AND NOT EXISTS (SELECT 1 FROM flags f WHERE f.item_key = i.item_key) "
            "ORDER BY item_key LIMIT 1")[0]
    out2 = _intake(cli, "--account", account2, "--url", f"https://mobile.x.com/someone/status/{item_id2}")
    assert out2["item_key"] == key2 and out2["new_item"] and out2["archive"] is None
    assert out2["classification"] is not None
    assert rows(db, "SELECT origin FROM flag_origin WHERE flag_id = ?", [out2["flag_id"]]) == [("report",)]
    assert rows(db, "SELECT count(*) FROM items") == items_before
    assert cli("verify").exit_code == 0
