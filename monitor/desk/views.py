"""The desk's pages and forms. Each handler: session, CSRF, parse, one service call, render."""

from __future__ import annotations

import mimetypes
from datetime import date
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from monitor import i18n
from monitor.desk.app import Ctx, context, redirect, render, secure
from monitor.desk.auth import csrf_ok
from monitor.desk_service import DeskService, refusal_text
from monitor.errors import ReviewError, StorageError
from monitor.evidence.card import card_html
from monitor.review import REASONS
from monitor.users import AccessDenied
from storage.desk import DeskFilter
from storage.users import record_login

KINDS = ("post", "reply", "quote", "repost", "like")
STATUSES = ("pending", "confirmed", "dismissed", "escalated", "any")


class BadInput(ReviewError):
    """A query or form value the desk cannot use."""


def _service(ctx: Ctx) -> DeskService:
    assert ctx.user is not None
    return DeskService(ctx.desk.settings, ctx.desk.store, ctx.user)


async def _form(ctx: Ctx) -> dict[str, Any]:
    """The posted form, after its CSRF token is checked (403 when missing or wrong)."""
    form = await ctx.request.form()
    if not csrf_ok(ctx.session, form.get("csrf")):
        raise HTTPException(403, "csrf")
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def _signed_in(request: Request) -> Ctx | Response:
    ctx = await context(request)
    if ctx.user is None:
        return redirect(ctx, "/login")
    return ctx


# -- login -------------------------------------------------------------------


async def login_page(request: Request) -> Response:
    """The login form."""
    return render(await context(request), "login.html.j2", error=None)


async def login_post(request: Request) -> Response:
    """Check the password (rate-limited), record the attempt, start a fresh session."""
    ctx = await context(request)
    form = await _form(ctx)
    desk = ctx.desk
    username = form.get("username", "").strip().lower()[:80]
    remote = request.client.host if request.client else "?"
    if desk.limiter.blocked(remote, username):
        await run_in_threadpool(record_login, desk.store.db, username, "limited", remote)
        return render(ctx, "login.html.j2", 429, error="desk.login_limited")
    user = await run_in_threadpool(desk.users.authenticate, username, form.get("password", ""))
    if user is None:
        desk.limiter.failed(remote, username)
        await run_in_threadpool(record_login, desk.store.db, username, "failed", remote)
        return render(ctx, "login.html.j2", 401, error="desk.login_failed")
    desk.limiter.succeeded(username)
    await run_in_threadpool(record_login, desk.store.db, username, "login", remote, user.role)
    # A new CSRF token at login: a token seen before signing in is worth nothing after.
    import secrets

    ctx.session = {"csrf": secrets.token_urlsafe(32), "lang": ctx.session.get("lang"),
                   "user": user.username, "ver": user.session_version}
    return redirect(ctx, "/")


async def logout(request: Request) -> Response:
    """End the session (recorded)."""
    ctx = await context(request)
    await _form(ctx)
    if ctx.user is not None:
        remote = request.client.host if request.client else "?"
        await run_in_threadpool(record_login, ctx.desk.store.db, ctx.user.username, "logout", remote)
    ctx.session = {"csrf": ctx.session["csrf"], "lang": ctx.session.get("lang")}
    return redirect(ctx, "/login")


async def set_language(request: Request) -> Response:
    """Switch between Indonesian and English; back to the page the user was on."""
    ctx = await context(request)
    code = request.path_params["code"]
    if code in i18n.LANGUAGES:
        ctx.session["lang"] = code
    back = request.query_params.get("next", "/")
    return redirect(ctx, back if back.startswith("/") and not back.startswith("//") else "/")


# -- queue -------------------------------------------------------------------


def _filter(params: Any) -> DeskFilter:
    def text(name: str) -> str | None:
        value = str(params.get(name, "")).strip()
        return value[:200] or None

    def day(name: str) -> date | None:
        value = text(name)
        try:
            return date.fromisoformat(value) if value else None
        except ValueError as exc:
            raise BadInput(f"{name}: not a date (YYYY-MM-DD): {value!r}") from exc

    status = text("status") or "pending"
    kind = text("kind")
    if status not in STATUSES or (kind and kind not in KINDS):
        raise BadInput(f"unknown status or kind: {status!r}, {kind!r}")
    try:
        score = float(text("min_score") or "nan")
        page = int(text("page") or "1")
    except ValueError as exc:
        raise BadInput(f"min_score/page: {exc}") from exc
    return DeskFilter(status=status, region=text("region"), agency=text("agency"), kind=kind,
                      target=text("target"), since=day("since"), until=day("until"),
                      min_score=None if score != score else score, search=text("q"),
                      page=max(1, min(page, 100_000)))


async def queue_page(request: Request) -> Response:
    """The queue: filters, search, paging, ordered by score."""
    ctx = await _signed_in(request)
    if isinstance(ctx, Response):
        return ctx
    flt = _filter(request.query_params)
    svc = _service(ctx)
    page, acts = await run_in_threadpool(svc.queue, flt, ctx.lang)
    targets = await run_in_threadpool(svc.targets)
    args = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return render(ctx, "queue.html.j2", page=page, acts=acts, flt=flt, targets=targets, kinds=KINDS,
                  statuses=STATUSES, args=args)


# -- flag --------------------------------------------------------------------


async def flag_page(request: Request) -> Response:
    """One flag: card, engaged post, images, explanation, history, other flags, decisions."""
    ctx = await _signed_in(request)
    if isinstance(ctx, Response):
        return ctx
    view = await run_in_threadpool(_service(ctx).flag, int(request.path_params["flag_id"]), ctx.lang)
    return render(ctx, "flag.html.j2", v=view, d=view.detail, item=view.detail.item,
                  subject=view.detail.item.get("subject") or None, reasons=REASONS,
                  four_eyes=ctx.desk.settings.review.four_eyes)


async def card_page(request: Request) -> Response:
    """The evidence card ``review show`` renders, served with a no-script, no-network policy."""
    ctx = await _signed_in(request)
    if isinstance(ctx, Response):
        return ctx
    flag_id = int(request.path_params["flag_id"])
    svc = _service(ctx)
    view = await run_in_threadpool(svc.flag, flag_id, ctx.lang)
    html = await run_in_threadpool(card_html, view.detail, ctx.desk.settings.evidence_dir, ctx.lang)
    response = HTMLResponse(html)
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox")
    return secure(response)


async def image(request: Request) -> Response:
    """One of the flag's downloaded images (only raster types, from the evidence folder)."""
    ctx = await _signed_in(request)
    if isinstance(ctx, Response):
        return ctx
    flag_id, file_id = int(request.path_params["flag_id"]), int(request.path_params["file_id"])
    view = await run_in_threadpool(_service(ctx).flag, flag_id, ctx.lang)
    for f in view.detail.files:
        if f["file_id"] == file_id and f["role"] == "image" and f["status"] == "ok":
            path = ctx.desk.settings.evidence_dir / f["path"]
            ctype = f["content_type"] or mimetypes.guess_type(path.name)[0] or ""
            if ctype in ("image/png", "image/jpeg", "image/gif", "image/webp"):
                return secure(FileResponse(path, media_type=ctype))
    raise HTTPException(404)


async def decide(request: Request) -> Response:
    """confirm / dismiss / escalate through the review service; the outcome as a flash message."""
    ctx = await _signed_in(request)
    if isinstance(ctx, Response):
        return ctx
    form = await _form(ctx)
    flag_id = int(request.path_params["flag_id"])
    action = request.path_params["action"]
    svc = _service(ctx)
    group = form.get("group") == "1"
    try:
        if action == "confirm":
            written = await run_in_threadpool(svc.confirm, flag_id, form.get("note", ""), group, ctx.lang)
        elif action == "dismiss":
            written = await run_in_threadpool(svc.dismiss, flag_id, form.get("reason", ""),
                                              form.get("note", ""), group)
        elif action == "escalate":
            review, _ = await run_in_threadpool(svc.escalate, flag_id, form.get("sure") == "1", ctx.lang)
            written = [review]
        else:
            raise HTTPException(404)
    except AccessDenied:
        raise
    except ReviewError as exc:
        why = refusal_text(exc, ctx.lang)
        ctx.session["flash"] = {"ok": False, "text": i18n.t("desk.not_recorded", ctx.lang, why=why)}
        return redirect(ctx, f"/flag/{flag_id}")
    what = ", ".join(f"#{r.flag_id} {i18n.t('decision.' + r.decision, ctx.lang)}" for r in written)
    ctx.session["flash"] = {"ok": True, "text": i18n.t("desk.recorded", ctx.lang, what=what)}
    return redirect(ctx, f"/flag/{flag_id}")


# -- escalations ---------------------------------------------------------------


async def escalations_page(request: Request) -> Response:
    """Escalations in the user's region, with their downloads."""
    ctx = await _signed_in(request)
    if isinstance(ctx, Response):
        return ctx
    rows = await run_in_threadpool(_service(ctx).escalations)
    return render(ctx, "escalations.html.j2", rows=rows)


async def download(request: Request) -> Response:
    """The zip package or the PDF letter of one escalation."""
    ctx = await _signed_in(request)
    if isinstance(ctx, Response):
        return ctx
    what = request.path_params["what"]
    if what not in ("zip", "pdf"):
        raise HTTPException(404)
    path = await run_in_threadpool(_service(ctx).escalation_file, int(request.path_params["review_id"]),
                                   what)
    media = "application/zip" if what == "zip" else "application/pdf"
    return secure(FileResponse(path, media_type=media, filename=path.name))


# -- errors --------------------------------------------------------------------


async def _error(request: Request, status: int, title: str, message: str) -> Response:
    ctx = await context(request)
    return render(ctx, "error.html.j2", status, title=title, message=message)


async def _forbidden(request: Request, exc: Exception) -> Response:
    return await _error(request, 403, "desk.forbidden", "desk.forbidden_text")


async def _review_error(request: Request, exc: Exception) -> Response:
    missing = "does not exist" in str(exc)
    ctx = await context(request)
    return render(ctx, "error.html.j2", 404 if missing else 400,
                  title="desk.not_found" if missing else "desk.bad_request", message=None,
                  detail=str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.detail == "csrf":
        return await _error(request, 403, "desk.forbidden", "desk.csrf")
    return await _error(request, exc.status_code,
                        "desk.not_found" if exc.status_code == 404 else "desk.bad_request", "")


async def _storage_error(request: Request, exc: Exception) -> Response:
    # The database stayed busy (the daemon's cycle) past the lock timeout: nothing was written.
    return await _error(request, 503, "desk.busy", "desk.busy_text")


def exception_handlers() -> dict[Any, Any]:
    """Typed errors to pages: 403 outside the user's region or role, 404, 400, 503 when busy."""
    return {AccessDenied: _forbidden, ReviewError: _review_error, HTTPException: _http_error,
            StorageError: _storage_error}


def routes() -> list[Route]:
    """Every desk route."""
    from monitor.desk.report import report_page, report_post

    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login_post, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/lang/{code}", set_language, methods=["GET"]),
        Route("/", queue_page, methods=["GET"]),
        Route("/flag/{flag_id:int}", flag_page, methods=["GET"]),
        Route("/flag/{flag_id:int}/card", card_page, methods=["GET"]),
        Route("/flag/{flag_id:int}/image/{file_id:int}", image, methods=["GET"]),
        Route("/flag/{flag_id:int}/{action}", decide, methods=["POST"]),
        Route("/escalations", escalations_page, methods=["GET"]),
        Route("/laporan/baru", report_page, methods=["GET"]),
        Route("/laporan/baru", report_post, methods=["POST"]),
        Route("/escalations/{review_id:int}/{what}", download, methods=["GET"]),
    ]

