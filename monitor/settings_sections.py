"""Settings sections of the desk, escalation letters, intake, anchoring, backups and audits.

Kept beside :mod:`monitor.settings` (which assembles them into ``Settings``) so that each
file stays readable; every class here is one ``[section]`` of the settings file.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from monitor.settings_base import _Section


class AnchoringSettings(_Section):
    """``[anchoring]``: RFC 3161 time-stamping authorities that sign the evidence chain's head.

    None by default. Public TSAs, e.g. ``https://freetsa.org/tsr`` (CA:
    https://freetsa.org/files/cacert.pem) or ``http://timestamp.digicert.com``
    (DigiCert's root CAs); ``ca_bundle`` is a PEM file of the CAs whose
    tokens are accepted.
    """

    tsa_urls: list[str] = Field(default_factory=list)
    ca_bundle: Path | None = None
    schedule: str = "15 1 * * *"
    """When the daemon stamps the head: a crontab line (minute hour day month weekday), WIB."""
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("schedule")
    @classmethod
    def _crontab(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"not a crontab line (minute hour day month weekday): {exc}") from None
        return value

    @model_validator(mode="after")
    def _bundle_with_urls(self) -> AnchoringSettings:
        if self.tsa_urls and self.ca_bundle is None:
            raise ValueError("tsa_urls need ca_bundle (the CAs that tokens are checked against)")
        for url in self.tsa_urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"tsa_urls: {url!r} is not an http(s) URL")
        return self

class BackupSettings(_Section):
    """``[backup]``: the daemon's daily backup (none unless ``dir`` is set); the last ``keep`` stay."""

    dir: Path | None = None
    keep: int = Field(default=7, ge=1, le=365)
    hour: int = Field(default=2, ge=0, le=23)

class IntakeSettings(_Section):
    """``[intake]``: reports from the public, archiving of reported URLs, OCR of screenshots.

    There is deliberately no key that lets the archiver reach private or loopback addresses.
    """

    chromium: str = "chromium"
    archive_timeout: float = Field(default=30.0, gt=0, le=600)
    archive_max_bytes: int = Field(default=25_000_000, ge=1)
    archive_max_redirects: int = Field(default=5, ge=0, le=20)
    screenshot_max_height: int = Field(default=16_384, ge=100, le=65_535)
    upload_max_bytes: int = Field(default=20_000_000, ge=1)
    ocr_languages: str = "ind"
    """Tesseract language data (``ind`` is Debian's tesseract-ocr-ind; ``ind+eng`` for both)."""
    ocr_timeout: float = Field(default=60.0, gt=0)

class AuditSettings(_Section):
    """``[audit]``: exports for auditors."""

    pseudonym_key_env: str = "ASN_MONITOR_PSEUDONYM_KEY"
    """Environment variable holding the key of ``export --pseudonymise`` (same key, same hashes)."""

class DeskSettings(_Section):
    """``[desk]``: the web review desk (``asn-monitor desk``)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8470, ge=1, le=65535)
    public_url: str = ""
    """The address reviewers open (behind the reverse proxy); https:// marks cookies Secure."""
    session_secret_env: str = "ASN_MONITOR_DESK_SECRET"  # noqa: S105  (a variable name)
    """Environment variable holding the cookie-signing secret; when unset, a random one is kept
    in ``desk-session.key`` (0600) beside the database."""
    session_hours: float = Field(default=8.0, gt=0, le=24 * 14)
    login_max_failures: int = Field(default=5, ge=1)
    login_window: float = Field(default=300.0, gt=0)
    """Seconds during which ``login_max_failures`` failed logins (per address or per user) block."""

class EscalationSettings(_Section):
    """``[escalation]``: the letterhead, number and signatory of the escalation letter (PDF)."""

    office: str = "Badan Pengawas Pemilihan Umum"
    city: str = "Jakarta"
    number_format: str = "{seq:03d}/PM.00.02/K.1/{month_roman}/{year}"
    """Fields: seq (the escalation's number this year), year, month, month_roman, flag."""
    signatory_name: str = ""
    signatory_position: str = "Ketua"
    chromium: str = "chromium"
    """Chromium executable that prints the letter to PDF; "" keeps the letter as HTML only."""
