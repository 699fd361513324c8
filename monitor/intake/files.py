"""Uploaded files and archive files: kept byte for byte, content-addressed, written atomically.

Each file is written under a temporary name, flushed to disk and renamed to
``<kind>/<sha[:2]>/<sha><ext>``: a crash leaves either the whole file or a
``.partial`` that nothing points at. Images get a display copy with every
metadata block stripped (EXIF with GPS, XMP, ICC text): the original is never changed.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from monitor.errors import ConfigError, InputError
from monitor.evidence.files import make_private_dir
from storage.evidence import EvidenceFile

_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
    (b"%PDF-", "application/pdf", ".pdf"),
)
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def sniff(data: bytes, name: str) -> tuple[str, str]:
    """(content type, extension) from the file's first bytes; ``InputError`` for anything else."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    for magic, ctype, ext in _MAGIC:
        if data.startswith(magic):
            return ctype, ext
    raise InputError(f"{name}: not a PNG, JPEG, GIF, WebP image or a PDF")


def write_atomic(root: Path, relative: str, data: bytes) -> Path:
    """Write ``data`` to ``root/relative`` (0600) through a temporary name and a rename."""
    path = root / relative
    make_private_dir(path.parent)
    if path.exists() and path.stat().st_size == len(data):
        return path  # content-addressed: the same bytes are there already
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path


def keep(root: Path, role: str, data: bytes, ctype: str, ext: str, url: str | None = None
         ) -> EvidenceFile:
    """Keep ``data`` under its SHA-256; the file row to record."""
    digest = hashlib.sha256(data).hexdigest()
    relative = f"intake/{digest[:2]}/{digest}{ext}"
    write_atomic(root, relative, data)
    return EvidenceFile(role, "ok", url=url, path=relative, sha256=digest, size=len(data),
                        content_type=ctype)


def display_copy(data: bytes, name: str) -> bytes:
    """A PNG of the image, turned upright, with no metadata at all."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            upright = ImageOps.exif_transpose(img)
            pixels = upright.convert("RGBA" if upright.mode in ("RGBA", "LA", "P") else "RGB")
            clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())  # pixels only
            out = io.BytesIO()
            clean.save(out, format="PNG")
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InputError(f"{name}: not a readable image ({exc})") from None


@dataclass(frozen=True)
class OcrResult:
    """Text read from one image, or why none was."""

    text: str
    error: str | None = None


def ocr(data: bytes, languages: str = "ind", timeout: float = 60.0) -> OcrResult:
    """Tesseract's reading of an image (upscaled and grey, which it reads best)."""
    import pytesseract

    try:
        with Image.open(io.BytesIO(data)) as img:
            grey = ImageOps.exif_transpose(img).convert("L")
    except (UnidentifiedImageError, OSError) as exc:
        return OcrResult("", f"not a readable image: {exc}")
    if grey.width < 1000:
        grey = grey.resize((grey.width * 2, grey.height * 2), Image.Resampling.LANCZOS)
    try:
        text = pytesseract.image_to_string(grey, lang=languages, timeout=timeout)
    except pytesseract.TesseractNotFoundError:
        raise ConfigError("[intake] ocr_languages", "tesseract is not installed "
                          "(apt-get install tesseract-ocr tesseract-ocr-ind)") from None
    except pytesseract.TesseractError as exc:
        raise ConfigError("[intake] ocr_languages", f"tesseract failed: {exc.message}") from None
    except RuntimeError as exc:  # pytesseract's timeout
        return OcrResult("", f"OCR stopped: {exc}")
    return OcrResult(" ".join(text.split()))
