"""The desk's "Laporan baru" form: staff type in a report, the intake service takes it.

The form only gathers what ``monitor.intake`` needs and calls ``IntakeService.submit``,
the one the CLI calls (no second copy of its rules); the signed-in user is recorded as
who entered the report. The service's typed refusals are shown in the user's language.
"""

from __future__ import annotations

import threading
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from monitor import i18n
from monitor.desk.app import Ctx, Desk, context, redirect, render
from monitor.desk.auth import csrf_ok
from monitor.errors import ArchiveError, ArchiveRefused, ArchiveTimeout, ArchiveTooLarge, InputError
from monitor.intake import IntakeRequest, IntakeService, NewAccount, Upload, open_service
from monitor.users import AccessDenied, User
from storage.desk_intake import RosterChoice, accounts_in
from storage.intake import roster_account

ROLES = frozenset({"reviewer", "coordinator", "admin"})  # auditors only read
MAX_FILES = 10
PLATFORMS = ("facebook", "instagram", "tiktok", "whatsapp", "x", "youtube", "threads", "telegram",
             "bluesky", "mastodon", "web")
_TEXT_FIELDS = ("account_id", "new_name", "new_nip", "new_agency", "new_region", "reporter_name",
                "reporter_contact", "anonymous", "channel", "note", "url", "platform")
# The intake service's refusals (English, for logs and the CLI) as Bawaslu staff read them.
_INPUT_MESSAGES = (("needs a URL or at least one", "report.err.nothing"),
                   ("larger than", "report.err.too_large"), ("not a PNG", "report.err.file_type"),
                   ("not a readable image", "report.err.file_type"),
                   ("18 digits", "report.err.nip"), ("names the ASN", "report.err.asn"),
                   ("not on the roster", "report.err.asn"), ("URL", "report.err.url"),
                   ("channel", "report.err.channel"))
_lock = threading.Lock()


class OutOfRegion(InputError):
    """The reported ASN is outside the signed-in user's region."""


def _intake(desk: Desk) -> IntakeService:
    """The desk's one intake service over its own store, built on first use."""
    with _lock:
        svc: IntakeService | None = getattr(desk, "intake", None)
        if svc is None:
            svc = open_service(desk.settings, desk.store)
            desk.intake = svc  # type: ignore[attr-defined]
        return svc


def error_text(exc: Exception, lang: str, limit: int) -> str:
    """A refused report's reason in the user's language."""
    if isinstance(exc, ArchiveRefused):
        key = "report.err.refused"
    elif isinstance(exc, ArchiveTimeout):
        key = "report.err.timeout"
    elif isinstance(exc, ArchiveTooLarge):
        key = "report.err.page_too_large"
    elif isinstance(exc, ArchiveError):
        key = "report.err.archive"
    elif isinstance(exc, OutOfRegion):
        key = "report.err.region"
    else:
        message = str(exc)
        key = next((k for marker, k in _INPUT_MESSAGES if marker in message), "report.err.input")
    return i18n.t(key, lang, mb=_mb(limit), n=MAX_FILES)


def _mb(limit: int) -> str:
    return f"{limit / 1_000_000:g}"


async def _allowed(request: Request) -> Ctx | Response:
    ctx = await context(request)
    if ctx.user is None:
        return redirect(ctx, "/login")
    if ctx.user.role not in ROLES:
        raise AccessDenied(f"role {ctx.user.role} may not enter reports")
    return ctx


def _scope(desk: Desk, user: User) -> tuple[str, ...] | None:
    regions = desk.users.regions_of(user)
    return None if regions is None else tuple(regions)


def _page(ctx: Ctx, values: dict[str, str], status: int = 200, error: str | None = None,
          detail: str | None = None) -> Response:
    assert ctx.user is not None
    desk = ctx.desk
    scope = _scope(desk, ctx.user)
    choices: list[RosterChoice] = accounts_in(desk.store.db, scope)
    return render(ctx, "report.html.j2", status, values=values, choices=choices, scope=scope,
                  platforms=PLATFORMS, error=error, detail=detail, max_files=MAX_FILES,
                  mb=_mb(desk.settings.intake.upload_max_bytes))


async def report_page(request: Request) -> Response:
    """The empty form."""
    ctx = await _allowed(request)
    if isinstance(ctx, Response):
        return ctx
    assert ctx.user is not None
    values = {"channel": "public", "new_region": ctx.user.region or ""}
    return await run_in_threadpool(_page, ctx, values)


async def _read(ctx: Ctx, limit: int) -> tuple[FormData, list[Upload]]:
    """The posted multipart form after its CSRF check; each file read to at most ``limit + 1`` bytes."""
    length = ctx.request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_FILES * (limit + 1) + 1_000_000:
        raise InputError(f"request larger than {MAX_FILES} files of {limit} bytes")
    form = await ctx.request.form(max_files=MAX_FILES, max_fields=50)
    if not csrf_ok(ctx.session, form.get("csrf")):
        raise HTTPException(403, "csrf")
    uploads = []
    for item in form.getlist("files"):
        if isinstance(item, UploadFile) and item.filename:
            # One byte past the bound is enough for the intake service to refuse it.
            uploads.append(Upload(item.filename[:200], await item.read(limit + 1)))
    return form, uploads


def _request(user: User, scope: tuple[str, ...] | None, desk: Desk, values: dict[str, str],
             uploads: list[Upload]) -> IntakeRequest:
    """The intake request the form describes; the reported ASN must be in the user's region."""
    account_id = values.get("account_id") or None
    new = None
    if account_id:
        found = roster_account(desk.store.db, account_id)
        if found is not None and scope is not None and found.region not in scope:
            raise OutOfRegion(f"account {account_id} is outside region {user.region}")
    else:
        region = values.get("new_region") or user.region or ""
        if scope is not None and region not in scope:
            raise OutOfRegion(f"region {region!r} is outside region {user.region}")
        new = NewAccount(values.get("new_name", ""), values.get("new_agency", ""),
                         values.get("new_nip", ""), region)
    anonymous = values.get("anonymous") == "1"
    return IntakeRequest(
        account_id=account_id, new_account=new,
        reporter_name=None if anonymous else values.get("reporter_name") or None,
        reporter_contact=None if anonymous else values.get("reporter_contact") or None,
        # The service refuses a channel other than public or internal.
        channel=values.get("channel") or "public",  # type: ignore[arg-type]
        note=values.get("note", ""), url=values.get("url") or None, uploads=tuple(uploads),
        platform=values.get("platform") or None,
        entered_by=(("user", user.username), ("role", user.role), ("via", "desk")))


def _submit(ctx: Ctx, values: dict[str, str], uploads: list[Upload]) -> Any:
    assert ctx.user is not None
    desk = ctx.desk
    req = _request(ctx.user, _scope(desk, ctx.user), desk, values, uploads)
    return _intake(desk).submit(req)


async def report_post(request: Request) -> Response:
    """Take the report in through the intake service; on success, to the new flag's page."""
    ctx = await _allowed(request)
    if isinstance(ctx, Response):
        return ctx
    limit = ctx.desk.settings.intake.upload_max_bytes
    values: dict[str, str] = {}
    try:
        form, uploads = await _read(ctx, limit)
        values = {k: str(form.get(k, "")).strip()[:4000] for k in _TEXT_FIELDS}
        result = await run_in_threadpool(_submit, ctx, values, uploads)
    except (InputError, ArchiveError) as exc:
        return await run_in_threadpool(_page, ctx, values, 400, error_text(exc, ctx.lang, limit), str(exc))
    text = i18n.t("report.stored", ctx.lang, report=result.report_id, flag=result.flag_id)
    if not result.new_item:
        text += " " + i18n.t("report.same_item", ctx.lang)
    ctx.session["flash"] = {"ok": True, "text": text}
    return redirect(ctx, f"/flag/{result.flag_id}")
