"""Review queries: the queue, decisions (append-only, chained), history, labelled examples.

A decision is one new ``reviews`` row; nothing here updates or deletes a
review. The latest row of a flag is its status (``flag_status``). Each row
joins the hash chain in the transaction that writes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from monitor.errors import ReviewError
from monitor.model import WIT_PROVINCES, WITA_PROVINCES, ZONE_NAMES
from storage import chain
from storage.db import Database
from storage.target_names import parse_target_stances


@dataclass(frozen=True)
class QueueFilter:
    """Filters of ``review queue``; ``None`` means any."""

    status: str = "pending"
    election: str | None = None
    agency: str | None = None
    region: str | None = None
    platform: str | None = None
    kind: str | None = None
    since: date | None = None
    until: date | None = None
    # --since/--until are days in this zone (the office's), else in each ASN's own zone.
    zone: str | None = None


@dataclass
class QueueRow:
    """One flag as the queue lists it."""

    flag_id: int
    status: str
    score: float
    stance: str
    category: str
    targets: list[str]
    platform: str
    kind: str
    created_at: datetime
    account_id: str | None
    name: str | None
    nip: str | None
    agency: str | None
    region: str | None
    text: str
    subject_text: str
    group: int | None = None
    group_size: int = 1
    high_confidence: bool = False
    """The score also reached the flag threshold (else the flag is in the queue for review only)."""
    target_stances: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out = dict(self.__dict__)
        out["created_at"] = self.created_at.isoformat()
        return out


@dataclass(frozen=True)
class Review:
    """One stored decision with its chain link."""

    review_id: int
    flag_id: int
    decision: str
    reason: str | None
    note: str | None
    reviewer: str
    decided_at: datetime
    detail: dict[str, Any]
    seq: int | None = None
    record_hash: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out = dict(self.__dict__)
        out["decided_at"] = self.decided_at.isoformat()
        return out


_QUEUE_SQL = """
    SELECT f.flag_id, coalesce(s.status, 'pending') AS status, f.score, f.stance, f.category,
           f.targets, i.platform, i.kind, i.created_at, a.account_id, a.name, a.nip, a.agency,
           a.region, coalesce(i.text, ''), coalesce(i.subject_text, ''),
           f.high_confidence, f.target_stances
    FROM flags f
    JOIN items i USING (item_key)
    LEFT JOIN flag_status s USING (flag_id)
    LEFT JOIN accounts a ON a.account_id = f.account_id
    WHERE 1 = 1 {conditions}
    ORDER BY f.score DESC, f.flag_id
"""


def _zone_sql(office: str | None) -> str:
    """The IANA zone of the office, or of each ASN's province (an SQL expression)."""
    if office:
        return f"'{ZONE_NAMES[office]}'"
    def codes(provinces: frozenset[str]) -> str:
        return ", ".join(f"'{p}'" for p in sorted(provinces))
    return (f"CASE WHEN left(a.region, 2) IN ({codes(WITA_PROVINCES)}) THEN '{ZONE_NAMES['WITA']}' "
            f"WHEN left(a.region, 2) IN ({codes(WIT_PROVINCES)}) THEN '{ZONE_NAMES['WIT']}' "
            f"ELSE '{ZONE_NAMES['WIB']}' END")


def queue(db: Database, flt: QueueFilter) -> list[QueueRow]:
    """Flags matching ``flt``, highest score first."""
    conditions: list[str] = []
    params: list[Any] = []
    if flt.status != "any":
        conditions.append("coalesce(s.status, 'pending') = ?")
        params.append(flt.status)
    if flt.election:
        # The flag names a candidate or party of the election, and the election covers the ASN.
        conditions.append(
            "EXISTS (SELECT 1 FROM elections e WHERE e.id = ? "
            " AND (e.region IS NULL OR a.region LIKE e.region || '%') AND EXISTS ("
            "  SELECT 1 FROM (SELECT id FROM candidates WHERE election_id = e.id UNION "
            "  SELECT id FROM parties WHERE election_id = e.id) t "
            "  WHERE list_contains(from_json(f.targets, '[\"VARCHAR\"]'), t.id)))")
        params.append(flt.election)
    if flt.agency:
        conditions.append("a.agency ILIKE ?")
        params.append(f"%{flt.agency}%")
    if flt.region:
        # A province code matches every regency and city inside it.
        conditions.append("a.region LIKE ?")
        params.append(f"{flt.region}%")
    if flt.platform:
        conditions.append("i.platform = ?")
        params.append(flt.platform.lower())
    if flt.kind:
        conditions.append("i.kind = ?")
        params.append(flt.kind)
    zone = _zone_sql(flt.zone)
    if flt.since:
        conditions.append(f"i.created_at >= timezone({zone}, ?::TIMESTAMP)")
        params.append(datetime.combine(flt.since, datetime.min.time()))
    if flt.until:
        conditions.append(f"i.created_at < timezone({zone}, ?::TIMESTAMP)")
        params.append(datetime.combine(flt.until + timedelta(days=1), datetime.min.time()))
    sql = _QUEUE_SQL.format(conditions="".join(f" AND {c}" for c in conditions))
    with db.connect() as con:
        rows = con.execute(sql, params).fetchall()
    return [QueueRow(int(r[0]), r[1], float(r[2]), r[3], r[4], json.loads(r[5]), r[6], r[7],
                     r[8].astimezone(UTC), r[9], r[10], r[11], r[12], r[13], r[14], r[15],
                     high_confidence=bool(r[16]), target_stances=parse_target_stances(r[17]))
            for r in rows]


_REVIEW_COLUMNS = ("r.review_id, r.flag_id, r.decision, r.reason, r.note, r.reviewer, r.decided_at, "
                   "r.detail, c.seq, c.record_hash")


def _review(row: Sequence[Any]) -> Review:
    return Review(int(row[0]), int(row[1]), row[2], row[3], row[4], row[5], row[6].astimezone(UTC),
                  json.loads(row[7]) if row[7] else {}, row[8], row[9])


def history(db: Database, flag_id: int) -> list[Review]:
    """Every decision on ``flag_id``, oldest first; ``ReviewError`` if the flag does not exist."""
    with db.connect() as con:
        return _history(con, flag_id)


def _history(con: Any, flag_id: int) -> list[Review]:
    return _histories(con, [flag_id])[flag_id]


def _histories(con: Any, flag_ids: Sequence[int]) -> dict[int, list[Review]]:
    """Each flag's decisions, oldest first, in two queries; ``ReviewError`` for an unknown flag."""
    ids = list(dict.fromkeys(flag_ids))
    known = {int(r[0]) for r in con.execute(
        "SELECT flag_id FROM flags WHERE flag_id IN (SELECT unnest(?))", [ids]).fetchall()}
    missing = [f for f in ids if f not in known]
    if missing:
        raise ReviewError(f"flag {missing[0]} does not exist")
    rows = con.execute(
        f"SELECT {_REVIEW_COLUMNS} FROM reviews r "  # noqa: S608  (fixed column list)
        "LEFT JOIN chain c ON c.kind = 'review' AND c.ref_id = r.review_id "
        "WHERE r.flag_id IN (SELECT unnest(?)) ORDER BY r.review_id", [ids]).fetchall()
    out: dict[int, list[Review]] = {f: [] for f in ids}
    for row in rows:
        review = _review(row)
        out[review.flag_id].append(review)
    return out


@dataclass(frozen=True)
class Decision:
    """A decision to record on one or more flags."""

    decision: str  # confirmed, dismissed, escalated
    reviewer: str
    reason: str | None = None
    note: str | None = None
    detail: dict[str, Any] | None = None


Rule = Callable[[int, list[Review]], None]
"""Checks a decision against a flag's history; raises ``ReviewError`` to refuse it."""


def decide(db: Database, flag_ids: Sequence[int], decision: Decision, rule: Rule) -> list[Review]:
    """Record ``decision`` on every flag in one transaction, after ``rule`` allows each.

    The history that ``rule`` sees is read inside the same transaction, so two
    reviewers deciding at once cannot both pass a check the other would fail:
    one of the two transactions conflicts and is rolled back.
    """
    now = datetime.now(UTC)
    written: list[Review] = []
    ids: list[int] = []
    with db.transaction() as con:
        histories = _histories(con, flag_ids)
        for flag_id in flag_ids:
            rule(flag_id, histories[flag_id])
            row = con.execute(
                "INSERT INTO reviews (flag_id, decision, reason, note, reviewer, decided_at, detail) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING review_id",
                [flag_id, decision.decision, decision.reason, decision.note, decision.reviewer, now,
                 json.dumps(decision.detail or {}, sort_keys=True, ensure_ascii=False)],
            ).fetchone()
            assert row is not None
            ids.append(int(row[0]))
        chain.append_many(con, [("review", i) for i in ids])
        if ids:
            rows = con.execute(
                f"SELECT {_REVIEW_COLUMNS} FROM reviews r "  # noqa: S608  (fixed column list)
                "LEFT JOIN chain c ON c.kind = 'review' AND c.ref_id = r.review_id "
                "WHERE r.review_id IN (SELECT unnest(?)) ORDER BY r.review_id", [ids]).fetchall()
            written = [_review(r) for r in rows]
    return written


def labelled_flags(db: Database) -> list[dict[str, Any]]:
    """Flags whose latest decision is confirmed, escalated or dismissed, with text and verdict."""
    with db.connect() as con:
        cur = con.execute(
            """
            SELECT f.flag_id, f.item_key, i.platform, i.kind, coalesce(i.text, '') AS text,
                   i.subject_text, i.norm_text, c.stance, c.targets, c.category, c.model,
                   c.version, r.decision, r.reason, r.reviewer, r.decided_at
            FROM flags f
            JOIN items i USING (item_key)
            JOIN classifications c ON c.id = f.classification_id
            JOIN (SELECT *, row_number() OVER (PARTITION BY flag_id ORDER BY review_id DESC) AS rn
                  FROM reviews) r ON r.flag_id = f.flag_id AND r.rn = 1
            WHERE r.decision IN ('confirmed', 'escalated', 'dismissed')
            ORDER BY f.flag_id
            """)
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    for row in rows:
        row["targets"] = json.loads(row["targets"])
        row["decided_at"] = row["decided_at"].astimezone(UTC).isoformat()
    return rows


def near_dup_texts(db: Database, status: str = "pending") -> list[tuple[int, str]]:
    """(flag_id, text to compare) of flags with ``status``: the act's text and what it engaged."""
    with db.connect() as con:
        rows = con.execute(
            "SELECT f.flag_id, trim(coalesce(i.text, '') || ' ' || coalesce(i.subject_text, '')) "
            "FROM flags f JOIN items i USING (item_key) LEFT JOIN flag_status s USING (flag_id) "
            "WHERE coalesce(s.status, 'pending') = ? ORDER BY f.flag_id", [status]).fetchall()
    return [(int(r[0]), str(r[1])) for r in rows]


def cached_embeddings(db: Database, model: str, flag_ids: Sequence[int]
                      ) -> dict[int, tuple[str, list[float]]]:
    """Stored embeddings of ``flag_ids`` under ``model``: flag_id -> (text sha256, vector)."""
    if not flag_ids:
        return {}
    with db.connect() as con:
        rows = con.execute(
            "SELECT flag_id, text_sha256, vector FROM flag_embeddings WHERE model = ? "
            "AND flag_id IN (SELECT unnest(?))", [model, list(flag_ids)]).fetchall()
    return {int(r[0]): (str(r[1]), list(r[2])) for r in rows}


def save_embeddings(db: Database, model: str, rows: Sequence[tuple[int, str, Sequence[float]]]) -> None:
    """Keep (flag_id, text sha256, vector) rows so a flag's text is embedded only once."""
    if not rows:
        return
    with db.transaction() as con:
        con.executemany("INSERT OR IGNORE INTO flag_embeddings VALUES (?, ?, ?, ?)",
                        [[f, model, sha, [float(x) for x in vec]] for f, sha, vec in rows])
