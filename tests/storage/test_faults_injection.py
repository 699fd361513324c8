"""Hostile names and ids inject nothing: refused with a clear error, or stored verbatim.

SQL (``x'); DROP TABLE flags;--``), path traversal (``../../etc/passwd``) and shell
(``$(touch ...)``) strings go into the roster, the items and the registries. Every table
stays, the strings come back byte for byte, and no file appears outside the data folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from monitor.settings import load
from monitor.testing import invoke, write_settings

HOSTILE = ["x'); DROP TABLE flags;--", "../../etc/passwd", "$(touch /tmp/asn-pwned-{n})",
           "`touch /tmp/asn-pwned-b{n}`", "a\"; DELETE FROM items; --", "..\\..\\windows\\win.ini",
           "%2e%2e%2fetc%2fpasswd", "name\x00null"]
ROSTER_ROW = "asn-901,Uji Coba,198604152010012099,Dinas Uji,3204,x,{handle}\n"


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def _tables(db: Path) -> set[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def test_hostile_item_ids_and_actors_are_stored_verbatim_and_inject_nothing(
        config_dir: Path, tmp_path: Path) -> None:
    pwned = [Path(f"/tmp/asn-pwned-{tmp_path.name}"), Path(f"/tmp/asn-pwned-b{tmp_path.name}")]
    hostile = [h.format(n=tmp_path.name) for h in HOSTILE]
    handle = "x'); DROP TABLE flags;--"
    roster = config_dir / "roster.csv"
    roster.write_text(roster.read_text(encoding="utf-8") + ROSTER_ROW.format(handle=f'"{handle}"'),
                      encoding="utf-8")
    lines = []
    for n, bad in enumerate(hostile):
        lines.append({"platform": "x", "id": bad, "kind": "post", "actor": handle,
                      "created_at": "2024-10-01T08:00:00+07:00",
                      "text": f"Ayo coblos nomor 1 tanggal 27 November! #JabarAsih {bad}",
                      "url": f"https://x.com/{bad}", "extra_field": bad})
        lines.append({"platform": "x", "id": f"{n}-{bad}", "kind": "post", "actor": bad,
                      "created_at": "2024-10-01T08:00:00+07:00", "text": bad, "url": None})
    items = config_dir / "samples/hostile.jsonl"
    items.write_text("".join(json.dumps(o) + "\n" for o in lines), encoding="utf-8")
    settings = write_settings(config_dir, sources={"h": {"type": "file", "paths": ["samples/hostile.jsonl"]}},
                              extra={"classifier": {"model": "matcher"}})
    before = _files(tmp_path)
    run = invoke(["--config", str(settings), "run", "--once", "--json"])
    assert run.exit_code == 0, run.stderr
    stats = run.json()["sources"][0]
    # The roster accepted the odd handle verbatim; the actors that are not on it are skipped
    # (the first hostile actor is that very handle, so its item is kept).
    assert stats["new"] == len(hostile) + 1 and stats["skipped"] == len(hostile) - 1
    assert stats["flagged"] >= 1
    render = invoke(["--config", str(settings), "evidence", "render", "--no-png"])
    assert render.exit_code == 0, render.stderr
    db = load(settings).db_path
    assert {"flags", "items", "evidence", "accounts", "runs"} <= _tables(db)
    with duckdb.connect(str(db), read_only=True) as con:
        stored = {r[0] for r in con.execute("SELECT item_id FROM items").fetchall()}
        actors = {r[0] for r in con.execute("SELECT DISTINCT actor FROM items").fetchall()}
        flags = con.execute("SELECT count(*) FROM flags").fetchone()
    assert stored == {*hostile, f"0-{hostile[0]}"}
    assert actors == {handle}
    assert flags and flags[0] == stats["flagged"]
    assert invoke(["--config", str(settings), "verify"]).exit_code == 0
    created = _files(tmp_path) - before
    data = db.parent.resolve()
    assert created and all(p.resolve().is_relative_to(data) for p in created), created
    assert not any(p.exists() for p in pwned)


def test_hostile_account_and_registry_ids_are_refused_with_a_config_error(config_dir: Path) -> None:
    settings = write_settings(config_dir)
    roster = config_dir / "hostile-roster.csv"
    header = "account_id,name,nip,agency,region,platform,handle\n"
    for bad in ("x'); DROP TABLE flags;--", "../../etc/passwd", "$(touch /tmp/asn-pwned)"):
        roster.write_text(header + f'"{bad}",Uji,198604152010012099,Dinas,3204,x,uji\n', encoding="utf-8")
        result = invoke(["--config", str(settings), "accounts", "import", str(roster)])
        assert result.exit_code == 2, result.stderr
        assert "unsafe characters" in result.stderr and "Traceback" not in result.stderr
    registry = next((config_dir / "registries").glob("*.toml"))
    text = registry.read_text(encoding="utf-8")
    for bad in ("x'); DROP TABLE flags;--", "../../etc/passwd"):
        registry.write_text(text.replace('[election]\nid = "', f'[election]\nid = "{bad}', 1)
                            .replace(f'id = "{bad}', f'id = {json.dumps(bad)} #', 1), encoding="utf-8")
        result = invoke(["--config", str(settings), "registry", "check"])
        assert result.exit_code == 2, (result.stdout, result.stderr)
        assert "election.id" in result.stderr and "Traceback" not in result.stderr
    assert not Path("/tmp/asn-pwned").exists()
