"""Evidence reads and writes: files kept for a flag, and everything a card shows.

Every row written here joins the hash chain in the same transaction
(``storage.chain.append``).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from monitor.errors import ReviewError
from storage import chain
from storage.db import Database
from storage.stream import withdrawn_at
from storage.target_names import parse_target_stances, target_names


@dataclass(frozen=True)
class EvidenceFile:
    """A file kept for a flag: an image from the post or a rendered card.

    ``path`` is relative to the evidence folder. A failed download has
    ``status = "failed"`` and ``error``; it is recorded, never fatal.
    """

    role: str  # image, card_html, card_png
    status: str  # ok, failed
    url: str | None = None
    path: str | None = None
    sha256: str | None = None
    size: int | None = None
    content_type: str | None = None
    error: str | None = None


@dataclass
class FlagDetail:
    """One flag with its evidence: what a card, ``review show`` and a package need."""

    flag_id: int
    item_key: str
    status: str
    score: float
    stance: str
    targets: list[str]
    category: str
    flagged_at: datetime
    model: str
    version: str
    explanation: str
    item: dict[str, Any]
    account: dict[str, Any]
    evidence_id: int
    evidence_sha256: str
    raw_sha256: str
    raw_meta: dict[str, Any]
    files: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    withdrawn_at: datetime | None = None
    """When the author deleted the item (a like taken back), if a stream saw it."""
    target_stances: list[dict[str, Any]] = field(default_factory=list)
    """Each target's own stance: ``{target, stance, score}``."""
    high_confidence: bool = False
    target_names: dict[str, str] = field(default_factory=dict)
    """Candidate and party ids -> names from the registry tables."""

    def file(self, role: str) -> dict[str, Any] | None:
        """The newest successfully written file of ``role``, if any."""
        found = [f for f in self.files if f["role"] == role and f["status"] == "ok"]
        return found[-1] if found else None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out = dict(self.__dict__)
        out["flagged_at"] = self.flagged_at.isoformat()
        return json.loads(json.dumps(out, default=str))


def insert_files(con: duckdb.DuckDBPyConnection, flag_id: int, files: Sequence[EvidenceFile]
                 ) -> list[int]:
    """Write file rows for ``flag_id`` (inside the caller's transaction, which chains them)."""
    ids: list[int] = []
    now = datetime.now(UTC)
    for f in files:
        row = con.execute(
            "INSERT INTO evidence_files (flag_id, role, url, path, sha256, size, content_type, "
            "status, error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING file_id",
            [flag_id, f.role, f.url, f.path, f.sha256, f.size, f.content_type, f.status, f.error,
             now],
        ).fetchone()
        assert row is not None
        ids.append(int(row[0]))
    return ids


def add_files(db: Database, flag_id: int, files: Sequence[EvidenceFile]) -> list[int]:
    """Record files made after the flag (rendered cards), chained, in one transaction."""
    with db.transaction() as con:
        ids = insert_files(con, flag_id, files)
        chain.append_many(con, [("file", i) for i in ids])
        return ids


_DETAIL_SQL = """
    SELECT f.flag_id, f.item_key, coalesce(s.status, 'pending'), f.score, f.stance, f.targets,
           f.category, f.created_at, c.model, c.version, c.explanation, e.item_json,
           e.account_json, e.evidence_id, e.sha256, e.raw_sha256, r.size, r.source_url,
           r.status, r.headers, r.fetched_at, r.connector, r.connector_version,
           f.target_stances, f.high_confidence
    FROM flags f
    JOIN evidence e USING (flag_id)
    LEFT JOIN flag_status s USING (flag_id)
    LEFT JOIN classifications c ON c.id = f.classification_id
    LEFT JOIN raw_items r ON r.sha256 = e.raw_sha256
    WHERE f.flag_id = ?
"""


def flag_detail(db: Database, flag_id: int) -> FlagDetail:
    """Everything about one flag; ``ReviewError`` when there is no such flag."""
    with db.connect() as con:
        row = con.execute(_DETAIL_SQL, [flag_id]).fetchone()
        if row is None:
            raise ReviewError(f"flag {flag_id} does not exist")
        cur = con.execute(
            "SELECT file_id, role, url, path, sha256, size, content_type, status, error, created_at "
            "FROM evidence_files WHERE flag_id = ? ORDER BY file_id", [flag_id])
        names = [d[0] for d in cur.description]
        files = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        reviews = [int(r[0]) for r in con.execute(
            "SELECT review_id FROM reviews WHERE flag_id = ?", [flag_id]).fetchall()]
        refs = [("evidence", int(row[13])), *(("file", int(f["file_id"])) for f in files),
                *(("review", r) for r in reviews)]
        links = chain.links_for(con, refs)
        withdrawn = withdrawn_at(con, row[1])
        registry_names = target_names(con)
    raw_meta = {"size": row[16], "source_url": row[17], "http_status": row[18],
                "headers": json.loads(row[19]) if row[19] else {},
                "fetched_at": row[20].astimezone(UTC).isoformat() if row[20] else None,
                "connector": row[21], "connector_version": row[22]}
    return FlagDetail(
        flag_id=int(row[0]), item_key=row[1], status=row[2], score=float(row[3]), stance=row[4],
        targets=json.loads(row[5]), category=row[6], flagged_at=row[7].astimezone(UTC),
        model=row[8] or "", version=row[9] or "", explanation=row[10] or "",
        item=json.loads(row[11]), account=json.loads(row[12]), evidence_id=int(row[13]),
        evidence_sha256=row[14], raw_sha256=row[15], raw_meta=raw_meta, files=files, links=links,
        withdrawn_at=withdrawn,
        target_stances=parse_target_stances(row[23]), high_confidence=bool(row[24]),
        target_names={k: v for k, v in registry_names.items() if k in set(json.loads(row[5]))},
    )


def raw_body(db: Database, sha256: str) -> bytes | None:
    """The exact raw response bytes (decompressed), or None when purged or missing."""
    with db.connect() as con:
        row = con.execute("SELECT body FROM raw_items WHERE sha256 = ?", [sha256]).fetchone()
    if row is None or row[0] is None:
        return None
    return zlib.decompress(bytes(row[0]))


def flags_without_card(db: Database, flag_ids: Sequence[int] | None = None) -> list[int]:
    """Flags that have no rendered HTML card yet (all, or among ``flag_ids``)."""
    with db.connect() as con:
        rows = con.execute(
            "SELECT f.flag_id FROM flags f JOIN evidence e USING (flag_id) WHERE NOT EXISTS ("
            " SELECT 1 FROM evidence_files x WHERE x.flag_id = f.flag_id AND x.role = 'card_html'"
            " AND x.status = 'ok') ORDER BY f.flag_id").fetchall()
    ids = [int(r[0]) for r in rows]
    return ids if flag_ids is None else [i for i in ids if i in set(flag_ids)]


def verify(db: Database, evidence_dir: Path) -> chain.VerifyReport:
    """Read the chain in one short connection, then check it (files hashed after closing)."""
    with db.connect() as con:
        state = chain.read_state(con)
    return chain.verify_chain(state, evidence_dir)
