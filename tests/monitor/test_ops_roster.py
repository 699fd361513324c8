"""Roster upkeep: every bad row at once, Excel CSVs, NIPs with spaces, (de)activation, --replace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from monitor.testing import invoke, write_settings

MATCHER = {"classifier": {"model": "matcher"}, "digest": {"enabled": False}}
HEADER = "account_id,name,nip,agency,region,platform,handle"


def _settings(config_dir: Path) -> Path:
    return write_settings(config_dir, extra=MATCHER)


def _cli(path: Path, *args: str) -> Any:
    return invoke(["--config", str(path), *args])


def test_import_reports_every_bad_row_at_once(config_dir: Path, tmp_path: Path) -> None:
    path = _settings(config_dir)
    roster = tmp_path / "r.csv"
    roster.write_text("\n".join([HEADER,
                                 "a1,Ani,12345,Dinas,3204,bluesky,ani.bsky.social",
                                 "a2,Budi,198604152010012018,Dinas,9999,x,budi",
                                 "a3,Cici,198604152010012019,Dinas,3204,friendster,cici",
                                 "a4,Dodi,198604152010012020,Dinas,3204,x,dodi"]) + "\n")
    done = _cli(path, "accounts", "import", str(roster))
    assert done.exit_code == 2
    assert "3 problems" in done.stderr
    for line, what in ((2, "nip must be 18 digits"), (3, "unknown region code '9999'"),
                       (4, "platform must be one of")):
        assert f"line {line}: {what}" in done.stderr


def test_excel_semicolons_bom_and_nips_with_spaces(config_dir: Path, tmp_path: Path) -> None:
    path = _settings(config_dir)
    roster = tmp_path / "excel.csv"
    rows = [HEADER.replace(",", ";"),
            "a1;Ani Lestari;19870101 201001 1 001;Dinas Pendidikan, Kota Bandung;3273;x;ani_l",
            "a2;Bayu;19870101.201001.1.002;BPBD;7371;bluesky;bayu.bsky.social"]
    roster.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode() + b"\r\n")
    done = _cli(path, "accounts", "import", str(roster), "--json")
    assert done.exit_code == 0, done.stderr
    assert done.json()["rows"] == 2
    listed = {a["account_id"]: a for a in _cli(path, "accounts", "list", "--json").json()}
    assert listed["a1"]["nip"] == "198701012010011001"
    assert listed["a1"]["agency"] == "Dinas Pendidikan, Kota Bandung"
    tabbed = tmp_path / "tabs.tsv"
    tabbed.write_text(HEADER.replace(",", "\t") + "\na3\tCita\t198701012010011003\tBPS\t9171\tx\tcita\n")
    assert _cli(path, "accounts", "import", str(tabbed)).exit_code == 0


def _flags_of(path: Path, account: str) -> int:
    done = _cli(path, "sql", f"SELECT count(*) AS n FROM flags WHERE account_id = '{account}'",  # noqa: S608
                "--format", "json")
    return int(done.json()[0]["n"])


def test_deactivated_account_is_not_collected_and_keeps_its_flags(config_dir: Path) -> None:
    path = _settings(config_dir)
    assert _cli(path, "accounts", "import", str(config_dir / "roster.csv")).exit_code == 0
    done = _cli(path, "accounts", "deactivate", "asn-001", "--reason", "pensiun", "--by", "ana")
    assert done.exit_code == 0 and "asn-001: deactivated" in done.stdout
    assert _cli(path, "run", "--once").exit_code == 0
    assert _flags_of(path, "asn-001") == 0  # not collected
    flagged = _cli(path, "sql", "SELECT account_id, count(*) AS n FROM flags GROUP BY 1 ORDER BY 2 DESC",
                   "--format", "json").json()
    other = flagged[0]["account_id"]
    before = flagged[0]["n"]
    assert _cli(path, "accounts", "deactivate", other, "--reason", "salah akun").exit_code == 0
    assert _flags_of(path, other) == before  # its flags and evidence stay
    listed = _cli(path, "accounts", "list", "--json").json()
    assert [a["active"] for a in listed if a["account_id"] == other] == \
        [False] * sum(a["account_id"] == other for a in listed)
    assert _cli(path, "accounts", "activate", "asn-001", "--reason", "salah input",
                "--by", "ana").exit_code == 0
    history = _cli(path, "accounts", "history", "asn-001", "--json").json()
    assert [(h["active"], h["reason"], h["changed_by"]) for h in history] == [
        (False, "pensiun", "ana"), (True, "salah input", "ana")]
    assert _cli(path, "accounts", "deactivate", "nobody-here", "--reason", "x").exit_code == 2


def test_import_replace_shows_changes_then_applies_with_yes(config_dir: Path, tmp_path: Path) -> None:
    path = _settings(config_dir)
    assert _cli(path, "accounts", "import", str(config_dir / "roster.csv")).exit_code == 0
    lines = (config_dir / "roster.csv").read_text().splitlines()
    kept = [ln for ln in lines if not ln.startswith("asn-002,")]
    kept = [ln.replace("BPBD", "X") if ln.startswith("asn-005,") else ln for ln in kept]
    kept = [ln.replace("Bappeda Provinsi", "Dinas Sosial Provinsi") for ln in kept]
    kept.append("asn-099,Nina,198701012010011099,Dinas Sosial,7371,x,nina_mks")
    new = tmp_path / "roster-2025.csv"
    new.write_text("\n".join(kept) + "\n")
    shown = _cli(path, "accounts", "import", str(new), "--replace", "--json")
    assert shown.exit_code == 0, shown.stderr
    plan = shown.json()
    assert plan["applied"] is False
    assert plan["add"] == ["asn-099"] and plan["deactivate"] == ["asn-002"]
    assert "agency: 'Bappeda Provinsi Jawa Barat' -> 'Dinas Sosial Provinsi Jawa Barat'" in \
        plan["change"]["asn-005"]
    ids = {a["account_id"]: a["active"] for a in _cli(path, "accounts", "list", "--json").json()}
    assert "asn-099" not in ids and ids["asn-002"]  # nothing applied yet
    text = _cli(path, "accounts", "import", str(new), "--replace")
    assert "rerun with --yes" in text.stdout and "deactivate" in text.stdout
    done = _cli(path, "accounts", "import", str(new), "--replace", "--yes")
    assert done.exit_code == 0, done.stderr
    ids = {a["account_id"]: a["active"] for a in _cli(path, "accounts", "list", "--json").json()}
    assert ids["asn-099"] and not ids["asn-002"]
    (change,) = _cli(path, "accounts", "history", "asn-002", "--json").json()
    assert change["reason"] == "not in roster roster-2025.csv"
