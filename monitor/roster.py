"""Roster upkeep: what an import adds, changes and deactivates, and applying it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from monitor.model import Account
from storage import roster as stored
from storage.store import Store


@dataclass
class ImportPlan:
    """What importing a roster file would do (with ``replace``: the file is the whole roster)."""

    accounts: list[Account]
    add: list[str] = field(default_factory=list)
    change: dict[str, list[str]] = field(default_factory=dict)
    deactivate: list[str] = field(default_factory=list)
    reactivate: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (without the accounts themselves)."""
        return {"rows": len(self.accounts), "add": self.add, "change": self.change,
                "deactivate": self.deactivate, "reactivate": self.reactivate}

    @property
    def empty(self) -> bool:
        """Nothing would change."""
        return not (self.add or self.change or self.deactivate or self.reactivate)


def _changes(old: dict[str, Any], rows: list[Account]) -> list[str]:
    first = rows[0]
    out = [f"{k}: {old[k]!r} -> {getattr(first, k)!r}" for k in ("name", "nip", "agency", "region")
           if old[k] != getattr(first, k)]
    for a in rows:
        was = old["handles"].get(a.platform)
        if was is None or was.lower() != a.handle.lower():
            out.append(f"{a.platform} handle: {was or '(none)'} -> {a.handle}")
    return out


def plan_import(store: Store, accounts: list[Account], replace: bool) -> ImportPlan:
    """Compare ``accounts`` with the stored roster."""
    plan = ImportPlan(accounts)
    known = stored.snapshot(store.db)
    off = stored.inactive(store.db)
    by_id: dict[str, list[Account]] = {}
    for a in accounts:
        by_id.setdefault(a.account_id, []).append(a)
    for account_id, rows in sorted(by_id.items()):
        if account_id not in known:
            plan.add.append(account_id)
            continue
        changes = _changes(known[account_id], rows)
        if changes:
            plan.change[account_id] = changes
        if replace and account_id in off:
            plan.reactivate.append(account_id)
    if replace:
        plan.deactivate = sorted(set(known) - set(by_id) - off)
    return plan


def apply_import(store: Store, plan: ImportPlan, source: str, by: str | None) -> tuple[int, int]:
    """Store the accounts and record the (de)activations; returns (people, new handles)."""
    people, handles = store.save_roster(plan.accounts)
    if plan.deactivate:
        stored.set_active(store.db, plan.deactivate, False, f"not in roster {source}", by)
    if plan.reactivate:
        stored.set_active(store.db, plan.reactivate, True, f"listed again in roster {source}", by)
    return people, handles
