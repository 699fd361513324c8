"""Reports (laporan) in SQL: one report, its item, flag, evidence and files in one transaction.

A report is always held for a reviewer, whatever the classifier said: the item gets a
flag (origin ``report``) the first time it is reported, and each later report of the
same item adds a report row (and any new files) to that flag. Every evidence, file and
report row joins the hash chain in the same transaction.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from monitor.model import Fetched, Item, Result, Subject
from storage import chain
from storage.db import Database
from storage.evidence import EvidenceFile, insert_files


def _j(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True)
class ReportedAccount:
    """The ASN a report names: a roster account, or someone added as unmonitored."""

    account_id: str
    name: str
    nip: str
    agency: str
    region: str
    new: bool = False
    """True when this report adds the person (no handles: never collected from)."""


@dataclass
class ReportRecord:
    """Everything one report writes; ``fetched`` etc. are None when the item exists already."""

    account: ReportedAccount
    channel: str
    anonymous: bool
    reporter_name: str | None
    reporter_contact: str | None
    note: str | None
    url: str | None
    platform: str
    item_key: str
    received_at: datetime
    detail: Mapping[str, Any]
    fetched: Fetched | None = None
    norm_text: str = ""
    result: Result | None = None
    evidence_json: tuple[Mapping[str, Any], Mapping[str, Any], str] | None = None
    """(item_json, account_json, sha256) of the evidence record."""
    stored: StoredItem | None = None
    """The item when a connector collected it already (then ``fetched`` is not written)."""
    files: list[EvidenceFile] = field(default_factory=list)


@dataclass(frozen=True)
class StoredItem:
    """An item a connector collected before it was reported, as stored."""

    item: Item
    raw_sha256: str
    account_id: str | None
    norm_text: str


def collected_item(db: Database, platform: str, urls: Sequence[str], post_id: str | None
                   ) -> StoredItem | None:
    """The stored item a reported URL names: by its URL, or on a connector's platform by its id.

    Bluesky items are keyed by ``at://did/collection/rkey`` while people share
    ``/profile/<handle>/post/<rkey>``: the id matches when it ends with ``/<rkey>``.
    """
    with db.connect() as con:
        row = con.execute(f"{_STORED} WHERE url IN (SELECT unnest(?)) ORDER BY first_seen_at LIMIT 1",
                          [list(urls)]).fetchone()
        if row is None and post_id and platform != "web":
            row = con.execute(f"{_STORED} WHERE platform = ? AND (item_id = ? OR ends_with(item_id, ?)) "
                              "ORDER BY first_seen_at LIMIT 1", [platform, post_id, "/" + post_id]).fetchone()
    if row is None:
        return None
    subject = Subject(row[9], row[10], row[11], row[12]) if row[9] else None
    item = Item(platform=row[0], id=row[1], kind=row[2], actor=row[3], created_at=row[4], text=row[5],
                url=row[6], subject=subject, actor_id=row[7], extra=json.loads(row[8] or "{}"))
    return StoredItem(item, str(row[13]), row[14], str(row[15] or ""))


_STORED = ("SELECT platform, item_id, kind, actor, created_at, text, url, actor_id, extra, subject_id, "
           "subject_author, subject_text, subject_url, raw_sha256, account_id, norm_text FROM items")


@dataclass(frozen=True)
class ReportSaved:
    """What a stored report became."""

    report_id: int
    flag_id: int
    item_key: str
    new_item: bool
    file_ids: tuple[int, ...]


def item_flag(db: Database, item_key: str) -> int | None:
    """The flag of ``item_key``, or None when it has none (or does not exist)."""
    with db.connect() as con:
        row = con.execute("SELECT flag_id FROM flags WHERE item_key = ?", [item_key]).fetchone()
    return None if row is None else int(row[0])


def roster_account(db: Database, account_id: str) -> ReportedAccount | None:
    """The stored account ``account_id``, or None."""
    with db.connect() as con:
        row = con.execute("SELECT account_id, name, nip, agency, region FROM accounts "
                          "WHERE account_id = ?", [account_id]).fetchone()
    if row is None:
        return None
    return ReportedAccount(str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]))


def account_handle(db: Database, account_id: str, platform: str) -> str | None:
    """The account's newest handle on ``platform``, if it has one."""
    with db.connect() as con:
        row = con.execute("SELECT handle FROM account_handles WHERE account_id = ? AND platform = ? "
                          "ORDER BY id DESC LIMIT 1", [account_id, platform]).fetchone()
    return None if row is None else str(row[0])


def save_report(db: Database, rec: ReportRecord) -> ReportSaved:
    """Write the report whole, in one transaction (a new item's flag and evidence included)."""
    with db.transaction() as con:
        _upsert_account(con, rec.account, rec.received_at)
        links: list[tuple[chain.LinkKind, int]] = []
        row = con.execute("SELECT flag_id FROM flags WHERE item_key = ?", [rec.item_key]).fetchone()
        new_item = row is None
        flag_id = _write_item_flag(con, rec, links) if row is None else int(row[0])
        # A flag the connector raised while fetching the reported post for this report.
        con.execute("INSERT INTO flag_origins SELECT f.flag_id, 'report' FROM flags f "
                    "JOIN runs r USING (run_id) WHERE f.flag_id = ? AND r.trigger = 'intake' "
                    "ON CONFLICT (flag_id) DO NOTHING", [flag_id])
        file_ids = insert_files(con, flag_id, rec.files)
        links.extend(("file", i) for i in file_ids)
        reporter_id = None
        if not rec.anonymous and (rec.reporter_name or rec.reporter_contact):
            got = con.execute("INSERT INTO reporters (name, contact, created_at) VALUES (?, ?, ?) "
                              "RETURNING reporter_id",
                              [rec.reporter_name, rec.reporter_contact, rec.received_at]).fetchone()
            assert got is not None
            reporter_id = int(got[0])
        detail = {**rec.detail, "file_ids": file_ids}
        got = con.execute(
            "INSERT INTO reports (item_key, flag_id, account_id, channel, reporter_id, anonymous, "
            "note, url, platform, received_at, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING report_id",
            [rec.item_key, flag_id, rec.account.account_id, rec.channel, reporter_id, rec.anonymous,
             rec.note, rec.url, rec.platform, rec.received_at, _j(detail)]).fetchone()
        assert got is not None
        report_id = int(got[0])
        links.append(("report", report_id))
        chain.append_many(con, links)
    return ReportSaved(report_id, flag_id, rec.item_key, new_item, tuple(file_ids))


def _upsert_account(con: duckdb.DuckDBPyConnection, a: ReportedAccount, now: datetime) -> None:
    # An unmonitored account is an accounts row with no handle: no connector collects from it.
    con.execute("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account_id) DO NOTHING",
                [a.account_id, a.name, a.nip, a.agency, a.region, now])


def _write_item_flag(con: duckdb.DuckDBPyConnection, rec: ReportRecord,
                     links: list[tuple[chain.LinkKind, int]]) -> int:
    """Raw bytes, item, classification, flag (origin report) and evidence of a new item.

    An item a connector collected already keeps its rows; it gets the flag and evidence.
    """
    now = rec.received_at
    run = con.execute("INSERT INTO runs (started_at, finished_at, status, trigger, items_seen, "
                      "items_new, flags_new) VALUES (?, ?, 'ok', 'intake', 1, 1, 1) RETURNING run_id",
                      [now, now]).fetchone()
    assert run is not None
    run_id = int(run[0])
    if rec.stored is not None:
        item, raw_sha = rec.stored.item, rec.stored.raw_sha256
    else:
        assert rec.fetched is not None
        item, raw_sha = rec.fetched.item, rec.fetched.raw.sha256
        _write_raw_item(con, rec, run_id)
    return _write_classification_flag(con, rec, item, raw_sha, run_id, links)


def _write_raw_item(con: duckdb.DuckDBPyConnection, rec: ReportRecord, run_id: int) -> None:
    assert rec.fetched is not None
    raw, item = rec.fetched.raw, rec.fetched.item
    con.execute("INSERT OR IGNORE INTO raw_items (sha256, body, size, source_url, status, headers, "
                "fetched_at, connector, connector_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [raw.sha256, zlib.compress(raw.body, 6), len(raw.body), raw.source_url, raw.status,
                 _j(dict(raw.headers)), raw.fetched_at, raw.connector, raw.connector_version])
    con.execute("INSERT OR IGNORE INTO items (item_key, platform, item_id, source, kind, actor, "
                "actor_id, account_id, created_at, text, url, extra, norm_text, raw_sha256, "
                "first_seen_at, run_id) VALUES (?, ?, ?, 'intake', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [item.key, item.platform, item.id, item.kind, item.actor, item.actor_id,
                 rec.account.account_id, item.created_at, item.text, item.url, _j(dict(item.extra)),
                 rec.norm_text, raw.sha256, rec.received_at, run_id])


def _write_classification_flag(con: duckdb.DuckDBPyConnection, rec: ReportRecord, item: Item,
                               raw_sha: str, run_id: int, links: list[tuple[chain.LinkKind, int]]
                               ) -> int:
    assert rec.result is not None and rec.evidence_json is not None
    now, r = rec.received_at, rec.result
    account_id = rec.stored.account_id if rec.stored and rec.stored.account_id else rec.account.account_id
    cls = con.execute(
        "INSERT INTO classifications (item_key, model, version, flagged, score, stance, targets, "
        "category, explanation, classified_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "RETURNING id",
        [item.key, r.model, r.version, r.flagged, r.score, r.stance, _j(list(r.targets)), r.category,
         r.explanation, now, run_id]).fetchone()
    assert cls is not None
    flag = con.execute(
        "INSERT INTO flags (item_key, classification_id, account_id, score, stance, targets, "
        "category, created_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING flag_id",
        [item.key, int(cls[0]), account_id, r.score, r.stance, _j(list(r.targets)),
         r.category, now, run_id]).fetchone()
    assert flag is not None
    flag_id = int(flag[0])
    con.execute("INSERT INTO flag_origins VALUES (?, 'report')", [flag_id])
    item_json, account_json, sha = rec.evidence_json
    ev = con.execute(
        "INSERT INTO evidence (flag_id, item_key, raw_sha256, item_json, account_json, sha256, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING evidence_id",
        [flag_id, item.key, raw_sha, _j(item_json), _j(account_json), sha, now]).fetchone()
    assert ev is not None
    links.append(("evidence", int(ev[0])))
    return flag_id


def reports_of_flag(db: Database, flag_id: int, with_reporter: bool = False) -> list[dict[str, Any]]:
    """The reports behind a flag, oldest first; reporter name and contact only when asked (reviewers)."""
    with db.connect() as con:
        cur = con.execute(
            "SELECT r.report_id, r.channel, r.anonymous, r.note, r.url, r.platform, r.received_at, "
            "r.detail, p.name AS reporter_name, p.contact AS reporter_contact FROM reports r "
            "LEFT JOIN reporters p USING (reporter_id) WHERE r.flag_id = ? ORDER BY r.report_id",
            [flag_id])
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    for row in rows:
        row["received_at"] = row["received_at"].astimezone(UTC).isoformat()
        row["detail"] = json.loads(row["detail"])
        if not with_reporter:
            del row["reporter_name"], row["reporter_contact"]
    return rows


def flag_origin(db: Database, flag_id: int) -> str:
    """``report`` or ``collected``."""
    with db.connect() as con:
        row = con.execute("SELECT origin FROM flag_origin WHERE flag_id = ?", [flag_id]).fetchone()
    return "collected" if row is None else str(row[0])


def file_rows(db: Database, file_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Evidence file rows by id."""
    with db.connect() as con:
        cur = con.execute("SELECT file_id, role, path, sha256, size, content_type, status FROM "
                          "evidence_files WHERE file_id IN (SELECT unnest(?)) ORDER BY file_id",
                          [list(file_ids)])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
