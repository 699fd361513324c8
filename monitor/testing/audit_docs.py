"""Regenerate the example outputs in docs/audits.md from the sample (``--check``: compare only).

    python -m monitor.testing.audit_docs [--check]

One collection cycle over the sample configuration (rules-only ``matcher`` model, so
the figures do not depend on a trained model), six review decisions by two reviewers
through the real ``review`` commands, times then fixed (``storage.audit_demo``), and
each ``$ asn-monitor sql ...`` console block of the page's examples section run again;
its output replaces the block's. Other blocks are left as they are.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "audits.md"
DECISIONS = [("confirm", "1", "ayu.pratiwi"), ("confirm", "2", "ayu.pratiwi"),
             ("dismiss", "3", "bima.s"), ("escalate", "1", "bima.s"), ("confirm", "5", "bima.s"),
             ("dismiss", "7", "ayu.pratiwi")]
HOURS_AFTER = {1: 3.0, 2: 4.0, 3: 6.0, 4: 27.0, 5: 30.0, 6: 40.0}  # by review id
FLAGGED_AT = datetime(2024, 11, 18, 9, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
SECTION = "## Example queries and their output"
BLOCK = re.compile(r"```console\n(.*?)```", re.S)


def _run(settings: Path, args: list[str]) -> str:
    env = {**os.environ, "COLUMNS": "200", "ASN_MONITOR_PROGRESS": "0",
           "ASN_MONITOR_CONFIG": str(settings)}
    exe = Path(sys.executable).parent / "asn-monitor"
    done = subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"asn-monitor {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def demo_database(folder: Path) -> Path:
    """The sample collected and reviewed in ``folder``; returns its settings file."""
    from monitor.settings import load
    from monitor.testing import write_settings
    from storage.audit_demo import set_demo_times
    from storage.store import Store

    config = folder / "config"
    shutil.copytree(REPO / "config", config)
    settings = write_settings(config, extra={"classifier": {"model": "matcher"},
                                             "digest": {"enabled": False}})
    _run(settings, ["run", "--once"])
    for verb, flag, who in DECISIONS:
        extra = ["--reason", "not_partisan"] if verb == "dismiss" else []
        _run(settings, ["review", verb, flag, *extra, "--reviewer", who])
    set_demo_times(Store(load(settings).db_path).db, FLAGGED_AT, HOURS_AFTER)
    return settings


def _block(settings: Path, body: str) -> str:
    commands = [line[2:] for line in body.splitlines() if line.startswith("$ ")]
    if not commands or not all(c.startswith("asn-monitor sql ") for c in commands):
        return body
    out = []
    for command in commands:
        out.append(f"$ {command}\n{_run(settings, shlex.split(command)[1:])}")
    return "".join(out)


def generate(doc: str) -> str:
    """``doc`` with the output of every sql example in its examples section regenerated."""
    start = doc.index(SECTION)
    end = doc.find("\n## ", start + len(SECTION))
    end = len(doc) if end < 0 else end
    with tempfile.TemporaryDirectory(prefix="asn-audit-docs-") as tmp:
        settings = demo_database(Path(tmp))
        examples = BLOCK.sub(lambda m: "```console\n" + _block(settings, m.group(1)) + "```",
                             doc[start:end])
    return doc[:start] + examples + doc[end:]


def main(argv: list[str]) -> int:
    """Write docs/audits.md, or with ``--check`` exit 1 when it is out of date."""
    current = DOC.read_text(encoding="utf-8")
    fresh = generate(current)
    if "--check" in argv:
        if fresh != current:
            print("docs/audits.md is out of date: run python -m monitor.testing.audit_docs", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
