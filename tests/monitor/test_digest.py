"""The weekly digest against a real SMTP server on 127.0.0.1 (aiosmtpd), and rendered by Chromium."""

from __future__ import annotations

import email
import email.policy
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import duckdb
import pytest
from aiosmtpd.controller import Controller

from monitor.app import open_store
from monitor.digest import due_week, parse_week, schedule_trigger, send_week
from monitor.settings import DigestSettings, load
from monitor.testing import CliResult, free_port, invoke, smtp_server, write_settings
from storage.digest import JAKARTA, DigestLog, week_of

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
THIS_WEEK = week_of(datetime.now(UTC))


# These tests are about the digest, audits and the daemon, not the model: the
# deterministic registry matcher (as in config/asn-monitor.toml) flags 17 of the
# 85 sample items, whatever the default classifier of the day does.
MATCHER = {"classifier": {"model": "matcher", "model_dir": "../data/models"}}


@pytest.fixture
def settings_path(config_dir: Path) -> Path:
    """The test settings with the matcher classifier."""
    return write_settings(config_dir, extra=MATCHER)


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on 127.0.0.1 at a free port."""
    inbox = Inbox()
    with smtp_server(inbox) as port:
        yield inbox, port


def digest_settings(config_dir: Path, port: int, **digest: Any) -> Path:
    region = digest.pop("_region", None)
    values = {"recipients": ["ketua@bawaslu.example", "anggota@bawaslu.example"], **digest}
    path = write_settings(config_dir, extra={**MATCHER, "digest": values})
    smtp = (f'\n[digest.smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
            'sender = "asn-monitor@bawaslu.example"\ntimeout = 5\n')
    text = path.read_text().replace("[sources.", smtp + (region or "") + "\n[sources.", 1)
    path.write_text(text)
    return path


def run(path: Path, *args: str) -> CliResult:
    return invoke(["--config", str(path), *args])


def deliveries(path: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(load(path).db_path), read_only=True) as con:
        return con.execute("SELECT week, audience, status, attempts, message_id, error FROM digests "
                           "ORDER BY audience").fetchall()


def test_digest_reaches_smtp_as_multipart_with_inline_chart(config_dir: Path,
                                                            smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    path = digest_settings(config_dir, port)
    assert run(path, "run", "--once").exit_code == 0
    started = time.monotonic()
    result = run(path, "digest", "send", "--week", THIS_WEEK)
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.stderr
    assert "sent to ketua@bawaslu.example" in result.stdout
    assert len(inbox.messages) == 1 and elapsed < 10
    sender, rcpts, msg = inbox.messages[0]
    assert sender == "asn-monitor@bawaslu.example"
    assert rcpts == ["ketua@bawaslu.example", "anggota@bawaslu.example"]
    # Headers.
    assert msg["From"] == "asn-monitor@bawaslu.example"
    assert msg["To"] == "ketua@bawaslu.example, anggota@bawaslu.example"
    assert msg["Subject"].startswith(f"Ringkasan mingguan netralitas ASN {THIS_WEEK}: 17 temuan baru")
    assert email.utils.parsedate_to_datetime(msg["Date"]).tzinfo is not None
    assert re.fullmatch(r"<[^@>]+@bawaslu\.example>", msg["Message-ID"])
    # Structure: alternative(text/plain, related(text/html, image/png)).
    assert msg.get_content_type() == "multipart/alternative"
    plain, related = msg.get_payload()  # type: ignore[misc]
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, image = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png"
    assert image.get_content().startswith(b"\x89PNG")
    cid = image["Content-ID"].strip("<>")
    html = html_part.get_content()
    assert f'src="cid:{cid}"' in html
    # Content: Indonesian, flag ids for reviewers, all sections.
    text = plain.get_content()
    for needle in ("Ringkasan Mingguan Pengawasan Netralitas ASN", "Temuan baru: 17",
                   "Menunggu tinjauan: 17", "Instansi teratas", "Bappeda Provinsi Jawa Barat",
                   "Kandidat dan partai teratas", "#1 ", "#17 "):
        assert needle in text, needle
    assert "Daftar temuan baru" in html and "#17" in html and 'id="flags"' in html
    rows = deliveries(path)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [(THIS_WEEK, "all", "sent", 1)]
    assert rows[0][4] == msg["Message-ID"]


def test_second_send_sends_nothing_unless_forced(config_dir: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    path = digest_settings(config_dir, port)
    assert run(path, "run", "--once").exit_code == 0
    assert run(path, "digest", "send", "--week", THIS_WEEK).exit_code == 0
    again = run(path, "digest", "send", "--week", THIS_WEEK)
    assert again.exit_code == 0
    assert "not sent: already sent" in again.stdout
    assert len(inbox.messages) == 1
    forced = run(path, "digest", "send", "--week", THIS_WEEK, "--force")
    assert forced.exit_code == 0 and "sent to" in forced.stdout
    assert len(inbox.messages) == 2
    assert inbox.messages[0][2]["Message-ID"] != inbox.messages[1][2]["Message-ID"]
    assert deliveries(path)[0][2:4] == ("sent", 2)


def test_smtp_down_is_recorded_failed_then_sent_once(config_dir: Path) -> None:
    port = free_port()  # nothing listens here yet
    path = digest_settings(config_dir, port)
    assert run(path, "run", "--once").exit_code == 0
    down = run(path, "digest", "send", "--week", THIS_WEEK)
    assert down.exit_code == 7
    assert "FAILED, will be retried" in down.stdout and "Connection refused" in down.stdout
    assert deliveries(path)[0][2:4] == ("failed", 1)
    inbox = Inbox()
    with smtp_server(inbox, port):
        # The daemon's retry path: only_retry=True, as the digest-retry job calls it.
        settings = load(path)
        outcomes = send_week(open_store(settings).db, settings, THIS_WEEK, only_retry=True)
        assert [o.status for o in outcomes] == ["sent"]
        assert len(inbox.messages) == 1
        third = run(path, "digest", "send", "--week", THIS_WEEK)
        assert third.exit_code == 0 and "already sent" in third.stdout
        assert len(inbox.messages) == 1
    _, _, status, attempts, message_id, error = deliveries(path)[0]
    assert (status, attempts, error) == ("sent", 2, None)
    assert message_id == inbox.messages[0][2]["Message-ID"]


def test_daemon_retries_a_failed_digest_until_the_server_is_back(config_dir: Path) -> None:
    from monitor.app import build_pipeline
    from monitor.daemon import Daemon

    port = free_port()
    path = digest_settings(config_dir, port, retry_interval=0.5)
    settings = load(path)
    settings.daemon.heartbeat_interval = 0.5
    week = due_week(schedule_trigger(settings.digest), datetime.now(JAKARTA))
    assert week is not None
    pipeline, _ = build_pipeline(settings)
    stop = threading.Event()
    daemon = Daemon(settings, pipeline, stop, env={})
    thread = threading.Thread(target=daemon.run)
    thread.start()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    log = DigestLog(pipeline.store.db)
    try:
        _wait(lambda: (row := log.get(week, "all")) is not None and row.status == "failed", 15)
        controller.start()
        _wait(lambda: len(inbox.messages) == 1, 15)
        time.sleep(1.5)  # three more retry intervals: nothing more goes out
    finally:
        stop.set()
        thread.join(15)
        controller.stop()
    assert not thread.is_alive()
    assert len(inbox.messages) == 1
    row = log.get(week, "all")
    assert row is not None and row.status == "sent" and row.attempts >= 2


def _wait(check: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {seconds}s")


def test_region_audience_gets_its_own_slice_and_english_works(config_dir: Path,
                                                              smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    region = '[digest.by_region]\n"3204" = ["panwas-bandung@bawaslu.example"]\n'
    path = digest_settings(config_dir, port, language="en", _region=region)
    assert run(path, "run", "--once").exit_code == 0
    assert run(path, "digest", "send", "--week", THIS_WEEK).exit_code == 0
    assert len(inbox.messages) == 2
    by_to = {m["To"]: m for _, _, m in inbox.messages}
    regional = by_to["panwas-bandung@bawaslu.example"]
    assert "Weekly ASN neutrality digest" in regional["Subject"]
    assert regional["Subject"].endswith("(Region: Kabupaten Bandung (3204))")
    text = regional.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Kabupaten Bandung (3204)" in text and "Kota Bandung (3273)" not in text
    assert {r[1] for r in deliveries(path)} == {"all", "region:3204"}


def test_user_content_is_escaped_in_html(config_dir: Path, tmp_path: Path) -> None:
    roster = config_dir / "roster.csv"
    roster.write_text(roster.read_text().replace("Dewi Anggraeni", "Dewi <script>alert(1)</script>"))
    path = write_settings(config_dir, extra=MATCHER)
    assert run(path, "run", "--once").exit_code == 0
    out = tmp_path / "digest.html"
    assert run(path, "digest", "preview", "--week", THIS_WEEK, "--out", str(out)).exit_code == 0
    html = out.read_text()
    assert "<script>" not in html
    assert "Dewi &lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_preview_prints_text_and_rejects_bad_week(cli: Callable[..., CliResult],
                                                  settings_path: Path) -> None:
    assert cli("run", "--once").exit_code == 0
    result = cli("digest", "preview", "--week", THIS_WEEK)
    assert result.exit_code == 0 and "Temuan baru: 17" in result.stdout
    with duckdb.connect(str(load(settings_path).db_path)) as con:
        con.execute("INSERT INTO reviews (flag_id, decision, reviewer, decided_at) VALUES "
                    "(2, 'confirmed', 'ayu', now()), (3, 'dismissed', 'ayu', now()), "
                    "(5, 'confirmed', 'bima', now()), (5, 'escalated', 'bima', now())")
    decided = cli("digest", "preview", "--week", THIS_WEEK)
    assert "Dikonfirmasi: 1" in decided.stdout and "Ditolak: 1" in decided.stdout
    assert "Dieskalasi: #5" in decided.stdout and "Dikonfirmasi: #2" in decided.stdout
    assert "Menunggu tinjauan: 14" in decided.stdout
    assert "dikonfirmasi" in decided.stdout  # the status column of flag 2
    empty = cli("digest", "preview", "--week", "2020-W01")
    assert "Temuan baru: 0" in empty.stdout
    bad = cli("digest", "preview", "--week", "2024-38")
    assert bad.exit_code == 2 and "ISO week" in bad.stderr
    nobody = cli("digest", "send", "--week", THIS_WEEK)
    assert nobody.exit_code == 2 and "no recipients" in nobody.stderr


def test_due_week_follows_the_jakarta_schedule() -> None:
    trigger = schedule_trigger(DigestSettings())  # Monday 07:00 WIB
    before = datetime(2024, 9, 23, 6, 59, tzinfo=JAKARTA)  # Monday of W39
    after = datetime(2024, 9, 23, 7, 1, tzinfo=JAKARTA)
    assert due_week(trigger, before) == "2024-W37"
    assert due_week(trigger, after) == "2024-W38"
    assert parse_week("2024-w9") == "2024-W09"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make system-deps)")
def test_chromium_renders_the_html_digest(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    assert cli("run", "--once").exit_code == 0
    out = tmp_path / "digest.html"
    assert cli("digest", "preview", "--week", THIS_WEEK, "--out", str(out)).exit_code == 0
    assert CHROMIUM is not None
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*base, "--dump-dom", out.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert "Ringkasan Mingguan Pengawasan Netralitas ASN" in dom
    assert '<table id="flags"' in dom and dom.count("<tr>") >= 17
    shot = tmp_path / "digest.png"
    subprocess.run([*base, f"--screenshot={shot}", "--window-size=1000,1400", out.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000


OPENSSL = shutil.which("openssl")


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed (needed to make a test certificate)")
def test_starttls_with_login_from_environment(config_dir: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    assert OPENSSL is not None
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"rahasia")

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=server_tls,
                            require_starttls=True, authenticator=authenticator,
                            auth_require_tls=True)
    controller.start()
    try:
        path = digest_settings(config_dir, port)
        text = path.read_text().replace('security = "none"', 'security = "starttls"\n'
                                        f'ca_file = "{cert}"\nusername_env = "SMTP_USER"\n'
                                        'password_env = "SMTP_PASS"')
        path.write_text(text)
        assert run(path, "run", "--once").exit_code == 0
        missing = run(path, "digest", "send", "--week", THIS_WEEK)
        assert missing.exit_code == 7 and "SMTP_USER is not set" in missing.stdout
        monkeypatch.setenv("SMTP_USER", "asn-monitor")
        monkeypatch.setenv("SMTP_PASS", "rahasia")
        sent = run(path, "digest", "send", "--week", THIS_WEEK)
        assert sent.exit_code == 0, sent.stdout + sent.stderr
    finally:
        controller.stop()
    assert logins == [(b"asn-monitor", b"rahasia")] and len(inbox.messages) == 1
    assert deliveries(path)[0][2:4] == ("sent", 2)
    clear = write_settings(config_dir, extra={"digest": {"recipients": ["a@b.example"]}})
    clear.write_text(clear.read_text().replace(
        "[sources.", '[digest.smtp]\nsecurity = "none"\nusername_env = "SMTP_USER"\n\n[sources.', 1))
    refused = run(clear, "status")
    assert refused.exit_code == 2 and "clear text" in refused.stderr


class PickyInbox(Inbox):
    """Refuses one mailbox, accepts the others."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address.startswith("gone@"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_partly_refused_recipients_count_as_sent_and_are_noted(config_dir: Path) -> None:
    inbox = PickyInbox()
    with smtp_server(inbox) as port:
        path = digest_settings(config_dir, port, recipients=["ketua@bawaslu.example", "gone@bawaslu.example"])
        assert run(path, "run", "--once").exit_code == 0
        first = run(path, "digest", "send", "--week", THIS_WEEK)
        assert first.exit_code == 0 and "refused by the server: gone@bawaslu.example" in first.stdout
        again = run(path, "digest", "send", "--week", THIS_WEEK)
        assert "already sent" in again.stdout
    assert len(inbox.messages) == 1 and inbox.messages[0][1] == ["ketua@bawaslu.example"]
    row = deliveries(path)[0]
    assert row[2:4] == ("sent", 1) and "gone@bawaslu.example" in row[5]
