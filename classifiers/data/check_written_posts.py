"""Check a hand-written labelled corpus: valid JSON lines, known labels, placeholders, no duplicate texts.

Run: python classifiers/data/check_written_posts.py [FILE.jsonl] [--summary]
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

LABELS = {"support", "oppose", "neutral", "unrelated"}
PLACEHOLDERS = ("[CALON]", "[PARTAI]", "[NOMOR]")
# Texts must be masked: a bracketed token other than the four placeholders is a typo.
BRACKETED = re.compile(r"\[[A-Z]+\]")
# Each author has a letter (written-a, written-b, written-c): sources stay apart by author.
SOURCE = re.compile(r"written-[a-z]:\S")
KNOWN = {"[CALON]", "[PARTAI]", "[NOMOR]", "[LAWAN]"}


def check(path: Path) -> list[str]:
    """Return a list of problems, each naming the line; empty when the file is clean."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {n}: not JSON ({exc})")
            continue
        text, label, source = item.get("text"), item.get("label"), item.get("source")
        if not isinstance(text, str) or not text.strip():
            problems.append(f"line {n}: empty or missing text")
            continue
        if label not in LABELS:
            problems.append(f"line {n}: label {label!r} not in {sorted(LABELS)}")
        if not isinstance(source, str) or not SOURCE.match(source):
            problems.append(f"line {n}: source {source!r} must look like 'written-<author>:<style>'")
        if label in ("support", "oppose") and not any(p in text for p in PLACEHOLDERS):
            problems.append(f"line {n}: {label} text names no [CALON]/[PARTAI]/[NOMOR]")
        for token in BRACKETED.findall(text):
            if token not in KNOWN:
                problems.append(f"line {n}: unknown placeholder {token}")
        key = " ".join(text.lower().split())
        if key in seen:
            problems.append(f"line {n}: duplicate of line {seen[key]}")
        seen[key] = n
    return problems


def summary(path: Path) -> str:
    """Counts per label and per style, for the data card."""
    items = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    labels = Counter(i["label"] for i in items)
    styles = Counter((i["source"].split(":", 1)[1], i["label"]) for i in items)
    longs = sum(1 for i in items if len(i["text"].split()) >= 40)
    lines = [f"total {len(items)}; " + ", ".join(f"{k} {v}" for k, v in sorted(labels.items()))]
    lines.append(f"texts of 40+ words: {longs}")
    lines += [f"{s:<16} {lab:<10} {n}" for (s, lab), n in sorted(styles.items())]
    return "\n".join(lines)


if __name__ == "__main__":
    paths = [a for a in sys.argv[1:] if not a.startswith("--")]
    target = Path(paths[0] if paths else "classifiers/data/written_posts_more.jsonl")
    found = check(target)
    for p in found:
        print(p)
    if "--summary" in sys.argv:
        print(summary(target))
    sys.exit(1 if found else 0)
