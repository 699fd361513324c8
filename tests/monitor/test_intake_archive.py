"""The archiver against a local post page: redirects, screenshot, MHTML, status, hashes, bounds."""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from intake_site import POST_HTML, POST_TEXT, PRIVATE, self_signed, site
from PIL import Image

from monitor.errors import ArchiveRefused, ArchiveTimeout, ArchiveTooLarge
from monitor.intake.archive import ArchiveLimits, Archiver, refusal

pytestmark = pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian chromium")


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with site() as url:
        yield url


def test_post_page_is_archived_whole(base: str) -> None:
    got = Archiver(allow_loopback=True, limits=ArchiveLimits(timeout=30)).archive(f"{base}/share/1")
    assert got.final_url == f"{base}/post/1" and got.status == 200
    assert [(r["status"], r["url"]) for r in got.redirects] == [
        (302, f"{base}/share/1"), (301, f"{base}/p/1")]
    assert got.headers.get("X-Post-Id") == "1" and got.content_type == "text/html"
    assert got.body == POST_HTML  # the exact bytes the server sent
    assert POST_TEXT in got.text and got.title == "Postingan publik"
    shot = Image.open(io.BytesIO(got.screenshot))
    assert shot.format == "PNG" and shot.height > 1800  # full page, not the viewport
    snap = got.snapshot.decode()
    assert "multipart/related" in snap and f"Snapshot-Content-Location: {base}/post/1" in snap
    assert "image/png" in snap  # the post's image is inside the single file
    facts = got.facts()
    assert facts["snapshot_sha256"] == hashlib.sha256(got.snapshot).hexdigest()
    assert facts["screenshot_sha256"] == hashlib.sha256(got.screenshot).hexdigest()
    assert facts["tls"] is None and got.fetched_at >= got.started_at


def test_redirect_to_a_private_address_is_refused(base: str) -> None:
    with pytest.raises(ArchiveRefused, match=f"redirect to {PRIVATE}: refused: .* resolves to a "
                                             "private address"):
        Archiver(allow_loopback=True).archive(f"{base}/to-private")


def test_loopback_is_refused_without_the_test_allowance(base: str) -> None:
    assert refusal(f"{base}/post/1") is not None and refusal("file:///etc/passwd") is not None
    with pytest.raises(ArchiveRefused, match="resolves to a loopback address"):
        Archiver().archive(f"{base}/post/1")


def test_a_page_that_never_finishes_is_cut_at_the_time_bound(base: str) -> None:
    started = time.monotonic()
    with pytest.raises(ArchiveTimeout, match=r"/hang: the page did not finish loading within 3s"):
        Archiver(allow_loopback=True, limits=ArchiveLimits(timeout=3)).archive(f"{base}/hang")
    assert time.monotonic() - started < 20


def test_redirects_past_the_bound_are_refused(base: str) -> None:
    with pytest.raises(ArchiveTooLarge, match="more than 1 redirects"):
        Archiver(allow_loopback=True, limits=ArchiveLimits(max_redirects=1)).archive(f"{base}/share/1")


def _spki(cert: Path) -> str:
    """Base64 SHA-256 of the certificate's public key (what Chromium pins), with OpenSSL."""
    pem = subprocess.run(["openssl", "x509", "-in", str(cert), "-pubkey", "-noout"], check=True,
                         capture_output=True, timeout=30).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pem, check=True,
                         capture_output=True, timeout=30).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def test_https_page_records_the_tls_leaf_fingerprint(tmp_path: Path) -> None:
    cert, key, der = self_signed(tmp_path)
    with site(tls=(cert, key)) as base:
        got = Archiver(allow_loopback=True, trusted_spki=(_spki(cert),)).archive(f"{base}/post/1")
    assert got.status == 200 and got.final_url == f"{base}/post/1"
    assert got.tls is not None and got.tls["leaf_sha256"] == hashlib.sha256(der).hexdigest()
    assert got.tls["subject"] == "127.0.0.1" and got.tls["protocol"].startswith("TLS")
