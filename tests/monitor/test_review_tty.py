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
                        "-x", "80", "-y", "24", "-c", str(cwd), command], check=True)

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


def _confirm_after_two_cancels(session: Tmux, fid: int) -> None:
    """``c`` three times: an empty note backs out, then "n" at the question, then it is recorded."""
    notes, cancels = session.screen().count("Catatan (wajib"), session.screen().count("dibatalkan")
    asks = session.screen().count(f"(#{fid})")
    session.send("c")
    session.wait_for("Catatan (wajib", count=notes + 1)
    session.send("\r")  # an empty note backs out: nothing is recorded
    session.wait_for("dibatalkan", count=cancels + 1)
    session.send("c")
    session.wait_for("Catatan (wajib", count=notes + 2)
    session.send("ajakan memilih\r")
    session.wait_for(f"(#{fid})", count=asks + 1)
    session.send("n")  # no at the confirmation: nothing is recorded either
    session.wait_for("dibatalkan", count=cancels + 2)
    session.send("c")
    session.wait_for("Catatan (wajib", count=notes + 3)
    session.send("ajakan memilih paslon\r")
    session.wait_for(f"(#{fid})", count=asks + 2)
    session.send("y")
    session.wait_for(f"temuan {fid}: dikonfirmasi")


def _confirm_group(session: Tmux, group: object, members: list[int]) -> None:
    """``C`` on a group's first flag: one decision row for each member, one note."""
    notes = session.screen().count("Catatan (wajib")
    session.wait_for(f"kelompok mirip G{group}: {len(members)} temuan")
    session.send("C")
    session.wait_for("Catatan (wajib", count=notes + 1)
    session.send("pesan kampanye yang sama\r")
    session.wait_for(f"beserta {len(members) - 1} temuan sekelompok")
    session.send("y")
    for member in members:
        session.wait_for(f"temuan {member}: dikonfirmasi")


def test_interactive_session_with_single_keys(flagged: Cli, session: Tmux, settings_path: Path,
                                              tmp_path: Path) -> None:
    # The session walks the queue in its order (highest score first); read that order here
    # rather than assume flag ids, which depend on the classifier's scores.
    queue = [(f["flag_id"], f["group"], f["group_size"]) for f in
             flagged("review", "queue", "--json").json()["flags"]]
    # The first near-duplicate group is decided as a whole wherever it comes in the queue;
    # the first flag outside it is confirmed after two cancelled tries, the next one
    # dismissed, and the others skipped until all three are done.
    group = next(row[1] for row in queue if row[2] >= 2)
    members = sorted(row[0] for row in queue if row[1] == group)
    session.wait_for("[c] konfirmasi")
    screen = session.screen()
    visible = screen.splitlines()[-24:]  # what an 80x24 terminal shows now
    assert any(f"Temuan #{queue[0][0]}" in line for line in visible)
    assert any("NIP" in line for line in visible) and any("Sasaran" in line for line in visible)
    assert any("Unggahan" in line for line in visible) and max(len(x) for x in visible) <= 80
    confirmed: int | None = None
    dismissed: int | None = None
    grouped, after = False, None
    for fid, row_group, _ in queue:
        if grouped and row_group == group:
            continue  # decided with its group: not shown again
        if grouped and confirmed is not None and dismissed is not None:
            after = fid
            break
        session.wait_for(f"Temuan #{fid} ")
        if row_group == group:
            _confirm_group(session, group, members)
            grouped = True
        elif confirmed is None:
            _confirm_after_two_cancels(session, fid)
            confirmed = fid
        elif dismissed is None:
            session.send("d")
            session.wait_for("alasan? (1-6")
            session.send("1")
            session.wait_for(f"temuan {fid}: ditolak (tidak berpihak)")
            dismissed = fid
        else:  # walk on
            session.send("s")
            session.wait_for(f"temuan {fid} dilewati")
    assert after is not None, queue
    session.wait_for(f"Temuan #{after} ")
    session.send("o")
    screen = session.wait_for("card_html:")
    card = "".join(line.strip() for line in screen[screen.index("card_html:") + 10:].splitlines()
                   if line.strip() and not line.startswith(("card_png", "[c]")))
    assert "card-id.html" in card
    session.send("xq")  # typed fast: an unknown key does nothing, and q is not lost
    decisions = 2 + len(members)
    session.wait_for(f"keluar: {decisions} keputusan tercatat")
    deadline = time.monotonic() + 20
    while not (tmp_path / "exit-code").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (tmp_path / "exit-code").read_text().strip() == "0"
    with duckdb.connect(str(load(settings_path).db_path), read_only=True) as con:
        rows = con.execute("SELECT flag_id, decision, reason, reviewer FROM reviews ORDER BY review_id"
                           ).fetchall()
    assert sorted(rows) == sorted([(confirmed, "confirmed", None, "ana"),
                                   (dismissed, "dismissed", "not_partisan", "ana")]
                                  + [(fid, "confirmed", None, "ana") for fid in members])
    with duckdb.connect(str(load(settings_path).db_path), read_only=True) as con:
        notes = dict(con.execute("SELECT flag_id, note FROM reviews WHERE decision = 'confirmed'"
                                 ).fetchall())
    assert notes.pop(confirmed) == "ajakan memilih paslon"
    assert set(notes.values()) == {"pesan kampanye yang sama"}
    assert flagged("verify").exit_code == 0
