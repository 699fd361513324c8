"""The real Bluesky PDS and PLC directory (``../shared/peers/bluesky-pds``) as a test helper.

``running_peer(home)`` installs the peer once into a cache folder (``$BSKY_PEER_CACHE``,
default ``~/.cache/asn-monitor/bsky-peer``; 2-3 minutes the first time, under a file lock so
parallel sessions share one install), starts it on free ports with its own state in
``home`` (so two sessions never share a PDS), and stops it afterwards, by PID.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


class PeerToolsMissing(Exception):
    """node or npm is not installed: the peer cannot run here (tests skip)."""


class PeerError(Exception):
    """The peer is missing, or did not install or start (tests fail, with the reason)."""


def peer_dir() -> Path:
    """Where the peer's scripts are: ``$BSKY_PEER_DIR``, or ``shared/peers`` beside the repo."""
    return Path(os.environ.get("BSKY_PEER_DIR") or ROOT.parent / "shared" / "peers" / "bluesky-pds")


def cache_dir() -> Path:
    """Where the peer is installed (its ``node_modules``), shared between sessions."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("BSKY_PEER_CACHE") or Path(base) / "asn-monitor" / "bsky-peer")


@dataclass
class Peer:
    """A running PLC directory and PDS, and a way to play scenarios on them."""

    plc_url: str
    pds_url: str
    home: Path
    env: dict[str, str]

    def seed(self, scenario: dict[str, Any], name: str, resume: Path | None = None) -> dict[str, Any]:
        """Play ``scenario`` with ``seed.py``; returns its result (also kept in ``home``)."""
        sc = self.home / f"{name}.json"
        out = self.home / f"{name}.result.json"
        sc.write_text(json.dumps(scenario), encoding="utf-8")
        cmd = ["python3", str(peer_dir() / "seed.py"), str(sc), "--pds", self.pds_url, "--out", str(out)]
        if resume is not None:
            cmd += ["--resume", str(resume)]
        done = subprocess.run(cmd, env=self.env, timeout=120, capture_output=True, text=True)
        if done.returncode != 0:
            raise PeerError(f"seed.py {name} failed: {done.stderr[-2000:]}")
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return result


    def seed_accounts(self, scenario: dict[str, Any], name: str) -> dict[str, Any]:
        """Like ``seed``, on a PDS that may already hold accounts from other tests.

        ``seed.py`` numbers new accounts' e-mail addresses after those of the scenario it
        resumes; resuming from the result with the most accounts keeps them unique, as
        long as the new accounts' names are not already in that result.
        """
        results = sorted(self.home.glob("*.result.json"),
                         key=lambda p: len(json.loads(p.read_text(encoding="utf-8"))["accounts"]))
        return self.seed(scenario, name, resume=results[-1] if results else None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def install() -> Path:
    """Install the peer into the cache (a no-op when installed); returns the cache folder."""
    if not shutil.which("node") or not shutil.which("npm"):
        raise PeerToolsMissing("the Bluesky PDS peer needs node and npm, which are not installed")
    scripts = peer_dir()
    if not (scripts / "start.sh").exists():
        raise PeerError(f"the Bluesky PDS peer is missing: {scripts} (set BSKY_PEER_DIR)")
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = subprocess.run(
            [str(scripts / "install.sh")],
            timeout=900,
            capture_output=True,
            text=True,
            env={**os.environ, "BSKY_PEER_HOME": str(cache)},
        )
    if done.returncode != 0:
        raise PeerError(f"installing the Bluesky PDS peer into {cache} failed: {done.stderr[-2000:]}")
    return cache


@contextmanager
def running_peer(home: Path, extra_env: dict[str, str] | None = None) -> Iterator[Peer]:
    """A freshly started peer with its state in ``home``; stopped on exit.

    ``extra_env`` reaches the PDS (e.g. ``PDS_REPO_BACKFILL_LIMIT_MS``: how long the
    server keeps stream events for ``subscribeRepos`` cursors).
    """
    cache = install()
    scripts = peer_dir()
    (home / "node_modules").symlink_to(cache / "node_modules")
    shutil.copy(cache / "package.json", home / "package.json")
    env = {**os.environ, **(extra_env or {}), "BSKY_PEER_HOME": str(home)}
    env.update(PLC_PORT=str(_free_port()), PDS_PORT=str(_free_port()))
    try:
        started = subprocess.run(
            [str(scripts / "start.sh")], env=env, timeout=120, capture_output=True, text=True
        )
        if started.returncode != 0:
            raise PeerError(f"the Bluesky PDS peer did not start: {started.stderr[-2000:]}")
        urls = dict(line.split("=", 1) for line in started.stdout.splitlines() if "=" in line)
        env["PDS_ADMIN_PASSWORD"] = urls.get("ADMIN_PASSWORD", "admin-pass")
        yield Peer(urls["PLC_URL"], urls["PDS_URL"], home, env)
    finally:
        subprocess.run([str(scripts / "stop.sh")], env=env, timeout=60, capture_output=True)


def restart_pds(peer: Peer, down_s: float = 0.0) -> None:
    """Stop the PDS process and start it again on the same data, port and keys.

    ``start.sh`` always begins with an empty state; this relaunches the very command
    line with the very environment of the running PDS (read from ``/proc``), so the
    repositories, the event sequence and the accounts survive, as on a real restart.
    """
    import signal
    import time
    import urllib.request

    pids_file = peer.home / "pids"
    pids = pids_file.read_text().split()
    pid = int(pids[-1])
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    env = dict(e.decode().split("=", 1) for e in environ if b"=" in e)
    cmd = [c.decode() for c in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if c]
    cwd = os.readlink(f"/proc/{pid}/cwd")
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not Path(f"/proc/{pid}").exists():
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    time.sleep(down_s)
    log = open(peer.home / "logs" / "pds-restart.log", "ab")  # noqa: SIM115  (the child keeps it)
    child = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=log, start_new_session=True)
    pids_file.write_text("\n".join([*pids[:-1], str(child.pid)]) + "\n")
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{peer.pds_url}/xrpc/_health", timeout=1):  # noqa: S310
                return
        except OSError:
            time.sleep(0.1)
    raise PeerError("the restarted PDS did not become ready")
