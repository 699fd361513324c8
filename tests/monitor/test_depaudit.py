"""The dependency audit's decision on recorded pip-audit JSON shapes (pip-audit 2.x ``-f json``)."""

from __future__ import annotations

import stat
from pathlib import Path

from monitor.depaudit import decide, run_audit

SKIP = "Dependency not found on PyPI and could not be audited: {0} ({1})"


def _skipped(name: str, version: str) -> dict[str, str]:
    return {"name": name, "skip_reason": SKIP.format(name, version)}


def test_a_vulnerable_package_fails() -> None:
    report = {"dependencies": [
        {"name": "jinja2", "version": "3.1.2", "vulns": [
            {"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"], "aliases": ["CVE-2024-22195"],
             "description": "xmlattr filter"}]},
        {"name": "httpx", "version": "0.28.1", "vulns": []},
        _skipped("aiosmtpd", "1.4.6")], "fixes": []}
    verdict = decide(report)
    assert verdict.exit_code == 1
    assert "VULNERABLE: jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in: 3.1.3)" in verdict.lines
    assert any("1 of 3 packages could not be audited" in line for line in verdict.lines)


def test_all_skipped_passes_with_one_loud_warning() -> None:
    """The local mirror: every package is 'not found on PyPI'; CI warns and goes on."""
    report = {"dependencies": [_skipped("aiosmtpd", "1.4.6"), _skipped("anyio", "4.16.0"),
                               _skipped("apscheduler", "3.11.3"),
                               {"name": "asn-monitor", "skip_reason": "distribution marked as editable"}],
              "fixes": []}
    verdict = decide(report)
    assert verdict.exit_code == 0
    assert verdict.lines == ["WARNING: dependency audit: 3 of 3 packages could not be audited "
                             "(3: Dependency not found on PyPI and could not be audited)"]


def test_clean_passes() -> None:
    verdict = decide({"dependencies": [{"name": "httpx", "version": "0.28.1", "vulns": []},
                                       {"name": "click", "version": "8.1.7", "vulns": []}], "fixes": []})
    assert verdict.exit_code == 0
    assert verdict.lines == ["OK: dependency audit: 2 packages, no known vulnerabilities"]


def test_odd_reports_never_pass_silently() -> None:
    assert decide([]).exit_code == 0 and "nothing was audited" in decide([]).lines[0]
    assert decide({"dependencies": "x"}).lines[0].startswith("WARNING")


def test_a_hanging_or_broken_pip_audit_is_bounded(tmp_path: Path) -> None:
    """No network: pip-audit may hang or die; the audit warns within its limit, never hangs CI."""
    hang = tmp_path / "hang"
    hang.write_text("#!/bin/sh\nsleep 30\n")
    hang.chmod(hang.stat().st_mode | stat.S_IXUSR)
    verdict = run_audit(hang, timeout=0.5)
    assert verdict.exit_code == 0 and "did not finish in 0.5s" in verdict.lines[0]
    broken = tmp_path / "broken"
    broken.write_text("#!/bin/sh\necho 'ConnectionError: network unreachable' >&2\nexit 1\n")
    broken.chmod(broken.stat().st_mode | stat.S_IXUSR)
    verdict = run_audit(broken)
    assert verdict.exit_code == 0 and "network unreachable" in verdict.lines[0]
    assert run_audit(tmp_path / "missing").lines[0].startswith("WARNING: dependency audit: cannot run")
