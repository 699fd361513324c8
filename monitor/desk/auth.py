"""Desk sessions: signed cookies, CSRF tokens, the session secret and the login rate limit.

The session lives in one signed cookie (HttpOnly, SameSite=Strict, Secure behind
https, expiring after ``[desk] session_hours``) holding the user name, the user's
``session_version`` when signed in, a CSRF token and the language. Each request
re-reads the user: a disabled user or a changed password ends the session.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections import deque
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from monitor.evidence.files import write_private
from monitor.settings import Settings

COOKIE = "asn_desk"
SECRET_FILE = "desk-session.key"  # noqa: S105  (a file name, not a secret)


def session_secret(settings: Settings, env: dict[str, str] | None = None) -> str:
    """The cookie-signing secret: from ``[desk] session_secret_env``, else a 0600 file beside the DB."""
    env = dict(os.environ) if env is None else env
    value = env.get(settings.desk.session_secret_env, "").strip()
    if value:
        return value
    path = settings.db_path.parent / SECRET_FILE
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    value = secrets.token_urlsafe(48)
    write_private(path.parent, path.name, value.encode("ascii"))
    return value


class Sessions:
    """Reads and writes the signed session cookie."""

    def __init__(self, secret: str, max_age: float, secure: bool) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt="asn-monitor-desk-session")
        self.max_age = int(max_age)
        self.secure = secure

    def load(self, request: Request) -> dict[str, Any]:
        """The session (a fresh anonymous one when missing, forged or expired)."""
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data = self._signer.loads(raw, max_age=self.max_age)
                if isinstance(data, dict) and isinstance(data.get("csrf"), str):
                    return data
            except BadSignature:
                pass
        return {"csrf": secrets.token_urlsafe(32)}

    def save(self, response: Response, session: dict[str, Any]) -> None:
        """Set the cookie on ``response``."""
        response.set_cookie(COOKIE, self._signer.dumps(session), max_age=self.max_age, path="/",
                            httponly=True, samesite="strict", secure=self.secure)

    def clear(self, response: Response) -> None:
        """Drop the cookie."""
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=self.secure)


def csrf_ok(session: dict[str, Any], form_token: Any) -> bool:
    """True when the form carries the session's CSRF token."""
    expected = session.get("csrf")
    return (isinstance(form_token, str) and isinstance(expected, str)
            and hmac.compare_digest(form_token.encode(), expected.encode()))


class LoginLimiter:
    """At most ``max_failures`` failed logins per address and per user name in ``window`` seconds."""

    def __init__(self, max_failures: int, window: float) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and q[0] < now - self.window:
            q.popleft()
        return q

    def blocked(self, remote: str, username: str) -> bool:
        """True while either key has too many recent failures."""
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(k, now)) >= self.max_failures
                       for k in (f"ip:{remote}", f"user:{username.lower()}"))

    def failed(self, remote: str, username: str) -> None:
        """Count one failure against the address and the name."""
        now = time.monotonic()
        with self._lock:
            for key in (f"ip:{remote}", f"user:{username.lower()}"):
                self._recent(key, now).append(now)
            if len(self._failures) > 10_000:  # bounded memory under a spray of names
                for key in [k for k, v in self._failures.items() if not v][:5_000]:
                    del self._failures[key]

    def succeeded(self, username: str) -> None:
        """Forget the name's failures after a good login."""
        with self._lock:
            self._failures.pop(f"user:{username.lower()}", None)

