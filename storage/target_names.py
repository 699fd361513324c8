"""Names of candidates and parties for people to read, from the registry tables."""

from __future__ import annotations

import json
from typing import Any

import duckdb

# The ticket's people joined as Indonesian ballots and news print a pair.
TICKET_JOIN = " – "


def target_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Candidate id -> ``"Asep Kurniawan – Rina Marlina"``, party id -> its first name."""
    names: dict[str, str] = {}
    for cid, people in con.execute(
            "SELECT id, any_value(people) FROM candidates GROUP BY id ORDER BY id").fetchall():
        names[cid] = TICKET_JOIN.join(json.loads(people)) or cid
    for pid, party in con.execute(
            "SELECT id, any_value(names) FROM parties GROUP BY id ORDER BY id").fetchall():
        names.setdefault(pid, (json.loads(party) or [pid])[0])
    return names


def parse_target_stances(value: Any) -> list[dict[str, Any]]:
    """A stored ``target_stances`` JSON value as a list of ``{target, stance, score}``."""
    if value is None:
        return []
    rows = json.loads(value) if isinstance(value, str) else value
    return [{"target": str(r["target"]), "stance": str(r["stance"]), "score": float(r["score"])}
            for r in rows]
