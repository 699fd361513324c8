"""The intake service: one report in, one report stored whole (or nothing), held for review.

``IntakeService.submit`` is what the CLI (and the web desk) call. A report names the
reported ASN, the reporter (or nobody: anonymous), a note, and a URL and/or uploaded
files. A URL is archived with headless Chromium, images are read with Tesseract, and
the text goes through the same classifier entry point as collected items
(``monitor.pipeline.classify``). The report, its item, flag, evidence and files are
written in one transaction; files are written under temporary names and renamed first.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from monitor import __version__
from monitor.errors import InputError
from monitor.intake.archive import Archive, ArchiveLimits, Archiver
from monitor.intake.connectors import collect_account
from monitor.intake.files import IMAGE_TYPES, display_copy, keep, ocr, sniff
from monitor.model import Account, Fetched, Item, Raw, Result
from monitor.pipeline import AccountIndex, Pipeline, classify
from monitor.settings import Settings
from storage.evidence import EvidenceFile
from storage.intake import (
    ReportedAccount,
    ReportRecord,
    StoredItem,
    account_handle,
    collected_item,
    item_flag,
    roster_account,
    save_report,
)

Channel = Literal["public", "internal"]
_PLATFORMS = {
    "facebook.com": "facebook", "fb.com": "facebook", "fb.watch": "facebook",
    "instagram.com": "instagram", "tiktok.com": "tiktok", "whatsapp.com": "whatsapp",
    "wa.me": "whatsapp", "x.com": "x", "twitter.com": "x", "bsky.app": "bluesky",
    "youtube.com": "youtube", "youtu.be": "youtube", "threads.net": "threads", "t.me": "telegram",
}
# Tracking parameters: the same post shared from two apps is one item.
_TRACKING = re.compile(r"^(utm_.*|fbclid|gclid|igshid|igsh|mibextid|si)$")
MIN_PAGE_TEXT = 20


@dataclass(frozen=True)
class Upload:
    """One uploaded file (a screenshot, a photo, a PDF), as received."""

    name: str
    data: bytes


@dataclass(frozen=True)
class NewAccount:
    """Someone not on the roster: added as an unmonitored account."""

    name: str
    agency: str
    nip: str = ""
    region: str = ""


@dataclass(frozen=True)
class IntakeRequest:
    """One report as the reporter gave it."""

    account_id: str | None = None
    new_account: NewAccount | None = None
    reporter_name: str | None = None
    reporter_contact: str | None = None
    channel: Channel = "public"
    note: str = ""
    url: str | None = None
    uploads: tuple[Upload, ...] = ()
    platform: str | None = None
    """The platform of uploaded screenshots when no URL names it."""
    entered_by: tuple[tuple[str, str], ...] = ()
    """Who typed the report in (the desk's signed-in user), kept in the report's record."""


@dataclass
class IntakeResult:
    """What a report became: its ids, the classifier's reading, the archive's facts."""

    report_id: int
    flag_id: int
    item_key: str
    new_item: bool
    account_id: str
    platform: str
    classification: dict[str, Any] | None = None
    archive: dict[str, Any] | None = None
    ocr: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


def canonical_url(url: str) -> str:
    """The URL reports are matched by: lower-case host, no fragment, no tracking parameters."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        raise InputError(f"{url!r}: not a URL") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise InputError(f"{url!r}: only http(s) URLs can be reported")
    default = {"http": 80, "https": 443}[parts.scheme.lower()]
    netloc = host if port in (None, default) else f"{host}:{port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not _TRACKING.match(k)])
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, query, ""))


def platform_of(url: str) -> str:
    """The platform a URL's host names (facebook, tiktok, ...), ``mastodon`` by path, or ``web``."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    for domain, platform in _PLATFORMS.items():
        if host == domain or host.endswith("." + domain):
            return platform
    # Mastodon runs on any domain; its post URLs are /@user/<numeric id>.
    if re.fullmatch(r"/@[^/]+/\d+/?", parts.path):
        return "mastodon"
    return "web"


def _post_id(url: str) -> str | None:
    """The last path segment when it looks like a post id (X status, Mastodon id, Bluesky rkey)."""
    segment = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return segment if re.fullmatch(r"[A-Za-z0-9_-]{6,}", segment) else None


class IntakeService:
    """Takes reports into the evidence, review and escalation path of collected items."""

    def __init__(self, settings: Settings, pipeline: Pipeline, archiver: Archiver | None = None
                 ) -> None:
        self.settings = settings
        self.pipeline = pipeline
        s = settings.intake
        self.archiver = archiver or Archiver(s.chromium, ArchiveLimits(
            timeout=s.archive_timeout, max_bytes=s.archive_max_bytes,
            max_redirects=s.archive_max_redirects, max_height=s.screenshot_max_height))

    @property
    def root(self) -> Path:
        """The evidence folder."""
        return self.settings.evidence_dir

    def submit(self, req: IntakeRequest) -> IntakeResult:
        """Archive, read, classify and store one report; typed errors say what was wrong."""
        uploads = self._check(req)
        account = self._account(req)
        url = canonical_url(req.url) if req.url else None
        platform = platform_of(url) if url else (req.platform or "unknown").lower()
        db = self.pipeline.store.db
        stored = self._collected(platform, account, str(req.url).strip(), url) if url else None
        seed = url or hashlib.sha256(uploads[0][0].data).hexdigest()
        kind = "url" if url else "upload"
        item_key = (stored.item.key if stored is not None else
                    f"{platform}:{kind}-{hashlib.sha256(seed.encode()).hexdigest()[:32]}")
        now = datetime.now(UTC)
        files, ocr_rows = self._uploads(uploads, platform)
        rec = ReportRecord(
            account=account, channel=req.channel, anonymous=not (req.reporter_name or req.reporter_contact),
            reporter_name=req.reporter_name or None, reporter_contact=req.reporter_contact or None,
            note=req.note or None, url=url, platform=platform, item_key=item_key, received_at=now,
            detail={"submitted_url": req.url, "uploads": [f.sha256 for f in files if f.role == "upload"],
                    **({"entered_by": dict(req.entered_by)} if req.entered_by else {})},
            files=files, stored=stored)
        result = IntakeResult(0, 0, item_key, False, account.account_id, platform, ocr=ocr_rows)
        if item_flag(db, item_key) is None and stored is not None:
            # A connector collected it already: its raw bytes are the evidence, as for any item.
            self._evidence(rec, stored.item, stored.raw_sha256, result)
        elif item_flag(db, item_key) is None:
            self._new_item(rec, url, uploads, ocr_rows, result)
        saved = save_report(db, rec)
        result.report_id, result.flag_id, result.new_item = saved.report_id, saved.flag_id, saved.new_item
        result.files = [{"role": f.role, "path": f.path, "sha256": f.sha256, "size": f.size,
                         "content_type": f.content_type} for f in rec.files]
        return result

    def _collected(self, platform: str, account: ReportedAccount, given: str, url: str
                   ) -> StoredItem | None:
        """The stored item the URL names, after asking the platform's connector when it has one."""
        db = self.pipeline.store.db
        found = collected_item(db, platform, [given, url], _post_id(url))
        if found is None and any(s.platform == platform for s in self.pipeline.sources):
            collect_account(self.pipeline, platform, account.account_id)
            found = collected_item(db, platform, [given, url], _post_id(url))
        return found

    def _check(self, req: IntakeRequest) -> list[tuple[Upload, str, str]]:
        if not req.url and not req.uploads:
            raise InputError("a report needs a URL or at least one uploaded file")
        if req.channel not in ("public", "internal"):
            raise InputError(f"channel {req.channel!r}: expected public or internal")
        limit = self.settings.intake.upload_max_bytes
        out = []
        for up in req.uploads:
            if len(up.data) > limit:
                raise InputError(f"{up.name}: larger than {limit} bytes ([intake] upload_max_bytes)")
            out.append((up, *sniff(up.data, up.name)))
        return out

    def _account(self, req: IntakeRequest) -> ReportedAccount:
        db = self.pipeline.store.db
        if req.account_id:
            found = roster_account(db, req.account_id)
            if found is None:
                raise InputError(f"account {req.account_id!r} is not on the roster "
                                 "(name a new one with --name, --agency and --nip)")
            return found
        new = req.new_account
        if new is None or not new.name.strip() or not new.agency.strip():
            raise InputError("a report names the ASN: a roster account id, or a name and agency")
        nip = new.nip.strip()
        if nip and not re.fullmatch(r"\d{18}", nip):
            raise InputError(f"NIP {nip!r}: expected 18 digits")
        key = nip or f"{new.name.strip().lower()}|{new.agency.strip().lower()}"
        account_id = "lapor-" + hashlib.sha256(key.encode()).hexdigest()[:12]
        known = roster_account(db, account_id)
        return known or ReportedAccount(account_id, new.name.strip(), nip, new.agency.strip(),
                                        new.region.strip(), new=True)

    def _uploads(self, uploads: list[tuple[Upload, str, str]], platform: str
                 ) -> tuple[list[EvidenceFile], list[dict[str, Any]]]:
        s = self.settings.intake
        files: list[EvidenceFile] = []
        texts: list[dict[str, Any]] = []
        for up, ctype, ext in uploads:
            original = keep(self.root, "upload", up.data, ctype, ext)
            files.append(original)
            if ctype in IMAGE_TYPES:
                files.append(keep(self.root, "upload_display", display_copy(up.data, up.name),
                                  "image/png", ".png"))
                got = ocr(up.data, s.ocr_languages, s.ocr_timeout)
                texts.append({"sha256": original.sha256, "text": got.text, "error": got.error})
        return files, texts

    def _new_item(self, rec: ReportRecord, url: str | None, uploads: list[tuple[Upload, str, str]],
                  ocr_rows: list[dict[str, Any]], result: IntakeResult) -> None:
        """Archive, classify and build the evidence of an item reported for the first time."""
        archive = self.archiver.archive(url) if url else None
        s = self.settings.intake
        if archive is not None:
            rec.files[:0] = [
                keep(self.root, "archive_png", archive.screenshot, "image/png", ".png", archive.final_url),
                keep(self.root, "archive_mhtml", archive.snapshot, "multipart/related", ".mhtml",
                     archive.final_url)]
            result.archive = archive.facts()
            if len(archive.text.strip()) < MIN_PAGE_TEXT:
                # A page that draws its text as images: read the screenshot instead.
                got = ocr(archive.screenshot, s.ocr_languages, s.ocr_timeout)
                ocr_rows.append({"sha256": result.archive["screenshot_sha256"], "text": got.text,
                                 "error": got.error, "of": "archive_png"})
        texts = [archive.text] if archive is not None else []
        texts += [o["text"] for o in ocr_rows if o["text"]]
        handle = account_handle(self.pipeline.store.db, rec.account.account_id, rec.platform)
        item = Item(platform=rec.platform, id=rec.item_key.split(":", 1)[1], kind="post",
                    actor=handle or rec.account.account_id, created_at=rec.received_at,
                    text="\n".join(texts).strip() or None,
                    url=archive.final_url if archive is not None else url,
                    extra={"origin": "report", "reported_url": url, "archive": result.archive,
                           "ocr": ocr_rows, "uploads": rec.detail["uploads"]})
        raw = self._raw(archive, uploads, rec.received_at)
        rec.fetched = Fetched(item, raw)
        rec.norm_text = self.pipeline.normalise(item.text or "")
        self._evidence(rec, item, raw.sha256, result)

    def _evidence(self, rec: ReportRecord, item: Item, raw_sha256: str, result: IntakeResult) -> None:
        """Classify the item and build its evidence record (as the pipeline's snapshot does)."""
        handle = account_handle(self.pipeline.store.db, rec.account.account_id, item.platform)
        r = self._classify(item, rec.account)
        account_json = {"account_id": rec.account.account_id, "name": rec.account.name,
                        "nip": rec.account.nip, "agency": rec.account.agency,
                        "region": rec.account.region, "platform": rec.platform, "handle": item.actor,
                        "monitored": handle is not None}
        item_json = item.to_json()
        record = {"item": item_json, "account": account_json, "raw_sha256": raw_sha256,
                  "model": r.model, "version": r.version, "score": r.score}
        digest = hashlib.sha256(json.dumps(record, sort_keys=True, ensure_ascii=False,
                                           default=str).encode()).hexdigest()
        rec.result = r
        rec.evidence_json = (item_json, account_json, digest)
        result.classification = {"flagged": r.flagged, "score": r.score, "stance": r.stance,
                                 "targets": list(r.targets), "category": r.category,
                                 "explanation": r.explanation, "model": r.model, "version": r.version}

    @staticmethod
    def _raw(archive: Archive | None, uploads: list[tuple[Upload, str, str]], when: datetime) -> Raw:
        if archive is not None:
            return Raw(archive.body or archive.snapshot, archive.final_url, archive.fetched_at,
                       "intake-chromium", archive.browser or "chromium", archive.status,
                       archive.headers)
        up, ctype, _ = uploads[0]
        return Raw(up.data, f"upload:{hashlib.sha256(up.data).hexdigest()}", when, "intake-upload",
                   __version__, None, {"content-type": ctype})

    def _classify(self, item: Item, account: ReportedAccount) -> Result:
        p = self.pipeline
        who = Account(account.account_id, account.name, account.nip, account.agency,
                      account.region, item.platform, item.actor)
        index = AccountIndex(by_handle={(item.platform, item.actor.lower()): who})
        return classify([item], p.classifier, p.registries(index), p.batch_size)[0]
