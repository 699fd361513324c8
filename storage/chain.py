"""The tamper-evident hash chain over evidence records, evidence files, reviews and reports.

Every evidence row, evidence file row, review row and report row gets one link in
``chain``, appended in the same transaction as the row itself::

    record_hash = sha256(prev_hash + "\\n" + canonical_json(content))

``content`` is read back from the database with the same SQL that ``verify``
uses (``CONTENT_SQL``), so what is hashed is exactly what is stored. The first
link's ``prev_hash`` is 64 zeros. ``seq`` is the primary key, so two writers that
race for the same position conflict and one of them rolls back: the chain
never forks.

DuckDB has no triggers or row-level permissions, so nothing at the database
level stops someone with the file from editing or deleting a row. The chain is
the guard: ``verify_chain`` recomputes every link, re-hashes the stored raw
bytes and the evidence files on disk, and names the first link that no longer
matches, and any row that is not in the chain at all.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb

LinkKind = Literal["evidence", "file", "review", "report"]
GENESIS = "0" * 64
FORMAT = 1  # bump (with a migration note) if the canonical content ever changes

# One query per kind; ``{where}`` is either empty (verify: every row) or one id.
CONTENT_SQL: dict[str, tuple[str, str]] = {
    "evidence": ("""
        SELECT e.evidence_id, e.flag_id, e.item_key, e.raw_sha256, e.item_json, e.account_json,
               e.sha256, e.created_at,
               r.size AS raw_size, r.source_url, r.status AS http_status, r.headers,
               r.fetched_at, r.connector, r.connector_version,
               f.score, f.stance, f.targets, f.category, f.account_id,
               f.created_at AS flagged_at, c.model, c.version, c.explanation
        FROM evidence e
        LEFT JOIN raw_items r ON r.sha256 = e.raw_sha256
        LEFT JOIN flags f ON f.flag_id = e.flag_id
        LEFT JOIN classifications c ON c.id = f.classification_id
        {where} ORDER BY e.evidence_id""", "e.evidence_id"),
    "file": ("""
        SELECT file_id, flag_id, role, url, path, sha256, size, content_type, status, error,
               created_at
        FROM evidence_files {where} ORDER BY file_id""", "file_id"),
    "review": ("""
        SELECT review_id, flag_id, decision, reason, note, reviewer, decided_at, detail
        FROM reviews {where} ORDER BY review_id""", "review_id"),
    # A report from the public or staff; the reporter's personal data are not in it (only an id).
    "report": ("""
        SELECT report_id, item_key, flag_id, account_id, channel, reporter_id, anonymous, note,
               url, platform, received_at, detail
        FROM reports {where} ORDER BY report_id""", "report_id"),
}
JSON_COLUMNS = frozenset({"item_json", "account_json", "headers", "targets", "detail"})


def _value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        # TIMESTAMPTZ comes back in the session's time zone: hash it in UTC.
        return value.astimezone(UTC).isoformat()
    if name in JSON_COLUMNS and isinstance(value, str):
        return json.loads(value)
    return value


def canonical(content: Mapping[str, Any]) -> bytes:
    """The one serialization that is hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode("utf-8")


def link_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    """``sha256(prev_hash + "\\n" + canonical(content))`` in hex."""
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(content)).hexdigest()


def _contents(con: duckdb.DuckDBPyConnection, kind: str, ref_ids: Sequence[int] | None
              ) -> dict[int, dict[str, Any]]:
    sql, id_col = CONTENT_SQL[kind]
    where = f"WHERE {id_col} IN (SELECT unnest(?))" if ref_ids is not None else ""
    cur = con.execute(sql.format(where=where), [list(ref_ids)] if ref_ids is not None else [])
    names = [d[0] for d in cur.description]
    out: dict[int, dict[str, Any]] = {}
    for row in cur.fetchall():
        content = {n: _value(n, v) for n, v in zip(names, row, strict=True)}
        content["kind"] = kind
        content["format"] = FORMAT
        out[int(row[0])] = content
    return out


def append(con: duckdb.DuckDBPyConnection, kind: LinkKind, ref_id: int) -> str:
    """Add the link for row ``ref_id`` of ``kind`` (inside the caller's transaction)."""
    return append_many(con, [(kind, ref_id)])[-1]


def append_many(con: duckdb.DuckDBPyConnection, refs: Sequence[tuple[LinkKind, int]]) -> list[str]:
    """Add links for ``refs`` in the given order (inside the caller's transaction).

    The contents are read with one query per kind, not one per row: a page of
    hundreds of flags is chained in a few queries.
    """
    if not refs:
        return []
    contents = {kind: _contents(con, kind, [r for k, r in refs if k == kind])
                for kind in {k for k, _ in refs}}
    last = con.execute("SELECT seq, record_hash FROM chain ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (int(last[0]), str(last[1])) if last else (0, GENESIS)
    now = datetime.now(UTC)
    rows: list[list[Any]] = []
    hashes: list[str] = []
    for kind, ref_id in refs:
        content = contents[kind].get(ref_id)
        if content is None:
            raise LookupError(f"{kind} {ref_id} does not exist")
        seq += 1
        record_hash = link_hash(prev, content)
        rows.append([seq, kind, ref_id, prev, record_hash, now])
        hashes.append(record_hash)
        prev = record_hash
    con.executemany("INSERT INTO chain VALUES (?, ?, ?, ?, ?, ?)", rows)
    return hashes


@dataclass
class Problem:
    """One thing verify found wrong: where (seq, kind, id) and what."""

    seq: int | None
    kind: str
    ref_id: int | None
    what: str

    def __str__(self) -> str:
        where = f"link {self.seq}" if self.seq is not None else "outside the chain"
        return f"{where} ({self.kind} {self.ref_id}): {self.what}"


@dataclass
class VerifyReport:
    """What ``verify`` checked and the problems it found, in chain order."""

    links: int = 0
    raw_checked: int = 0
    raw_purged: int = 0
    files_checked: int = 0
    head: str = GENESIS
    heads_checked: int = 0  # heads given to verify (storage.anchors), each still in the chain?
    tokens_checked: int = 0  # timestamp tokens checked against the chain
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every link, raw body and file matches."""
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; ``first_broken`` names the first broken link."""
        first = self.problems[0] if self.problems else None
        return {
            "ok": self.ok, "links": self.links, "raw_checked": self.raw_checked,
            "raw_purged": self.raw_purged, "files_checked": self.files_checked, "head": self.head,
            "seq": self.links, "heads_checked": self.heads_checked,
            "tokens_checked": self.tokens_checked,
            "first_broken": None if first is None else {**first.__dict__, "message": str(first)},
            "problems": [str(p) for p in self.problems[:100]],
        }


@dataclass
class ChainState:
    """Everything ``verify`` needs, read in one short connection."""

    contents: dict[str, dict[int, dict[str, Any]]]
    links: list[tuple[Any, ...]]
    raw: list[tuple[Any, ...]]


def read_state(con: duckdb.DuckDBPyConnection) -> ChainState:
    """Read every chained record, every link and the raw bodies behind the evidence."""
    return ChainState(
        contents={kind: _contents(con, kind, None) for kind in CONTENT_SQL},
        links=con.execute(
            "SELECT seq, kind, ref_id, prev_hash, record_hash FROM chain ORDER BY seq").fetchall(),
        raw=con.execute(
            "SELECT e.raw_sha256, r.sha256, r.body, r.size, r.purged_at FROM "
            "(SELECT DISTINCT raw_sha256 FROM evidence) e "
            "LEFT JOIN raw_items r ON r.sha256 = e.raw_sha256").fetchall(),
    )


def verify_chain(state: ChainState, evidence_dir: Path) -> VerifyReport:
    """Recompute every link, re-hash raw bytes and evidence files; report what broke.

    Works on a ``ChainState`` read beforehand, so the database is not held while
    files are hashed (the daemon may be waiting for it).
    """
    report = VerifyReport()
    contents = state.contents
    raw = _raw_problems(state.raw, report)
    prev = GENESIS
    seen: set[tuple[str, int]] = set()
    for expected_seq, (seq, kind, ref_id, prev_hash, record_hash) in enumerate(state.links, start=1):
        report.links += 1
        seq, ref_id = int(seq), int(ref_id)
        seen.add((kind, ref_id))
        problems: list[str] = []
        if seq != expected_seq:
            problems.append(f"sequence gap: expected link {expected_seq}")
        if prev_hash != prev:
            problems.append("prev_hash does not match the previous link (a link was removed or "
                            "reordered)")
        content = contents.get(kind, {}).get(ref_id)
        if content is None:
            problems.append("the record was deleted")
        elif link_hash(prev_hash, content) != record_hash:
            problems.append("the record's content changed since it was chained")
        if content is not None and kind == "evidence" and content["raw_sha256"] in raw:
            problems.append(raw[content["raw_sha256"]])
        if content is not None and kind == "file":
            problem = _file_problem(content, evidence_dir, report)
            if problem:
                problems.append(problem)
        report.problems.extend(Problem(seq, kind, ref_id, p) for p in problems)
        prev = record_hash
    report.head = prev
    for kind, rows in contents.items():
        for ref_id in rows:
            if (kind, ref_id) not in seen:
                report.problems.append(Problem(None, kind, ref_id, "row is not in the chain "
                                               "(written outside asn-monitor)"))
    return report


def _raw_problems(rows: Sequence[tuple[Any, ...]], report: VerifyReport) -> dict[str, str]:
    """Re-hash the stored raw bytes of every evidence record; returns sha -> problem."""
    out: dict[str, str] = {}
    for wanted, stored, body, size, purged_at in rows:
        if stored is None:
            out[wanted] = f"raw response {wanted[:12]} is missing"
            continue
        if body is None:
            if purged_at is None:
                out[wanted] = f"raw response {wanted[:12]} has no body"
            else:
                report.raw_purged += 1
            continue
        try:
            data = zlib.decompress(bytes(body))
        except zlib.error:
            out[wanted] = f"raw response {wanted[:12]} is not valid compressed data"
            continue
        report.raw_checked += 1
        if hashlib.sha256(data).hexdigest() != wanted or len(data) != size:
            out[wanted] = f"raw response {wanted[:12]}: stored bytes do not match their SHA-256"
    return out


def _file_problem(content: Mapping[str, Any], evidence_dir: Path, report: VerifyReport) -> str | None:
    if content["status"] != "ok" or not content["path"]:
        return None
    path = evidence_dir / str(content["path"])
    try:
        data = path.read_bytes()
    except OSError:
        return f"evidence file {content['path']} is missing"
    report.files_checked += 1
    if hashlib.sha256(data).hexdigest() != content["sha256"]:
        return f"evidence file {content['path']} does not match its SHA-256"
    return None


def links_for(con: duckdb.DuckDBPyConnection, refs: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
    """The chain links of the given (kind, ref_id) pairs, in chain order."""
    out: list[dict[str, Any]] = []
    for kind in sorted({k for k, _ in refs}):
        ids = [r for k, r in refs if k == kind]
        cur = con.execute(
            "SELECT seq, kind, ref_id, prev_hash, record_hash, created_at FROM chain "
            "WHERE kind = ? AND ref_id IN (SELECT unnest(?))", [kind, ids])
        names = [d[0] for d in cur.description]
        out.extend({n: _value(n, v) for n, v in zip(names, row, strict=True)} for row in cur.fetchall())
    return sorted(out, key=lambda link: int(link["seq"]))
