"""A local web site on 127.0.0.1 that imitates a public post page, for the intake tests.

Routes::

    /share/1    302 -> /p/1 (a short link)
    /p/1        301 -> /post/1 (the canonical post URL)
    /post/1     HTML with the post text and an image; header X-Post-Id
    /img/1.png  the post's image (PNG)
    /to-private 302 -> http://10.255.255.1/post (a private address)
    /hang       HTML whose image never arrives: the page never finishes loading
    /never      the image that never arrives (held until the site stops, at most 60 s)
"""

from __future__ import annotations

import io
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image, ImageDraw

POST_TEXT = ("Ayo dukung Cecep Hidayat dan Nia Kurniasih, paslon nomor 01, coblos CENIA "
             "untuk Bupati Bandung! #BandungCenia")
PRIVATE = "http://10.255.255.1/post"


def png(text: str = "foto kampanye", size: tuple[int, int] = (320, 120)) -> bytes:
    """A small PNG with ``text`` drawn on it."""
    img = Image.new("RGB", size, "white")
    ImageDraw.Draw(img).text((10, 40), text, fill="black")
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def self_signed(folder: Path) -> tuple[Path, Path, bytes]:
    """A certificate for 127.0.0.1 made with OpenSSL: (cert.pem, key.pem, cert DER)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=60)
    der = subprocess.run(["openssl", "x509", "-in", str(cert), "-outform", "der"], check=True,
                         capture_output=True, timeout=30).stdout
    return cert, key, der


POST_HTML = f"""<!DOCTYPE html><html lang="id"><head><meta charset="utf-8">
<title>Postingan publik</title></head><body>
<article><h1>Rina Marlina</h1><p id="text">{POST_TEXT}</p>
<img src="/img/1.png" alt="foto"></article>
<div style="height: 1800px">komentar</div><footer>akhir halaman</footer>
</body></html>""".encode()
HANG_HTML = b'<!DOCTYPE html><html><body><p>memuat...</p><img src="/never"></body></html>'


class _Handler(BaseHTTPRequestHandler):
    stop: threading.Event
    image = png()

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        routes = {"/share/1": (302, "/p/1"), "/p/1": (301, "/post/1"), "/to-private": (302, PRIVATE)}
        if self.path in routes:
            status, location = routes[self.path]
            self.send_response(status)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/post/1":
            self._send(POST_HTML, "text/html; charset=utf-8", {"X-Post-Id": "1"})
        elif self.path == "/img/1.png":
            self._send(self.image, "image/png")
        elif self.path == "/hang":
            self._send(HANG_HTML, "text/html")
        elif self.path == "/never":
            self.stop.wait(60)
        else:
            self.send_error(404)

    def _send(self, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def site(tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """Serve the site; yields its base URL (http://127.0.0.1:PORT, https with ``tls`` = (cert, key))."""
    stop = threading.Event()
    handler = type("Handler", (_Handler,), {"stop": stop})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
