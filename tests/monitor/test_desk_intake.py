"""The desk's "Laporan baru" form over HTTP and in real headless Chromium (one desk server per module)."""

from __future__ import annotations

import io
import json
import re
import shutil
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest
from PIL import Image, ImageDraw, ImageFont

from monitor.desk import browser
from monitor.settings import Settings, load
from monitor.testing.desk import PASSWORD, csrf_of, login, seed, serve

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs Debian tesseract-ocr")
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LIMIT = 1_000_000  # [intake] upload_max_bytes in this module


def campaign_png(lines: list[str]) -> bytes:
    """A screenshot-like PNG of an Indonesian campaign post, drawn here."""
    img = Image.new("RGB", (1080, 120 + 110 * len(lines)), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 40)
    for n, line in enumerate(lines):
        draw.text((30, 40 + 110 * n), line, fill="black", font=font)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("desk-intake")
    settings_path = seed(root, extra={"review": {"chromium": ""}, "intake": {"upload_max_bytes": LIMIT}},
                         hostile=False)
    with serve(settings_path) as base:
        yield {"base": base, "settings": load(settings_path), "root": root}


def _sql(settings: Settings, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(settings.db_path)) as con:
        return con.execute(sql, params).fetchall()


def _flag_id(location: str) -> int:
    found = re.fullmatch(r"/flag/(\d+)", location)
    assert found, f"redirected to {location!r}, not a flag page"
    return int(found.group(1))


def test_uploaded_screenshot_becomes_a_reported_flag_in_the_queue(desk: dict[str, Any]) -> None:
    client = login(desk["base"], "ana")
    queue = client.get("/")
    assert 'href="/laporan/baru"' in queue.text and "Laporan baru" in queue.text
    form = client.get("/laporan/baru")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    assert "Rina Marlina" in form.text and "Budi Santoso" not in form.text  # only ana's regency
    shot = campaign_png(["Ayo coblos Cecep-Nia nomor 1", "untuk Bupati Bandung! #BandungCenia"])
    resp = client.post("/laporan/baru", data={
        "csrf": csrf_of(form.text), "account_id": "asn-001", "reporter_name": "Siti Warga",
        "reporter_contact": "0812-0000-1111", "channel": "public", "platform": "whatsapp",
        "note": "Dikirim di grup WA wali murid"}, files={"files": ("grup-wa.png", shot, "image/png")})
    assert resp.status_code == 303, resp.text[-2000:]
    flag_id = _flag_id(resp.headers["location"])
    page = client.get(f"/flag/{flag_id}")
    assert page.status_code == 200 and "Laporan #" in page.text and f"temuan #{flag_id}" in page.text
    assert f'href="/flag/{flag_id}"' in client.get("/").text, "the reported flag waits in the queue"
    assert "Laporan (bukan hasil pemantauan otomatis)" in client.get(f"/flag/{flag_id}/card").text
    s = desk["settings"]
    (origin,), = _sql(s, "SELECT origin FROM flag_origin WHERE flag_id = ?", [flag_id])
    assert origin == "report"
    (detail, channel, anonymous), = _sql(s, "SELECT detail, channel, anonymous FROM reports "
                                            "WHERE flag_id = ?", [flag_id])
    assert json.loads(detail)["entered_by"] == {"user": "ana", "role": "reviewer", "via": "desk"}
    assert channel == "public" and anonymous is False
    (text, score), = _sql(s, "SELECT i.text, f.score FROM flags f JOIN items i USING (item_key) "
                             "WHERE f.flag_id = ?", [flag_id])
    assert "Cecep" in text and score >= 0.5, (text, score)
    kept = _sql(s, "SELECT sha256 FROM evidence_files WHERE flag_id = ? AND role = 'upload'", [flag_id])
    import hashlib

    assert [r[0] for r in kept] == [hashlib.sha256(shot).hexdigest()]


def test_form_without_csrf_token_is_refused(desk: dict[str, Any]) -> None:
    client = login(desk["base"], "ana")
    before = _sql(desk["settings"], "SELECT count(*) FROM reports", [])[0][0]
    resp = client.post("/laporan/baru", data={"account_id": "asn-001", "note": "tanpa token"},
                       files={"files": ("x.png", campaign_png(["tanpa token"]), "image/png")})
    assert resp.status_code == 403 and "Formulir kedaluwarsa" in resp.text
    assert _sql(desk["settings"], "SELECT count(*) FROM reports", [])[0][0] == before
    english = client.get("/lang/en?next=/laporan/baru", follow_redirects=True)
    assert english.url.path == "/laporan/baru"
    assert "New report" in english.text and "Send report" in english.text


def test_auditor_gets_403(desk: dict[str, Any]) -> None:
    client = login(desk["base"], "audit")
    assert client.get("/laporan/baru").status_code == 403
    assert 'href="/laporan/baru"' not in client.get("/").text
    token = csrf_of(client.get("/").text)
    resp = client.post("/laporan/baru", data={"csrf": token, "account_id": "asn-001",
                                              "url": "https://example.org/p/1"})
    assert resp.status_code == 403 and "Akses ditolak" in resp.text


def test_private_address_and_bad_input_are_refused_in_indonesian(desk: dict[str, Any]) -> None:
    client = login(desk["base"], "ana")
    before = _sql(desk["settings"], "SELECT count(*) FROM reports", [])[0][0]
    form = client.get("/laporan/baru")
    resp = client.post("/laporan/baru", data={
        "csrf": csrf_of(form.text), "account_id": "asn-001", "anonymous": "1",
        "url": "http://10.20.30.40/admin/post/77", "note": "tautan ke jaringan dalam"})
    assert resp.status_code == 400
    assert "Laporan tidak disimpan." in resp.text and "jaringan privat atau lokal" in resp.text
    assert "Traceback" not in resp.text and 'value="http://10.20.30.40/admin/post/77"' in resp.text
    assert _sql(desk["settings"], "SELECT count(*) FROM reports", [])[0][0] == before
    empty = client.post("/laporan/baru", data={"csrf": csrf_of(form.text), "account_id": "asn-001"})
    assert empty.status_code == 400 and "memerlukan tautan atau minimal satu berkas" in empty.text
    big = b"\x89PNG\r\n\x1a\n" + bytes(LIMIT)  # one byte past the bound
    too_big = client.post("/laporan/baru", data={"csrf": csrf_of(form.text), "account_id": "asn-001"},
                          files={"files": ("besar.png", big, "image/png")})
    assert too_big.status_code == 400 and "Berkas terlalu besar" in too_big.text and "1 MB" in too_big.text
    assert _sql(desk["settings"], "SELECT count(*) FROM reports", [])[0][0] == before


@pytest.mark.slow
@pytest.mark.skipif(not browser.available(), reason="chromium, chromium-driver or selenium missing")
def test_browser_enters_a_report_with_a_file_and_lands_on_the_flag(desk: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    shot = desk["root"] / "tangkapan-layar.png"
    shot.write_bytes(campaign_png(["Ayo coblos Cecep-Nia nomor 1", "#BandungCenia menang!"]))
    with browser.browser() as driver:
        browser.sign_in(driver, desk["base"], "ana", PASSWORD)
        browser.click_and_wait(driver, driver.find_element(By.ID, "new-report"))
        assert driver.find_element(By.TAG_NAME, "h1").text == "Laporan baru"
        driver.find_element(By.ID, "r-new-name").send_keys("Dedi Mulyadi Saputra")
        driver.find_element(By.ID, "r-new-nip").send_keys("198801012015031002")
        driver.find_element(By.ID, "r-new-agency").send_keys("Kecamatan Soreang")
        driver.find_element(By.ID, "r-anonymous").click()
        driver.find_element(By.ID, "r-note").send_keys("Status WhatsApp camat, dikirim warga")
        driver.find_element(By.ID, "r-files").send_keys(str(shot))
        browser.click_and_wait(driver, driver.find_element(By.ID, "r-submit"), timeout=60)
        flag_id = _flag_id(re.sub(r"^https?://[^/]+", "", driver.current_url))
        assert "Laporan #" in driver.find_element(By.ID, "flash").text
    (name, region, anonymous), = _sql(desk["settings"], "SELECT a.name, a.region, r.anonymous FROM reports r "
                                      "JOIN accounts a USING (account_id) WHERE r.flag_id = ?", [flag_id])
    assert (name, region, anonymous) == ("Dedi Mulyadi Saputra", "3204", True)
