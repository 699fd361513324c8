"""The evidence card of a flag: a self-contained HTML page and, where Chromium is, its PNG.

The page is jinja2 with autoescape, a Content-Security-Policy that allows no script and no
network, and images inlined as data URIs. Cards are rendered after the flag's transaction
(``evidence render``, ``review show``, ``escalate``) and kept as evidence files.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jinja2

from monitor import i18n, stance_words
from monitor.evidence import card_text  # noqa: F401  (registers the card's words)
from monitor.evidence.chromium import chromium_path, render_png
from monitor.evidence.files import write_private
from monitor.evidence.images import RASTER_TYPES
from monitor.i18n import t
from monitor.model import region_zone, skb_category
from monitor.settings import ReviewSettings
from monitor.zones import zone_time
from storage.db import Database
from storage.evidence import EvidenceFile, FlagDetail, add_files, flag_detail

TEMPLATES = Path(__file__).parent.parent / "templates"
# Shown on cards: a post's images, a reported page's screenshot, uploads' metadata-free copies.
SHOWN_ROLES = frozenset({"image", "archive_png", "upload_display"})


def safe_href(url: Any) -> str | None:
    """``url`` when it is http(s), else None: autoescape does not stop ``javascript:`` links."""
    if isinstance(url, str) and urlparse(url).scheme in ("http", "https"):
        return url
    return None


def local_time(value: str | datetime | None, zone: str = "WIB") -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM:SS WITA (UTC ...)`` in ``zone`` (WIB, WITA or WIT)."""
    from monitor.localtime import show

    if value is None:
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return f"{show(when, zone, seconds=True)} ({when.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S UTC')})"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.ChainableUndefined)
    env.filters["local_time"] = local_time
    env.filters["safe_href"] = safe_href
    env.filters["zone_time"] = zone_time
    return env


def card_html(detail: FlagDetail, root: Path, lang: str = i18n.DEFAULT) -> str:
    """The evidence card of one flag as a self-contained HTML page."""
    images = []
    for f in detail.files:
        if f["role"] not in SHOWN_ROLES:
            continue
        data_uri = None
        if f["status"] == "ok" and f["content_type"] in RASTER_TYPES:
            try:
                blob = (root / f["path"]).read_bytes()
                data_uri = f"data:{f['content_type']};base64,{base64.b64encode(blob).decode()}"
            except OSError:
                data_uri = None
        images.append({**f, "data_uri": data_uri})
    evidence_link = next((link for link in detail.links if link["kind"] == "evidence"), None)
    item = detail.item
    return _environment().get_template("evidence_card.html.j2").render(
        lang=lang, m=lambda key, **kw: t(key, lang, **kw), d=detail, item=item,
        account=detail.account, subject=item.get("subject") or None, images=images,
        skb=t(f"category.{skb_category(str(item.get('kind')))}", lang),
        stance=t(f"stance.{detail.stance}", lang) if detail.stance else "",
        stance_words=stance_words.describe(detail.target_stances, detail.target_names, lang),
        confidence=stance_words.confidence(detail.high_confidence, lang),
        evidence_link=evidence_link, generated=datetime.now(UTC), archive=item.get("archive"),
        snapshot=next((f for f in detail.files if f["role"] == "archive_mhtml"), None),
        zone=region_zone(detail.account.get("region")),  # the ASN's local time, zone named
    )


def card_file(detail: FlagDetail, role: str, lang: str) -> dict[str, Any] | None:
    """The flag's rendered card of ``role`` (card_html, card_png) in ``lang``, if any."""
    suffix = f"card-{lang}." + ("html" if role == "card_html" else "png")
    found = [f for f in detail.files if f["role"] == role and f["status"] == "ok"
             and str(f["path"]).endswith(suffix)]
    return found[-1] if found else None


def ensure_card(db: Database, root: Path, settings: ReviewSettings, flag_id: int,
                lang: str | None = None, png: bool = True) -> FlagDetail:
    """Render the flag's card in ``lang`` (HTML, and PNG where Chromium is) unless already there."""
    detail = flag_detail(db, flag_id)
    lang = lang or settings.language
    exe = chromium_path(settings) if png else None
    html = card_file(detail, "card_html", lang)
    if html is not None and (exe is None or card_file(detail, "card_png", lang) is not None):
        return detail
    new: list[EvidenceFile] = []
    html_rel = f"cards/{flag_id}/card-{lang}.html"
    if html is None:
        data = card_html(detail, root, lang).encode("utf-8")
        write_private(root, html_rel, data)
        new.append(EvidenceFile("card_html", "ok", path=html_rel, size=len(data),
                                sha256=hashlib.sha256(data).hexdigest(), content_type="text/html"))
    if exe is not None:
        png_rel = f"cards/{flag_id}/card-{lang}.png"
        error = render_png(root / html_rel, root / png_rel, exe, settings.render_timeout)
        if error is None:
            data = (root / png_rel).read_bytes()
            new.append(EvidenceFile("card_png", "ok", path=png_rel, size=len(data),
                                    sha256=hashlib.sha256(data).hexdigest(), content_type="image/png"))
        else:
            new.append(EvidenceFile("card_png", "failed", path=None, error=error))
    add_files(db, flag_id, new)
    return flag_detail(db, flag_id)


def render_cards(db: Database, root: Path, settings: ReviewSettings, flag_ids: Sequence[int],
                 lang: str | None = None, png: bool = True) -> list[FlagDetail]:
    """``ensure_card`` for each flag, in order."""
    return [ensure_card(db, root, settings, f, lang, png) for f in flag_ids]
