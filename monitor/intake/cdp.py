"""A minimal client of Chromium's DevTools protocol: one headless browser, one page, bounded waits.

Chromium is started with ``--remote-debugging-port=0`` and a fresh profile; the port
it chose is read from ``DevToolsActivePort``. Commands are sent over the page
target's websocket; events that arrive meanwhile go to ``on_event`` (the archiver
answers intercepted requests there). Every wait has a deadline.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import websocket

from monitor.errors import ArchiveError, ArchiveTimeout
from monitor.evidence.chromium import CHROMIUM_FLAGS

Event = dict[str, Any]


class CdpError(ArchiveError):
    """Chromium answered a DevTools command with an error."""


class Page:
    """One page target: ``call`` a method, ``wait_for`` an event; events go to ``on_event``."""

    def __init__(self, ws: websocket.WebSocket, on_event: Callable[[Page, Event], None]) -> None:
        self.ws = ws
        self.on_event = on_event
        self._next = 0
        self.events: list[Event] = []

    def send(self, method: str, params: dict[str, Any] | None = None) -> int:
        """Send a command without waiting for its answer; returns its id."""
        self._next += 1
        self.ws.send(json.dumps({"id": self._next, "method": method, "params": params or {}}))
        return self._next

    def call(self, method: str, params: dict[str, Any] | None = None, timeout: float = 30.0,
             what: str | None = None) -> dict[str, Any]:
        """Send a command and return its result (events are handled while waiting).

        ``what`` is the message of the ``ArchiveTimeout`` raised when no answer comes in time.
        """
        wanted = self.send(method, params)
        deadline = time.monotonic() + timeout
        while True:
            msg = self._recv(deadline, what or f"chromium: {method} did not answer within {timeout:g}s")
            if msg.get("id") == wanted:
                if "error" in msg:
                    raise CdpError(f"chromium refused {method}: {msg['error'].get('message')}")
                return dict(msg.get("result") or {})

    def wait_for(self, done: Callable[[Event], bool], deadline: float, what: str) -> Event:
        """Handle events until one satisfies ``done``; ``ArchiveTimeout`` at ``deadline``."""
        while True:
            msg = self._recv(deadline, what)
            if "method" in msg and done(msg):
                return msg

    def _recv(self, deadline: float, what: str) -> dict[str, Any]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ArchiveTimeout(what)
        self.ws.settimeout(left)
        try:
            raw = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            raise ArchiveTimeout(what) from None
        except (websocket.WebSocketException, OSError) as exc:
            raise ArchiveError(f"chromium connection lost: {exc}") from None
        msg: dict[str, Any] = json.loads(raw)
        if "method" in msg:
            self.events.append(msg)
            self.on_event(self, msg)
        return msg


def chromium_exe(name: str) -> str:
    """The Chromium executable named by the settings; ``ArchiveError`` when it is not installed."""
    exe = shutil.which(name) if name else None
    if exe is None:
        raise ArchiveError(f"chromium {name!r} is not installed (apt-get install chromium)")
    return exe


@contextlib.contextmanager
def browser_page(exe: str, on_event: Callable[[Page, Event], None], start_timeout: float = 20.0,
                 window: tuple[int, int] = (1280, 900), extra: tuple[str, ...] = ()) -> Iterator[Page]:
    """A fresh headless Chromium with one blank page; the browser is killed on exit."""
    profile = tempfile.mkdtemp(prefix="asn-archive-")
    cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
           "--remote-debugging-address=127.0.0.1", f"--window-size={window[0]},{window[1]}",
           "--disable-extensions", "--mute-audio", "--disable-dev-shm-usage", *extra, "about:blank"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    ws = None
    try:
        port = _port(Path(profile), proc, time.monotonic() + start_timeout)
        ws = websocket.create_connection(_page_ws(port, start_timeout), timeout=start_timeout,
                                         suppress_origin=True, enable_multithread=False)
        yield Page(ws, on_event)
    finally:
        if ws is not None:
            with contextlib.suppress(Exception):
                ws.close()
        _stop(proc)
        shutil.rmtree(profile, ignore_errors=True)


def _port(profile: Path, proc: subprocess.Popen[bytes], deadline: float) -> int:
    marker = profile / "DevToolsActivePort"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ArchiveError(f"chromium exited {proc.returncode} at start")
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int(marker.read_text().splitlines()[0])
        time.sleep(0.05)
    raise ArchiveTimeout("chromium did not start within the time bound")


def _page_ws(port: int, timeout: float) -> str:
    # The browser's own endpoint on 127.0.0.1: not a fetch of reported content.
    with httpx.Client(timeout=timeout, trust_env=False) as client:
        targets = client.get(f"http://127.0.0.1:{port}/json/list").json()
    for target in targets:
        if target.get("type") == "page":
            return str(target["webSocketDebuggerUrl"])
    raise ArchiveError("chromium started without a page")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End Chromium and its helper processes (its own process group)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # helpers left behind by a browser that exited
