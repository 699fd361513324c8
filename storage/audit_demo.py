"""Fixed times for the demo database behind docs/audits.md (never used on a real database).

The examples in docs/audits.md come from a real run over the sample and real review
commands; their times are then set to fixed values so the page is the same every
week. This breaks the evidence chain of that throw-away database, on purpose.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.db import Database


def set_demo_times(db: Database, flagged_at: datetime, hours_after: dict[int, float]) -> None:
    """Every flag raised at ``flagged_at``; review ``n`` (by id) ``hours_after[n]`` hours later."""
    with db.transaction() as con:
        con.execute("UPDATE flags SET created_at = ?", [flagged_at])
        for review_id, hours in hours_after.items():
            con.execute("UPDATE reviews SET decided_at = ? WHERE review_id = ?",
                        [flagged_at + timedelta(hours=hours), review_id])
