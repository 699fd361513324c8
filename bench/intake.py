"""Intake benchmark: archive one page (screenshot + MHTML) and OCR one screenshot.

``python -m bench.intake [--runs N] [--json]``. The page is served on 127.0.0.1 by
this script (a post page with an image, reached through two redirects, like
tests/monitor/intake_site.py); every archive starts a fresh headless Chromium,
as ``asn-monitor intake`` does. OCR reads a 1080x420 screenshot of a campaign
post (Tesseract, Indonesian data). Figures are wall-clock seconds on the cores
this process may use (``os.sched_getaffinity``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from monitor.intake.archive import ArchiveLimits, Archiver
from monitor.intake.files import ocr

TEXT = ["Mari kita dukung Cecep Hidayat dan", "Nia Kurniasih, paslon nomor 01,",
        "untuk Bupati Bandung 2024! #BandungCenia"]


def _screenshot() -> bytes:
    img = Image.new("RGB", (1080, 420), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 40)
    for n, line in enumerate(TEXT):
        draw.text((30, 40 + 110 * n), line, fill="black", font=font)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


class _Page(BaseHTTPRequestHandler):
    image = _screenshot()
    html = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>post</title></head><body>"
            f"<p>{' '.join(TEXT)}</p><img src='/img.png'>"
            "<div style='height:2400px'>komentar</div></body></html>").encode()

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        hops = {"/s": "/p", "/p": "/post"}
        if self.path in hops:
            self.send_response(302)
            self.send_header("Location", hops[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body, ctype = (self.image, "image/png") if self.path == "/img.png" else (self.html, "text/html")
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _timed(fn: Callable[[], Any], runs: int) -> dict[str, float]:
    fn()  # warm: page cache, Chromium's first start, Tesseract's data
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
            "max_s": round(max(times), 3), "runs": runs}


def run(runs: int = 5) -> dict[str, Any]:
    """The two figures, with the setting they were measured in."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/s"
        archiver = Archiver(allow_loopback=True, limits=ArchiveLimits(timeout=60))
        sizes: dict[str, int] = {}

        def archive() -> None:
            got = archiver.archive(url)
            sizes.update(screenshot_bytes=len(got.screenshot), snapshot_bytes=len(got.snapshot))

        shot = _screenshot()
        out = {"cores": len(os.sched_getaffinity(0)), "archive_page": _timed(archive, runs),
               "ocr_screenshot": _timed(lambda: ocr(shot, "ind"), runs), **sizes}
    finally:
        server.shutdown()
        server.server_close()
    return out


def main() -> None:
    """Print the figures (as JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = run(args.runs)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for name in ("archive_page", "ocr_screenshot"):
        f = figures[name]
        print(f"{name}: median {f['median_s']}s (min {f['min_s']}, max {f['max_s']}, {f['runs']} runs)")
    print(f"cores {figures['cores']}; screenshot {figures['screenshot_bytes']} B, "
          f"MHTML {figures['snapshot_bytes']} B")


if __name__ == "__main__":
    main()
