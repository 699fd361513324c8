"""Test helpers for the desk: a seeded sample store with users, and a real uvicorn server.

Shipped (like ``monitor.testing``) so the tests and the screenshot script share one
way of standing the desk up on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from monitor.testing import free_port, invoke, write_settings

ROOT = Path(__file__).resolve().parents[2]  # the project root
PASSWORD = "sandi-uji-desk-2024"  # noqa: S105  (test accounts only)
# Who the tests sign in as: (username, full name, role, region, position).
USERS: tuple[tuple[str, str, str, str | None, str], ...] = (
    ("ana", "Ana Suryani", "reviewer", "3204", "Staf Pengawas Kabupaten Bandung"),
    ("koor", "Koordinator Jabar", "coordinator", "32", "Koordinator Divisi Penanganan Pelanggaran"),
    ("koor2", "Dadan Ramdani", "coordinator", "32", "Anggota Bawaslu Provinsi Jawa Barat"),
    ("kota", "Peninjau Kota", "reviewer", "3273", "Staf Pengawas Kota Bandung"),
    ("audit", "Auditor Pusat", "auditor", None, "Auditor"),
)
# A campaign post with markup in it: the classifier must flag it (so it is in the queue)
# and every page must show the markup as text.
HOSTILE_TEXT = ("Ayo coblos Cecep-Nia nomor 1! Pemimpin terbaik untuk Kabupaten Bandung, pasti "
                "menang! #BandungCenia <script>alert('xss')</script> "
                "<img src=x onerror=alert(1)> <a href=\"javascript:alert(2)\">klik</a>")


def seed(root: Path, extra: Mapping[str, Mapping[str, Any]] | None = None,
         hostile: bool = True) -> Path:
    """Copy config/ under ``root``, add a hostile post, run one cycle, add ``USERS``.

    Returns the settings file.
    """
    config = root / "config"
    shutil.copytree(ROOT / "config", config)
    if hostile:
        item = {"platform": "x", "id": "999000111", "kind": "post", "actor": "wawan_soreang",
                "created_at": "2024-10-20T21:15:00+07:00", "text": HOSTILE_TEXT,
                "url": "javascript:alert(3)"}
        with (config / "samples" / "items.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(item) + "\n")
    _add_positions(config / "roster.csv")
    settings = write_settings(config, extra={"review": {"chromium": ""}, **(extra or {})})
    run = invoke(["--config", str(settings), "run", "--once"])
    assert run.exit_code == 0, run.stderr
    from monitor.app import open_store
    from monitor.settings import load
    from monitor.users import UserService

    # Straight through the service: the CLI's own test covers `users add`.
    users = UserService(open_store(load(settings)).db)
    for name, full, role, region, position in USERS:
        users.add(name, full, role, PASSWORD, region, position)
    return settings


def _add_positions(roster: Path) -> None:
    """Give the roster its optional ``position`` column (the letter prints it)."""
    lines = roster.read_text(encoding="utf-8").splitlines()
    out = [lines[0] + ",position"] + [f"{line},Pelaksana {line.split(',')[0]}" for line in lines[1:] if line]
    roster.write_text("\n".join(out) + "\n", encoding="utf-8")


@contextmanager
def serve(settings_path: Path, log: Path | None = None) -> Iterator[str]:
    """Run the desk with uvicorn in a thread; yields its base URL; stops it afterwards."""
    import logging

    import uvicorn

    from monitor.desk.server import create_app
    from monitor.settings import load

    port = free_port()
    config = uvicorn.Config(create_app(load(settings_path)), host="127.0.0.1", port=port,
                            log_level="info", lifespan="off")
    handler = None
    if log is not None:  # after Config, which resets uvicorn's loggers
        handler = logging.FileHandler(log)
        for name in ("uvicorn.access", "uvicorn.error"):
            logging.getLogger(name).addHandler(handler)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the desk did not start within 20 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        if handler is not None:
            for name in ("uvicorn.access", "uvicorn.error"):
                logging.getLogger(name).removeHandler(handler)
            handler.close()


def csrf_of(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    if found is None:
        raise AssertionError("no CSRF token on the page")
    return found.group(1)


def login(base: str, username: str, password: str = PASSWORD) -> httpx.Client:
    """An HTTP client signed in as ``username`` (cookies kept)."""
    client = httpx.Client(base_url=base, timeout=30, follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    resp = client.post("/login", data={"csrf": token, "username": username, "password": password})
    if resp.status_code != 303:
        raise AssertionError(f"login as {username} failed: {resp.status_code}")
    return client


def post_form(client: httpx.Client, page: str, action: str, data: Mapping[str, str]) -> httpx.Response:
    """Post ``data`` to ``action`` with the CSRF token found on ``page``."""
    token = csrf_of(client.get(page).text)
    return client.post(action, data={"csrf": token, **data})
