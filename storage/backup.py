"""A consistent copy of the DuckDB file while others use it: short lock, checkpoint, copy.

DuckDB lets one process hold the file at a time, so while this connection is
open the daemon's own connections wait (they retry up to ``lock_timeout``).
Inside the process, the writer lock keeps this process's other threads from
committing meanwhile. ``CHECKPOINT`` folds the write-ahead log into the file,
so the file alone is the whole database; it is then copied byte for byte.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import duckdb

from monitor.errors import StorageError
from storage.anchors import Head, current_head
from storage.db import Database, _writer_lock


def snapshot(db: Database, target: Path, attempts: int = 20) -> Head:
    """Copy the database into ``target`` (a new file); returns the chain head it holds."""
    for attempt in range(attempts):
        with _writer_lock(db.path), db.connect() as con:
            try:
                con.execute("CHECKPOINT")
            except duckdb.Error as exc:
                # Another thread of this process is still reading: wait for it, briefly.
                if attempt == attempts - 1:
                    raise StorageError(f"{db.path}: cannot checkpoint for a backup: {exc}") from exc
                time.sleep(0.1)
                continue
            head = current_head(con)
            shutil.copyfile(db.path, target)
            wal = db.path.with_name(db.path.name + ".wal")
            if wal.exists() and wal.stat().st_size:
                shutil.copyfile(wal, target.with_name(target.name + ".wal"))
            return head
    raise StorageError(f"{db.path}: cannot checkpoint for a backup")


def check_copy(path: Path) -> tuple[Head, int]:
    """Open a copied database read-only: its chain head and number of review decisions."""
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise StorageError(f"{path}: not a readable DuckDB database: {exc}") from exc
    try:
        row = con.execute("SELECT count(*) FROM reviews").fetchone()
        return current_head(con), int(row[0]) if row else 0
    except duckdb.Error as exc:
        raise StorageError(f"{path}: not an asn-monitor database: {exc}") from exc
    finally:
        con.close()
