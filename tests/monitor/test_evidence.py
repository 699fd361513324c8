"""Evidence: the hash chain and verify, images, cards (HTML and headless Chromium PNG)."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import stat
import subprocess
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
from PIL import Image

from monitor.evidence.chromium import chromium_command
from monitor.settings import load
from monitor.testing import CliResult, allow_loopback_for_tests, invoke, write_settings

Cli = Callable[..., CliResult]
HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"
CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                    "(make system-deps installs it)")


def _sql(settings_path: Path, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    with duckdb.connect(str(load(settings_path).db_path)) as con:
        return con.execute(sql, params or []).fetchall()


def _verify(cli: Cli) -> tuple[int, dict[str, object]]:
    result = cli("verify", "--json")
    return result.exit_code, json.loads(result.stdout)


def test_every_flag_is_chained_and_verify_passes(cli: Cli, settings_path: Path) -> None:
    assert cli("run", "--once").exit_code == 0
    flags = _sql(settings_path, "SELECT count(*) FROM flags")[0][0]
    code, report = _verify(cli)
    assert code == 0 and report["ok"] is True
    assert report["links"] == flags and report["raw_checked"] == flags
    kinds = _sql(settings_path, "SELECT DISTINCT kind FROM chain")
    assert kinds == [("evidence",)]
    text = cli("verify")
    assert text.exit_code == 0 and "OK: chain intact" in text.stdout


def test_verify_names_a_changed_item_json(cli: Cli, settings_path: Path) -> None:
    assert cli("run", "--once").exit_code == 0
    row = _sql(settings_path, "SELECT evidence_id, item_json FROM evidence ORDER BY evidence_id "
                              "LIMIT 1 OFFSET 4")[0]
    evidence_id, item_json = row
    changed = str(item_json).replace("\"kind\"", "\"kInd\"", 1)  # one byte
    assert changed != item_json
    _sql(settings_path, "UPDATE evidence SET item_json = ? WHERE evidence_id = ?", [changed, evidence_id])
    code, report = _verify(cli)
    assert code == 6 and report["ok"] is False
    first = report["first_broken"]
    assert first["kind"] == "evidence" and first["ref_id"] == evidence_id
    assert "content changed" in first["what"]
    plain = cli("verify")
    assert plain.exit_code == 6 and f"evidence {evidence_id}" in plain.stderr


def test_verify_rehashes_the_stored_raw_bytes(cli: Cli, settings_path: Path) -> None:
    assert cli("run", "--once").exit_code == 0
    sha, body = _sql(settings_path, "SELECT r.sha256, r.body FROM raw_items r JOIN evidence e "
                                    "ON e.raw_sha256 = r.sha256 LIMIT 1")[0]
    data = bytearray(zlib.decompress(bytes(body)))  # type: ignore[arg-type]
    data[10] ^= 0x01
    _sql(settings_path, "UPDATE raw_items SET body = ? WHERE sha256 = ?", [zlib.compress(bytes(data)), sha])
    code, report = _verify(cli)
    assert code == 6
    assert "stored bytes do not match" in report["first_broken"]["what"]
    assert str(sha)[:12] in report["first_broken"]["what"]


def test_verify_catches_edited_deleted_and_smuggled_reviews(cli: Cli, settings_path: Path) -> None:
    assert cli("run", "--once").exit_code == 0
    for flag in (1, 2, 3):
        assert cli("review", "confirm", str(flag), "--reviewer", "ana").exit_code == 0
    assert _verify(cli)[0] == 0
    # A decision quietly changed...
    _sql(settings_path, "UPDATE reviews SET decision = 'dismissed' WHERE flag_id = 2")
    code, report = _verify(cli)
    assert code == 6 and report["first_broken"]["kind"] == "review"
    _sql(settings_path, "UPDATE reviews SET decision = 'confirmed' WHERE flag_id = 2")
    assert _verify(cli)[0] == 0  # put back exactly: the chain agrees again
    # ... one deleted ...
    _sql(settings_path, "DELETE FROM reviews WHERE flag_id = 1")
    code, report = _verify(cli)
    assert code == 6 and "deleted" in report["first_broken"]["what"]
    # ... and one written behind asn-monitor's back.
    _sql(settings_path, "INSERT INTO reviews (flag_id, decision, reviewer, decided_at) "
                        "VALUES (5, 'dismissed', 'mallory', now())")
    report = _verify(cli)[1]
    assert any("not in the chain" in p for p in report["problems"])  # type: ignore[attr-defined]


def test_a_removed_link_breaks_the_next_one(cli: Cli, settings_path: Path) -> None:
    assert cli("run", "--once").exit_code == 0
    _sql(settings_path, "DELETE FROM chain WHERE seq = 3")
    _sql(settings_path, "DELETE FROM evidence WHERE evidence_id = (SELECT max(evidence_id) FROM evidence)")
    report = _verify(cli)[1]
    assert report["first_broken"]["seq"] == 4  # type: ignore[index]


# -- images and cards -------------------------------------------------------


def _png(size: tuple[int, int] = (40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


class _Images(BaseHTTPRequestHandler):
    png = _png()

    def do_GET(self) -> None:
        if self.path == "/ok.png":
            body, ctype = self.png, "image/png"
        elif self.path == "/big.png":
            body, ctype = b"\x89PNG" + b"0" * 300_000, "image/png"
        elif self.path == "/page.html":
            body, ctype = b"<html></html>", "text/html"
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.end_headers()  # no Content-Length: the size bound must hold while streaming
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def image_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def loopback() -> Iterator[None]:
    """Image downloads may reach the test's own servers on 127.0.0.1 (never a setting)."""
    with allow_loopback_for_tests():
        yield


def _hostile_items(config_dir: Path, base: str, allow_private: bool = True) -> Path:
    item = {
        "platform": "bluesky", "id": "at://did:plc:44qqtulbsy42syo3nm25lx4g/app.bsky.feed.post/hostile1",
        "kind": "post", "actor": "rina-guru.bsky.social", "actor_id": "did:plc:44qqtulbsy42syo3nm25lx4g",
        "created_at": "2024-10-20T08:00:00+07:00",
        "text": f"Coblos nomor 3! #JabarRara {HOSTILE}",
        "url": "javascript:alert(2)",
        "images": [f"{base}/ok.png", {"url": f"{base}/big.png", "alt": "big"}, f"{base}/missing.png",
                   f"{base}/page.html", "file:///etc/passwd"],
    }
    path = config_dir / "samples" / "hostile.jsonl"
    path.write_text(json.dumps(item) + "\n", encoding="utf-8")
    return write_settings(config_dir, sources={"h": {"type": "file", "paths": ["samples/hostile.jsonl"]}},
                          extra={"review": {"image_max_bytes": 100_000, "image_max_count": 4,
                                            "image_allow_private": allow_private}})


def test_images_are_downloaded_bounded_hashed_and_failures_recorded(
        config_dir: Path, image_server: str, loopback: None) -> None:
    settings_path = _hostile_items(config_dir, image_server)
    assert invoke(["--config", str(settings_path), "run", "--once"]).exit_code == 0
    rows = _sql(settings_path, "SELECT url, status, path, sha256, size, error FROM evidence_files "
                               "WHERE role = 'image' ORDER BY file_id")
    by_url = {str(r[0]).rsplit("/", 1)[-1]: r for r in rows}
    assert len(rows) == 5
    ok = by_url["ok.png"]
    assert ok[1] == "ok" and ok[3] == hashlib.sha256(_Images.png).hexdigest() and ok[4] == len(_Images.png)
    assert "larger than 100000" in str(by_url["big.png"][5])
    assert by_url["missing.png"][5] == "HTTP 404"
    assert "not an image" in str(by_url["page.html"][5])
    assert "more than 4 images" in str(by_url["passwd"][5])
    root = load(settings_path).evidence_dir
    path = root / str(ok[2])
    assert path.read_bytes() == _Images.png
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (root, path.parent, path.parent.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    # Files are in the chain: a changed image on disk is named by verify.
    result = invoke(["--config", str(settings_path), "verify", "--json"])
    assert result.exit_code == 0, result.stdout
    assert result.json()["files_checked"] == 1
    path.chmod(0o600)
    path.write_bytes(_Images.png + b"x")
    bad = invoke(["--config", str(settings_path), "verify", "--json"]).json()
    assert bad["first_broken"]["kind"] == "file" and "does not match" in bad["first_broken"]["what"]


def test_loopback_is_refused_even_with_image_allow_private(config_dir: Path, image_server: str) -> None:
    settings_path = _hostile_items(config_dir, image_server, allow_private=True)
    assert invoke(["--config", str(settings_path), "run", "--once"]).exit_code == 0
    rows = _sql(settings_path, "SELECT error FROM evidence_files WHERE url LIKE 'http%'")
    errors = {str(r[0]) for r in rows}
    # Not even image_allow_private opens loopback: only the test-only switch does.
    assert all(e.startswith("refused: 127.0.0.1 resolves to a loopback address") for e in errors), errors


def test_image_fetch_failure_never_stops_the_cycle(config_dir: Path, loopback: None) -> None:
    settings_path = _hostile_items(config_dir, "http://127.0.0.1:9")  # nothing listens there
    result = invoke(["--config", str(settings_path), "run", "--once", "--json"])
    assert result.exit_code == 0 and result.json()["sources"][0]["flagged"] == 1
    errors = _sql(settings_path, "SELECT error FROM evidence_files WHERE status = 'failed'")
    assert any("ConnectError" in str(e[0]) for e in errors)


@needs_chromium
def test_hostile_post_is_inert_in_the_card(config_dir: Path, image_server: str, tmp_path: Path,
                                          loopback: None) -> None:
    settings_path = _hostile_items(config_dir, image_server)
    assert invoke(["--config", str(settings_path), "run", "--once"]).exit_code == 0
    started = time.monotonic()
    rendered = invoke(["--config", str(settings_path), "evidence", "render", "--json"])
    elapsed = time.monotonic() - started
    assert rendered.exit_code == 0, rendered.stderr
    [card] = rendered.json()
    assert card["png"] and card["html"]
    root = load(settings_path).evidence_dir
    html = (root / card["html"]).read_text()
    assert HOSTILE not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html  # autoescape alone would not stop a javascript: link
    assert "data:image/png;base64," in html  # the downloaded image is inlined: self-contained
    png = root / card["png"]
    assert png.read_bytes().startswith(b"\x89PNG") and stat.S_IMODE(png.stat().st_mode) == 0o600
    with Image.open(png) as im:
        assert im.size[0] >= 800
    # What a browser makes of it: no script ran, nothing was injected.
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(chromium_command(CHROMIUM, profile, "--dump-dom", "--virtual-time-budget=2000",
                                              (root / card["html"]).as_uri()),
                             capture_output=True, text=True, timeout=120, check=True).stdout
    assert "<title>pwned</title>" not in dom and "pwned</title>" not in dom
    assert "<script" not in dom.lower()
    assert 'src="x"' not in dom and "onerror" not in dom.split("&lt;img")[0]
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom
    assert 'href="javascript' not in dom
    print(f"card render (HTML + PNG) took {elapsed:.2f}s")


def test_threads_deciding_at_once_keep_one_unbroken_chain(cli: Cli, settings_path: Path) -> None:
    from monitor.app import open_store
    from monitor.review import ReviewService

    assert cli("run", "--once").exit_code == 0
    settings = load(settings_path)
    flags = [int(r[0]) for r in _sql(settings_path, "SELECT flag_id FROM flags ORDER BY flag_id")]
    errors: list[BaseException] = []

    def work(reviewer: str) -> None:
        svc = ReviewService(settings, open_store(settings))
        try:
            for flag in flags:
                svc.confirm(flag, reviewer)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"r{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert _sql(settings_path, "SELECT count(*) FROM reviews")[0][0] == 4 * len(flags)
    code, report = _verify(cli)
    assert code == 0 and report["links"] == 5 * len(flags)


def test_an_older_file_is_chained_when_migrated(tmp_path: Path) -> None:
    """A file written before the chain existed gets its evidence and reviews chained by m003."""
    from storage import migrations
    from storage.store import Store

    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE schema_migrations (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
                    " applied_at TIMESTAMPTZ NOT NULL)")
        for number, migration in enumerate(migrations.MIGRATIONS[:2], start=1):
            migration(con)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [number, migration.__name__])
        body = b'{"old": true}'
        sha = hashlib.sha256(body).hexdigest()
        con.execute("INSERT INTO raw_items VALUES (?, ?, ?, 'file:///x', NULL, '{}', now(), 'file', '1', "
                    "NULL)", [sha, zlib.compress(body), len(body)])
        con.execute("INSERT INTO classifications VALUES (1, 'x:1', 'm', '1', true, 0.9, 'support', '[]', "
                    "'posting', 'old', now(), 1)")
        con.execute("INSERT INTO flags VALUES (1, 'x:1', 1, NULL, 0.9, 'support', '[]', 'posting', now(), 1)")
        con.execute("INSERT INTO evidence VALUES (1, 1, 'x:1', ?, '{}', '{}', 'abc', now())", [sha])
        con.execute("INSERT INTO reviews VALUES (1, 1, 'confirmed', NULL, NULL, 'ana', now())")
    store = Store(path, lock_timeout=5)
    from storage.evidence import verify

    report = verify(store.db, tmp_path / "evidence")
    assert report.ok, report.problems
    assert report.links == 2 and report.raw_checked == 1
    names = [n for _, n in store.db.applied_migrations()]
    assert "m003_review_evidence_chain" in names
