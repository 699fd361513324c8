"""Headless Chromium: finding it and turning an HTML card into a PNG screenshot."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from monitor.settings import ReviewSettings

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--hide-scrollbars", "--force-device-scale-factor=1")


def chromium_path(settings: ReviewSettings) -> str | None:
    """The Chromium executable to use, or None when PNG rendering is off or unavailable."""
    if not settings.chromium:
        return None
    return shutil.which(settings.chromium)


def chromium_command(exe: str, profile: str, *args: str) -> list[str]:
    """A headless Chromium command line with a fresh profile and no background traffic."""
    return [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]


def render_png(html: Path, png: Path, exe: str, timeout: float) -> str | None:
    """Screenshot ``html`` into ``png`` with headless Chromium; returns an error or None."""
    with tempfile.TemporaryDirectory(prefix="asn-chromium-") as profile:
        cmd = chromium_command(exe, profile, f"--screenshot={png}", "--window-size=900,1400",
                               "--virtual-time-budget=2000", html.resolve().as_uri())
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"chromium failed: {exc}"
    if proc.returncode != 0 or not png.exists():
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        return f"chromium exited {proc.returncode}: {tail[0][:200]}"
    os.chmod(png, 0o600)
    return None
