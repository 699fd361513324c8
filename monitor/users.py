"""Desk accounts: roles, regions, argon2 password hashes and what each role may do.

Roles:

- ``reviewer``: sees its region's flags, confirms and dismisses;
- ``coordinator``: what a reviewer does, plus escalation (and so the second
  confirmation under four-eyes);
- ``auditor``: reads everything in its region, decides nothing;
- ``admin``: manages users, and reads and decides like a coordinator.

A user's region is a regency/city code (only that region's flags) or a
province code (that province and every regency and city whose ``province`` in
the region table is that code); no region means the whole country.

A password is only ever handled as an argon2id hash; it never reaches a log,
the database or an error message.
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from monitor.errors import ReviewError
from storage import users as q
from storage.db import Database
from storage.users import UserRow

ROLES: tuple[str, ...] = ("reviewer", "coordinator", "auditor", "admin")
ACTIONS: dict[str, frozenset[str]] = {
    "reviewer": frozenset({"read", "confirm", "dismiss"}),
    "coordinator": frozenset({"read", "confirm", "dismiss", "escalate"}),
    "auditor": frozenset({"read"}),
    "admin": frozenset({"read", "confirm", "dismiss", "escalate", "users"}),
}
MIN_PASSWORD = 10
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
_HASHER = PasswordHasher()
# Checked against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("not-a-password-of-anyone")


class AccessDenied(ReviewError):
    """The signed-in user's role or region does not allow this."""


@dataclass(frozen=True)
class User:
    """A signed-in (or looked-up) desk user, without the password hash."""

    username: str
    full_name: str
    position: str | None
    role: str
    region: str | None
    disabled: bool
    session_version: int

    def can(self, action: str) -> bool:
        """True when the role allows ``action`` (read, confirm, dismiss, escalate, users)."""
        return action in ACTIONS.get(self.role, frozenset())

    def require(self, action: str) -> None:
        """Raise ``AccessDenied`` unless the role allows ``action``."""
        if not self.can(action):
            raise AccessDenied(f"role {self.role} may not {action}")


def _user(row: UserRow) -> User:
    return User(row.username, row.full_name, row.position, row.role, row.region, row.disabled,
                row.session_version)


def os_user() -> str:
    """The operating-system account running this process."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def check_password(password: str) -> None:
    """Refuse a password too short to keep (the message never repeats it)."""
    if len(password) < MIN_PASSWORD:
        raise ReviewError(f"the password needs at least {MIN_PASSWORD} characters")


class UserService:
    """Adds, lists, disables users, resets passwords and checks logins."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, username: str, full_name: str, role: str, password: str,
            region: str | None = None, position: str | None = None,
            known_regions: Collection[str] = ()) -> User:
        """Create a user; the password is kept only as an argon2id hash.

        ``known_regions``: the region table's codes (the settings' CSV), checked besides the
        stored table, so users can be added before the first run loads it.
        """
        if not _USERNAME.match(username):
            raise ReviewError(f"username {username!r}: 2-40 of a-z, 0-9, '.', '_', '-'")
        if role not in ROLES:
            raise ReviewError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if not full_name.strip():
            raise ReviewError("the full name is empty")
        region = (region or "").strip() or None
        if region is not None and region not in known_regions and not q.region_exists(self.db, region):
            raise ReviewError(f"region {region!r} is not in the region table")
        check_password(password)
        now = datetime.now(UTC)
        row = UserRow(username, full_name.strip(), (position or "").strip() or None, role, region,
                      _HASHER.hash(password), False, 1, now, now)
        q.insert_user(self.db, row)
        return _user(row)

    def all(self) -> list[User]:
        """Every user."""
        return [_user(r) for r in q.list_users(self.db)]

    def get(self, username: str) -> User | None:
        """The user, or None."""
        row = q.get_user(self.db, username)
        return _user(row) if row else None

    def disable(self, username: str) -> User:
        """Disable the user; open sessions stop working at their next request."""
        return _user(q.update_user(self.db, username, disabled=True))

    def enable(self, username: str) -> User:
        """Enable a disabled user again."""
        return _user(q.update_user(self.db, username, disabled=False))

    def reset_password(self, username: str, password: str) -> User:
        """Set a new password; open sessions stop working."""
        check_password(password)
        return _user(q.update_user(self.db, username, password_hash=_HASHER.hash(password)))

    def authenticate(self, username: str, password: str) -> User | None:
        """The user when name and password match and the user is enabled, else None."""
        row = q.get_user(self.db, username)
        try:
            _HASHER.verify(row.password_hash if row else _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None or row.disabled:
            return None
        return _user(row)

    def regions_of(self, user: User) -> list[str] | None:
        """The region codes the user sees, or None for the whole country."""
        return None if user.region is None else q.region_codes(self.db, user.region)
