"""Backups that restore: a consistent copy of the database and the evidence folder, checked.

A backup is one folder::

    database.duckdb      the DuckDB file, checkpointed and copied under a short lock
    evidence/...         the evidence folder (images, cards, escalation packages)
    manifest.json        SHA-256 and size of every file above, the chain head it holds

It is written under a ``.partial`` name and renamed when whole. The database
is copied first: every evidence file it refers to was written before its row
was committed, so it is on disk by the time the folder is copied after it.

``restore`` checks every file against the manifest (a changed or missing file
is refused, by name), copies them into a new folder and runs ``verify`` on the
result, including the head the manifest recorded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.anchoring import verify_all
from monitor.errors import InputError
from monitor.evidence.files import make_private_dir
from monitor.logs import event
from monitor.settings import Settings
from storage.anchors import Head
from storage.backup import check_copy, snapshot
from storage.chain import VerifyReport
from storage.db import Database

log = logging.getLogger("asn_monitor.backup")
DATABASE = "database.duckdb"
EVIDENCE = "evidence"
MANIFEST = "manifest.json"
PREFIX = "asn-monitor-backup-"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy_evidence(source: Path, target: Path) -> None:
    """Copy the evidence folder, leaving out half-written files (``.partial``, ``.tmp``)."""
    if not source.exists():
        make_private_dir(target)
        return
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.partial", ".*.partial", "*.tmp"),
                    dirs_exist_ok=True)


@dataclass
class Backup:
    """A written backup: its folder, the chain head it holds and how many files it lists."""

    folder: Path
    head: Head
    files: int
    decisions: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"folder": str(self.folder), "seq": self.head.seq, "head": self.head.hash,
                "files": self.files, "decisions": self.decisions, "seconds": round(self.seconds, 3)}


def backup(db: Database, settings: Settings, out: Path) -> Backup:
    """Write a backup into the new folder ``out`` (refused when it exists and is not empty)."""
    started = datetime.now(UTC)
    out = out.resolve()
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out}: exists and is not empty; give a new folder")
    if out.is_relative_to(settings.evidence_dir):
        raise InputError(f"{out}: inside the evidence folder; every later backup would copy it again")
    partial = out.with_name(f".{out.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    make_private_dir(partial)
    head = snapshot(db, partial / DATABASE)
    _copy_evidence(settings.evidence_dir, partial / EVIDENCE)
    files = {}
    for path in sorted(p for p in partial.rglob("*") if p.is_file()):
        rel = path.relative_to(partial).as_posix()
        files[rel] = {"sha256": _sha256(path), "size": path.stat().st_size}
    _, decisions = check_copy(partial / DATABASE)
    manifest = {"format": 1, "created_at": started.isoformat(), "database": DATABASE,
                "evidence": EVIDENCE, "chain_head": {"seq": head.seq, "hash": head.hash},
                "decisions": decisions, "files": files}
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    if out.exists():
        out.rmdir()
    os.replace(partial, out)
    seconds = (datetime.now(UTC) - started).total_seconds()
    event(log, "backup_done", folder=str(out), seq=head.seq, files=len(files), seconds=round(seconds, 3))
    return Backup(out, head, len(files), decisions, seconds)


def check_backup(folder: Path) -> dict[str, Any]:
    """The manifest, once every file it lists is present with its SHA-256 and size.

    ``InputError`` names the first file that is missing, changed, or not listed.
    """
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files: dict[str, dict[str, Any]] = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{folder / MANIFEST}: not a backup manifest: {exc}") from None
    for rel, want in sorted(files.items()):
        path = folder / rel
        if not path.is_file():
            raise InputError(f"{path}: listed in the backup's manifest but missing")
        if path.stat().st_size != want["size"] or _sha256(path) != want["sha256"]:
            raise InputError(f"{path}: does not match its SHA-256 in the backup's manifest "
                             "(corrupted or changed); not restored")
    extra = [p.relative_to(folder).as_posix() for p in folder.rglob("*")
             if p.is_file() and p.relative_to(folder).as_posix() not in files and p.name != MANIFEST]
    if extra:
        raise InputError(f"{folder / extra[0]}: not in the backup's manifest; not restored")
    return manifest


@dataclass
class Restored:
    """A restore: where the database and evidence went, and verify's report on them."""

    database: Path
    evidence: Path
    report: VerifyReport
    head: Head
    decisions: int = 0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"database": str(self.database), "evidence_dir": str(self.evidence),
                "decisions": self.decisions, "backup_head": str(self.head),
                "verify": self.report.to_json()}


def restore(folder: Path, to: Path, settings: Settings) -> Restored:
    """Check ``folder`` against its manifest, copy it into the new folder ``to``, run verify."""
    manifest = check_backup(folder)
    to = to.resolve()
    if to.exists() and any(to.iterdir()):
        raise InputError(f"{to}: exists and is not empty; restore into a new folder")
    partial = to.with_name(f".{to.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    make_private_dir(partial)
    shutil.copy2(folder / DATABASE, partial / DATABASE)
    wal = folder / f"{DATABASE}.wal"
    if wal.exists():
        shutil.copy2(wal, partial / f"{DATABASE}.wal")
    _copy_evidence(folder / EVIDENCE, partial / EVIDENCE)
    if to.exists():
        to.rmdir()
    os.replace(partial, to)
    head = Head(int(manifest["chain_head"]["seq"]), str(manifest["chain_head"]["hash"]))
    _, decisions = check_copy(to / DATABASE)
    restored = settings.model_copy(deep=True)
    restored.storage.path = to / DATABASE
    restored.review.evidence_dir = to / EVIDENCE
    db = Database(to / DATABASE, lock_timeout=settings.storage.lock_timeout)
    db.migrate()  # a backup made by an older version gets this version's tables
    report = verify_all(db, restored, [head])
    return Restored(to / DATABASE, to / EVIDENCE, report, head, decisions)


def daily_backup(db: Database, settings: Settings, now: datetime | None = None) -> Backup | None:
    """The daemon's job: a backup under ``[backup] dir``, then all but the newest ``keep`` removed."""
    b = settings.backup
    if b.dir is None:
        return None
    parent = settings.resolve(b.dir)
    make_private_dir(parent)
    for stale in parent.glob(f".{PREFIX}*.partial"):  # left by a backup that was killed
        shutil.rmtree(stale, ignore_errors=True)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    done = backup(db, settings, parent / f"{PREFIX}{stamp}")
    kept = sorted(p for p in parent.iterdir() if p.is_dir() and p.name.startswith(PREFIX))
    for old in kept[:-b.keep]:
        shutil.rmtree(old)
        event(log, "backup_removed", folder=str(old))
    return done
