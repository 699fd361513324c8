"""Queries behind the weekly digest, and the record of each digest delivery.

``digest_data`` reads one week of flags and decisions for one audience (all,
a region, an agency). ``DigestLog`` keeps the ``digests`` table, which makes a
week's digest go out exactly once: a delivery is claimed (status ``sending``)
in one transaction before the SMTP conversation and marked ``sent`` or
``failed`` in another after it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import duckdb

from storage.anchors import current_head
from storage.db import Database
from storage.target_names import parse_target_stances, target_names

JAKARTA = ZoneInfo("Asia/Jakarta")
DECISIONS = ("confirmed", "dismissed", "escalated")
AGE_BUCKETS = ((2, "0-2"), (7, "3-7"), (14, "8-14"), (10**6, ">14"))


@dataclass(frozen=True)
class Scope:
    """Whose flags a digest covers: everyone, one region (or province), or one agency."""

    kind: Literal["all", "region", "agency"] = "all"
    value: str | None = None

    @property
    def audience(self) -> str:
        """The key of this audience in the ``digests`` table."""
        return "all" if self.kind == "all" else f"{self.kind}:{self.value}"

    def where(self) -> tuple[str, list[Any]]:
        """A SQL condition on ``audit_flags`` columns, and its parameters."""
        if self.kind == "region":
            return "(region = ? OR province = ?)", [self.value, self.value]
        if self.kind == "agency":
            return "agency = ?", [self.value]
        return "TRUE", []


@dataclass(frozen=True)
class FlagLine:
    """One flag as the digest lists it."""

    flag_id: int
    flagged_at: datetime
    account_name: str | None
    agency: str | None
    region: str | None
    region_name: str | None
    kind: str | None
    category: str
    stance: str
    targets: tuple[str, ...]
    score: float
    status: str
    url: str | None
    high_confidence: bool = False
    target_stances: tuple[dict[str, Any], ...] = ()


@dataclass
class DigestData:
    """Everything one digest shows, for one ISO week (Asia/Jakarta) and one audience."""

    week: str
    start: datetime
    end: datetime
    scope: Scope
    new_flags: list[FlagLine] = field(default_factory=list)
    decided: dict[str, list[int]] = field(default_factory=dict)
    pending: int = 0
    pending_oldest: datetime | None = None
    pending_ages: dict[str, int] = field(default_factory=dict)
    top_agencies: list[tuple[str, int]] = field(default_factory=list)
    top_regions: list[tuple[str, int]] = field(default_factory=list)
    top_targets: list[tuple[str, int]] = field(default_factory=list)
    per_day: dict[date, Counter[str]] = field(default_factory=dict)
    as_of: datetime | None = None
    scope_name: str | None = None
    """The region's name for a region scope (``Kabupaten Bandung``), else ``None``."""
    chain_head: tuple[int, str] | None = None
    """The evidence chain's newest link (seq, hash) when the digest was made: a copy kept by readers."""
    target_names: dict[str, str] = field(default_factory=dict)
    """Candidate and party ids -> names, for the per-target stances in words."""

    @property
    def days(self) -> list[date]:
        """The seven days of the week, Monday first."""
        first = self.start.astimezone(JAKARTA).date()
        return [first + timedelta(days=n) for n in range(7)]


def week_bounds(week: str) -> tuple[datetime, datetime]:
    """``YYYY-Www`` to [Monday 00:00, next Monday 00:00) in Asia/Jakarta, as aware datetimes."""
    year, _, number = week.partition("-W")
    monday = date.fromisocalendar(int(year), int(number), 1)
    start = datetime(monday.year, monday.month, monday.day, tzinfo=JAKARTA)
    return start, start + timedelta(days=7)


def week_of(moment: datetime) -> str:
    """The ISO week (Asia/Jakarta) that ``moment`` falls in, as ``YYYY-Www``."""
    iso = moment.astimezone(JAKARTA).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def _labels(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    labels: dict[str, str] = {}
    for cid, number, people in con.execute(
            "SELECT id, ballot_number, people FROM candidates").fetchall():
        labels[cid] = f"{number}. " + " & ".join(json.loads(people))
    for pid, names in con.execute("SELECT id, names FROM parties").fetchall():
        labels.setdefault(pid, (json.loads(names) or [pid])[0])
    return labels


def digest_data(db: Database, week: str, scope: Scope = Scope(), top: int = 5,
                now: datetime | None = None) -> DigestData:
    """Read one week's flags, decisions, backlog and rankings for ``scope``.

    The backlog is as it stood at the end of the week, or now for the current week.
    """
    start, end = week_bounds(week)
    as_of = min(end, now or datetime.now(UTC))
    data = DigestData(week, start, end, scope, as_of=as_of)
    cond, params = scope.where()
    with db.connect() as con:
        labels = _labels(con)
        head = current_head(con)
        data.chain_head = (head.seq, head.hash)
        data.target_names = target_names(con)
        if scope.kind == "region":
            row = con.execute("SELECT name FROM regions WHERE code = ?", [scope.value]).fetchone()
            data.scope_name = str(row[0]) if row else None
        # ``cond`` is one of Scope.where()'s fixed conditions; values go in as parameters.
        rows = con.execute(
            "SELECT flag_id, flagged_at, account_name, agency, region, region_name, kind, "  # noqa: S608
            f"category, stance, targets, score, status, url, high_confidence, target_stances "
            f"FROM audit_flags WHERE {cond} "
            "AND flagged_at >= ? AND flagged_at < ? ORDER BY flag_id", [*params, start, end],
        ).fetchall()
        data.new_flags = [FlagLine(*[*r[:9], tuple(json.loads(r[9] or "[]")), *r[10:13],
                                     bool(r[13]), tuple(parse_target_stances(r[14]))])
                          for r in rows]
        # The latest decision each flag got within the week.
        for flag_id, decision in con.execute(
                "SELECT r.flag_id, r.decision FROM audit_reviews r JOIN audit_flags a USING (flag_id) "  # noqa: S608
                f"WHERE {cond} AND r.decided_at >= ? AND r.decided_at < ? "
                "QUALIFY row_number() OVER (PARTITION BY r.flag_id ORDER BY r.review_id DESC) = 1 "
                "ORDER BY r.flag_id", [*params, start, end]).fetchall():
            data.decided.setdefault(str(decision), []).append(int(flag_id))
        # Pending as it stood at the end of the week: flagged before, no decision before.
        pending = con.execute(
            f"SELECT flagged_at FROM audit_flags a WHERE {cond} AND flagged_at < ? "  # noqa: S608
            "AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.flag_id = a.flag_id "
            "AND r.decided_at < ?)", [*params, as_of, as_of]).fetchall()
    data.pending = len(pending)
    ages = Counter[str]()
    for (flagged_at,) in pending:
        days = (as_of - flagged_at).days
        ages[next(label for limit, label in AGE_BUCKETS if days <= limit)] += 1
        if data.pending_oldest is None or flagged_at < data.pending_oldest:
            data.pending_oldest = flagged_at
    data.pending_ages = {label: ages[label] for _, label in AGE_BUCKETS}
    agencies = Counter(f.agency or "-" for f in data.new_flags)
    regions = Counter(f"{f.region_name or '-'} ({f.region})" for f in data.new_flags)
    targets = Counter(labels.get(t, t) for f in data.new_flags for t in f.targets)
    data.top_agencies = agencies.most_common(top)
    data.top_regions = regions.most_common(top)
    data.top_targets = targets.most_common(top)
    data.per_day = {d: Counter[str]() for d in data.days}
    for f in data.new_flags:
        data.per_day[f.flagged_at.astimezone(JAKARTA).date()][f.kind or "post"] += 1
    return data


@dataclass(frozen=True)
class Delivery:
    """One row of ``digests``."""

    week: str
    audience: str
    status: str
    attempts: int
    recipients: list[str]
    language: str
    flags: int | None
    first_attempt_at: datetime | None
    last_attempt_at: datetime | None
    sent_at: datetime | None
    message_id: str | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


_COLUMNS = ("week, audience, status, attempts, recipients, language, flags, first_attempt_at, "
            "last_attempt_at, sent_at, message_id, error")


def _delivery(row: tuple[Any, ...]) -> Delivery:
    values = list(row)
    values[4] = json.loads(values[4])
    return Delivery(*values)


class DigestLog:
    """The ``digests`` table: claim a delivery, then mark it sent or failed."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, week: str, audience: str) -> Delivery | None:
        """The delivery of ``week`` to ``audience``, if any was attempted."""
        with self.db.connect() as con:
            row = con.execute(f"SELECT {_COLUMNS} FROM digests WHERE week = ? AND audience = ?",  # noqa: S608
                              [week, audience]).fetchone()
        return _delivery(row) if row else None

    def claim(self, week: str, audience: str, recipients: list[str], language: str,
              message_id: str, force: bool) -> Delivery | None:
        """Mark a delivery ``sending`` and count the attempt; returns the blocking row instead.

        Returns ``None`` when the caller may send now. Without ``force``, a row
        already ``sent`` (or ``sending``: another process is at it, or one
        crashed mid-send and may have delivered) is returned and nothing changes.
        """
        now = datetime.now(UTC)
        with self.db.transaction() as con:
            row = con.execute(f"SELECT {_COLUMNS} FROM digests WHERE week = ? AND audience = ?",  # noqa: S608
                              [week, audience]).fetchone()
            current = _delivery(row) if row else None
            if current is not None and current.status in ("sent", "sending") and not force:
                return current
            con.execute(
                "INSERT INTO digests (week, audience, status, attempts, recipients, language, "
                "first_attempt_at, last_attempt_at, message_id) "
                "VALUES (?, ?, 'sending', 1, ?, ?, ?, ?, ?) ON CONFLICT (week, audience) DO UPDATE "
                "SET status = 'sending', attempts = digests.attempts + 1, "
                "recipients = excluded.recipients, language = excluded.language, "
                "last_attempt_at = excluded.last_attempt_at, message_id = excluded.message_id, "
                "error = NULL",
                [week, audience, json.dumps(recipients), language, now, now, message_id],
            )
        return None

    def mark_sent(self, week: str, audience: str, message_id: str, flags: int,
                  note: str | None = None) -> None:
        """Record that the server accepted the message (``note``: recipients it refused)."""
        with self.db.transaction() as con:
            con.execute("UPDATE digests SET status = 'sent', sent_at = ?, message_id = ?, flags = ?, "
                        "error = ? WHERE week = ? AND audience = ?",
                        [datetime.now(UTC), message_id, flags, note, week, audience])

    def mark_failed(self, week: str, audience: str, error: str) -> None:
        """Record that the attempt failed; it is retried later."""
        with self.db.transaction() as con:
            con.execute("UPDATE digests SET status = 'failed', error = ? "
                        "WHERE week = ? AND audience = ?", [error[:2000], week, audience])

    def deliveries(self, limit: int = 20) -> list[Delivery]:
        """The latest deliveries, newest week first."""
        with self.db.connect() as con:
            rows = con.execute(f"SELECT {_COLUMNS} FROM digests "  # noqa: S608
                               "ORDER BY week DESC, audience LIMIT ?", [limit]).fetchall()
        return [_delivery(r) for r in rows]
