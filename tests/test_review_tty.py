"""The interactive review session, driven through a real terminal (tmux)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from monitor.settings import load
from monitor.testing import CliResult

Cli = Callable[..., CliResult]
TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (make system-deps)")


class Tmux:
    """One detached tmux session on a private socket (never the user's own server)."""

    def __init__(self, command: str, cwd: Path) -> None:
        self.socket = f"asn-test-{uuid.uuid4().hex[:8]}"
        self.name = "review"
        subprocess.run(["tmux", "-L", self.socket, "new-session", "-d", "-s", self.name,
                        "-x", "160", "-y", "50", "-c", str(cwd), command], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "-L", self.socket, "capture-pane", "-p", "-t", self.name,
                               "-S", "-3000"], capture_output=True, text=True, check=False).stdout

    def send(self, key: str) -> None:
        subprocess.run(["tmux", "-L", self.socket, "send-keys", "-t", self.name, "-l", key], check=True)

    def wait_for(self, text: str, timeout: float = 90.0, count: int = 1) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if screen.count(text) >= count:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear (x{count}); screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], check=False, capture_output=True)


@pytest.fixture
def flagged(cli: Cli) -> Cli:
    assert cli("run", "--once").exit_code == 0
    return cli


@pytest.fixture
def session(settings_path: Path, tmp_path: Path) -> Iterator[Tmux]:
    exe = Path(sys.executable).with_name("asn-monitor")
    done = tmp_path / "exit-code"
    env = f"ASN_MONITOR_REVIEWER=ana HF_HUB_OFFLINE=1 PATH={shlex.quote(os.environ.get('PATH', ''))}"
    command = (f"env {env} {shlex.quote(str(exe))} --config {shlex.quote(str(settings_path))} review; "
               f"echo $? > {shlex.quote(str(done))}; sleep 60")
    tmux = Tmux(command, tmp_path)
    yield tmux
    tmux.close()


def test_interactive_session_with_single_keys(flagged: Cli, session: Tmux, settings_path: Path,
                                              tmp_path: Path) -> None:
    session.wait_for("[c] confirm")
    first = session.screen()
    assert "Evidence card #1" in first and "NIP" in first
    session.send("c")
    session.wait_for("flag 1: confirmed")
    session.wait_for("Evidence card #2")
    session.send("d")
    session.wait_for("reason? (1-6")
    session.send("1")
    session.wait_for("flag 2: dismissed (not_partisan)")
    session.wait_for("Evidence card #3")
    session.wait_for("near-duplicate group G3: 2 flags")
    session.send("C")  # the whole group: 3 and its copy 4, one row each
    session.wait_for("flag 4: confirmed")
    session.wait_for("Evidence card #5")
    session.send("s")
    session.wait_for("skipped flag 5")
    session.wait_for("Evidence card #6")
    session.send("o")
    screen = session.wait_for("card_html:")
    card = next(line.split("card_html:", 1)[1].strip() for line in screen.splitlines()
                if "card_html:" in line)
    assert Path(card).exists()
    session.send("xq")  # typed fast: an unknown key does nothing, and q is not lost
    session.wait_for("quit: 4 decisions recorded")
    deadline = time.monotonic() + 20
    while not (tmp_path / "exit-code").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (tmp_path / "exit-code").read_text().strip() == "0"
    with duckdb.connect(str(load(settings_path).db_path), read_only=True) as con:
        rows = con.execute("SELECT flag_id, decision, reason, reviewer FROM reviews ORDER BY review_id"
                           ).fetchall()
    assert rows == [(1, "confirmed", None, "ana"), (2, "dismissed", "not_partisan", "ana"),
                    (3, "confirmed", None, "ana"), (4, "confirmed", None, "ana")]
    assert flagged("verify").exit_code == 0
