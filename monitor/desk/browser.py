"""Headless Chromium through selenium for the desk's browser tests and screenshot script.

Debian's ``chromium`` and ``chromium-driver``; a fresh profile per browser and
no background traffic (the flags the evidence cards use). selenium is a test
extra, imported here only.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from monitor.evidence.chromium import CHROMIUM_FLAGS


def available() -> bool:
    """True when Chromium, its driver and selenium are all installed."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return False
    return bool(shutil.which("chromium") and shutil.which("chromedriver"))


@contextmanager
def browser(downloads: Path | None = None, size: str = "1366,900") -> Iterator[Any]:
    """A headless Chromium driven by selenium; downloads land in ``downloads``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="asn-desk-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "chromium"
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={size}"):
            options.add_argument(flag)
        if downloads is not None:
            options.add_experimental_option("prefs", {
                "download.default_directory": str(downloads), "download.prompt_for_download": False,
                "plugins.always_open_pdf_externally": True})
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"),
                                  options=options)
        driver.set_page_load_timeout(60)
        try:
            if downloads is not None:
                driver.execute_cdp_cmd("Page.setDownloadBehavior",
                                       {"behavior": "allow", "downloadPath": str(downloads)})
            yield driver
        finally:
            driver.quit()


def sign_in(driver: Any, base: str, username: str, password: str) -> None:
    """Fill and send the login form."""
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    click_and_wait(driver, driver.find_element(By.ID, "login"))


def click_and_wait(driver: Any, element: Any, timeout: float = 30) -> None:
    """Click something that loads a new page, and wait until it has."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")
    element.click()
    # While the old page goes away ChromeDriver may answer "Node with given id does not
    # belong to the document" instead of a stale-element error: ask again until it is stale.
    WebDriverWait(driver, timeout, ignored_exceptions=(WebDriverException,)).until(
        expected_conditions.staleness_of(old))
