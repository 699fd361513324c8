"""Queries of the web review desk: one page of the queue, names of targets, an ASN's other flags.

Time zones: Indonesia keeps no daylight saving, so each zone is a fixed offset
from UTC, chosen by the ASN's province code (the first two digits of the
region). The same rule is in ``monitor/localtime.py`` for display.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from monitor.model import WIT_PROVINCES, WITA_PROVINCES
from storage.db import Database
from storage.review import QueueRow

_IN = "', '"
# Hours east of UTC of the ASN's local zone.
ZONE_OFFSET_SQL = (f"(CASE WHEN left(a.region, 2) IN ('{_IN.join(sorted(WITA_PROVINCES))}') THEN 8 "
                   f"WHEN left(a.region, 2) IN ('{_IN.join(sorted(WIT_PROVINCES))}') THEN 9 "
                   "ELSE 7 END)")


@dataclass(frozen=True)
class DeskFilter:
    """The desk's queue filters; ``None`` or empty means any."""

    status: str = "pending"
    regions: tuple[str, ...] | None = None  # the user's scope (exact codes); None: everywhere
    region: str | None = None  # a chosen region; a province code covers its regencies
    agency: str | None = None
    kind: str | None = None
    target: str | None = None  # a candidate or party id
    since: date | None = None  # in the ASN's local zone
    until: date | None = None
    min_score: float | None = None
    search: str | None = None  # name, NIP or post text
    page: int = 1
    per_page: int = 50


@dataclass
class QueuePage:
    """One page of the queue and how many flags match in all."""

    rows: list[QueueRow]
    total: int
    page: int
    per_page: int
    names: dict[str, str] = field(default_factory=dict)


# The latest decision per flag, by aggregate (cheaper here than the flag_status view's window).
_STATUS = "(SELECT flag_id, arg_max(decision, review_id) AS status FROM reviews GROUP BY flag_id)"
# Items are joined only when a filter reads them: the flags, their status and accounts are
# small beside the items table, so most pages pick their rows before touching it.
_FROM = """
    FROM flags f
    LEFT JOIN {status} s USING (flag_id)
    LEFT JOIN accounts a ON a.account_id = f.account_id
    {items}
    WHERE 1 = 1 {conditions}
"""
_ITEMS = "JOIN items i ON i.item_key = f.item_key"
_TOP_SQL = "SELECT f.flag_id {from_} ORDER BY f.score DESC, f.flag_id LIMIT ? OFFSET ?"
_ROWS_SQL = """
    SELECT f.flag_id, coalesce(s.status, 'pending') AS status, f.score, f.stance, f.category,
           f.targets, i.platform, i.kind, i.created_at, a.account_id, a.name, a.nip, a.agency,
           a.region, left(coalesce(i.text, ''), 400), left(coalesce(i.subject_text, ''), 400)
    FROM flags f
    JOIN items i ON i.item_key = f.item_key
    LEFT JOIN (SELECT flag_id, arg_max(decision, review_id) AS status FROM reviews
               WHERE flag_id IN (SELECT unnest($1)) GROUP BY flag_id) s USING (flag_id)
    LEFT JOIN accounts a ON a.account_id = f.account_id
    WHERE f.flag_id IN (SELECT unnest($1))
    ORDER BY f.score DESC, f.flag_id
"""


def _conditions(flt: DeskFilter) -> tuple[list[str], list[Any]]:
    conds: list[str] = []
    params: list[Any] = []
    if flt.status != "any":
        conds.append("coalesce(s.status, 'pending') = ?")
        params.append(flt.status)
    if flt.regions is not None:
        conds.append("a.region IN (SELECT unnest(?))")
        params.append(list(flt.regions))
    if flt.region:
        conds.append("(a.region = ? OR a.region IN (SELECT code FROM regions WHERE province = ?))")
        params += [flt.region, flt.region]
    if flt.agency:
        conds.append("a.agency ILIKE ?")
        params.append(f"%{flt.agency}%")
    if flt.kind:
        conds.append("i.kind = ?")
        params.append(flt.kind)
    if flt.target:
        conds.append("list_contains(from_json(f.targets, '[\"VARCHAR\"]'), ?)")
        params.append(flt.target)
    # A local day starts at 00:00 local = 00:00 UTC minus the zone's offset.
    if flt.since:
        conds.append(f"i.created_at >= ?::TIMESTAMPTZ - to_hours({ZONE_OFFSET_SQL})")
        params.append(datetime.combine(flt.since, datetime.min.time(), UTC))
    if flt.until:
        conds.append(f"i.created_at < ?::TIMESTAMPTZ - to_hours({ZONE_OFFSET_SQL})")
        params.append(datetime.combine(flt.until + timedelta(days=1), datetime.min.time(), UTC))
    if flt.min_score is not None:
        conds.append("f.score >= ?")
        params.append(flt.min_score)
    if flt.search:
        conds.append("(a.name ILIKE ? OR a.nip LIKE ? OR i.text ILIKE ? OR i.subject_text ILIKE ?)")
        like = f"%{flt.search}%"
        params += [like, f"{flt.search}%", like, like]
    return conds, params


def queue_page(db: Database, flt: DeskFilter) -> QueuePage:
    """One page of matching flags, highest score first, with the names of their targets."""
    conds, params = _conditions(flt)
    from_ = _FROM.format(status=_STATUS, conditions="".join(f" AND {c}" for c in conds),
                         items=_ITEMS if any("i." in c for c in conds) else "")
    page = max(flt.page, 1)
    with db.connect() as con:
        # The page's ids first (top-N), then their rows, then a plain count.
        ids = [int(r[0]) for r in con.execute(_TOP_SQL.format(from_=from_),
                                              [*params, flt.per_page, (page - 1) * flt.per_page]).fetchall()]
        rows = con.execute(_ROWS_SQL, [ids]).fetchall() if ids else []
        total = _count(con, from_, params)
        out = [QueueRow(int(r[0]), r[1], float(r[2]), r[3], r[4], json.loads(r[5]), r[6], r[7],
                        r[8].astimezone(UTC), r[9], r[10], r[11], r[12], r[13], r[14], r[15])
               for r in rows]
        names = _names(con, {t for r in out for t in r.targets})
    return QueuePage(out, total, page, flt.per_page, names)


def _count(con: Any, from_: str, params: list[Any]) -> int:
    row = con.execute("SELECT count(*) " + from_, params).fetchone()
    return int(row[0]) if row else 0


def _names(con: Any, ids: set[str]) -> dict[str, str]:
    """Display names of candidate and party ids: ``id -> "Name (kandidat|partai)"``."""
    if not ids:
        return {}
    rows = con.execute(
        "SELECT id, people, 'candidate' FROM candidates WHERE id IN (SELECT unnest(?)) UNION ALL "
        "SELECT id, names, 'party' FROM parties WHERE id IN (SELECT unnest(?))",
        [sorted(ids), sorted(ids)]).fetchall()
    out: dict[str, str] = {}
    for tid, names, kind in rows:
        parsed = json.loads(names) if isinstance(names, str) else names
        if kind == "candidate" and isinstance(parsed, list) and parsed:
            label = " – ".join(str(p) for p in parsed)  # the pair on the ballot
        else:
            label = str(parsed[0]) if isinstance(parsed, list) and parsed else str(tid)
        out.setdefault(str(tid), f"{kind}:{label}")
    return out


def target_names(db: Database, ids: set[str]) -> dict[str, str]:
    """``id -> "candidate:Name"`` or ``"party:Name"`` for candidate and party ids."""
    with db.connect() as con:
        return _names(con, ids)


def targets_list(db: Database) -> list[tuple[str, str]]:
    """Every candidate and party as (id, "candidate:Name"), for the queue's filter."""
    with db.connect() as con:
        ids = {str(r[0]) for r in con.execute(
            "SELECT id FROM candidates UNION SELECT id FROM parties").fetchall()}
        names = _names(con, ids)
    return sorted(names.items(), key=lambda kv: kv[1])


def flag_region(db: Database, flag_id: int) -> str | None:
    """The region of the flagged ASN (None when the account is unknown)."""
    with db.connect() as con:
        row = con.execute("SELECT a.region FROM flags f LEFT JOIN accounts a USING (account_id) "
                          "WHERE f.flag_id = ?", [flag_id]).fetchone()
    return None if row is None else row[0]


def escalations(db: Database, regions: tuple[str, ...] | None, limit: int = 200) -> list[dict[str, Any]]:
    """Escalation decisions in the user's scope, newest first."""
    scope = "" if regions is None else " AND a.region IN (SELECT unnest(?))"
    params: list[Any] = [] if regions is None else [list(regions)]
    with db.connect() as con:
        rows = con.execute(
            "SELECT r.review_id, r.flag_id, r.reviewer, r.decided_at, r.detail, a.name, a.nip, a.region "  # noqa: S608
            "FROM reviews r JOIN flags f USING (flag_id) LEFT JOIN accounts a USING (account_id) "
            f"WHERE r.decision = 'escalated'{scope} ORDER BY r.review_id DESC LIMIT ?",
            [*params, limit]).fetchall()
    return [{"review_id": int(r[0]), "flag_id": int(r[1]), "reviewer": r[2],
             "decided_at": r[3].astimezone(UTC), "detail": json.loads(r[4]) if r[4] else {},
             "name": r[5], "nip": r[6], "region": r[7]} for r in rows]


def escalations_in_year(db: Database, year: int) -> int:
    """How many escalations were recorded in ``year`` (UTC), for letter numbers."""
    with db.connect() as con:
        row = con.execute("SELECT count(*) FROM reviews WHERE decision = 'escalated' "
                          "AND decided_at >= ? AND decided_at < ?",
                          [datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)]
                          ).fetchone()
    return int(row[0]) if row else 0


def bench_evidence(db: Database, flag_ids: list[int]) -> None:
    """Evidence rows for synthetic flags (``storage.bulk``), so the benchmark can open them."""
    with db.transaction() as con:
        con.execute(
            "INSERT INTO evidence (flag_id, item_key, raw_sha256, item_json, account_json, sha256, "
            "created_at) SELECT f.flag_id, f.item_key, 'bench', json_object('platform', i.platform, "
            "'kind', i.kind, 'actor', i.actor, 'text', i.text, 'created_at', i.created_at::VARCHAR, "
            "'url', NULL), json_object('account_id', a.account_id, 'name', a.name, 'nip', a.nip, "
            "'agency', a.agency, 'region', a.region), 'bench', now() FROM flags f "
            "JOIN items i USING (item_key) LEFT JOIN accounts a ON a.account_id = f.account_id "
            "WHERE f.flag_id IN (SELECT unnest(?))", [flag_ids])


@dataclass
class FlagExtras:
    """What the flag page needs besides the evidence: the ASN's region, target names, other flags."""

    region: str | None
    names: dict[str, str]
    others: list[dict[str, Any]]


def flag_extras(db: Database, flag_id: int, limit: int = 20) -> FlagExtras | None:
    """The flag's region, its targets' names and the ASN's other flags in one connection."""
    with db.connect() as con:
        row = con.execute("SELECT a.region, f.targets FROM flags f LEFT JOIN accounts a "
                          "ON a.account_id = f.account_id WHERE f.flag_id = ?", [flag_id]).fetchone()
        if row is None:
            return None
        names = _names(con, set(json.loads(row[1])))
        rows = con.execute(
            "SELECT f.flag_id, coalesce(s.status, 'pending'), f.score, i.kind, i.created_at, "
            "left(coalesce(i.text, i.subject_text, ''), 160) FROM flags f JOIN items i USING (item_key) "
            "LEFT JOIN flag_status s USING (flag_id) WHERE f.account_id = "
            "(SELECT account_id FROM flags WHERE flag_id = ?) AND f.flag_id <> ? "
            "ORDER BY i.created_at DESC LIMIT ?", [flag_id, flag_id, limit]).fetchall()
    others = [{"flag_id": int(r[0]), "status": r[1], "score": float(r[2]), "kind": r[3],
               "created_at": r[4].astimezone(UTC), "text": r[5]} for r in rows]
    return FlagExtras(row[0], names, others)
