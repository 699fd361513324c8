"""Evidence files on disk: owner-only folders (0700) and files (0600) under the evidence folder."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(root: Path, relative: str, data: bytes) -> Path:
    """Write ``data`` to ``root/relative`` with 0600, creating 0700 folders."""
    path = root / relative
    make_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)
    return path


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) owner-only."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask


# -- images -----------------------------------------------------------------
