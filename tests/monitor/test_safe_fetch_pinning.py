"""Image downloads are pinned to the address that was vetted: DNS rebinding, embedded IPv4, redirects."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from monitor.evidence.images import ImageFetcher
from monitor.model import Item
from monitor.safe_fetch import FetchRefused, SafeFetcher, refusal_for_address, vet_host
from monitor.settings import ReviewSettings
from monitor.testing import allow_loopback_for_tests

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32

REFUSED = [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "224.0.0.1", "240.0.0.1", "255.255.255.255", "198.18.0.1", "192.0.0.8",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "2001:db8::1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1",  # IPv4-mapped
    "::127.0.0.1", "::10.0.0.1",  # IPv4-compatible (deprecated)
    "2002:7f00:1::", "2002:a9fe:a9fe::1",  # 6to4 of 127.0.0.1 and 169.254.169.254
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1",  # NAT64 (well-known, local-use)
]
PUBLIC = ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.216.34",
          "2002:5db8:d822::1", "64:ff9b::5db8:d822"]


@pytest.mark.parametrize("text", REFUSED)
def test_non_public_addresses_are_refused_in_every_form(text: str) -> None:
    assert refusal_for_address(ipaddress.ip_address(text)) is not None


@pytest.mark.parametrize("text", PUBLIC)
def test_public_addresses_pass(text: str) -> None:
    assert refusal_for_address(ipaddress.ip_address(text)) is None


def test_allow_private_opens_rfc1918_only() -> None:
    for text in ("10.1.2.3", "192.168.1.1", "fd12::1", "::ffff:10.0.0.1"):
        assert refusal_for_address(ipaddress.ip_address(text), allow_private=True) is None
    for text in ("127.0.0.1", "169.254.169.254", "::ffff:127.0.0.1", "fe80::1", "224.0.0.1"):
        assert refusal_for_address(ipaddress.ip_address(text), allow_private=True) is not None


def test_one_private_answer_refuses_the_host() -> None:
    with pytest.raises(FetchRefused, match=r"images\.test resolves to a link-local"):
        vet_host("images.test", lambda h: ["93.184.216.34", "169.254.169.254"])


class Rebinder:
    """A resolver that answers ``first`` once and ``then`` ever after (a rebinding name server)."""

    def __init__(self, first: str, then: str) -> None:
        self.answers = [first, then]
        self.asked: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        return [self.answers[min(len(self.asked), 2) - 1]]


def test_a_redirect_is_resolved_again_and_refused_when_rebound() -> None:
    """Public on the first lookup, private on the second: the redirect hop is refused unsent."""
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"location": "http://images.test/next.png"})

    resolver = Rebinder("93.184.216.34", "10.0.0.5")
    with SafeFetcher(timeout=5, resolver=resolver, transport=httpx.MockTransport(handle)) as fetcher, \
            pytest.raises(FetchRefused, match=r"^redirect to refused: images\.test resolves to a private"), \
            fetcher.stream("http://images.test/a.png"):
        pass
    assert seen == ["http://images.test/a.png"] and resolver.asked == ["images.test", "images.test"]


class _Handler(BaseHTTPRequestHandler):
    hosts: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hosts.append(self.headers.get("Host", ""))
        if self.path == "/hop.png":
            self.send_response(302)
            self.send_header("Location", "/a.png")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG)))
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    _Handler.hosts = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def _item(*urls: str) -> Item:
    return Item(platform="x", id="1", kind="post", actor="a", created_at=dt.datetime(2024, 10, 1,
                tzinfo=dt.UTC), text="t", url=None, subject=None, extra={"images": list(urls)})


def test_the_connection_goes_to_the_vetted_address_with_the_original_host(
        server: ThreadingHTTPServer, tmp_path: Path) -> None:
    """A name nobody else can resolve is fetched once vetted; a second lookup would say 10.0.0.5."""
    port = server.server_address[1]
    resolver = Rebinder("127.0.0.1", "10.0.0.5")
    with allow_loopback_for_tests():
        files = ImageFetcher(tmp_path, ReviewSettings(), resolver=resolver)(
            _item(f"http://images.test:{port}/a.png"))
    assert [f.status for f in files] == ["ok"], files
    assert resolver.asked == ["images.test"]  # resolved once, then connected by address
    assert _Handler.hosts == [f"images.test:{port}"]
    # The second answer is private: a redirect on the same name is refused at the hop.
    resolver = Rebinder("127.0.0.1", "10.0.0.5")
    with allow_loopback_for_tests():
        files = ImageFetcher(tmp_path, ReviewSettings(), resolver=resolver)(
            _item(f"http://images.test:{port}/hop.png"))
    assert files[0].status == "failed"
    assert files[0].error == "redirect to refused: images.test resolves to a private address 10.0.0.5"
    assert _Handler.hosts[-1] == f"images.test:{port}" and len(_Handler.hosts) == 2


def test_loopback_needs_the_test_switch(server: ThreadingHTTPServer, tmp_path: Path) -> None:
    port = server.server_address[1]
    settings = ReviewSettings(image_allow_private=True)
    [f] = ImageFetcher(tmp_path, settings)(_item(f"http://127.0.0.1:{port}/a.png"))
    assert f.status == "failed" and f.error == "refused: 127.0.0.1 resolves to a loopback address 127.0.0.1"
    assert _Handler.hosts == []


def _tls_files(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for images.test only (not for 127.0.0.1)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "images.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("images.test")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_tls_uses_the_host_name_for_sni_and_the_certificate(
        server: ThreadingHTTPServer, tmp_path: Path) -> None:
    cert, key = _tls_files(tmp_path)
    names: list[str | None] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    client_ctx = ssl.create_default_context(cafile=str(cert))
    with allow_loopback_for_tests(), SafeFetcher(timeout=5, resolver=lambda h: ["127.0.0.1"],
                                                 verify=client_ctx) as fetcher, \
            fetcher.stream(f"https://images.test:{port}/a.png") as resp:
        body = resp.read()
    assert body == PNG and names == ["images.test"] and _Handler.hosts == [f"images.test:{port}"]
