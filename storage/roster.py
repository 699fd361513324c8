"""Roster upkeep: accounts deactivated and reactivated, kept as history.

A deactivated account is no longer collected (``Store.current_handles(active_only=True)``);
its flags, evidence and reviews stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.errors import InputError
from storage.db import Database


@dataclass(frozen=True)
class StatusChange:
    """One activation or deactivation of an account."""

    account_id: str
    active: bool
    reason: str
    changed_by: str | None
    changed_at: datetime

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {**self.__dict__, "changed_at": self.changed_at.isoformat()}


def set_active(db: Database, account_ids: list[str], active: bool, reason: str,
               changed_by: str | None = None) -> list[str]:
    """Record (de)activations; returns the ids whose state changed (others are left alone)."""
    now = datetime.now(UTC)
    changed = []
    with db.transaction() as con:
        for account_id in account_ids:
            if con.execute("SELECT 1 FROM accounts WHERE account_id = ?", [account_id]).fetchone() is None:
                raise InputError(f"account {account_id!r} is not in the roster")
            row = con.execute("SELECT active FROM account_current_status WHERE account_id = ?",
                              [account_id]).fetchone()
            if (row[0] if row else True) == active:
                continue
            con.execute("INSERT INTO account_status (account_id, active, reason, changed_by, "
                        "changed_at) VALUES (?, ?, ?, ?, ?)",
                        [account_id, active, reason, changed_by, now])
            changed.append(account_id)
    return changed


def inactive(db: Database) -> set[str]:
    """Ids of the accounts deactivated now."""
    with db.connect() as con:
        rows = con.execute("SELECT account_id FROM account_current_status WHERE NOT active").fetchall()
    return {r[0] for r in rows}


def history(db: Database, account_id: str | None = None) -> list[StatusChange]:
    """Every (de)activation, oldest first (of one account, or all)."""
    with db.connect() as con:
        rows = con.execute("SELECT account_id, active, reason, changed_by, changed_at "
                           "FROM account_status WHERE ? IS NULL OR account_id = ? ORDER BY id",
                           [account_id, account_id]).fetchall()
    return [StatusChange(*r) for r in rows]


def snapshot(db: Database) -> dict[str, dict[str, Any]]:
    """Each stored account: name, nip, agency, region and its current handles per platform."""
    with db.connect() as con:
        people = con.execute("SELECT account_id, name, nip, agency, region FROM accounts").fetchall()
        handles = con.execute(
            "SELECT account_id, platform, handle FROM account_handles "
            "QUALIFY row_number() OVER (PARTITION BY account_id, platform ORDER BY id DESC) = 1"
        ).fetchall()
    out = {p[0]: {"name": p[1], "nip": p[2], "agency": p[3], "region": p[4], "handles": {}}
           for p in people}
    for account_id, platform, handle in handles:
        out[account_id]["handles"][platform] = handle
    return out
