"""SIGKILL during ``asn-monitor intake``: the whole report is stored, or nothing of it."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from crash_checks import assert_consistent, consistency, kill_at, kill_delay, rows, timed, verify
from intake_site import png

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs tesseract-ocr")]


def _orphans(db: Path) -> dict[str, int]:
    """Parts of a report that exist without the rest of it."""
    checks = {
        "items_without_report": "SELECT count(*) FROM items i WHERE i.source = 'intake' AND NOT EXISTS "
                                "(SELECT 1 FROM reports r WHERE r.item_key = i.item_key)",
        "reports_without_flag": "SELECT count(*) FROM reports r LEFT JOIN flags f USING (flag_id) "
                                "WHERE f.flag_id IS NULL",
        "report_flags_without_evidence": "SELECT count(*) FROM flag_origins o LEFT JOIN evidence e "
                                         "USING (flag_id) WHERE e.flag_id IS NULL",
        "reporters_without_report": "SELECT count(*) FROM reporters p WHERE NOT EXISTS "
                                    "(SELECT 1 FROM reports r WHERE r.reporter_id = p.reporter_id)",
        "reports_unchained": "SELECT count(*) FROM reports r LEFT JOIN chain c ON c.kind = 'report' "
                             "AND c.ref_id = r.report_id WHERE c.seq IS NULL",
        "files_unchained": "SELECT count(*) FROM evidence_files x LEFT JOIN chain c ON c.kind = 'file' "
                           "AND c.ref_id = x.file_id WHERE c.seq IS NULL",
    }
    return {name: int(rows(db, sql)[0][0]) for name, sql in checks.items()}


def test_sigkill_during_intake_leaves_the_whole_report_or_nothing(settings_path: Path,
                                                                   tmp_path: Path) -> None:
    db = settings_path.parent.parent / "data" / "test.duckdb"

    def args(n: int) -> list[str]:
        shot = tmp_path / f"shot-{n}.png"
        shot.write_bytes(png(f"Dukung Cecep Hidayat nomor 01 ({n})", (700, 140)))
        return ["intake", "--account", "asn-001", "--file", str(shot), "--platform", "facebook",
                "--reporter-name", f"Pelapor {n}", "--note", f"laporan {n}"]

    timed(settings_path, *args(0))  # the first start trains the shared model
    full = timed(settings_path, *args(1))
    rng = random.Random(19)
    stored, kills = 2, 0
    for n in range(2, 5):
        killed, err = kill_at(settings_path, args(n), kill_delay(rng, full))
        kills += killed
        reports = int(rows(db, "SELECT count(*) FROM reports")[0][0])
        assert reports in (stored, stored + 1) and (killed or reports == stored + 1), (n, err)
        assert not any(_orphans(db).values()), _orphans(db)
        assert_consistent(consistency(db), max_running=0)
        stored = reports
    assert kills >= 1
    verify(settings_path)
