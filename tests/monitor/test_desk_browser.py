"""The desk in real headless Chromium (selenium): log in, filter, open, confirm, dismiss,
escalate under four-eyes with two users, download the letter and read it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from monitor.desk import browser
from monitor.settings import load
from monitor.testing.desk import PASSWORD, seed, serve

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not browser.available(),
                                 reason="chromium, chromium-driver or selenium missing (make system-deps)")]


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("desk-browser")
    settings_path = seed(root, extra={"review": {"chromium": "", "four_eyes": True}})
    with serve(settings_path) as base:
        yield {"base": base, "settings": load(settings_path), "root": root}


def _by() -> Any:
    from selenium.webdriver.common.by import By

    return By


def _rows(settings: Any, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(settings.db_path)) as con:
        return con.execute(sql, params).fetchall()


def test_reviewer_logs_in_filters_opens_confirms_and_dismisses(desk: dict[str, Any]) -> None:
    from selenium.webdriver.support.ui import Select

    by = _by()
    with browser.browser() as driver:
        browser.sign_in(driver, desk["base"], "ana", PASSWORD)
        assert driver.find_element(by.TAG_NAME, "h1").text == "Antrean"
        everything = len(driver.find_elements(by.CSS_SELECTOR, "tr.flag-row"))
        Select(driver.find_element(by.ID, "f-kind")).select_by_value("like")
        browser.click_and_wait(driver, driver.find_element(by.ID, "apply"))
        likes = driver.find_elements(by.CSS_SELECTOR, "tr.flag-row td.act")
        assert 0 < len(likes) < everything and all("menyukai unggahan" in td.text for td in likes)
        browser.click_and_wait(driver, driver.find_element(by.LINK_TEXT, "Hapus saringan"))
        driver.find_element(by.ID, "f-q").send_keys("Wawan")
        browser.click_and_wait(driver, driver.find_element(by.ID, "apply"))
        rows = driver.find_elements(by.CSS_SELECTOR, "tr.flag-row")
        assert rows and all("Wawan Kurniawan" in r.text for r in rows)
        first = rows[0].get_attribute("data-flag")
        browser.click_and_wait(driver, rows[0].find_element(by.CSS_SELECTOR, "a.open"))
        assert "Wawan Kurniawan" in driver.find_element(by.ID, "flag-title").text
        assert driver.find_element(by.ID, "explanation").text.startswith("Penjelasan")
        driver.find_element(by.ID, "confirm-note").send_keys("Ajakan memilih pasangan calon nomor 1")
        browser.click_and_wait(driver, driver.find_element(by.ID, "confirm"))
        assert "Keputusan tercatat" in driver.find_element(by.ID, "flash").text
        assert "Ajakan memilih pasangan calon nomor 1" in driver.find_element(by.ID, "history").text
        driver.get(f"{desk['base']}/")
        second = driver.find_elements(by.CSS_SELECTOR, "tr.flag-row")[0].get_attribute("data-flag")
        assert second != first
        driver.get(f"{desk['base']}/flag/{second}")
        Select(driver.find_element(by.ID, "dismiss-reason")).select_by_value("satire_or_news")
        browser.click_and_wait(driver, driver.find_element(by.ID, "dismiss"))
        assert "ditolak" in driver.find_element(by.ID, "flash").text
    decided = _rows(desk["settings"], "SELECT flag_id, decision, reason, reviewer, note FROM reviews "
                                      "WHERE flag_id IN (?, ?) ORDER BY review_id", [int(first), int(second)])
    assert decided == [(int(first), "confirmed", None, "ana", "Ajakan memilih pasangan calon nomor 1"),
                       (int(second), "dismissed", "satire_or_news", "ana", None)]


def _confirm(driver: Any, base: str, flag: int, note: str) -> str:
    by = _by()
    driver.get(f"{base}/flag/{flag}")
    driver.find_element(by.ID, "confirm-note").send_keys(note)
    browser.click_and_wait(driver, driver.find_element(by.ID, "confirm"))
    return str(driver.find_element(by.ID, "flash").text)


def _escalate(driver: Any, base: str, flag: int) -> str:
    by = _by()
    driver.get(f"{base}/flag/{flag}")
    driver.find_element(by.ID, "escalate-sure").click()  # a checkbox: no page load
    browser.click_and_wait(driver, driver.find_element(by.ID, "escalate"))
    return str(driver.find_element(by.ID, "flash").text)


def test_escalation_under_four_eyes_and_the_letter(desk: dict[str, Any], tmp_path: Path) -> None:
    from test_desk_http import check_letter  # the same letter checks as over plain HTTP

    by = _by()
    base, settings = desk["base"], desk["settings"]
    flag = _rows(settings, "SELECT f.flag_id FROM flags f JOIN accounts a USING (account_id) "
                           "JOIN items i USING (item_key) LEFT JOIN flag_status s USING (flag_id) "
                           "WHERE a.region = '3204' AND i.kind = 'post' "
                           "AND coalesce(s.status, 'pending') = 'pending' "
                           "ORDER BY f.score DESC, f.flag_id LIMIT 1", [])[0][0]
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with browser.browser() as first, browser.browser(downloads) as second:
        browser.sign_in(first, base, "koor", PASSWORD)
        browser.sign_in(second, base, "koor2", PASSWORD)
        assert "dikonfirmasi" in _confirm(first, base, flag, "Unggahan kampanye terang-terangan")
        refused = _escalate(first, base, flag)
        assert "Tidak tercatat: aturan empat mata" in refused
        assert "dikonfirmasi" in _confirm(second, base, flag, "Setuju: ajakan memilih")
        assert "diteruskan" in _escalate(second, base, flag)
        second.get(f"{base}/escalations")
        second.find_element(by.CSS_SELECTOR, "a.pdf").click()  # a download: the page stays
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pdfs = [p for p in downloads.glob("*.pdf") if p.stat().st_size > 0]
            if pdfs and not list(downloads.glob("*.crdownload")):
                break
            time.sleep(0.2)
        assert pdfs, "the letter was downloaded"
        zip_href = second.find_element(by.CSS_SELECTOR, "a.zip").get_attribute("href")
        cookies = {c["name"]: c["value"] for c in second.get_cookies()}
    import httpx

    package = httpx.get(zip_href, cookies=cookies, timeout=30)
    assert package.status_code == 200
    check_letter(pdfs[0].read_bytes(), settings, int(flag), package.content)
