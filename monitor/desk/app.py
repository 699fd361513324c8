"""The desk's shared parts: application state, the request context, page rendering, security headers.

Handlers live in ``views.py``; they parse requests and render templates and call
the services (``monitor.desk_service``, ``monitor.users``), never the CLI.
``server.create_app`` puts the state and the views together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from monitor import i18n
from monitor.desk import text as _text  # noqa: F401  (registers the desk's words)
from monitor.desk.auth import LoginLimiter, Sessions
from monitor.evidence.card import safe_href
from monitor.localtime import in_region
from monitor.settings import Settings
from monitor.users import User, UserService
from storage.store import Store

TEMPLATES = Path(__file__).with_name("templates")
# No script at all: the pages are plain forms; styles are inline in the base template.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-src 'self'; "
       "form-action 'self'; frame-ancestors 'self'; base-uri 'none'")


@dataclass
class Desk:
    """What every request shares: settings, store, session signer, login limiter, templates."""

    settings: Settings
    store: Store
    sessions: Sessions
    limiter: LoginLimiter
    env: jinja2.Environment = field(init=False)

    def __post_init__(self) -> None:
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                                      undefined=jinja2.StrictUndefined)
        self.env.filters["local"] = in_region
        self.env.filters["safe_href"] = safe_href
        self.users = UserService(self.store.db)


@dataclass
class Ctx:
    """One request: its session, the signed-in user (or None) and the language."""

    request: Request
    session: dict[str, Any]
    user: User | None

    @property
    def lang(self) -> str:
        """The page language: the session's choice, else Indonesian."""
        lang = self.session.get("lang")
        return lang if lang in i18n.LANGUAGES else i18n.DEFAULT

    @property
    def desk(self) -> Desk:
        """The application's shared state."""
        desk: Desk = self.request.app.state.desk
        return desk


async def context(request: Request) -> Ctx:
    """Load the session; the user only while enabled and with an unchanged session version."""
    desk: Desk = request.app.state.desk
    session = desk.sessions.load(request)
    user = None
    name = session.get("user")
    if isinstance(name, str):
        found = await run_in_threadpool(desk.users.get, name)
        if found is not None and not found.disabled and found.session_version == session.get("ver"):
            user = found
        else:  # disabled, password changed or deleted: the session ends here
            session = {"csrf": session["csrf"], "lang": session.get("lang")}
    return Ctx(request, session, user)


def secure(response: Response) -> Response:
    """Add the security headers every desk response carries."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def render(ctx: Ctx, template: str, status: int = 200, **values: Any) -> Response:
    """A template rendered for ``ctx`` (language, user, CSRF token, flash message)."""
    lang = ctx.lang
    flash = ctx.session.pop("flash", None)
    html = ctx.desk.env.get_template(template).render(
        m=lambda key, **kw: i18n.t(key, lang, **kw), lang=lang, user=ctx.user,
        csrf=ctx.session["csrf"], flash=flash, path=ctx.request.url.path, ceil=math.ceil, **values)
    response = HTMLResponse(html, status_code=status)
    ctx.desk.sessions.save(response, ctx.session)
    return secure(response)


def redirect(ctx: Ctx, url: str) -> Response:
    """A 303 to ``url`` carrying the (possibly changed) session."""
    response = RedirectResponse(url, status_code=303)
    ctx.desk.sessions.save(response, ctx.session)
    return secure(response)


def html_page(body: str, status: int) -> HTMLResponse:
    """A bare page for errors met before a session could be read."""
    return HTMLResponse(f"<!doctype html><title>{status}</title><p>{body}</p>", status_code=status)
