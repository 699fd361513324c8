"""Secrets never reach the logs, the DuckDB file or the evidence folder.

A cycle runs against a fake X on 127.0.0.1 whose bearer token (a recognisable secret) comes
from the environment, with every project logger and httpx/httpcore at DEBUG. Then the logs,
every table (each row cast to text), the raw database file and every file under the data
folder are searched for the secret. A second cycle with a rejected token puts the 401 in
``run_errors``; the secret is not there either.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from monitor import logs
from monitor.app import build_pipeline
from monitor.pipeline import run_cycle
from monitor.settings import load
from monitor.testing import write_settings
from sources.testing import FakeX

SECRET = "SeKrEt-b3arer-7f3a9c1e-DO-NOT-LEAK"
TOKEN_ENV = "ASN_TEST_X_TOKEN"


@pytest.fixture
def debug_logs() -> Iterator[io.StringIO]:
    """Every record at DEBUG (httpx and httpcore included), as the daemon formats them."""
    buffer = io.StringIO()
    names = ("httpx", "httpcore", "", "asn_monitor", "monitor", "sources", "classifiers", "storage")
    levels = {n: logging.getLogger(n).level for n in names}
    handler = logs.setup("kv", "DEBUG")
    capture = logging.StreamHandler(buffer)
    capture.setFormatter(logs.KeyValueFormatter())
    root = logging.getLogger()
    root.addHandler(capture)
    for name in ("httpx", "httpcore", ""):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield buffer
    root.removeHandler(capture)
    root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _tables_as_text(db: Path) -> str:
    out: list[str] = []
    with duckdb.connect(str(db), read_only=True) as con:
        for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall():
            for row in con.execute(f'SELECT * FROM "{name}"').fetchall():  # noqa: S608 (catalog names)
                out.append(repr(row))
    return "\n".join(out)


def _files_containing(folder: Path, needle: bytes) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_bearer_token_is_in_no_log_table_or_file(
        config_dir: Path, monkeypatch: pytest.MonkeyPatch, debug_logs: io.StringIO) -> None:
    monkeypatch.setenv(TOKEN_ENV, SECRET)
    with FakeX(token=SECRET) as fake:
        budi = fake.user("budi_s")                           # on the sample roster (asn-002)
        campaign = fake.user("JabarAsih1")                   # ticket 1's campaign account
        c1 = fake.tweet(campaign, "Ayo coblos nomor 1 tanggal 27 November! #JabarAsih")
        fake.tweet(budi, "Ayo coblos nomor 1 tanggal 27 November! #JabarAsih")
        fake.tweet(budi, "Setuju, pilih Kang Asep!", reply_to=c1)
        fake.tweet(budi, "Selamat pagi semua")
        fake.like(budi, c1)
        settings_path = write_settings(config_dir, sources={"x": {
            "type": "x", "base_url": fake.url, "token_env": TOKEN_ENV, "page_size": 5,
            "timeout": 2.0, "max_attempts": 1}}, extra={"classifier": {"model": "matcher"}})
        settings = load(settings_path)
        pipeline, _ = build_pipeline(settings)
        _, stats = run_cycle(pipeline)
        assert stats[0].new >= 3, stats
        assert any(r.headers.get("authorization") == f"Bearer {SECRET}" for r in fake.log)

        # The platform now rejects the token: the 401 is recorded, the token is not.
        fake.token = "rotated-by-the-platform"
        fake.tweet(budi, "Satu lagi")
        _, stats = run_cycle(pipeline)
        assert stats[0].errors, "a rejected token is an error"

    text = debug_logs.getvalue()
    assert "HTTP Request" in text or "httpcore" in text, "httpx/httpcore debug logs were captured"
    assert SECRET not in text
    db = settings.db_path
    with duckdb.connect(str(db), read_only=True) as con:
        errors = [r[0] for r in con.execute("SELECT message FROM run_errors").fetchall()]
        flags = con.execute("SELECT count(*) FROM flags").fetchone()
    assert errors and flags and flags[0] >= 1
    assert SECRET not in _tables_as_text(db)
    assert SECRET.encode() not in db.read_bytes()
    assert _files_containing(db.parent, SECRET.encode()) == []
    assert _files_containing(settings.evidence_dir.parent, SECRET.encode()) == []
