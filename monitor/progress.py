"""Progress bars for long work (training, embeddings, export, retention, bench), on stderr.

Shown only when stderr is a terminal (or ``ASN_MONITOR_PROGRESS=1``); in pipes, logs,
cron and systemd nothing is printed. ``ASN_MONITOR_PROGRESS=0`` turns them off.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

ENV = "ASN_MONITOR_PROGRESS"


def _console() -> Console:
    # Made per use: sys.stderr may be replaced (tests, a redirected CLI run).
    forced = os.environ.get(ENV) == "1"
    return Console(stderr=True, force_terminal=True if forced else None, highlight=False)


def enabled() -> bool:
    """Whether progress is shown: stderr is a terminal and not switched off (or forced on)."""
    setting = os.environ.get(ENV)
    if setting in ("0", "1"):
        return setting == "1"
    return _console().is_terminal


@contextmanager
def task(description: str, total: float | None = None) -> Iterator[Callable[..., None]]:
    """A bar (``total`` known) or a spinner; yields ``advance(n=1)``. Silent when not enabled."""
    if not enabled():
        yield lambda n=1: None
        return
    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    with Progress(*columns, TimeElapsedColumn(), console=_console(), transient=False) as bar:
        tid = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(tid, n)
        if total is not None:
            bar.update(tid, completed=total)
