"""Desk accounts through the real CLI and DuckDB file: add, list, disable, reset, region scope."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import duckdb

from monitor.app import open_store
from monitor.settings import load
from monitor.testing import CliResult
from monitor.users import UserService

Cli = Callable[..., CliResult]
PASSWORD = "kata-sandi-rahasia-1"


def test_users_add_list_disable_reset(cli: Cli, settings_path: Path) -> None:
    added = cli("users", "add", "ana", "--name", "Ana Suryani", "--role", "reviewer", "--region", "3204",
                "--position", "Staf Pengawas", "--password-stdin", "--json", stdin=PASSWORD + "\n")
    assert added.exit_code == 0, added.stderr
    assert added.json()["region"] == "3204" and added.json()["role"] == "reviewer"
    dup = cli("users", "add", "ana", "--name", "X", "--role", "reviewer", "--password-stdin",
              stdin=PASSWORD + "\n")
    assert dup.exit_code == 5 and "exists already" in dup.stderr
    short = cli("users", "add", "budi", "--name", "Budi", "--role", "auditor", "--password-stdin",
                stdin="pendek\n")
    assert short.exit_code == 5 and "at least" in short.stderr and "pendek" not in short.stderr
    bad_region = cli("users", "add", "cici", "--name", "Cici", "--role", "reviewer", "--region", "9999",
                     "--password-stdin", stdin=PASSWORD + "\n")
    assert bad_region.exit_code == 5 and "9999" in bad_region.stderr
    listed = cli("users", "list", "--json").json()
    assert [u["username"] for u in listed] == ["ana"]
    svc = UserService(open_store(load(settings_path)).db)
    assert svc.authenticate("ana", PASSWORD) is not None
    assert svc.authenticate("ana", "salah-sandi-123") is None
    assert svc.authenticate("nobody", PASSWORD) is None
    version = svc.get("ana").session_version  # type: ignore[union-attr]
    assert cli("users", "reset-password", "ana", "--password-stdin",
               stdin="sandi-baru-yang-panjang\n").exit_code == 0
    assert svc.authenticate("ana", PASSWORD) is None
    assert svc.authenticate("ana", "sandi-baru-yang-panjang") is not None
    assert svc.get("ana").session_version > version  # type: ignore[union-attr]
    assert cli("users", "disable", "ana").exit_code == 0
    assert svc.authenticate("ana", "sandi-baru-yang-panjang") is None
    assert cli("users", "list").exit_code == 0
    db_bytes = load(settings_path).db_path.read_bytes()
    assert PASSWORD.encode() not in db_bytes and b"sandi-baru-yang-panjang" not in db_bytes
    with duckdb.connect(str(load(settings_path).db_path)) as con:
        hashes = [r[0] for r in con.execute("SELECT password_hash FROM desk_users").fetchall()]
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)


def test_province_user_sees_its_regencies(cli: Cli, settings_path: Path) -> None:
    assert cli("run", "--once").exit_code == 0
    svc = UserService(open_store(load(settings_path)).db)
    prov = svc.add("jabar", "Koordinator Jabar", "coordinator", PASSWORD, "32")
    kab = svc.add("bandung", "Peninjau Bandung", "reviewer", PASSWORD, "3204")
    national = svc.add("pusat", "Admin Pusat", "admin", PASSWORD)
    assert "3204" in svc.regions_of(prov) and "32" in svc.regions_of(prov)  # type: ignore[operator]
    assert "31" not in svc.regions_of(prov)  # type: ignore[operator]
    assert svc.regions_of(kab) == ["3204"]
    assert svc.regions_of(national) is None
    assert kab.can("confirm") and not kab.can("escalate") and prov.can("escalate")


def test_cli_decision_records_the_os_user(cli: Cli, settings_path: Path) -> None:
    assert cli("run", "--once").exit_code == 0
    assert cli("review", "confirm", "1", "--reviewer", "ana", "--note", "jelas").exit_code == 0
    with duckdb.connect(str(load(settings_path).db_path)) as con:
        detail = json.loads(con.execute("SELECT detail FROM reviews WHERE flag_id = 1").fetchone()[0])
    assert detail["via"] == "cli" and detail["os_user"]


def test_desk_command_serves_the_sample_queue(cli: Cli, settings_path: Path) -> None:
    """make run, users add, asn-monitor desk: a reviewer gets the queue in the browser."""
    import subprocess
    import sys
    import time

    import httpx

    from monitor.testing import free_port
    from monitor.testing.desk import csrf_of

    assert cli("run", "--once").exit_code == 0
    assert cli("users", "add", "ana", "--name", "Ana", "--role", "reviewer", "--region", "3204",
               "--password-stdin", stdin=PASSWORD + "\n").exit_code == 0
    port = free_port()
    exe = Path(sys.executable).with_name("asn-monitor")
    server = subprocess.Popen([str(exe), "--config", str(settings_path), "desk", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        deadline = time.monotonic() + 60
        while True:
            try:
                page = client.get("/login")
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and server.poll() is None, "the desk started"
                time.sleep(0.2)
        assert "Masuk" in page.text
        client.post("/login", data={"csrf": csrf_of(page.text), "username": "ana", "password": PASSWORD})
        queue = client.get("/")
        assert queue.status_code == 200 and "Antrean" in queue.text and "Wawan Kurniawan" in queue.text
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    key = load(settings_path).db_path.parent / "desk-session.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert PASSWORD not in output and key.read_text().strip() not in output
    assert "127.0.0.1" in output
