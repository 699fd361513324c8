"""Rendering the weekly digest: the PNG chart (Pillow), the HTML and the plain text (Jinja2).

Everything that comes from the database (names, agencies, handles) is escaped
by Jinja2's autoescape in the HTML template; the text template is plain.
Messages are Indonesian by default and English on request (``monitor.i18n``).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from PIL import Image, ImageDraw, ImageFont

from monitor import i18n
from monitor.i18n import t
from monitor.model import KINDS
from monitor.stance_words import describe
from storage.digest import DECISIONS, JAKARTA, DigestData

TEMPLATES = Path(__file__).resolve().parent / "templates"
CHART_CID = "chart"  # completed with a unique domain part when the email is built

# Colour per item kind (colour-blind-safe Okabe-Ito palette).
KIND_COLOURS = {"post": (0, 114, 178), "reply": (230, 159, 0), "quote": (0, 158, 115),
                "repost": (204, 121, 167), "like": (213, 94, 0)}

i18n.register({
    "id": {
        "digest.title": "Ringkasan Mingguan Pengawasan Netralitas ASN",
        "digest.week": "Minggu {week} ({start} – {end})",
        "digest.scope.all": "Seluruh wilayah dan instansi",
        "digest.scope.region": "Wilayah: {value}",
        "digest.scope.agency": "Instansi: {value}",
        "digest.subject": ("Ringkasan mingguan netralitas ASN {week}: {new} temuan baru, "
                           "{pending} menunggu tinjauan"),
        "digest.summary": "Ringkasan",
        "digest.new": "Temuan baru", "digest.confirmed": "Dikonfirmasi", "digest.dismissed": "Ditolak",
        "digest.escalated": "Dieskalasi", "digest.pending": "Menunggu tinjauan",
        "digest.pending_oldest": "tertua sejak {when} ({days} hari)",
        "digest.pending_ages": "Umur antrean tinjauan (hari)",
        "digest.chart": "Temuan per hari menurut jenis tindakan",
        "digest.top_agencies": "Instansi teratas", "digest.top_regions": "Wilayah teratas",
        "digest.top_targets": "Kandidat dan partai teratas",
        "digest.flags": "Daftar temuan baru",
        "digest.col.id": "ID", "digest.col.when": "Waktu (WIB)", "digest.col.asn": "ASN",
        "digest.col.agency": "Instansi", "digest.col.region": "Wilayah",
        "digest.col.act": "Tindakan", "digest.col.stance": "Sikap", "digest.col.targets": "Sasaran",
        "digest.col.score": "Skor", "digest.col.status": "Status", "digest.col.count": "Jumlah",
        "digest.decided": "Keputusan peninjau minggu ini (ID temuan)",
        "digest.none": "Tidak ada.",
        "digest.review_hint": "Peninjau: buka temuan dengan `asn-monitor review show <ID>`.",
        "digest.disclaimer": ("Temuan adalah dugaan otomatis yang menunggu tinjauan manusia, "
                              "bukan putusan pelanggaran."),
        "digest.footer": "Dibuat otomatis oleh asn-monitor pada {when} WIB.",
        "digest.chain_head": ("Kepala rantai bukti: {seq}:{head} (simpan surel ini; periksa dengan "
                              "asn-monitor verify --head {seq}:{head})"),
        "digest.status.pending": "menunggu", "digest.status.confirmed": "dikonfirmasi",
        "digest.status.dismissed": "ditolak", "digest.status.escalated": "dieskalasi",
        "digest.kind.post": "unggahan", "digest.kind.reply": "balasan", "digest.kind.quote": "kutipan",
        "digest.kind.repost": "bagikan ulang", "digest.kind.like": "suka",
    },
    "en": {
        "digest.title": "Weekly ASN Neutrality Digest",
        "digest.week": "Week {week} ({start} – {end})",
        "digest.scope.all": "All regions and agencies",
        "digest.scope.region": "Region: {value}",
        "digest.scope.agency": "Agency: {value}",
        "digest.subject": "Weekly ASN neutrality digest {week}: {new} new flags, {pending} awaiting review",
        "digest.summary": "Summary",
        "digest.new": "New flags", "digest.confirmed": "Confirmed", "digest.dismissed": "Dismissed",
        "digest.escalated": "Escalated", "digest.pending": "Awaiting review",
        "digest.pending_oldest": "oldest since {when} ({days} days)",
        "digest.pending_ages": "Review backlog age (days)",
        "digest.chart": "Flags per day by kind of act",
        "digest.top_agencies": "Top agencies", "digest.top_regions": "Top regions",
        "digest.top_targets": "Top candidates and parties",
        "digest.flags": "New flags",
        "digest.col.id": "ID", "digest.col.when": "Time (WIB)", "digest.col.asn": "ASN",
        "digest.col.agency": "Agency", "digest.col.region": "Region",
        "digest.col.act": "Act", "digest.col.stance": "Stance", "digest.col.targets": "Targets",
        "digest.col.score": "Score", "digest.col.status": "Status", "digest.col.count": "Count",
        "digest.decided": "Reviewer decisions this week (flag ids)",
        "digest.none": "None.",
        "digest.review_hint": "Reviewers: open a flag with `asn-monitor review show <ID>`.",
        "digest.disclaimer": ("Flags are automatic suspicions awaiting human review, "
                              "not findings of a breach."),
        "digest.footer": "Generated by asn-monitor at {when} WIB.",
        "digest.chain_head": ("Evidence chain head: {seq}:{head} (keep this email; check with "
                              "asn-monitor verify --head {seq}:{head})"),
        "digest.status.pending": "pending", "digest.status.confirmed": "confirmed",
        "digest.status.dismissed": "dismissed", "digest.status.escalated": "escalated",
        "digest.kind.post": "post", "digest.kind.reply": "reply", "digest.kind.quote": "quote",
        "digest.kind.repost": "repost", "digest.kind.like": "like",
    },
})

_MONTHS = {
    "id": ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}
_WEEKDAYS = {"id": ["Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min"],
             "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]}


def fmt_date(d: date, lang: str) -> str:
    """``16 Sep 2024`` with the month abbreviated in ``lang``."""
    return f"{d.day} {_MONTHS.get(lang, _MONTHS['id'])[d.month - 1]} {d.year}"


def fmt_time(moment: datetime, lang: str) -> str:
    """A moment in WIB: ``16 Sep 2024 07:05``."""
    local = moment.astimezone(JAKARTA)
    return f"{fmt_date(local.date(), lang)} {local:%H:%M}"


def chart_png(data: DigestData, lang: str = "id") -> bytes:
    """A stacked bar chart of new flags per day (Monday to Sunday) by kind, as PNG bytes."""
    width, height, left, right, top, bottom = 640, 300, 44, 120, 44, 40
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=12)
    days = data.days
    totals = [sum(data.per_day[d].values()) for d in days]
    # The axis runs to a multiple of a whole step, at most five grid lines.
    step = max(1, math.ceil(max(totals, default=0) / 5))
    peak = step * max(1, math.ceil(max(totals, default=0) / step))
    plot_h = height - top - bottom
    draw.text((left, 8), t("digest.chart", lang), fill="black", font=font)
    for value in range(0, peak + 1, step):
        y = height - bottom - plot_h * value / peak
        draw.line((left, y, width - right, y), fill=(225, 225, 225))
        draw.text((left - 6, y), str(value), fill="black", font=font, anchor="rm")
    slot = (width - left - right) / len(days)
    for i, d in enumerate(days):
        x0 = left + i * slot + slot * 0.2
        x1 = left + (i + 1) * slot - slot * 0.2
        y = float(height - bottom)
        for kind in KINDS:
            count = data.per_day[d][kind]
            if not count:
                continue
            h = plot_h * count / peak
            draw.rectangle((x0, y - h, x1, y), fill=KIND_COLOURS[kind])
            y -= h
        if totals[i]:
            draw.text(((x0 + x1) / 2, y - 2), str(totals[i]), fill="black", font=font, anchor="mb")
        label = f"{_WEEKDAYS.get(lang, _WEEKDAYS['id'])[d.weekday()]} {d.day:02d}/{d.month:02d}"
        draw.text(((x0 + x1) / 2, height - bottom + 6), label, fill="black", font=font, anchor="mt")
    draw.line((left, height - bottom, width - right, height - bottom), fill="black")
    for n, kind in enumerate(KINDS):
        y = top + 8 + n * 20
        draw.rectangle((width - right + 12, y, width - right + 24, y + 12), fill=KIND_COLOURS[kind])
        draw.text((width - right + 30, y + 6), t(f"digest.kind.{kind}", lang), fill="black", font=font,
                  anchor="lm")
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


@dataclass(frozen=True)
class Rendered:
    """A digest ready to mail: subject, plain text, HTML and the chart."""

    subject: str
    text: str
    html: str
    png: bytes
    chart_cid: str


def _env(autoescape: bool) -> jinja2.Environment:
    # autoescape is off only for the text/plain template, which no browser renders.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=autoescape,  # noqa: S701
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True)
    return env


def context(data: DigestData, lang: str, now: datetime, chart_cid: str) -> dict[str, Any]:
    """The values both templates see."""
    scope = data.scope
    value = f"{data.scope_name} ({scope.value})" if data.scope_name else scope.value
    scope_text = (t("digest.scope.all", lang) if scope.kind == "all"
                  else t(f"digest.scope.{scope.kind}", lang, value=value))
    last_day = data.days[-1]
    oldest_days = ((data.as_of or data.end) - data.pending_oldest).days if data.pending_oldest else 0

    def tr(key: str, **values: object) -> str:
        return t(key, lang, **values)

    def label(prefix: str, value: str | None) -> str:
        try:
            return t(f"{prefix}.{value}", lang)
        except KeyError:
            return str(value)

    return {
        "t": tr, "label": label, "lang": lang, "d": data, "scope_text": scope_text,
        "title": t("digest.title", lang),
        "week_text": t("digest.week", lang, week=data.week, start=fmt_date(data.days[0], lang),
                       end=fmt_date(last_day, lang)),
        "decisions": [(k, data.decided.get(k, [])) for k in DECISIONS],
        "oldest_text": (t("digest.pending_oldest", lang, when=fmt_time(data.pending_oldest, lang),
                          days=oldest_days) if data.pending_oldest else ""),
        "when": lambda m: fmt_time(m, lang),
        "stance_words": lambda f: (describe(f.target_stances, data.target_names, lang)
                                   if f.target_stances else ""),
        "generated": fmt_time(now, lang), "chart_cid": chart_cid,
    }


def render(data: DigestData, lang: str, now: datetime, chart_cid: str = CHART_CID) -> Rendered:
    """Subject, text and HTML of the digest, and its chart."""
    ctx = context(data, lang, now, chart_cid)
    subject = t("digest.subject", lang, week=data.week, new=len(data.new_flags), pending=data.pending)
    if data.scope.kind != "all":
        subject += f" ({ctx['scope_text']})"
    html = _env(True).get_template("digest.html.j2").render(ctx)
    text = _env(False).get_template("digest.txt.j2").render(ctx)
    return Rendered(subject, text, html, chart_png(data, lang), chart_cid)
