"""The escalation package: what Bawaslu sends on to BKN and the employee's PPK.

One folder and a zip of it, under ``<evidence_dir>/escalations/`` (or ``--out``)::

    ringkasan.md | summary.md   who, what act, SKB category, dates, review trail
    card.html, card.png         the evidence card (PNG where Chromium is installed)
    raw/response.bin            the exact bytes the platform served
    raw/response.json           URL, HTTP status, headers, fetched_at, connector, SHA-256
    evidence.json               the normalised item, the account, the classification, chain links
    reviews.json                every decision so far
    images/...                  the post's images, as downloaded
    manifest.json               SHA-256 and size of every file above
    MANIFEST.sha256             the same, for ``sha256sum -c``

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
from monitor.errors import ReviewError
from monitor.evidence.card import TEMPLATES, card_file, ensure_card, local_time
from monitor.evidence.files import make_private_dir, write_private
from monitor.i18n import t
from monitor.model import skb_category
from monitor.settings import Settings
from storage.db import Database
from storage.evidence import raw_body
from storage.review import Review

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
    },
})


def _summary(detail: Any, reviews: list[Any], reviewer: str, now: datetime, lang: str) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=False,  # noqa: S701  (Markdown, not HTML)
                             undefined=jinja2.ChainableUndefined, keep_trailing_newline=True)
    env.filters["local_time"] = local_time
    category = skb_category(str(detail.item.get("kind")))
    return env.get_template("escalation_summary.md.j2").render(
        m=lambda key, **kw: t(key, lang, **kw), d=detail, item=detail.item, account=detail.account,
        subject=detail.item.get("subject") or None, skb=t(f"category.{category}", lang),
        stance=t(f"stance.{detail.stance}", lang), reviews=reviews, reviewer=reviewer, now=now,
        route_kasn=t("esc.kasn", lang))


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
    files["ringkasan.md" if lang == "id" else "summary.md"] = _summary(
        detail, reviews, reviewer, now, lang).encode("utf-8")
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
        if f["role"] == "image" and f["status"] == "ok":
            files[f"images/{Path(f['path']).name}"] = (root / f["path"]).read_bytes()
    evidence = detail.to_json()
    files["evidence.json"] = _json(evidence)
    files["reviews.json"] = _json([r.to_json() for r in reviews])
    manifest: dict[str, Any] = {"flag_id": flag_id, "created_at": now.isoformat(), "created_by": reviewer,
                "route": ["Bawaslu", "BKN", "PPK"], "algorithm": "sha256",
                "files": {p: {"sha256": hashlib.sha256(b).hexdigest(), "size": len(b)}
                          for p, b in sorted(files.items())}}
    files["manifest.json"] = _json(manifest)
    files["MANIFEST.sha256"] = "".join(
        f"{v['sha256']}  {p}\n" for p, v in manifest["files"].items()).encode()
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
    return {"folder": folder, "zip": zip_path,
            "zip_sha256": hashlib.sha256(zip_path.read_bytes()).hexdigest(),
            "manifest_sha256": hashlib.sha256(files["manifest.json"]).hexdigest(),
            "files": sorted(files)}


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str).encode("utf-8")
