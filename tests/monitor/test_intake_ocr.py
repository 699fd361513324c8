"""OCR of a screenshot rendered here, read by Tesseract (Indonesian) and flagged by the classifier."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from monitor.intake import IntakeRequest, Upload, open_service
from monitor.intake.files import display_copy, ocr
from monitor.settings import load
from storage.intake import flag_origin

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs Debian tesseract-ocr")
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LINES = ["Mari kita dukung Cecep Hidayat dan", "Nia Kurniasih, paslon nomor 01,",
         "untuk Bupati Bandung 2024! #BandungCenia"]


def screenshot(exif: bool = False) -> bytes:
    """A phone-like screenshot of a campaign post (JPEG with GPS EXIF when ``exif``)."""
    img = Image.new("RGB", (1080, 420), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 40)
    for n, line in enumerate(LINES):
        draw.text((30, 40 + 110 * n), line, fill="black", font=font)
    out = io.BytesIO()
    if exif:
        info = Image.Exif()
        info[0x010F] = "HP Pelapor"  # Make
        info[0x8825] = {1: "S", 2: (6.0, 55.0, 0.0)}  # GPS: where the reporter stood
        img.save(out, format="JPEG", quality=95, exif=info)
    else:
        img.save(out, format="PNG")
    return out.getvalue()


def test_ocr_reads_the_candidate_name() -> None:
    got = ocr(screenshot(), "ind")
    assert got.error is None
    assert "Cecep Hidayat" in got.text and "Bandung" in got.text


def test_display_copy_has_no_metadata_and_the_original_keeps_it() -> None:
    original = screenshot(exif=True)
    assert Image.open(io.BytesIO(original)).getexif().get(0x010F) == "HP Pelapor"
    shown = Image.open(io.BytesIO(display_copy(original, "shot.jpg")))
    assert not shown.getexif() and not shown.info.get("exif") and shown.size == (1080, 420)


def test_reported_screenshot_is_flagged_with_its_origin(settings_path: Path) -> None:
    svc = open_service(load(settings_path))
    shot = screenshot(exif=True)
    result = svc.submit(IntakeRequest(account_id="asn-001", uploads=(Upload("wa.jpg", shot),),
                                      platform="whatsapp", note="dikirim di grup WA sekolah"))
    c = result.classification
    assert c is not None and c["flagged"] and c["stance"] == "support"
    assert "bdg-1" in c["targets"] and c["explanation"]
    assert "Cecep Hidayat" in result.ocr[0]["text"]
    assert flag_origin(svc.pipeline.store.db, result.flag_id) == "report"
    roles = {f["role"]: f for f in result.files}
    stored = svc.settings.evidence_dir / roles["upload"]["path"]
    assert stored.read_bytes() == shot  # byte for byte, EXIF included
    shown = svc.settings.evidence_dir / roles["upload_display"]["path"]
    assert not Image.open(shown).getexif()
