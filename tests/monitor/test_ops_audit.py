"""Auditors: views whose counts add up, exports with names and targets, pseudonymised exports."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from monitor.testing import invoke, write_settings

STATUSES = ("pending", "confirmed", "dismissed", "escalated")


@pytest.fixture
def reviewed(config_dir: Path) -> Path:
    """The sample collected, with confirmed, dismissed and escalated flags (real commands)."""
    path = write_settings(config_dir, extra={"classifier": {"model": "matcher"},
                                             "digest": {"enabled": False}})
    assert _cli(path, "run", "--once").exit_code == 0
    for args in (("confirm", "1"), ("dismiss", "3", "--reason", "not_partisan"), ("confirm", "2"),
                 ("escalate", "2")):
        done = _cli(path, "review", *args, "--reviewer", "ayu")
        assert done.exit_code == 0, done.stderr
    return path


def _cli(path: Path, *args: str) -> Any:
    return invoke(["--config", str(path), *args])


def _sql(path: Path, statement: str) -> list[dict[str, Any]]:
    done = _cli(path, "sql", statement, "--format", "json")
    assert done.exit_code == 0, done.stderr
    return list(done.json())


def test_every_views_counts_add_up(reviewed: Path) -> None:
    total = _sql(reviewed, "SELECT count(*) AS n FROM audit_flags")[0]["n"]
    statuses = {r["status"] for r in _sql(reviewed, "SELECT DISTINCT status FROM audit_flags")}
    assert statuses == set(STATUSES)  # the sample has every status now
    pairs = _sql(reviewed, "SELECT sum(json_array_length(targets)) AS n FROM audit_flags")[0]["n"]
    for view, covered in (("audit_flags_by_week", total), ("audit_flags_by_agency", total),
                          ("audit_flags_by_region", total), ("audit_flags_by_candidate", pairs)):
        rows = _sql(reviewed, f"SELECT * FROM {view}")  # noqa: S608
        assert sum(r["flags"] for r in rows) == covered, view
        for r in rows:
            assert r["flags"] == sum(r[s] for s in STATUSES), (view, r)
    by_agency = _sql(reviewed, "SELECT sum(escalated) AS n FROM audit_flags_by_agency")[0]["n"]
    assert by_agency == 1


def test_export_joins_people_places_and_targets(reviewed: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    assert _cli(reviewed, "export", "--format", "csv", "--out", str(out)).exit_code == 0
    with (out / "flags.csv").open(encoding="utf-8") as f:
        flags = list(csv.DictReader(f))
    assert len(flags) == 17
    one = next(r for r in flags if r["account_id"] == "asn-001")
    assert one["account_name"] == "Rina Marlina" and one["nip"] == "198604152010012017"
    assert one["agency"].startswith("Dinas Pendidikan") and one["region_name"] == "Kabupaten Bandung"
    assert one["province_name"] == "Jawa Barat" and one["timezone"] == "WIB"
    assert one["flagged_at_local"].endswith(" WIB")
    labels = " ".join(r["target_names"] for r in flags)
    assert " & " in labels  # candidate pairs by name, not only their ids
    per_agency: dict[str, int] = {}
    for r in flags:
        per_agency[r["agency"]] = per_agency.get(r["agency"], 0) + 1
    from_view = {r["agency"]: r["n"] for r in _sql(
        reviewed, "SELECT agency, sum(flags) AS n FROM audit_flags_by_agency GROUP BY agency")}
    assert per_agency == from_view  # "flags per agency" can be worked out from the export


def test_pseudonymised_export_is_stable_and_keyed(reviewed: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASN_MONITOR_PSEUDONYM_KEY", raising=False)
    refused = _cli(reviewed, "export", "--format", "csv", "--out", str(tmp_path / "x"),
                   "--pseudonymise")
    assert refused.exit_code == 2 and "ASN_MONITOR_PSEUDONYM_KEY" in refused.stderr

    def export(key: str, name: str) -> list[dict[str, str]]:
        monkeypatch.setenv("ASN_MONITOR_PSEUDONYM_KEY", key)
        out = tmp_path / name
        assert _cli(reviewed, "export", "--format", "csv", "--out", str(out),
                    "--pseudonymise").exit_code == 0
        text = "".join(p.read_text(encoding="utf-8") for p in out.iterdir())
        for secret in ("Rina Marlina", "198604152010012017", "rina-guru.bsky.social"):
            assert secret not in text
        with (out / "flags.csv").open(encoding="utf-8") as f:
            return list(csv.DictReader(f))

    a = export("k" * 32, "a")
    b = export("k" * 32, "b")
    c = export("another-key-of-32-characters....", "c")
    assert [r["account_name"] for r in a] == [r["account_name"] for r in b]  # stable
    assert all(r["account_name"].startswith("p_") and r["nip"].startswith("p_") for r in a)
    assert a[0]["account_name"] != c[0]["account_name"]  # keyed
    assert a[0]["agency"] == c[0]["agency"]  # agencies and regions stay readable
