"""The interactive review session: one flag at a time, single keys.

Built for hundreds of flags a week: the queue is loaded once (with its
near-duplicate groups), each flag's status is re-read before it is shown (a
colleague may have decided it meanwhile), and every key press that decides is
written at once, so quitting or a crash loses nothing already decided.
"""

from __future__ import annotations

import click
from rich.console import Console

from monitor.errors import ReviewError
from monitor.review import REASON_HELP, REASONS, ReviewService
from storage.evidence import flag_detail
from storage.review import QueueFilter, Review

HELP = ("[c] confirm  [d] dismiss  [C]/[D] whole group  [s] skip  [o] open card  [q] quit")


_typed_ahead: list[str] = []


def _read_key() -> str:
    """One key press. ``click.getchar`` may return several keys typed quickly (it reads up to
    32 bytes at once); the rest are kept for the next call, so no key is lost."""
    if not _typed_ahead:
        try:
            _typed_ahead.extend(click.getchar())
        except (KeyboardInterrupt, EOFError):
            return "q"
        if not _typed_ahead:
            return ""
    return _typed_ahead.pop(0)


def _pick_reason(console: Console) -> str | None:
    for n, reason in enumerate(REASONS, start=1):
        console.print(f"  {n} {reason}: {REASON_HELP[reason]}", markup=False)
    console.print("  reason? (1-6, any other key cancels)", markup=False)
    key = _read_key()
    if key.isdigit() and 1 <= int(key) <= len(REASONS):
        return REASONS[int(key) - 1]
    return None


def run_session(svc: ReviewService, reviewer: str, flt: QueueFilter, console: Console) -> list[Review]:
    """Walk the queue until it is empty or the reviewer quits; returns the decisions made."""
    from monitor.cli.review_card import print_card
    from monitor.evidence.card import ensure_card

    queue = svc.queue(flt)
    rows = queue.rows
    decided: list[Review] = []
    done: set[int] = set()
    total = len(rows)
    console.print(f"{total} pending flags for {reviewer} (grouping: {queue.method})", markup=False)
    for n, row in enumerate(rows, start=1):
        if row.flag_id in done:
            continue
        detail = flag_detail(svc.db, row.flag_id)
        if detail.status != "pending":
            continue
        console.rule(f"{n}/{total}")
        print_card(detail)
        if row.group is not None:
            console.print(f"near-duplicate group G{row.group}: {row.group_size} flags", markup=False)
        while True:
            console.print(HELP, markup=False)
            key = _read_key()
            try:
                if key in ("c", "C"):
                    written = svc.confirm(row.flag_id, reviewer, whole_group=key == "C")
                elif key in ("d", "D"):
                    reason = _pick_reason(console)
                    if reason is None:
                        continue
                    note = None
                    if reason == "other":
                        note = click.prompt("note", default="", show_default=False) or None
                    written = svc.dismiss(row.flag_id, reviewer, reason, note, whole_group=key == "D")
                elif key == "o":
                    detail = ensure_card(svc.db, svc.settings.evidence_dir, svc.settings.review,
                                         row.flag_id)
                    for role in ("card_html", "card_png"):
                        f = detail.file(role)
                        if f is not None:
                            console.print(f"{role}: {svc.settings.evidence_dir / f['path']}",
                                          markup=False)
                    continue
                elif key == "s":
                    console.print(f"skipped flag {row.flag_id}", markup=False)
                    break
                elif key == "q":
                    console.print(f"quit: {len(decided)} decisions recorded", markup=False)
                    return decided
                else:
                    continue
            except ReviewError as exc:
                console.print(f"not recorded: {exc}", markup=False)
                continue
            for r in written:
                done.add(r.flag_id)
                console.print(f"flag {r.flag_id}: {r.decision}"
                              + (f" ({r.reason})" if r.reason else "") + f" [chain #{r.seq}]",
                              markup=False)
            decided.extend(written)
            break
    console.print(f"queue done: {len(decided)} decisions recorded", markup=False)
    return decided
