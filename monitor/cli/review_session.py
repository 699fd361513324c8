"""The interactive review session: one flag at a time, single keys, Indonesian by default.

Built for hundreds of flags a week: the queue is loaded once (with its
near-duplicate groups), each flag's status is re-read before it is shown (a
colleague may have decided it meanwhile), and every key press that decides is
written at once, so quitting or a crash loses nothing already decided.

Each flag is shown as a compact card (at most 16 lines, 80 columns) so that the
ASN, the post and the targets stay on an 80x24 screen while the reviewer
decides. Confirming an accusation asks for a note and then for a confirmation.
"""

from __future__ import annotations

import click
from rich import box
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from monitor import i18n
from monitor.errors import ReviewError
from monitor.i18n import t
from monitor.localtime import in_region
from monitor.review import REASONS, ReviewService
from monitor.stance_words import act_words, target_label
from storage.desk import target_names
from storage.evidence import FlagDetail, flag_detail
from storage.review import QueueFilter, Review

i18n.register({
    "id": {
        "ses.help": "[c] konfirmasi  [d] tolak  [C]/[D] seluruh kelompok  [s] lewati  [o] kartu  [q] keluar",
        "ses.start": "{total} temuan menunggu untuk {who} (pengelompokan: {method})",
        "ses.title": "Temuan #{flag} · {n}/{total} · skor {score}",
        "ses.asn": "ASN", "ses.agency": "Instansi", "ses.act": "Tindakan", "ses.time": "Waktu",
        "ses.targets": "Sasaran", "ses.post": "Unggahan", "ses.engaged": "Ditanggapi",
        "ses.no_text": "(tanpa teks)", "ses.group": "kelompok mirip G{group}: {n} temuan",
        "ses.reason": "  alasan? (1-{n}, tombol lain membatalkan)",
        "ses.note": "Catatan (wajib; kosong membatalkan)",
        "ses.note_other": "Catatan (wajib untuk alasan lainnya)",
        "ses.sure": "Konfirmasi pelanggaran oleh {name} (#{flag}){group}? [y/n]",
        "ses.sure_group": " beserta {n} temuan sekelompok",
        "ses.cancelled": "dibatalkan: tidak ada yang dicatat",
        "ses.decided": "temuan {flag}: {decision}{reason} [rantai #{seq}]",
        "ses.skipped": "temuan {flag} dilewati",
        "ses.quit": "keluar: {n} keputusan tercatat", "ses.done": "antrean selesai: {n} keputusan tercatat",
        "ses.refused": "tidak tercatat: {why}",
    },
    "en": {
        "ses.help": "[c] confirm  [d] dismiss  [C]/[D] whole group  [s] skip  [o] card  [q] quit",
        "ses.start": "{total} pending flags for {who} (grouping: {method})",
        "ses.title": "Flag #{flag} · {n}/{total} · score {score}",
        "ses.asn": "ASN", "ses.agency": "Agency", "ses.act": "Act", "ses.time": "Time",
        "ses.targets": "Targets", "ses.post": "Post", "ses.engaged": "Engaged",
        "ses.no_text": "(no text)", "ses.group": "near-duplicate group G{group}: {n} flags",
        "ses.reason": "  reason? (1-{n}, any other key cancels)",
        "ses.note": "Note (required; empty cancels)",
        "ses.note_other": "Note (required for reason other)",
        "ses.sure": "Confirm the breach by {name} (#{flag}){group}? [y/n]",
        "ses.sure_group": " and {n} flags of its group",
        "ses.cancelled": "cancelled: nothing recorded",
        "ses.decided": "flag {flag}: {decision}{reason} [chain #{seq}]",
        "ses.skipped": "skipped flag {flag}",
        "ses.quit": "quit: {n} decisions recorded", "ses.done": "queue done: {n} decisions recorded",
        "ses.refused": "not recorded: {why}",
    },
})

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


def _clip(text: str, width: int, lines: int) -> str:
    """``text`` on one line, cut to fit ``lines`` lines of ``width`` columns."""
    flat = " ".join(text.split())
    room = width * lines
    return flat if len(flat) <= room else flat[:room - 1] + "…"


def compact_card(svc: ReviewService, detail: FlagDetail, n: int, total: int, lang: str) -> Panel:
    """The flag in at most 16 lines of 80 columns: who, what, when, to whom, the text."""
    item, acc = detail.item, detail.account
    names = target_names(svc.db, set(detail.targets))
    kinds = {names.get(x, "").split(":")[0] for x in detail.targets}
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True, width=10)
    grid.add_column(width=64)
    region = acc.get("region")
    rows = [
        ("ses.asn", f"{acc.get('name') or '?'} · NIP {acc.get('nip') or '-'}"),
        ("ses.agency", _clip(f"{acc.get('agency') or '-'} ({region or '-'})", 64, 1)),
        ("ses.act", _clip(act_words(str(item.get("kind")), detail.stance, kinds, lang), 64, 1)),
        ("ses.time", _clip(f"{in_region(item.get('created_at'), region)} · {item.get('platform')} "
                           f"@{item.get('actor')}", 64, 1)),
        ("ses.targets", _clip(", ".join(target_label(names.get(x, x)) for x in detail.targets) or "-",
                              64, 2)),
        ("ses.post", _clip(str(item.get("text") or t("ses.no_text", lang)), 64, 4)),
    ]
    subject = item.get("subject")
    if subject:
        rows.append(("ses.engaged", _clip(f"@{subject.get('author')}: {subject.get('text') or ''}", 64, 3)))
    for key, value in rows:
        grid.add_row(t(key, lang), Text(value))
    score = f"{detail.score:.2f}".replace(".", "," if lang == "id" else ".")
    return Panel(grid, title=t("ses.title", lang, flag=detail.flag_id, n=n, total=total, score=score),
                 title_align="left", box=box.ROUNDED, width=80)


def _pick_reason(console: Console, lang: str) -> str | None:
    for n, reason in enumerate(REASONS, start=1):
        console.print(f"  {n} {t('reason.' + reason, lang)}", markup=False)
    console.print(t("ses.reason", lang, n=len(REASONS)), markup=False)
    key = _read_key()
    if key.isdigit() and 1 <= int(key) <= len(REASONS):
        return REASONS[int(key) - 1]
    return None


def _confirm(svc: ReviewService, detail: FlagDetail, reviewer: str, group: bool, group_size: int,
             console: Console, lang: str) -> list[Review] | None:
    """Ask for the note, then for a y/n confirmation; None when the reviewer backs out."""
    note = str(click.prompt(t("ses.note", lang), default="", show_default=False)).strip()
    if not note:
        return None
    extra = t("ses.sure_group", lang, n=group_size - 1) if group and group_size > 1 else ""
    console.print(t("ses.sure", lang, name=detail.account.get("name") or "?", flag=detail.flag_id,
                    group=extra), markup=False)
    if _read_key().lower() != "y":
        return None
    return svc.confirm(detail.flag_id, reviewer, note, whole_group=group)


def run_session(svc: ReviewService, reviewer: str, flt: QueueFilter, console: Console,
                lang: str | None = None) -> list[Review]:
    """Walk the queue until it is empty or the reviewer quits; returns the decisions made."""
    from monitor.evidence.card import ensure_card

    lang = lang or svc.settings.review.language
    queue = svc.queue(flt)
    rows = queue.rows
    decided: list[Review] = []
    done: set[int] = set()
    total = len(rows)
    console.print(t("ses.start", lang, total=total, who=reviewer, method=queue.method), markup=False)
    for n, row in enumerate(rows, start=1):
        if row.flag_id in done:
            continue
        detail = flag_detail(svc.db, row.flag_id)
        if detail.status != "pending":
            continue
        console.print(compact_card(svc, detail, n, total, lang))
        if row.group is not None:
            console.print(t("ses.group", lang, group=row.group, n=row.group_size), markup=False)
        while True:
            console.print(t("ses.help", lang), markup=False)
            key = _read_key()
            try:
                if key in ("c", "C"):
                    written = _confirm(svc, detail, reviewer, key == "C", row.group_size, console, lang)
                    if written is None:
                        console.print(t("ses.cancelled", lang), markup=False)
                        continue
                elif key in ("d", "D"):
                    reason = _pick_reason(console, lang)
                    if reason is None:
                        continue
                    note = None
                    if reason == "other":
                        note = click.prompt(t("ses.note_other", lang), default="", show_default=False) or None
                    written = svc.dismiss(row.flag_id, reviewer, reason, note, whole_group=key == "D")
                elif key == "o":
                    detail = ensure_card(svc.db, svc.settings.evidence_dir, svc.settings.review,
                                         row.flag_id, lang)
                    for role in ("card_html", "card_png"):
                        f = detail.file(role)
                        if f is not None:
                            console.print(f"{role}: {svc.settings.evidence_dir / f['path']}",
                                          markup=False)
                    continue
                elif key == "s":
                    console.print(t("ses.skipped", lang, flag=row.flag_id), markup=False)
                    break
                elif key == "q":
                    console.print(t("ses.quit", lang, n=len(decided)), markup=False)
                    return decided
                else:
                    continue
            except ReviewError as exc:
                console.print(t("ses.refused", lang, why=exc), markup=False)
                continue
            for r in written:
                done.add(r.flag_id)
                reason = f" ({t('reason.' + r.reason, lang)})" if r.reason else ""
                console.print(t("ses.decided", lang, flag=r.flag_id, reason=reason, seq=r.seq,
                                decision=t("decision." + r.decision, lang)), markup=False)
            decided.extend(written)
            break
    console.print(t("ses.done", lang, n=len(decided)), markup=False)
    return decided
