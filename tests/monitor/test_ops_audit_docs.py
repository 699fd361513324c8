"""docs/audits.md shows what the sample really gives: its examples are regenerated and compared."""

from __future__ import annotations

import pytest

from monitor.testing.audit_docs import DOC, generate


@pytest.mark.slow
def test_audit_examples_are_up_to_date() -> None:
    current = DOC.read_text(encoding="utf-8")
    fresh = generate(current)
    assert fresh == current, "docs/audits.md is out of date: run python -m monitor.testing.audit_docs"
    assert "│ 2024-W47 │ 17    │" in current  # the examples section was really regenerated
