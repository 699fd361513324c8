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
    # The session walks the queue in its order (highest score first); read that order here
    # rather than assume flag ids, which depend on the classifier's scores.
    queue = [(f["flag_id"], f["group"], f["group_size"]) for f in
             flagged("review", "queue", "--json").json()["flags"]]
    first, second = queue[0][0], queue[1][0]
    group_at = next(i for i, row in enumerate(queue) if row[2] >= 2 and i >= 2)
    lead, group = queue[group_at][0], queue[group_at][1]
    members = sorted(row[0] for row in queue if row[1] == group)
    skipped = [row[0] for row in queue[2:group_at]]
    after = next(row[0] for row in queue[group_at + 1:] if row[1] != group)

    session.wait_for("[c] confirm")
    screen = session.screen()
    assert f"Evidence card #{first}" in screen and "NIP" in screen
    session.send("c")
    session.wait_for(f"flag {first}: confirmed")
    session.wait_for(f"Evidence card #{second}")
    session.send("d")
    session.wait_for("reason? (1-6")
    session.send("1")
    session.wait_for(f"flag {second}: dismissed (not_partisan)")
    for fid in skipped:  # walk on to the first near-duplicate group
        session.wait_for(f"Evidence card #{fid}")
        session.send("s")
        session.wait_for(f"skipped flag {fid}")
    session.wait_for(f"Evidence card #{lead}")
    session.wait_for(f"near-duplicate group G{group}: {len(members)} flags")
    session.send("C")  # the whole group: one decision row for each member
    for fid in members:
        session.wait_for(f"flag {fid}: confirmed")
    session.wait_for(f"Evidence card #{after}")
    session.send("o")
    screen = session.wait_for("card_html:")
    card = next(line.split("card_html:", 1)[1].strip() for line in screen.splitlines()
                if "card_html:" in line)
    assert Path(card).exists()
    session.send("xq")  # typed fast: an unknown key does nothing, and q is not lost
    decisions = 2 + len(members)
    session.wait_for(f"quit: {decisions} decisions recorded")
    deadline = time.monotonic() + 20
    while not (tmp_path / "exit-code").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (tmp_path / "exit-code").read_text().strip() == "0"
    with duckdb.connect(str(load(settings_path).db_path), read_only=True) as con:
        rows = con.execute("SELECT flag_id, decision, reason, reviewer FROM reviews ORDER BY review_id"
                           ).fetchall()
    expected = [(first, "confirmed", None, "ana"), (second, "dismissed", "not_partisan", "ana")]
    assert rows[:2] == expected
    assert sorted(rows[2:]) == [(fid, "confirmed", None, "ana") for fid in members]
    assert flagged("verify").exit_code == 0
