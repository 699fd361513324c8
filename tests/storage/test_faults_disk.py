"""A real full disk: the database and the evidence folder on a small tmpfs that runs out.

Two moments are forced with a ballast file that leaves only a little free space:

- ``wal``: so little that the first page's WAL write fails at commit;
- ``checkpoint``: enough for a few pages' WAL, not for checkpointing them into the main file
  when the connection closes. DuckDB keeps the WAL when its checkpoint fails (it says nothing),
  so the committed pages survive; the run stops at the next WAL write.

Either way: exit code 4, one line, no traceback; the file still reads; once the ballast is
gone the next run stores every item exactly once and ``verify`` passes. Needs root (mount);
without the privilege the test skips and says why. The DuckDB file with its empty tables is
about 9 MiB (256 KiB blocks), so the tmpfs is 20 MiB.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from crash_checks import generate_items, run_cli, scalar, verify

from monitor.testing import write_settings

BIG = 300


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 20 MiB tmpfs mounted for this test; unmounted (lazily) whatever happens."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m,mode=0700", "tmpfs", str(mnt)],
                          capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=30)


def _big_items(path: Path) -> None:
    """Items with 2 KB of incompressible text each, so the file really grows."""
    generate_items(path, BIG, "disk")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    with path.open("w", encoding="utf-8") as out:
        for obj in lines:
            if obj.get("text"):
                obj["text"] += " " + os.urandom(1000).hex()
            out.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _fill(mnt: Path, leave: int) -> Path:
    st = os.statvfs(mnt)
    ballast = mnt / "ballast"
    with ballast.open("wb") as f:
        f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - leave))
    return ballast


@pytest.mark.parametrize(("moment", "leave"), [("wal", 64 * 1024), ("checkpoint", 1536 * 1024)])
def test_a_real_full_disk_fails_clearly_and_corrupts_nothing(
        config_dir: Path, small_disk: Path, moment: str, leave: int) -> None:
    _big_items(config_dir / "samples/big.jsonl")
    db = small_disk / "asn.duckdb"
    settings = write_settings(config_dir, sources={
        "sample": {"type": "file", "paths": ["samples/items.jsonl"]},
        "big": {"type": "file", "paths": ["samples/big.jsonl"], "page_size": 50}},
        extra={"classifier": {"model": "matcher", "model_dir": "../data/models"},
               "storage": {"path": str(db), "lock_timeout": 5},
               "review": {"evidence_dir": str(small_disk / "evidence"), "chromium": ""}})
    first = run_cli(settings, "run", "--once", "--source", "sample")
    assert first.returncode == 0, first.stderr
    ballast = _fill(small_disk, leave)

    full = run_cli(settings, "run", "--once")
    print(f"full disk at the {moment}: exit {full.returncode}: {full.stderr.strip()}")
    assert full.returncode == 4, (full.returncode, full.stdout, full.stderr)
    assert "Traceback" not in full.stderr
    assert full.stderr.startswith("error: ") and len(full.stderr.strip().splitlines()) == 1
    assert "No space left on device" in full.stderr
    wal = Path(str(db) + ".wal")
    committed = scalar(db, "SELECT count(*) FROM items WHERE source = 'big'")
    if moment == "checkpoint":
        # Pages were committed, their checkpoint failed, and the WAL that holds them was kept.
        assert wal.exists() and wal.stat().st_size > 100_000, wal.stat().st_size if wal.exists() else None
        assert committed > 0
    assert committed % 50 == 0  # whole pages only
    # Still full: the file opens and reads (the WAL is replayed) and says what it has.
    status = run_cli(settings, "status", "--json")
    assert status.returncode == 0, status.stderr

    ballast.unlink()
    again = run_cli(settings, "run", "--once", "--json")
    assert again.returncode == 0, again.stderr
    assert scalar(db, "SELECT count(*) FROM items WHERE source = 'big'") == BIG
    assert scalar(db, "SELECT count(*) - count(DISTINCT item_id) FROM items") == 0
    assert scalar(db, "SELECT count(*) FROM items WHERE source = 'sample'") == 85
    verify(settings)
    print(f"{moment}: {committed} of {BIG} items committed before the disk filled; all {BIG} after")
