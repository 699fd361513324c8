"""Fixtures for the connector tests: the real Bluesky PDS peer (session scope).

The peer (``../shared/peers/bluesky-pds`` next to the repository) is installed once into a
cache folder (``$BSKY_PEER_CACHE``, default ``~/.cache/asn-monitor/bsky-peer``; about
2-3 minutes the first time), then started on free ports with its own state folder, so two
test sessions never share a PDS, and stopped at the end of the session.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PEER_DIR = Path(os.environ.get("BSKY_PEER_DIR") or ROOT.parent / "shared" / "peers" / "bluesky-pds")


@dataclass
class Peer:
    """A running PLC directory and PDS, and a way to play scenarios on them."""

    plc_url: str
    pds_url: str
    home: Path
    env: dict[str, str]

    def seed(self, scenario: dict[str, Any], name: str, resume: Path | None = None) -> dict[str, Any]:
        """Play ``scenario`` with ``seed.py``; returns (and keeps) its result."""
        sc = self.home / f"{name}.json"
        out = self.home / f"{name}.result.json"
        sc.write_text(json.dumps(scenario), encoding="utf-8")
        cmd = [
            "python3",
            str(PEER_DIR / "seed.py"),
            str(sc),
            "--pds",
            self.pds_url,
            "--out",
            str(out),
        ]
        if resume is not None:
            cmd += ["--resume", str(resume)]
        subprocess.run(cmd, check=True, env=self.env, timeout=120, capture_output=True)
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("BSKY_PEER_CACHE") or Path(base) / "asn-monitor" / "bsky-peer")


@pytest.fixture(scope="session")
def bsky_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    """A real PDS and PLC directory on 127.0.0.1, for this test session only."""
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("the Bluesky PDS peer needs node and npm, which are not installed")
    if not (PEER_DIR / "start.sh").exists():
        pytest.fail(f"the Bluesky PDS peer is missing: {PEER_DIR} (set BSKY_PEER_DIR)")
    cache = _cache()
    cache.mkdir(parents=True, exist_ok=True)
    env = {**os.environ}
    # One installer at a time: sessions running side by side share the cache.
    with open(cache / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        installed = subprocess.run(
            [str(PEER_DIR / "install.sh")],
            timeout=900,
            capture_output=True,
            text=True,
            env={**env, "BSKY_PEER_HOME": str(cache)},
        )
    if installed.returncode != 0:
        pytest.fail(f"installing the Bluesky PDS peer into {cache} failed: {installed.stderr[-2000:]}")
    home = tmp_path_factory.mktemp("bsky-peer")
    (home / "node_modules").symlink_to(cache / "node_modules")
    shutil.copy(cache / "package.json", home / "package.json")
    env.update(BSKY_PEER_HOME=str(home), PLC_PORT=str(_free_port()), PDS_PORT=str(_free_port()))
    started = subprocess.run(
        [str(PEER_DIR / "start.sh")], env=env, timeout=120, capture_output=True, text=True
    )
    try:
        if started.returncode != 0:
            pytest.fail(f"the Bluesky PDS peer did not start: {started.stderr[-2000:]}")
        urls = dict(line.split("=", 1) for line in started.stdout.splitlines() if "=" in line)
        env["PDS_ADMIN_PASSWORD"] = urls.get("ADMIN_PASSWORD", "admin-pass")
        yield Peer(urls["PLC_URL"], urls["PDS_URL"], home, env)
    finally:
        subprocess.run([str(PEER_DIR / "stop.sh")], env=env, timeout=60, capture_output=True)
