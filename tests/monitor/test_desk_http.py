"""The review desk over HTTP against a real uvicorn server and DuckDB file (one server per module)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from pypdf import PdfReader

from monitor.app import open_store
from monitor.desk.auth import SECRET_FILE
from monitor.settings import Settings, load
from monitor.testing.desk import PASSWORD, login, post_form, seed, serve
from monitor.users import UserService

WINDOW = 4.0  # seconds of the login rate limit in this module (slow shared machines)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("desk")
    settings_path = seed(root, extra={"desk": {"login_max_failures": 3, "login_window": WINDOW},
                                      "review": {"chromium": "", "four_eyes": True}})
    log = root / "desk.log"
    with serve(settings_path, log) as base:
        yield {"base": base, "settings": load(settings_path), "log": log, "root": root}


def _sql(settings: Settings, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(settings.db_path), read_only=False) as con:
        return con.execute(sql, params or []).fetchall()


def _flag_of(settings: Settings, region: str, kind: str | None = None) -> int:
    rows = _sql(settings, "SELECT f.flag_id FROM flags f JOIN accounts a USING (account_id) "
                          "JOIN items i USING (item_key) LEFT JOIN flag_status s USING (flag_id) "
                          "WHERE a.region = ? AND coalesce(s.status, 'pending') = 'pending' "
                          "AND (? IS NULL OR i.kind = ?) ORDER BY f.flag_id", [region, kind, kind])
    assert rows, f"the sample has a pending flag in {region}"
    return int(rows[0][0])


def test_login_is_indonesian_rate_limited_and_recorded(desk: dict[str, Any]) -> None:
    client = httpx.Client(base_url=desk["base"], timeout=30)
    page = client.get("/login")
    assert page.status_code == 200 and "Kata sandi" in page.text and 'lang="id"' in page.text
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "max-age=" in cookie
    assert client.get("/").status_code == 303  # not signed in: to the login page
    from monitor.testing.desk import csrf_of

    for _ in range(3):
        bad = client.post("/login", data={"csrf": csrf_of(client.get("/login").text), "username": "ana",
                                          "password": "salah-sandi-sekali"})
        assert bad.status_code == 401 and "salah" in bad.text
    limited = client.post("/login", data={"csrf": csrf_of(client.get("/login").text), "username": "ana",
                                          "password": PASSWORD})
    assert limited.status_code == 429, "a right password is refused too while the limit holds"
    time.sleep(WINDOW + 0.2)
    ok = login(desk["base"], "ana")
    assert ok.get("/").status_code == 200
    english = ok.get("/lang/en?next=/", follow_redirects=True)
    assert "Queue" in english.text and 'lang="en"' in english.text
    assert post_form(ok, "/", "/logout", {}).status_code == 303
    assert ok.get("/").status_code == 303
    events = [r[0] for r in _sql(desk["settings"],
                                 "SELECT event FROM desk_logins WHERE username = 'ana' ORDER BY id")]
    assert events[:5] == ["failed", "failed", "failed", "limited", "login"] and "logout" in events


def test_queue_filters_search_and_words(desk: dict[str, Any]) -> None:
    client = login(desk["base"], "koor")
    page = client.get("/").text
    assert "menyukai unggahan" in page or "membuat unggahan" in page
    assert "Cecep Hidayat – Nia Kurniasih" in page and "WIB" in page
    rows = page.count('class="flag-row"')
    likes = client.get("/", params={"kind": "like"}).text
    assert 0 < likes.count('class="flag-row"') < rows
    assert likes.count("menyukai unggahan") >= likes.count('class="flag-row"')
    nip = _sql(desk["settings"], "SELECT nip FROM accounts WHERE region = '3204' LIMIT 1")[0][0]
    by_nip = client.get("/", params={"q": nip}).text
    assert by_nip.count('class="flag-row"') >= 1 and by_nip.count(nip) >= by_nip.count('class="flag-row"')
    kota = client.get("/", params={"region": "3273"}).text
    assert "Agus Permana" in kota and "Wawan Kurniawan" not in kota
    none = client.get("/", params={"since": "2030-01-01"}).text
    assert 'id="empty"' in none
    oct_only = client.get("/", params={"since": "2024-10-01", "until": "2024-10-31", "status": "any"}).text
    assert oct_only.count('class="flag-row"') >= 1 and "2024-09-" not in oct_only
    assert client.get("/", params={"since": "kemarin"}).status_code == 400
    cecep = client.get("/", params={"target": "bdg-1", "status": "any"}).text
    assert cecep.count('class="flag-row"') >= 1
    assert cecep.count("Cecep Hidayat – Nia Kurniasih") >= cecep.count('class="flag-row"')
    # A regency reviewer sees only its regency.
    ana = login(desk["base"], "ana").get("/", params={"status": "any"}).text
    assert "Agus Permana" not in ana and "Wawan Kurniawan" in ana


def test_hostile_post_renders_as_text(desk: dict[str, Any]) -> None:
    client = login(desk["base"], "ana")
    rows = _sql(desk["settings"], "SELECT f.flag_id FROM flags f JOIN items i USING (item_key) "
                                  "WHERE i.text LIKE '%<script>%'")
    assert rows, "the hostile post was flagged"
    for url in (f"/flag/{rows[0][0]}", "/?q=script", f"/flag/{rows[0][0]}/card"):
        html = client.get(url).text
        low = html.lower()
        assert "<script" not in low and "<img src=x" not in low and 'href="javascript:' not in low
        assert "&lt;script&gt;" in html
    assert "script-src" not in client.get("/").headers["content-security-policy"]  # no script allowed


def test_confirm_needs_note_and_records_the_signed_in_user(desk: dict[str, Any]) -> None:
    settings = desk["settings"]
    flag = _flag_of(settings, "3204", "post")
    client = login(desk["base"], "ana")
    refused = post_form(client, f"/flag/{flag}", f"/flag/{flag}/confirm", {"note": "  "})
    assert refused.status_code == 303
    assert "catatan" in client.get(f"/flag/{flag}").text.lower()
    assert _sql(settings, "SELECT count(*) FROM reviews WHERE flag_id = ?", [flag]) == [(0,)]
    done = post_form(client, f"/flag/{flag}", f"/flag/{flag}/confirm", {"note": "Ajakan memilih paslon 1"})
    assert done.status_code == 303
    page = client.get(f"/flag/{flag}").text
    assert "Keputusan tercatat" in page and "Ajakan memilih paslon 1" in page
    reviewer, detail = _sql(settings, "SELECT reviewer, detail FROM reviews WHERE flag_id = ?", [flag])[0]
    assert reviewer == "ana" and json.loads(detail)["via"] == "desk"
    other = _flag_of(settings, "3204")
    assert post_form(client, f"/flag/{other}", f"/flag/{other}/dismiss",
                     {"reason": "other", "note": ""}).status_code == 303
    assert _sql(settings, "SELECT count(*) FROM reviews WHERE flag_id = ?", [other]) == [(0,)]
    post_form(client, f"/flag/{other}", f"/flag/{other}/dismiss", {"reason": "satire_or_news", "note": ""})
    assert _sql(settings, "SELECT decision, reason FROM reviews WHERE flag_id = ?",
                [other]) == [("dismissed", "satire_or_news")]
    # ana may not escalate: the role has no such button, and a forged post is refused.
    assert 'id="escalate"' not in page
    assert post_form(client, f"/flag/{flag}", f"/flag/{flag}/escalate", {"sure": "1"}).status_code == 403


def test_group_decision_with_one_note(desk: dict[str, Any]) -> None:
    settings = desk["settings"]
    client = login(desk["base"], "koor")
    queue = client.get("/").text
    lead = re.search(r'data-flag="(\d+)"(?:(?!flag-row).)*kelompok mirip: (\d+) temuan', queue, re.S)
    assert lead, "the sample's copied campaign messages form a group"
    flag, size = int(lead.group(1)), int(lead.group(2))
    page = client.get(f"/flag/{flag}").text
    assert f"seluruh kelompok mirip ({size} temuan)" in page
    post_form(client, f"/flag/{flag}", f"/flag/{flag}/confirm",
              {"note": "Pesan kampanye salinan", "group": "1"})
    rows = _sql(settings, "SELECT flag_id, note, reviewer FROM reviews WHERE note = 'Pesan kampanye salinan'")
    assert len(rows) == size and {r[2] for r in rows} == {"koor"} and flag in {r[0] for r in rows}


def test_escalation_four_eyes_and_downloads(desk: dict[str, Any]) -> None:
    settings = desk["settings"]
    flag = _flag_of(settings, "3204", "post")
    koor, koor2 = login(desk["base"], "koor"), login(desk["base"], "koor2")
    post_form(koor, f"/flag/{flag}", f"/flag/{flag}/confirm", {"note": "Unggahan kampanye"})
    post_form(koor, f"/flag/{flag}", f"/flag/{flag}/escalate", {"sure": "1"})
    assert "Tidak tercatat: aturan empat mata" in koor.get(f"/flag/{flag}").text
    post_form(koor2, f"/flag/{flag}", f"/flag/{flag}/confirm", {"note": "Setuju, jelas berpihak"})
    post_form(koor2, f"/flag/{flag}", f"/flag/{flag}/escalate", {})  # the statement not ticked
    assert _sql(settings, "SELECT count(*) FROM reviews WHERE flag_id = ? AND decision = 'escalated'",
                [flag]) == [(0,)]
    assert post_form(koor2, f"/flag/{flag}", f"/flag/{flag}/escalate", {"sure": "1"}).status_code == 303
    assert _sql(settings, "SELECT reviewer FROM reviews WHERE flag_id = ? AND decision = 'escalated'",
                [flag]) == [("koor2",)]
    listing = koor.get("/escalations").text
    assert f"#{flag}" in listing
    review_id = _sql(settings, "SELECT review_id FROM reviews WHERE decision = 'escalated' AND flag_id = ?",
                     [flag])[0][0]
    package = koor.get(f"/escalations/{review_id}/zip")
    assert package.status_code == 200 and package.content[:2] == b"PK"
    letter = koor.get(f"/escalations/{review_id}/pdf")
    assert letter.status_code == 200 and letter.content.startswith(b"%PDF")
    check_letter(letter.content, settings, flag, package.content)
    assert login(desk["base"], "kota").get(f"/escalations/{review_id}/zip").status_code == 403


def check_letter(pdf: bytes, settings: Settings, flag: int, package: bytes) -> None:
    """The letter names the ASN, NIP, position, candidate, reviewers and every enclosed hash;
    the package's manifest passes ``sha256sum -c``."""
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    flat = "".join(text.split())
    name, nip, account = _sql(settings, "SELECT a.name, a.nip, a.account_id FROM flags f JOIN accounts a "
                                        "USING (account_id) WHERE f.flag_id = ?", [flag])[0]
    def has(phrase: str) -> bool:  # table cells wrap lines anywhere
        return "".join(phrase.split()) in flat

    assert has(name) and nip in text and has(f"Pelaksana {account}")
    targets = _sql(settings, "SELECT targets FROM flags WHERE flag_id = ?", [flag])[0][0]
    people = _sql(settings, "SELECT people FROM candidates "
                            "WHERE list_contains(from_json(?, '[\"VARCHAR\"]'), id)", [targets])
    assert people and all(has(p) for p in json.loads(people[0][0]))
    assert has("Undang-Undang Nomor 20 Tahun 2023") and has("Peraturan Pemerintah Nomor 94 Tahun 2021")
    assert has("Keputusan Bersama (SKB)") and "WIB" in text
    assert has("Koordinator Jabar") and has("Anggota Bawaslu Provinsi Jawa Barat") and has("Dadan Ramdani")
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(io.BytesIO(package)) as zf:
            zf.extractall(tmp)
        folder = next(Path(tmp).iterdir())
        check = subprocess.run(["sha256sum", "-c", "MANIFEST.sha256"], cwd=folder, capture_output=True,
                               text=True, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
        assert (folder / "surat.pdf").read_bytes() == pdf
        hashes = [line.split()[0] for line in (folder / "MANIFEST.sha256").read_text().splitlines()
                  if not line.endswith(("surat.pdf", "surat.html"))]
    assert len(hashes) >= 5 and all(h in flat for h in hashes)


def test_csrf_region_role_and_disabled_user(desk: dict[str, Any]) -> None:
    settings = desk["settings"]
    ana = login(desk["base"], "ana")
    flag = _flag_of(settings, "3204")
    before = _sql(settings, "SELECT count(*) FROM reviews")
    assert ana.post(f"/flag/{flag}/confirm", data={"note": "tanpa token"}).status_code == 403
    assert ana.post(f"/flag/{flag}/confirm", data={"note": "x", "csrf": "palsu"}).status_code == 403
    assert _sql(settings, "SELECT count(*) FROM reviews") == before
    kota_flag = _flag_of(settings, "3273")
    assert ana.get(f"/flag/{kota_flag}").status_code == 403
    assert post_form(ana, f"/flag/{flag}", f"/flag/{kota_flag}/confirm", {"note": "x"}).status_code == 403
    auditor = login(desk["base"], "audit")
    assert auditor.get(f"/flag/{kota_flag}").status_code == 200
    assert post_form(auditor, f"/flag/{kota_flag}", f"/flag/{kota_flag}/confirm",
                     {"note": "x"}).status_code == 403
    kota = login(desk["base"], "kota")
    assert kota.get(f"/flag/{kota_flag}").status_code == 200
    UserService(open_store(settings).db).disable("kota")
    assert kota.get(f"/flag/{kota_flag}").status_code == 303  # the session ended
    with pytest.raises(AssertionError):
        login(desk["base"], "kota")


def test_no_password_or_secret_at_rest(desk: dict[str, Any]) -> None:
    settings = desk["settings"]
    secret = (settings.db_path.parent / SECRET_FILE).read_text().strip()
    assert oct((settings.db_path.parent / SECRET_FILE).stat().st_mode & 0o777) == "0o600"
    haystacks = [desk["log"].read_bytes(), settings.db_path.read_bytes()]
    wal = settings.db_path.with_name(settings.db_path.name + ".wal")
    if wal.exists():
        haystacks.append(wal.read_bytes())
    haystacks += [p.read_bytes() for p in settings.evidence_dir.rglob("*") if p.is_file()]
    assert len(haystacks) > 3 and desk["log"].stat().st_size > 0
    for blob in haystacks:
        assert PASSWORD.encode() not in blob and secret.encode() not in blob
