"""The dependency audit CI runs (``make audit``): pip-audit over this virtual environment.

``python -m monitor.depaudit`` runs ``pip-audit -f json`` on the installed packages (the
editable project itself left out), within a time limit, and decides:

- any known vulnerability: each is printed and the exit code is 1 (CI fails);
- packages pip-audit could not audit (a package index without vulnerability data, as the
  local mirror here, or a network that cannot be reached): one loud ``WARNING`` line with how
  many of how many and why, exit 0, since CI cannot fix the index;
- otherwise a one-line ``OK``.

The decision (``decide``) is a pure function of pip-audit's JSON, tested on recorded shapes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TIMEOUT_S = 180.0  # the whole audit; one request may take up to REQUEST_TIMEOUT_S
REQUEST_TIMEOUT_S = 15


@dataclass
class Verdict:
    """What the audit found, and the exit code CI gets."""

    exit_code: int
    lines: list[str] = field(default_factory=list)


def _reason(skip: str) -> str:
    """A skip reason without the package's own name and version, so that reasons group."""
    return skip.split(":")[0].strip() or "no reason given"


def decide(report: Any) -> Verdict:
    """The verdict on one ``pip-audit -f json`` report (``{"dependencies": [...], "fixes": [...]}``)."""
    deps = report.get("dependencies") if isinstance(report, dict) else None
    if not isinstance(deps, list):
        return Verdict(0, ["WARNING: dependency audit: pip-audit gave no dependency list; "
                           "nothing was audited"])
    # The project itself (installed editable) is skipped on purpose, not "could not be audited".
    deps = [d for d in deps if isinstance(d, dict) and "editable" not in str(d.get("skip_reason") or "")]
    vulnerable: list[str] = []
    skipped: Counter[str] = Counter()
    for dep in deps:
        if dep.get("skip_reason"):
            skipped[_reason(str(dep["skip_reason"]))] += 1
            continue
        for vuln in dep.get("vulns") or []:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "none yet"
            vulnerable.append(f"VULNERABLE: {dep.get('name')} {dep.get('version')}: {vuln.get('id')} "
                              f"(fixed in: {fixes})")
    lines = list(vulnerable)
    if skipped:
        total = sum(skipped.values())
        why = "; ".join(f"{n}: {reason}" for reason, n in skipped.most_common())
        lines.append(f"WARNING: dependency audit: {total} of {len(deps)} packages could not be "
                     f"audited ({why})")
    if vulnerable:
        lines.append(f"dependency audit FAILED: {len(vulnerable)} known vulnerabilities")
        return Verdict(1, lines)
    if not skipped:
        lines.append(f"OK: dependency audit: {len(deps)} packages, no known vulnerabilities")
    return Verdict(0, lines)


def run_audit(exe: Path, timeout: float = TIMEOUT_S) -> Verdict:
    """Run pip-audit (``exe``) on this environment and decide; never waits past ``timeout``."""
    cmd = [str(exe), "-f", "json", "--local", "--skip-editable", "--progress-spinner", "off",
           "--timeout", str(REQUEST_TIMEOUT_S)]
    try:
        # A session of its own: on timeout the whole group goes, children holding the pipes too.
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
    except OSError as exc:
        return Verdict(0, [f"WARNING: dependency audit: cannot run {exe}: {exc}; nothing was audited"])
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return Verdict(0, [f"WARNING: dependency audit: pip-audit did not finish in {timeout:g}s "
                           "(is the package index reachable?); nothing was audited"])
    try:
        report = json.loads(out)
    except ValueError:
        tail = " ".join(err.split())[-300:]
        return Verdict(0, [f"WARNING: dependency audit: pip-audit failed (exit {proc.returncode}) "
                           f"without a report; nothing was audited: {tail}"])
    return decide(report)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m monitor.depaudit``; returns the exit code."""
    del argv  # no options: CI runs it one way
    verdict = run_audit(Path(sys.executable).with_name("pip-audit"))
    for line in verdict.lines:
        print(line, file=sys.stderr if line.startswith(("WARNING", "VULNERABLE")) else sys.stdout)
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(main())
