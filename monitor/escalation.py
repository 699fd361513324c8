"""The escalation package: what Bawaslu sends on to BKN and the employee's PPK.

One folder and a zip of it, under ``<evidence_dir>/escalations/`` (or ``--out``)::

    ringkasan.md | summary.md   who, what act, SKB category, dates, review trail
    surat.pdf, surat.html       the letter to BKN (monitor/letter.py; PDF where Chromium is)
    card.html, card.png         the evidence card (PNG where Chromium is installed)
    raw/response.bin            the exact bytes the platform served
    raw/response.json           URL, HTTP status, headers, fetched_at, connector, SHA-256
    evidence.json               the normalised item, the account, the classification, chain links
    reviews.json                every decision so far
    images/...                  the post's images, as downloaded
    archive/...                 a reported page's full-page PNG and MHTML snapshot
    uploads/...                 uploaded images' metadata-free copies, PDFs as uploaded
    reports.json                the reports behind the flag, without the reporters' identity
    manifest.json               SHA-256 and size of every file above, and the chain's head
    MANIFEST.sha256             the same, for ``sha256sum -c``
    anchor.json                 the chain's head SEQ:HASH and the timestamp tokens below
    timestamps/*.tsr            RFC 3161 tokens over manifest.json and the chain's head

Since 2024 KASN's neutrality duties sit with BKN, so the route is
Bawaslu -> BKN -> PPK.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from monitor import i18n
from monitor.anchoring import head_now, package_files
from monitor.errors import ReviewError
from monitor.evidence.card import TEMPLATES, card_file, ensure_card, local_time
from monitor.evidence.files import make_private_dir, write_private
from monitor.i18n import t
from monitor.letter import render_letter
from monitor.model import region_zone, skb_category
from monitor.settings import Settings
from storage.db import Database
from storage.evidence import raw_body
from storage.intake import reports_of_flag
from storage.review import Review

# Files kept for a flag that go into the package, and the folder each goes to.
_PACKAGE_FOLDERS = {"image": "images", "archive_png": "archive", "archive_mhtml": "archive",
                    "upload": "uploads", "upload_display": "uploads"}

i18n.register({
    "id": {
        "esc.title": "Penerusan dugaan pelanggaran netralitas ASN – temuan #{flag}",
        "esc.route": "Jalur penerusan: Bawaslu → BKN (Badan Kepegawaian Negara) → PPK instansi ASN",
        "esc.kasn": "Sejak 2024 tugas pengawasan netralitas ASN dari KASN dialihkan ke BKN.",
        "esc.asn": "ASN yang diduga melanggar", "esc.act": "Tindakan",
        "esc.basis": "Dasar", "esc.basis_text": (
            "UU 5/2014 dan UU 20/2023 tentang Aparatur Sipil Negara (asas netralitas); SKB 2022 "
            "tentang Pedoman Pengawasan Netralitas Pegawai ASN: larangan {act} konten kampanye "
            "di media sosial."),
        "esc.review": "Tinjauan", "esc.evidence": "Bukti terlampir",
        "esc.confirmed": "Dikonfirmasi oleh {who} pada {when}",
        "esc.escalated_by": "Diteruskan oleh {who} pada {when}",
        "esc.manifest": "Sidik SHA-256 setiap berkas ada di manifest.json dan MANIFEST.sha256.",
        "esc.act_time": "Waktu tindakan", "esc.seen": "Pertama terlihat",
        "esc.reports": "{n} laporan (tanpa identitas pelapor)",
        "esc.uploads": "berkas unggahan pelapor (gambar tanpa metadata, PDF apa adanya)",
    },
    "en": {
        "esc.title": "Escalation of a suspected breach of ASN neutrality – flag #{flag}",
        "esc.route": "Route: Bawaslu → BKN (National Civil Service Agency) → the ASN's PPK",
        "esc.kasn": "Since 2024 KASN's neutrality duties have moved to BKN.",
        "esc.asn": "Civil servant concerned", "esc.act": "Act",
        "esc.basis": "Basis", "esc.basis_text": (
            "Law 5/2014 and Law 20/2023 on the Civil Service (neutrality); the 2022 joint decree "
            "(SKB) on supervising ASN neutrality: no {act} of campaign content on social media."),
        "esc.review": "Review", "esc.evidence": "Enclosed evidence",
        "esc.confirmed": "Confirmed by {who} on {when}",
        "esc.escalated_by": "Escalated by {who} on {when}",
        "esc.manifest": "The SHA-256 of every file is in manifest.json and MANIFEST.sha256.",
        "esc.act_time": "Time of the act", "esc.seen": "First seen",
        "esc.reports": "{n} report(s) (without the reporters' identity)",
        "esc.uploads": "files the reporter uploaded (images without metadata, PDFs as uploaded)",
    },
})


def _summary(detail: Any, reviews: list[Any], reviewer: str, now: datetime, lang: str,
             reports: list[dict[str, Any]] | None = None) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=False,  # noqa: S701  (Markdown, not HTML)
                             undefined=jinja2.ChainableUndefined, keep_trailing_newline=True)
    env.filters["local_time"] = local_time
    category = skb_category(str(detail.item.get("kind")))
    return env.get_template("escalation_summary.md.j2").render(
        m=lambda key, **kw: t(key, lang, **kw), d=detail, item=detail.item, account=detail.account,
        subject=detail.item.get("subject") or None, skb=t(f"category.{category}", lang),
        stance=t(f"stance.{detail.stance}", lang), reviews=reviews, reviewer=reviewer, now=now,
        route_kasn=t("esc.kasn", lang), reports=reports or [],
        zone=region_zone(detail.account.get("region")))


def build_package(db: Database, settings: Settings, reviews: list[Review], flag_id: int, reviewer: str,
                  out_dir: Path | None, lang: str) -> dict[str, Any]:
    """Write the package folder and zip of ``flag_id`` with its ``reviews``; returns paths and hashes."""
    root = settings.evidence_dir
    detail = ensure_card(db, root, settings.review, flag_id, lang)
    now = datetime.now(UTC)
    base = out_dir or root / "escalations"
    make_private_dir(base)
    stem = f"flag-{flag_id}-{now.strftime('%Y%m%dT%H%M%SZ')}"
    # A package of the same second exists when an escalation was killed after writing it and
    # before recording it, and is retried at once: the retry gets a name of its own.
    for n in range(1, 100):
        name = stem if n == 1 else f"{stem}-{n}"
        folder = base / name
        if not folder.exists() and not (base / f"{name}.zip").exists():
            break
    else:
        raise ReviewError(f"{base / stem}: 99 packages of this second exist already; try again in a second")
    files: dict[str, bytes] = {}
    reports = reports_of_flag(db, flag_id)
    files["ringkasan.md" if lang == "id" else "summary.md"] = _summary(
        detail, reviews, reviewer, now, lang, reports).encode("utf-8")
    for role, target in (("card_html", "card.html"), ("card_png", "card.png")):
        card = card_file(detail, role, lang)
        if card is not None:
            files[target] = (root / card["path"]).read_bytes()
    body = raw_body(db, detail.raw_sha256)
    if body is not None:
        files["raw/response.bin"] = body
    files["raw/response.json"] = _json({"sha256": detail.raw_sha256, "purged": body is None,
                                        **detail.raw_meta})
    for f in detail.files:
        sub = _PACKAGE_FOLDERS.get(f["role"])
        if f["role"] == "upload" and f["content_type"] != "application/pdf":
            sub = None  # the metadata-free copy goes instead: EXIF may locate the reporter
        if sub and f["status"] == "ok":
            files[f"{sub}/{Path(f['path']).name}"] = (root / f["path"]).read_bytes()
    if reports:
        # Channel, time, URL and note: never the reporter's name or contact (UU 27/2022).
        files["reports.json"] = _json(reports)
    evidence = detail.to_json()
    files["evidence.json"] = _json(evidence)
    files["reviews.json"] = _json([r.to_json() for r in reviews])
    # The letter lists every file above with its hash; the manifest then covers the letter too.
    letter = render_letter(db, settings, detail, reviews, reviewer, now,
                           {p: hashlib.sha256(b).hexdigest() for p, b in sorted(files.items())})
    for key in ("surat.html", "surat.pdf"):
        if key in letter:
            files[key] = letter[key]
    # The chain's head goes out with the package: whoever keeps it can later run
    # ``verify --head`` against the server's chain.
    head = head_now(db)
    manifest: dict[str, Any] = {"flag_id": flag_id, "created_at": now.isoformat(), "created_by": reviewer,
                "route": ["Bawaslu", "BKN", "PPK"], "algorithm": "sha256",
                "chain_head": {"seq": head.seq, "hash": head.hash, "text": str(head)},
                "files": {p: {"sha256": hashlib.sha256(b).hexdigest(), "size": len(b)}
                          for p, b in sorted(files.items())}}
    files["manifest.json"] = _json(manifest)
    files["MANIFEST.sha256"] = "".join(
        f"{v['sha256']}  {p}\n" for p, v in manifest["files"].items()).encode()
    # Timestamp tokens over the manifest (and the newest over the head) travel with it.
    files.update(package_files(db, settings, files["manifest.json"], head))
    # Written under ".partial" names and renamed when complete: a crash part-way leaves a
    # name that says so, never a package that looks whole but lacks files.
    partial = base / f".{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    for rel, data in files.items():
        write_private(partial, rel, data)
    zip_path = base / f"{name}.zip"
    zip_partial = base / f".{name}.zip.partial"
    with zipfile.ZipFile(zip_partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for rel in sorted(files):
            zf.write(partial / rel, f"{name}/{rel}")
    zip_partial.chmod(0o600)
    os.replace(partial, folder)
    os.replace(zip_partial, zip_path)  # last: a zip under its final name is a whole package
    return {"folder": folder, "zip": zip_path, "letter_number": letter["number"],
            "letter": folder / "surat.pdf" if "surat.pdf" in files else None,
            "letter_error": letter.get("error"),
            "zip_sha256": hashlib.sha256(zip_path.read_bytes()).hexdigest(),
            "manifest_sha256": hashlib.sha256(files["manifest.json"]).hexdigest(),
            "files": sorted(files)}


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str).encode("utf-8")
