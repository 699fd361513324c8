"""Evidence files: a flagged post's images, its HTML card and the card's PNG rendering.

Images
    A post's images are named in the interchange format by ``extra["images"]``
    (a list of URLs, or of ``{"url": ..., "alt": ...}`` objects) or
    ``extra["media"]`` (a list of ``{"url": ..., "type": "image"|"video"|...}``;
    only image entries are kept). Each is downloaded once, when the item is
    first flagged, with bounds on count, size and time; a failure is recorded
    as a ``failed`` file row and never stops the cycle.

Cards
    A self-contained HTML page (jinja2 with autoescape, a Content-Security-Policy
    that allows no script and no network, images inlined as data URIs) and,
    where Chromium is installed, a PNG screenshot of it. Cards are rendered after
    the flag's transaction (``evidence render``, ``review show``, ``escalate``).

Every file lives under the evidence folder with owner-only permissions
(0700 folders, 0600 files).
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import httpx
import jinja2

from monitor import i18n, stance_words
from monitor.i18n import t
from monitor.model import Item, region_zone, skb_category
from monitor.safe_fetch import FetchRefused, Resolver, SafeFetcher
from monitor.settings import ReviewSettings
from monitor.zones import zone_time
from storage.db import Database
from storage.evidence import EvidenceFile, FlagDetail, add_files, flag_detail

JAKARTA = ZoneInfo("Asia/Jakarta")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--hide-scrollbars", "--force-device-scale-factor=1")
MAX_REDIRECTS = 3
RASTER_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# Shown on cards: a post's images, a reported page's screenshot, uploads' metadata-free copies.
SHOWN_ROLES = frozenset({"image", "archive_png", "upload_display"})
TEMPLATES = Path(__file__).with_name("templates")


def write_private(root: Path, relative: str, data: bytes) -> Path:
    """Write ``data`` to ``root/relative`` with 0600, creating 0700 folders."""
    path = root / relative
    make_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)
    return path


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) owner-only."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask


# -- images -----------------------------------------------------------------


def image_urls(item: Item) -> list[str]:
    """The image URLs an item names in ``extra["images"]`` or ``extra["media"]``."""
    urls: list[str] = []
    for key in ("images", "media"):
        entries = item.extra.get(key)
        if isinstance(entries, str):
            entries = [entries]
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if isinstance(entry, str):
                url = entry
            elif isinstance(entry, dict) and isinstance(entry.get("url"), str):
                kind = str(entry.get("type") or "image").lower()
                if not (kind.startswith("image") or kind in ("photo", "gif")):
                    continue
                url = entry["url"]
            else:
                continue
            if url not in urls:
                urls.append(url)
    return urls


class ImageFetcher:
    """Downloads a flagged item's images into the evidence folder, within bounds.

    ``transport`` and ``resolver`` are injectable (tests, proxies). At most ``max_count`` images,
    each at most ``max_bytes`` and ``timeout`` seconds; only http(s) URLs and
    image content types are kept.
    """

    def __init__(self, root: Path, settings: ReviewSettings,
                 transport: httpx.BaseTransport | None = None,
                 resolver: Resolver | None = None) -> None:
        self.root = root
        self.max_count = settings.image_max_count
        self.max_bytes = settings.image_max_bytes
        self.timeout = settings.image_timeout
        self.allow_private = settings.image_allow_private
        self.transport = transport
        self.resolver = resolver

    def __call__(self, item: Item) -> list[EvidenceFile]:
        """One file row per image URL (failed ones included), up to the bound."""
        urls = image_urls(item)
        if not urls:
            return []
        out: list[EvidenceFile] = []
        # Each hop is resolved once, vetted and connected to by that address (monitor.safe_fetch).
        with SafeFetcher(timeout=self.timeout, max_redirects=MAX_REDIRECTS,
                         allow_private=self.allow_private, resolver=self.resolver,
                         transport=self.transport,
                         headers={"User-Agent": "asn-monitor evidence"}) as fetcher:
            for n, url in enumerate(urls):
                if n >= self.max_count:
                    out.append(EvidenceFile("image", "failed", url=url,
                                            error=f"more than {self.max_count} images; not fetched"))
                    continue
                try:
                    out.append(self._fetch(fetcher, url))
                except Exception as exc:  # an image is never worth losing the flag over
                    out.append(EvidenceFile("image", "failed", url=url,
                                            error=f"{type(exc).__name__}: {exc}"[:300]))
        return out

    def _fetch(self, fetcher: SafeFetcher, url: str) -> EvidenceFile:
        deadline = time.monotonic() + self.timeout
        try:
            with fetcher.stream(url) as resp:
                return self._save(resp, url, deadline)
        except FetchRefused as exc:
            return EvidenceFile("image", "failed", url=url, error=str(exc)[:300])
        except httpx.HTTPError as exc:
            return EvidenceFile("image", "failed", url=url, error=f"{type(exc).__name__}: {exc}"[:300])

    def _save(self, resp: httpx.Response, url: str, deadline: float) -> EvidenceFile:
        """Check one final response and keep its body under its hash."""
        if resp.status_code != 200:
            return EvidenceFile("image", "failed", url=url, error=f"HTTP {resp.status_code}")
        ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
        if not ctype.startswith("image/"):
            return EvidenceFile("image", "failed", url=url, content_type=ctype or None,
                                error=f"not an image ({ctype or 'no content type'})")
        length = resp.headers.get("content-length")
        if length and length.isdigit() and int(length) > self.max_bytes:
            return EvidenceFile("image", "failed", url=url, content_type=ctype,
                                error=f"larger than {self.max_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                return EvidenceFile("image", "failed", url=url, content_type=ctype,
                                    error=f"larger than {self.max_bytes} bytes")
            if time.monotonic() > deadline:
                return EvidenceFile("image", "failed", url=url, content_type=ctype,
                                    error=f"took longer than {self.timeout:g}s")
            chunks.append(chunk)
        data = b"".join(chunks)
        digest = hashlib.sha256(data).hexdigest()
        ext = mimetypes.guess_extension(ctype) or ".bin"
        # Content-addressed: the same image shared by many posts is stored once.
        relative = f"images/{digest[:2]}/{digest}{ext}"
        write_private(self.root, relative, data)
        return EvidenceFile("image", "ok", url=url, path=relative, sha256=digest, size=len(data),
                            content_type=ctype)


# -- cards ------------------------------------------------------------------


i18n.register({
    "id": {
        "card.title": "Kartu bukti dugaan pelanggaran netralitas ASN",
        "card.flag": "Temuan", "card.account": "ASN", "card.name": "Nama", "card.nip": "NIP",
        "card.agency": "Instansi", "card.region": "Wilayah", "card.handle": "Akun",
        "card.platform": "Platform", "card.time": "Waktu", "card.link": "Tautan",
        "card.kind": "Jenis tindakan", "card.skb": "Kategori SKB 2022", "card.stance": "Sikap",
        "card.targets": "Sasaran", "card.score": "Skor", "card.post": "Isi unggahan",
        "card.subject": "Unggahan yang ditanggapi", "card.images": "Gambar",
        "card.classifier": "Penjelasan pengklasifikasi", "card.hashes": "Sidik bukti (SHA-256)",
        "card.raw": "Respons mentah", "card.evidence": "Catatan bukti",
        "card.fetched": "Diambil", "card.source": "Sumber", "card.generated": "Kartu dibuat",
        "card.status": "Status tinjauan", "card.no_text": "(tanpa teks)",
        "card.image_failed": "gagal diunduh",
        "card.note": "Temuan otomatis: belum menjadi putusan sampai diperiksa peninjau manusia.",
        "card.archive": "Arsip halaman yang dilaporkan", "card.final_url": "URL akhir",
        "card.http": "Status HTTP", "card.redirects": "Pengalihan",
        "card.tls": "Sertifikat TLS (SHA-256)",
        "card.snapshot": "Snapshot MHTML", "card.screenshot": "Tangkapan layar", "card.origin": "Asal",
        "card.origin_report": "Laporan (bukan hasil pemantauan otomatis)",
        "card.ocr": "Teks dari gambar (OCR)",
        "card.withdrawn": "Ditarik", "card.withdrawn_at": "ditarik pada {time}",
    },
    "en": {
        "card.title": "Evidence card: suspected breach of ASN neutrality",
        "card.flag": "Flag", "card.account": "Civil servant", "card.name": "Name", "card.nip": "NIP",
        "card.agency": "Agency", "card.region": "Region", "card.handle": "Account",
        "card.platform": "Platform", "card.time": "Time", "card.link": "Link",
        "card.kind": "Kind of act", "card.skb": "SKB 2022 category", "card.stance": "Stance",
        "card.targets": "Targets", "card.score": "Score", "card.post": "Post text",
        "card.subject": "Post engaged with", "card.images": "Images",
        "card.classifier": "Classifier explanation", "card.hashes": "Evidence hashes (SHA-256)",
        "card.raw": "Raw response", "card.evidence": "Evidence record",
        "card.fetched": "Fetched", "card.source": "Source", "card.generated": "Card generated",
        "card.status": "Review status", "card.no_text": "(no text)",
        "card.image_failed": "download failed",
        "card.note": "Automatic flag: not a finding until a human reviewer has checked it.",
        "card.archive": "Archive of the reported page", "card.final_url": "Final URL",
        "card.http": "HTTP status", "card.redirects": "Redirects",
        "card.tls": "TLS certificate (SHA-256)",
        "card.snapshot": "MHTML snapshot", "card.screenshot": "Screenshot", "card.origin": "Origin",
        "card.origin_report": "Report (not found by automatic monitoring)",
        "card.ocr": "Text from images (OCR)",
        "card.withdrawn": "Withdrawn", "card.withdrawn_at": "withdrawn at {time}",
    },
})


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


def chromium_path(settings: ReviewSettings) -> str | None:
    """The Chromium executable to use, or None when PNG rendering is off or unavailable."""
    if not settings.chromium:
        return None
    return shutil.which(settings.chromium)


def chromium_command(exe: str, profile: str, *args: str) -> list[str]:
    """A headless Chromium command line with a fresh profile and no background traffic."""
    return [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]


def render_png(html: Path, png: Path, exe: str, timeout: float) -> str | None:
    """Screenshot ``html`` into ``png`` with headless Chromium; returns an error or None."""
    with tempfile.TemporaryDirectory(prefix="asn-chromium-") as profile:
        cmd = chromium_command(exe, profile, f"--screenshot={png}", "--window-size=900,1400",
                               "--virtual-time-budget=2000", html.resolve().as_uri())
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"chromium failed: {exc}"
    if proc.returncode != 0 or not png.exists():
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        return f"chromium exited {proc.returncode}: {tail[0][:200]}"
    os.chmod(png, 0o600)
    return None


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
