"""The weekly digest: who gets which digest, building the email, sending it exactly once.

A week's digest goes to each audience (everyone in ``[digest] recipients``,
and each ``by_region`` / ``by_agency`` list with its own slice) at most once
and, while the SMTP server is down, is retried until it goes out:

1. ``DigestLog.claim`` marks the (week, audience) row ``sending`` in one
   transaction, unless it is already ``sent`` (then nothing is sent);
2. the message goes to the server (no database connection is held meanwhile);
3. the row is marked ``sent`` with its Message-ID, or ``failed`` with the error.

A row left ``sending`` by a crash between 2 and 3 is not resent automatically:
the server may have accepted it. ``digest send --force`` resends after an
operator has checked the mail log for the stored Message-ID.
"""

from __future__ import annotations

import base64
import os
import smtplib
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import cast

from apscheduler.triggers.cron import CronTrigger

from monitor.digest_render import Rendered, render
from monitor.errors import ConfigError, DeliveryError, InputError
from monitor.settings import DigestSettings, Settings, SmtpSettings, secret
from storage.db import Database
from storage.digest import JAKARTA, DigestLog, Scope, digest_data, week_bounds, week_of


@dataclass(frozen=True)
class Audience:
    """A list of recipients and the slice of flags they get."""

    scope: Scope
    recipients: list[str]


@dataclass(frozen=True)
class Outcome:
    """What happened to one audience's digest: sent, failed, or skipped (and why)."""

    week: str
    audience: str
    status: str
    recipients: list[str]
    flags: int
    message_id: str | None = None
    detail: str = ""
    seconds: float = 0.0


def audiences(digest: DigestSettings) -> list[Audience]:
    """Every audience the settings name, the whole-picture one first."""
    out = []
    if digest.recipients:
        out.append(Audience(Scope(), list(digest.recipients)))
    out += [Audience(Scope("region", code), list(r)) for code, r in sorted(digest.by_region.items()) if r]
    out += [Audience(Scope("agency", name), list(r)) for name, r in sorted(digest.by_agency.items()) if r]
    return out


def parse_week(text: str) -> str:
    """Validate ``YYYY-Www`` (ISO week) and return it normalised."""
    try:
        year, number = text.upper().split("-W")
        start, _ = week_bounds(f"{int(year):04d}-W{int(number):02d}")
    except ValueError:
        raise InputError(f"--week {text!r}: expected an ISO week like 2024-W38") from None
    return week_of(start)


def previous_week(now: datetime) -> str:
    """The last complete ISO week (Asia/Jakarta) before ``now``."""
    return week_of(now - timedelta(days=7))


def schedule_trigger(digest: DigestSettings) -> CronTrigger:
    """The cron trigger of the weekly digest, in Asia/Jakarta."""
    s = digest.schedule
    try:
        return CronTrigger(day_of_week=s.day_of_week, hour=s.hour, minute=s.minute, timezone=JAKARTA)
    except ValueError as exc:
        raise ConfigError("[digest.schedule]", str(exc)) from None


def due_week(trigger: CronTrigger, now: datetime) -> str | None:
    """The week whose digest is due: the one before the latest scheduled time at or before ``now``."""
    latest = None
    moment = trigger.get_next_fire_time(None, now - timedelta(days=8))
    while moment is not None and moment <= now:
        latest = moment
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return previous_week(latest) if latest is not None else None


def build_message(rendered: Rendered, sender: str, recipients: list[str], message_id: str,
                  now: datetime) -> EmailMessage:
    """multipart/alternative (text, then multipart/related HTML + inline PNG chart)."""
    msg = EmailMessage()
    msg["Subject"] = rendered.subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(now.timestamp(), localtime=False, usegmt=True)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(rendered.text, charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    html_part = cast(EmailMessage, msg.get_payload()[1])  # type: ignore[index]
    html_part.add_related(rendered.png, "image", "png", cid=f"<{rendered.chart_cid}>",
                          filename="chart.png", disposition="inline")
    return msg


def _domain(sender: str) -> str:
    return sender.rpartition("@")[2].strip("> ") or "asn-monitor.local"


def smtp_send(smtp: SmtpSettings, msg: EmailMessage, env: Mapping[str, str],
              ca_file: Path | None = None) -> list[str]:
    """Hand ``msg`` to the SMTP server; returns the recipients it refused (if it took the rest).

    Raises ``DeliveryError`` when the server took nothing (down, login refused,
    every recipient refused).

    TLS always verifies the server's certificate and name (against ``ca_file``
    when given, else the system's CAs); the login comes from environment variables.
    """
    username = secret(env, smtp.username_env, "[digest.smtp] username_env")
    password = secret(env, smtp.password_env, "[digest.smtp] password_env")
    try:
        client: smtplib.SMTP
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        if smtp.security == "ssl":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        with client:
            if smtp.security == "starttls":
                client.starttls(context=context)
            if username and password:
                client.login(username, password)
            refused = client.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP {smtp.host}:{smtp.port}: {type(exc).__name__}: {exc}") from exc
    # Some recipients refused, the others accepted: the message went out and is not
    # retried (that would send it twice to those who got it); the refusals are noted.
    return sorted(refused)


def render_for(db: Database, settings: Settings, week: str, scope: Scope, lang: str,
               now: datetime, chart_cid: str = "chart") -> tuple[Rendered, int]:
    """The rendered digest of ``week`` for ``scope``, and its number of new flags."""
    data = digest_data(db, week, scope, settings.digest.top, now)
    return render(data, lang, now, chart_cid), len(data.new_flags)


def preview_html(rendered: Rendered) -> str:
    """The HTML with the chart inlined as a data: URI, so a browser shows it from a file."""
    uri = "data:image/png;base64," + base64.b64encode(rendered.png).decode()
    return rendered.html.replace(f"cid:{rendered.chart_cid}", uri)


def send_week(db: Database, settings: Settings, week: str, *, force: bool = False,
              env: Mapping[str, str] | None = None, now: datetime | None = None,
              only_retry: bool = False) -> list[Outcome]:
    """Send ``week``'s digest to every audience not yet served; one outcome per audience.

    ``only_retry`` (the daemon) also skips audiences that failed ``max_attempts`` times.
    """
    env = os.environ if env is None else env
    digest = settings.digest
    targets = audiences(digest)
    if not targets:
        raise ConfigError(f"{settings.file}: digest.recipients", "no recipients configured")
    log = DigestLog(db)
    out: list[Outcome] = []
    for aud in targets:
        now_ = now or datetime.now(UTC)
        started = time.monotonic()
        key = aud.scope.audience
        row = log.get(week, key)
        # Cheap early exit (no rendering); claim() below re-checks inside a transaction.
        if row is not None and not force and (
                row.status in ("sent", "sending")
                or (only_retry and row.attempts >= digest.max_attempts)):
            detail = (f"gave up after {row.attempts} attempts" if row.status == "failed"
                      else f"already {row.status}")
            out.append(Outcome(week, key, "skipped", aud.recipients, row.flags or 0,
                               row.message_id, detail))
            continue
        domain = _domain(digest.smtp.sender)
        message_id = make_msgid("digest", domain=domain)
        cid = make_msgid("chart", domain=domain)[1:-1]
        rendered, flags = render_for(db, settings, week, aud.scope, digest.language, now_, cid)
        blocking = log.claim(week, key, aud.recipients, digest.language, message_id, force)
        if blocking is not None:
            out.append(Outcome(week, key, "skipped", aud.recipients, blocking.flags or 0,
                               blocking.message_id, f"already {blocking.status}"))
            continue
        msg = build_message(rendered, digest.smtp.sender, aud.recipients, message_id, now_)
        try:
            refused = smtp_send(digest.smtp, msg, env,
                                settings.resolve(digest.smtp.ca_file) if digest.smtp.ca_file else None)
        except (DeliveryError, ConfigError) as exc:
            log.mark_failed(week, key, str(exc))
            out.append(Outcome(week, key, "failed", aud.recipients, flags, message_id, str(exc),
                               time.monotonic() - started))
            continue
        note = f"refused by the server: {', '.join(refused)}" if refused else ""
        log.mark_sent(week, key, message_id, flags, note or None)
        out.append(Outcome(week, key, "sent", aud.recipients, flags, message_id, note,
                           time.monotonic() - started))
    return out
