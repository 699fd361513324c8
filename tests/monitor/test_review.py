"""The review commands through the real CLI and DuckDB file: queue, decisions, escalation."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from monitor.app import open_store
from monitor.review import training_examples
from monitor.settings import load
from monitor.testing import CliResult, invoke, write_settings

Cli = Callable[..., CliResult]


def _sql(settings_path: Path, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    with duckdb.connect(str(load(settings_path).db_path)) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture
def flagged(cli: Cli) -> Cli:
    """The sample run done: 17 pending flags."""
    assert cli("run", "--once").exit_code == 0
    return cli


def _queue(cli: Cli, *args: str) -> list[dict[str, object]]:
    if args:  # filters are checked without the (slower) near-duplicate grouping
        args = (*args, "--no-groups")
    result = cli("review", "queue", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return result.json()["flags"]  # type: ignore[no-any-return]


def test_queue_is_ordered_filtered_and_grouped(flagged: Cli) -> None:
    rows = _queue(flagged)
    assert len(rows) >= 15
    scores = [float(r["score"]) for r in rows]  # type: ignore[arg-type]
    assert scores == sorted(scores, reverse=True)
    assert {r["platform"] for r in _queue(flagged, "--platform", "x")} == {"x"}
    assert {r["kind"] for r in _queue(flagged, "--kind", "like")} == {"like"}
    assert all(str(r["region"]).startswith("3204") for r in _queue(flagged, "--region", "3204"))
    bandung = _queue(flagged, "--election", "pilbup-bandung-2024")
    assert bandung and all(str(r["region"]).startswith("3204") for r in bandung)
    assert all(any(str(t).startswith("bdg-") for t in r["targets"]) for r in bandung)  # type: ignore[attr-defined]
    october = _queue(flagged, "--since", "2024-10-01", "--until", "2024-10-31")
    # Days are the ASN's local days (the sample's ASN are all in WIB).
    wib = ZoneInfo("Asia/Jakarta")
    assert october and all(datetime.fromisoformat(str(r["created_at"])).astimezone(wib)
                           .strftime("%Y-%m") == "2024-10" for r in october)
    assert len(_queue(flagged, "--agency", "Puskesmas")) >= 1
    grouped = [r for r in rows if r["group"] is not None]
    assert grouped, "the sample has copied campaign messages: some flags must be grouped"
    text = flagged("review", "queue")
    assert text.exit_code == 0 and "Review queue" in text.stdout


def test_confirm_dismiss_supersede_and_history(flagged: Cli, settings_path: Path) -> None:
    assert flagged("review", "confirm", "1", "--reviewer", "ana", "--note", "jelas").exit_code == 0
    again = flagged("review", "confirm", "1", "--reviewer", "ana")
    assert again.exit_code == 5 and "already confirmed by ana" in again.stderr
    dismissed = flagged("review", "dismiss", "1", "--reason", "satire_or_news", "--reviewer", "budi",
                        "--json")
    assert dismissed.exit_code == 0 and dismissed.json()[0]["decision"] == "dismissed"
    history = flagged("review", "history", "1", "--json").json()
    assert [(h["decision"], h["reviewer"]) for h in history] == [("confirmed", "ana"),
                                                                 ("dismissed", "budi")]
    assert history[0]["note"] == "jelas" and history[1]["seq"] > history[0]["seq"]
    assert _sql(settings_path, "SELECT status FROM flag_status WHERE flag_id = 1") == [("dismissed",)]
    assert all(r["flag_id"] != 1 for r in _queue(flagged))
    assert "confirmed" in flagged("review", "history", "1").stdout


def test_every_decision_needs_a_reviewer_and_a_valid_reason(flagged: Cli,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASN_MONITOR_REVIEWER", raising=False)
    nobody = flagged("review", "confirm", "2")
    assert nobody.exit_code == 5 and "ASN_MONITOR_REVIEWER" in nobody.stderr
    monkeypatch.setenv("ASN_MONITOR_REVIEWER", "citra")
    assert flagged("review", "confirm", "2", "--json").json()[0]["reviewer"] == "citra"
    assert flagged("review", "dismiss", "3").exit_code == 2  # --reason is required
    assert flagged("review", "dismiss", "3", "--reason", "bosan").exit_code == 2
    other = flagged("review", "dismiss", "3", "--reason", "other")
    assert other.exit_code == 5 and "needs a --note" in other.stderr
    assert flagged("review", "dismiss", "3", "--reason", "other", "--note", "akun parodi").exit_code == 0
    assert flagged("review", "confirm", "999").exit_code == 5


def test_group_decision_writes_one_row_per_member(flagged: Cli, settings_path: Path) -> None:
    rows = _queue(flagged)
    group = next(r["group"] for r in rows if r["group"] is not None)
    members = sorted(int(r["flag_id"]) for r in rows if r["group"] == group)  # type: ignore[call-overload]
    result = flagged("review", "confirm", str(members[-1]), "--group", "--reviewer", "ana", "--json")
    assert result.exit_code == 0, result.stderr
    written = result.json()
    assert sorted(w["flag_id"] for w in written) == members
    assert {w["detail"]["group"] for w in written} == {group}
    assert len({w["review_id"] for w in written}) == len(members)
    stored = _sql(settings_path, "SELECT flag_id, status FROM flag_status WHERE flag_id IN "
                                 "(SELECT unnest(?))", [members])
    assert {s for _, s in stored} == {"confirmed"}


def _manifest_matches(folder: Path) -> dict[str, object]:
    manifest = json.loads((folder / "manifest.json").read_text())
    for rel, entry in manifest["files"].items():
        data = (folder / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], rel
        assert len(data) == entry["size"]
    listed = set(manifest["files"]) | {"manifest.json", "MANIFEST.sha256", "anchor.json"}
    # anchor.json and timestamps/ come after the manifest (a token over it cannot be inside it).
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*")
               if p.is_file() and p.parent.name != "timestamps"}
    assert on_disk == listed
    return manifest  # type: ignore[no-any-return]


def test_escalate_only_confirmed_and_package_hashes_match(flagged: Cli, settings_path: Path) -> None:
    pending = flagged("review", "escalate", "5", "--reviewer", "ana")
    assert pending.exit_code == 5 and "only a confirmed flag" in pending.stderr
    assert flagged("review", "dismiss", "6", "--reason", "not_partisan", "--reviewer", "ana").exit_code == 0
    assert flagged("review", "escalate", "6", "--reviewer", "ana").exit_code == 5
    assert flagged("review", "confirm", "5", "--reviewer", "ana").exit_code == 0
    result = flagged("review", "escalate", "5", "--reviewer", "ana", "--json")
    assert result.exit_code == 0, result.stderr
    out = result.json()
    folder, zip_path = Path(out["package"]["folder"]), Path(out["package"]["zip"])
    manifest = _manifest_matches(folder)
    assert {"ringkasan.md", "card.html", "raw/response.bin", "raw/response.json", "evidence.json",
            "reviews.json"} <= set(manifest["files"])  # type: ignore[call-overload]
    detail = json.loads((folder / "evidence.json").read_text())
    raw = (folder / "raw/response.bin").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == detail["raw_sha256"]
    summary = (folder / "ringkasan.md").read_text()
    assert detail["account"]["nip"] in summary and detail["account"]["name"] in summary
    assert "Bawaslu → BKN" in summary and "Kategori SKB 2022" in summary and "KASN" in summary
    with zipfile.ZipFile(zip_path) as zf:
        for rel, entry in manifest["files"].items():  # type: ignore[attr-defined]
            assert hashlib.sha256(zf.read(f"{folder.name}/{rel}")).hexdigest() == entry["sha256"]
    assert hashlib.sha256(zip_path.read_bytes()).hexdigest() == out["review"]["detail"]["zip_sha256"]
    assert _sql(settings_path, "SELECT status FROM flag_status WHERE flag_id = 5") == [("escalated",)]
    twice = flagged("review", "escalate", "5", "--reviewer", "ana")
    assert twice.exit_code == 5 and "already escalated" in twice.stderr
    assert flagged("verify").exit_code == 0


def test_english_summary_on_request(flagged: Cli) -> None:
    assert flagged("review", "confirm", "7", "--reviewer", "ana").exit_code == 0
    out = flagged("review", "escalate", "7", "--reviewer", "ana", "--language", "en", "--json").json()
    folder = Path(out["package"]["folder"])
    summary = (folder / "summary.md").read_text()
    assert "Route: Bawaslu → BKN" in summary and "SKB 2022 category" in summary
    assert "Evidence card" in (folder / "card.html").read_text()  # the card follows the language
    _manifest_matches(folder)


def test_four_eyes_needs_a_second_reviewer(config_dir: Path) -> None:
    path = write_settings(config_dir, extra={"review": {"four_eyes": True}})

    def cli(*args: str) -> CliResult:
        return invoke(["--config", str(path), *args])

    assert cli("run", "--once").exit_code == 0
    assert cli("review", "confirm", "4", "--reviewer", "ana").exit_code == 0
    refused = cli("review", "escalate", "4", "--reviewer", "ana")
    assert refused.exit_code == 5 and "second, different reviewer" in refused.stderr
    assert cli("review", "confirm", "4", "--reviewer", "ana").exit_code == 5
    assert cli("review", "confirm", "4", "--reviewer", "budi").exit_code == 0
    assert cli("review", "escalate", "4", "--reviewer", "citra").exit_code == 0
    # A dismissal in between starts the count again.
    assert cli("review", "confirm", "8", "--reviewer", "ana").exit_code == 0
    assert cli("review", "dismiss", "8", "--reason", "wrong_person", "--reviewer", "budi").exit_code == 0
    assert cli("review", "confirm", "8", "--reviewer", "budi").exit_code == 0
    assert cli("review", "escalate", "8", "--reviewer", "budi").exit_code == 5


def test_show_prints_the_card_with_the_explanation(flagged: Cli) -> None:
    data = flagged("review", "show", "2", "--json").json()
    assert data["explanation"] and data["account"]["nip"]
    assert data["status"] == "pending"
    text = flagged("review", "show", "2")
    assert text.exit_code == 0
    assert data["account"]["name"] in text.stdout and "Classifier" in text.stdout
    assert flagged("review", "show", "999").exit_code == 5


def test_training_examples_from_decisions(flagged: Cli, settings_path: Path) -> None:
    assert flagged("review", "confirm", "1", "--reviewer", "ana").exit_code == 0
    assert flagged("review", "dismiss", "2", "--reason", "not_partisan", "--reviewer", "ana").exit_code == 0
    assert flagged("review", "dismiss", "3", "--reason", "wrong_person", "--reviewer", "ana").exit_code == 0
    examples = training_examples(open_store(load(settings_path)))
    by_flag = {e["flag_id"]: e for e in examples}
    assert set(by_flag) == {1, 2}
    stance = _sql(settings_path, "SELECT stance FROM flags WHERE flag_id = 1")[0][0]
    assert by_flag[1]["label"] == stance
    assert by_flag[2]["label"] == "neutral"  # the classifier had found a candidate: election talk
    for e in examples:
        assert {"text", "label", "kind", "platform", "item_key"} <= set(e)
    out = flagged("review", "examples")
    assert out.exit_code == 0 and len(out.stdout.strip().splitlines()) == 2
