"""Desk accounts and the login record: the only SQL over ``desk_users`` and ``desk_logins``.

Only password hashes are stored here; hashing is the caller's (monitor/users.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.errors import ReviewError
from storage.db import Database

_COLUMNS = ("username, full_name, position, role, region, password_hash, disabled, session_version, "
            "created_at, updated_at")


@dataclass(frozen=True)
class UserRow:
    """One desk account as stored (with its password hash)."""

    username: str
    full_name: str
    position: str | None
    role: str
    region: str | None
    password_hash: str
    disabled: bool
    session_version: int
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict without the password hash."""
        return {"username": self.username, "full_name": self.full_name, "position": self.position,
                "role": self.role, "region": self.region, "disabled": self.disabled,
                "created_at": self.created_at.isoformat(), "updated_at": self.updated_at.isoformat()}


def _row(r: Any) -> UserRow:
    return UserRow(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), int(r[7]), r[8].astimezone(UTC),
                   r[9].astimezone(UTC))


def insert_user(db: Database, user: UserRow) -> None:
    """Add a user; ``ReviewError`` when the name is taken."""
    with db.transaction() as con:
        if con.execute("SELECT 1 FROM desk_users WHERE username = ?", [user.username]).fetchone():
            raise ReviewError(f"user {user.username!r} exists already")
        con.execute(f"INSERT INTO desk_users ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                    [user.username, user.full_name, user.position, user.role, user.region,
                     user.password_hash, user.disabled, user.session_version, user.created_at,
                     user.updated_at])


def get_user(db: Database, username: str) -> UserRow | None:
    """The user called ``username``, or None."""
    with db.connect() as con:
        r = con.execute(f"SELECT {_COLUMNS} FROM desk_users WHERE username = ?",  # noqa: S608
                        [username]).fetchone()
    return _row(r) if r else None


def list_users(db: Database) -> list[UserRow]:
    """Every user, by name."""
    with db.connect() as con:
        rows = con.execute(f"SELECT {_COLUMNS} FROM desk_users ORDER BY username").fetchall()  # noqa: S608
    return [_row(r) for r in rows]


def update_user(db: Database, username: str, *, password_hash: str | None = None,
                disabled: bool | None = None) -> UserRow:
    """Set a new hash and/or the disabled flag; either ends the user's open sessions."""
    now = datetime.now(UTC)
    with db.transaction() as con:
        if not con.execute("SELECT 1 FROM desk_users WHERE username = ?", [username]).fetchone():
            raise ReviewError(f"no user {username!r}")
        if password_hash is not None:
            con.execute("UPDATE desk_users SET password_hash = ? WHERE username = ?",
                        [password_hash, username])
        if disabled is not None:
            con.execute("UPDATE desk_users SET disabled = ? WHERE username = ?", [disabled, username])
        con.execute("UPDATE desk_users SET session_version = session_version + 1, updated_at = ? "
                    "WHERE username = ?", [now, username])
        r = con.execute(f"SELECT {_COLUMNS} FROM desk_users WHERE username = ?",  # noqa: S608
                        [username]).fetchone()
    return _row(r)


def record_login(db: Database, username: str, event: str, remote: str | None,
                 detail: str | None = None) -> None:
    """Keep one login event: login, logout, failed, limited."""
    with db.transaction() as con:
        con.execute("INSERT INTO desk_logins (logged_at, username, event, remote, detail) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [datetime.now(UTC), username[:200], event, remote, detail])


def login_events(db: Database, limit: int = 200) -> list[dict[str, Any]]:
    """The latest login events, newest first."""
    with db.connect() as con:
        rows = con.execute("SELECT logged_at, username, event, remote, detail FROM desk_logins "
                           "ORDER BY id DESC LIMIT ?", [limit]).fetchall()
    return [{"at": r[0].astimezone(UTC).isoformat(), "username": r[1], "event": r[2], "remote": r[3],
             "detail": r[4]} for r in rows]


def region_codes(db: Database, region: str) -> list[str]:
    """``region`` and, when it is a province, every regency and city in it (``regions.province``)."""
    with db.connect() as con:
        rows = con.execute("SELECT code FROM regions WHERE province = ? OR code = ?",
                           [region, region]).fetchall()
    return sorted({region, *(str(r[0]) for r in rows)})


def region_exists(db: Database, code: str) -> bool:
    """True when ``code`` is in the region table."""
    with db.connect() as con:
        return con.execute("SELECT 1 FROM regions WHERE code = ?", [code]).fetchone() is not None
