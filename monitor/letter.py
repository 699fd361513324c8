"""The escalation letter to BKN: an Indonesian HTML letter printed to PDF by headless Chromium.

It carries the office's letterhead, the letter number and signatory from
``[escalation]``, the ASN (name, NIP, position from the roster's optional
``position`` column, agency), the act in words with its date and time in the
ASN's local zone, the candidates' and parties' names, the legal basis with the
SKB 2022 category, every enclosed file with its SHA-256, and the reviewers with
their positions (from the desk accounts).
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from monitor.evidence.card import TEMPLATES
from monitor.evidence.chromium import chromium_command
from monitor.i18n import t
from monitor.localtime import ZONES, in_region, zone_name
from monitor.model import skb_category
from monitor.settings import Settings
from monitor.stance_words import act_words, target_label
from storage import desk as dq
from storage.db import Database
from storage.evidence import FlagDetail
from storage.review import Review
from storage.users import get_user

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
MONTHS_ID = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
             "Oktober", "November", "Desember")


@dataclass(frozen=True)
class Signer:
    """A reviewer as the letter names them."""

    name: str
    position: str
    decision: str
    when: str
    note: str


def letter_number(db: Database, settings: Settings, flag_id: int, now: datetime) -> str:
    """The letter number from ``[escalation] number_format`` (seq counts this year's escalations)."""
    seq = dq.escalations_in_year(db, now.year) + 1
    fmt = settings.escalation.number_format
    try:
        return fmt.format(seq=seq, year=now.year, month=now.month, month_roman=ROMAN[now.month - 1],
                          flag=flag_id)
    except (KeyError, IndexError, ValueError) as exc:
        from monitor.errors import ConfigError

        raise ConfigError("[escalation] number_format", f"cannot format {fmt!r}: {exc}") from exc


def _signers(db: Database, reviews: list[Review], reviewer: str, now: datetime,
             region: str | None) -> list[Signer]:
    people: list[Signer] = []
    for r in [*[r for r in reviews if r.decision == "confirmed"], None]:
        who = reviewer if r is None else r.reviewer
        user = get_user(db, who)
        people.append(Signer(user.full_name if user else who, (user.position or "-") if user else "-",
                             "diteruskan" if r is None else "dikonfirmasi",
                             in_region(now if r is None else r.decided_at, region), "" if r is None
                             else (r.note or "")))
    return people


def letter_html(db: Database, settings: Settings, detail: FlagDetail, reviews: list[Review], reviewer: str,
                now: datetime, evidence: dict[str, str]) -> tuple[str, str]:
    """The letter as HTML and its number; ``evidence``: enclosed file -> SHA-256."""
    from monitor.inputs import read_positions

    item, account = detail.item, detail.account
    region = account.get("region")
    names = dq.target_names(db, set(detail.targets))
    kinds = {names.get(x, "").split(":")[0] for x in detail.targets}
    candidates = [target_label(names[x]) for x in detail.targets if names.get(x, "").startswith("candidate:")]
    parties = [target_label(names[x]) for x in detail.targets if names.get(x, "").startswith("party:")]
    try:
        position = read_positions(settings.resolve(settings.inputs.roster)).get(
            str(account.get("account_id") or detail.item.get("account_id") or ""), "")
    except Exception:  # the roster may have moved since; the letter still goes out
        position = ""
    number = letter_number(db, settings, detail.flag_id, now)
    office_now = now.astimezone(ZONES[zone_name(region)])
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    html = env.get_template("escalation_letter.html.j2").render(
        cfg=settings.escalation, number=number,
        date=f"{office_now.day} {MONTHS_ID[office_now.month - 1]} {office_now.year}",
        d=detail, item=item, account=account, position=position or "-",
        act=act_words(str(item.get("kind")), detail.stance, kinds, "id"),
        when=in_region(item.get("created_at"), region, seconds=True), zone=zone_name(region),
        candidates=candidates, parties=parties,
        skb=t(f"category.{skb_category(str(item.get('kind')))}", "id"),
        subject=item.get("subject") or None, evidence=evidence,
        signers=_signers(db, reviews, reviewer, now, region))
    return html, number


def print_pdf(html: Path, pdf: Path, exe: str, timeout: float) -> str | None:
    """Print ``html`` to ``pdf`` with headless Chromium; returns an error or None."""
    with tempfile.TemporaryDirectory(prefix="asn-chromium-") as profile:
        cmd = chromium_command(exe, profile, f"--print-to-pdf={pdf}", "--no-pdf-header-footer",
                               "--print-to-pdf-no-header", "--virtual-time-budget=2000",
                               html.resolve().as_uri())
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"chromium failed: {exc}"
    if proc.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        return f"chromium exited {proc.returncode}: {tail[0][:200]}"
    return None


def render_letter(db: Database, settings: Settings, detail: FlagDetail, reviews: list[Review], reviewer: str,
                  now: datetime, evidence: dict[str, str]) -> dict[str, Any]:
    """``{"surat.html": bytes, "surat.pdf": bytes?, "number": str, "error": str?}``."""
    import shutil

    html, number = letter_html(db, settings, detail, reviews, reviewer, now, evidence)
    out: dict[str, Any] = {"surat.html": html.encode("utf-8"), "number": number}
    exe = shutil.which(settings.escalation.chromium) if settings.escalation.chromium else None
    if exe is None:
        out["error"] = "no Chromium: the letter is in surat.html only"
        return out
    with tempfile.TemporaryDirectory(prefix="asn-letter-") as tmp:
        src, pdf = Path(tmp) / "surat.html", Path(tmp) / "surat.pdf"
        src.write_bytes(out["surat.html"])
        error = print_pdf(src, pdf, exe, settings.review.render_timeout)
        if error is None:
            out["surat.pdf"] = pdf.read_bytes()
        else:
            out["error"] = error
    return out
