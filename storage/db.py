"""Opening the DuckDB file: short-lived connections, lock retries, migrations.

DuckDB lets one process hold a file at a time (readers included), so every
unit of work opens a connection, does its work in one transaction and closes
it. The daemon and the review CLI then take turns on the file; a waiting side
retries until ``lock_timeout`` and then raises ``StorageLocked``.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from monitor.errors import StorageError, StorageLocked
from storage.migrations import MIGRATIONS

# DuckDB shares one database instance between the connections of a process and
# tears it down when the last one closes; a connect racing that teardown in
# another thread fails with "Unique file handle conflict". The daemon's jobs
# run in threads, so opening and closing are serialised per file.
_FILE_LOCKS: dict[str, threading.Lock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


def _file_lock(path: Path) -> threading.Lock:
    key = str(path.resolve())
    with _FILE_LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(key, threading.Lock())


# One writer at a time per file inside this process. Threads of one process share a DuckDB
# instance, so their transactions would run concurrently and the hash chain's next ``seq``
# would conflict (one page rolled back, retried next cycle); taking turns avoids that.
_WRITERS: dict[str, threading.RLock] = {}
_WRITERS_GUARD = threading.Lock()


def _writer_lock(path: Path) -> threading.RLock:
    key = str(path.resolve())
    with _WRITERS_GUARD:
        return _WRITERS.setdefault(key, threading.RLock())


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text


class Database:
    """A DuckDB file and how to reach it.

    ``connect`` yields a connection; ``transaction`` yields one inside
    BEGIN/COMMIT and rolls back on any error, so a unit is written whole or not
    at all.
    """

    def __init__(self, path: str | Path, *, lock_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.02
        while True:
            try:
                with _file_lock(self.path):
                    return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.IOException as exc:
                if not _is_lock_error(exc):
                    raise StorageError(f"{self.path}: cannot open database: {exc}") from exc
                if time.monotonic() >= deadline:
                    raise StorageLocked(
                        f"{self.path}: locked by another process for {self.lock_timeout:.0f}s"
                    ) from exc
                # Jitter so that two waiting processes do not retry in lockstep.
                time.sleep(delay * (0.5 + random.random()))  # noqa: S311
                delay = min(delay * 2, 0.5)
            except duckdb.Error as exc:
                raise StorageError(f"{self.path}: cannot open database: {exc}") from exc

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one unit of work, closed afterwards."""
        con = self._open(read_only)
        try:
            yield con
        finally:
            with _file_lock(self.path):
                try:
                    # The last close checkpoints the WAL into the file. DuckDB keeps the WAL
                    # when that fails (a full disk), so nothing is lost, but should a version
                    # report it, it is a storage error like any other, not a traceback.
                    con.close()
                except duckdb.Error as exc:
                    raise StorageError(f"{self.path}: closing the database failed: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection inside one transaction: committed on success, else rolled back."""
        with _writer_lock(self.path), self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except duckdb.Error as exc:
                with suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise StorageError(f"{self.path}: {exc}") from exc
            except BaseException:
                with suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise
            try:
                con.execute("COMMIT")
            except duckdb.Error as exc:
                raise StorageError(f"{self.path}: commit failed: {exc}") from exc

    def migrate(self) -> list[str]:
        """Create the file if needed and apply pending migrations; returns their names."""
        new_file = not self.path.exists()
        if new_file:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        applied: list[str] = []
        try:
            with self.connect() as con:
                con.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " id INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
                    " applied_at TIMESTAMPTZ NOT NULL)"
                )
                done = {row[0] for row in con.execute("SELECT id FROM schema_migrations").fetchall()}
                for number, migration in enumerate(MIGRATIONS, start=1):
                    if number in done:
                        continue
                    con.execute("BEGIN TRANSACTION")
                    try:
                        migration(con)
                        con.execute(
                            "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                            [number, migration.__name__, datetime.now(UTC)],
                        )
                        con.execute("COMMIT")
                    except duckdb.Error as exc:
                        con.execute("ROLLBACK")
                        raise StorageError(
                            f"{self.path}: migration {migration.__name__} failed: {exc}"
                        ) from exc
                    applied.append(migration.__name__)
        finally:
            if self.path.exists():
                # The file names civil servants and holds accusations: owner-only.
                with suppress(OSError):
                    os.chmod(self.path, 0o600)
        return applied

    def applied_migrations(self) -> list[tuple[int, str]]:
        """The migrations recorded in the file, in order."""
        with self.connect() as con:
            rows = con.execute("SELECT id, name FROM schema_migrations ORDER BY id").fetchall()
        return [(int(r[0]), str(r[1])) for r in rows]
