"""Screenshots of the desk for docs/desk.md, taken by script on the sample data.

``python -m monitor.testing.desk_screenshots docs/img``: seeds a temporary store from
config/ (one sample cycle, the test accounts), serves the desk on 127.0.0.1 and
saves ``desk-queue.png`` and ``desk-flag.png`` from headless Chromium.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def take(out: Path) -> list[Path]:
    """Seed, serve, sign in as a province coordinator, and save the two screenshots."""
    import os

    from selenium.webdriver.common.by import By

    from monitor.desk import browser
    from monitor.testing import MODEL_DIR_ENV
    from monitor.testing.desk import PASSWORD, seed, serve

    out.mkdir(parents=True, exist_ok=True)
    saved = []
    with tempfile.TemporaryDirectory(prefix="asn-desk-shots-") as tmp:
        os.environ.setdefault(MODEL_DIR_ENV, str(Path(tmp) / "model"))
        settings = seed(Path(tmp), hostile=False)
        with serve(settings) as base, browser.browser(size="1366,1000") as driver:
            browser.sign_in(driver, base, "koor", PASSWORD)
            driver.save_screenshot(str(out / "desk-queue.png"))
            saved.append(out / "desk-queue.png")
            link = driver.find_elements(By.CSS_SELECTOR, "tr.flag-row a.open")[0]
            browser.click_and_wait(driver, link)
            driver.set_window_size(1366, 1500)
            driver.save_screenshot(str(out / "desk-flag.png"))
            saved.append(out / "desk-flag.png")
    return saved


if __name__ == "__main__":
    for path in take(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img")):
        print(path)
