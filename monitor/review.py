"""The reviewer workflow: the queue, confirm, dismiss, escalate, history, training examples.

Rules (enforced inside the transaction that records the decision):

- every decision names a reviewer (``--reviewer`` or the environment variable
  named by ``[review] reviewer_env``);
- ``dismiss`` needs a reason from ``REASONS`` (``other`` needs a note too);
- ``escalate`` only follows a confirmation; with ``[review] four_eyes`` the
  current confirmation must come from two different reviewers;
- decisions are appended, never changed: a later decision supersedes an
  earlier one and the history keeps both.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor import i18n, neardup
from monitor.errors import ReviewError
from monitor.escalation import build_package
from monitor.settings import Settings
from storage import review as q
from storage.review import Decision, QueueFilter, QueueRow, Review, Rule
from storage.store import Store

# Decisions and dismissal reasons as reviewers read them (the desk and the terminal session).
i18n.register({
    "id": {
        "decision.confirmed": "dikonfirmasi", "decision.dismissed": "ditolak",
        "decision.escalated": "diteruskan", "decision.pending": "menunggu",
        "reason.not_partisan": "tidak berpihak", "reason.wrong_person": "bukan ASN yang terdaftar",
        "reason.satire_or_news": "satire, berita atau kutipan", "reason.duplicate": "duplikat",
        "reason.out_of_region": "di luar wilayah pemilihan", "reason.other": "lainnya (isi catatan)",
    },
    "en": {
        "decision.confirmed": "confirmed", "decision.dismissed": "dismissed",
        "decision.escalated": "escalated", "decision.pending": "pending",
        "reason.not_partisan": "not partisan", "reason.wrong_person": "not the rostered ASN",
        "reason.satire_or_news": "satire, news or quotation", "reason.duplicate": "duplicate",
        "reason.out_of_region": "out of the election's region", "reason.other": "other (write a note)",
    },
})

REASONS: tuple[str, ...] = (
    "not_partisan", "wrong_person", "satire_or_news", "duplicate", "out_of_region", "other")
REASON_HELP: Mapping[str, str] = {
    "not_partisan": "the act takes no side (information, neutrality reminder, daily life)",
    "wrong_person": "the account is not the rostered ASN (namesake, impersonation)",
    "satire_or_news": "satire, news reporting or quotation without endorsement",
    "duplicate": "the same act is already flagged",
    "out_of_region": "no election covers the ASN's region",
    "other": "anything else (a note is required)",
}


def reviewer_identity(explicit: str | None, settings: Settings,
                      env: Mapping[str, str] | None = None) -> str:
    """The reviewer: ``explicit``, else the environment variable from the settings."""
    env = os.environ if env is None else env
    who = (explicit or env.get(settings.review.reviewer_env, "")).strip()
    if not who:
        raise ReviewError(f"no reviewer: pass --reviewer or set ${settings.review.reviewer_env}")
    return who


def current_confirmers(hist: Sequence[Review]) -> list[str]:
    """Reviewers of the trailing run of confirmations (the confirmation now in force)."""
    out: list[str] = []
    for r in reversed(hist):
        if r.decision != "confirmed":
            break
        if r.reviewer not in out:
            out.append(r.reviewer)
    return out


def _confirm_rule(reviewer: str) -> Rule:
    def rule(flag_id: int, hist: list[Review]) -> None:
        if hist and hist[-1].decision == "escalated":
            raise ReviewError(f"flag {flag_id} was already escalated")
        if reviewer in current_confirmers(hist):
            raise ReviewError(f"flag {flag_id} is already confirmed by {reviewer}")

    return rule


def _dismiss_rule(flag_id: int, hist: list[Review]) -> None:
    """Any flag may be dismissed, even after escalation (e.g. BKN finds no breach)."""


def _escalate_rule(four_eyes: bool) -> Rule:
    def rule(flag_id: int, hist: list[Review]) -> None:
        status = hist[-1].decision if hist else "pending"
        if status == "escalated":
            raise ReviewError(f"flag {flag_id} was already escalated")
        if status != "confirmed":
            raise ReviewError(f"flag {flag_id} is {status}: only a confirmed flag can be escalated")
        confirmers = current_confirmers(hist)
        if four_eyes and len(confirmers) < 2:
            raise ReviewError(
                f"flag {flag_id}: four-eyes rule: needs a confirmation by a second, different "
                f"reviewer (confirmed so far by {', '.join(confirmers)})")

    return rule


@dataclass
class Queue:
    """The queue with its near-duplicate groups."""

    rows: list[QueueRow]
    method: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"grouping": self.method, "flags": [r.to_json() for r in self.rows]}


@dataclass
class _StoreCache:
    """Embeddings kept in the DuckDB file (``flag_embeddings``)."""

    store: Store

    def load(self, model: str, flag_ids: Sequence[int]) -> dict[int, tuple[str, list[float]]]:
        return q.cached_embeddings(self.store.db, model, flag_ids)

    def save(self, model: str, rows: Sequence[tuple[int, str, Sequence[float]]]) -> None:
        q.save_embeddings(self.store.db, model, rows)


class ReviewService:
    """Review operations over one store, with the ``[review]`` settings."""

    def __init__(self, settings: Settings, store: Store,
                 context: Mapping[str, Any] | None = None) -> None:
        self.settings = settings
        self.store = store
        self.db = store.db
        # Who is behind each decision besides the reviewer's name: the CLI's OS user, or the
        # desk's signed-in account; kept in every decision's detail.
        self.context = dict(context or {})

    def _detail(self, detail: Mapping[str, Any]) -> dict[str, Any]:
        return {**detail, **self.context}

    def groups(self) -> neardup.Groups:
        """Near-duplicate groups among pending flags (none when switched off)."""
        cfg = self.settings.review
        if not cfg.near_duplicates:
            return neardup.Groups("off")
        return neardup.group(q.near_dup_texts(self.db), cfg.embedding_model, cfg.duplicate_threshold,
                             _StoreCache(self.store))

    def queue(self, flt: QueueFilter, with_groups: bool = True) -> Queue:
        """Flags matching ``flt``, highest score first, each with its group."""
        rows = q.queue(self.db, flt)
        groups = self.groups() if with_groups and rows else neardup.Groups("off")
        for row in rows:
            row.group = groups.group_of.get(row.flag_id)
            row.group_size = groups.size(row.flag_id)
        return Queue(rows, groups.method)

    def _targets(self, flag_id: int, whole_group: bool) -> tuple[list[int], dict[str, Any]]:
        if not whole_group:
            return [flag_id], {}
        groups = self.groups()
        gid = groups.group_of.get(flag_id)
        if gid is None:
            return [flag_id], {}
        members = groups.members(gid)
        return members, {"group": gid, "group_size": len(members), "grouping": groups.method}

    def confirm(self, flag_id: int, reviewer: str, note: str | None = None,
                whole_group: bool = False) -> list[Review]:
        """Confirm a flag (or every pending flag of its near-duplicate group)."""
        ids, detail = self._targets(flag_id, whole_group)
        return q.decide(self.db, ids,
                        Decision("confirmed", reviewer, None, note, self._detail(detail)),
                        _confirm_rule(reviewer))

    def dismiss(self, flag_id: int, reviewer: str, reason: str, note: str | None = None,
                whole_group: bool = False) -> list[Review]:
        """Dismiss a flag with a reason from ``REASONS`` (or its whole group)."""
        if reason not in REASONS:
            raise ReviewError(f"reason must be one of {', '.join(REASONS)}, not {reason!r}")
        if reason == "other" and not (note and note.strip()):
            raise ReviewError("reason 'other' needs a --note saying why")
        ids, detail = self._targets(flag_id, whole_group)
        return q.decide(self.db, ids,
                        Decision("dismissed", reviewer, reason, note, self._detail(detail)),
                        _dismiss_rule)

    def check_escalation(self, flag_id: int) -> None:
        """Raise ``ReviewError`` unless ``flag_id`` may be escalated now."""
        _escalate_rule(self.settings.review.four_eyes)(flag_id, q.history(self.db, flag_id))

    def escalate(self, flag_id: int, reviewer: str, out_dir: Path | None = None,
                 lang: str | None = None) -> tuple[Review, dict[str, Any]]:
        """Build the escalation package, then record the escalation (rules re-checked)."""
        self.check_escalation(flag_id)
        package = build_package(self.db, self.settings, self.history(flag_id), flag_id, reviewer, out_dir,
                                lang or self.settings.review.language)
        detail = {"package": str(package["folder"]), "zip": str(package["zip"]),
                  "zip_sha256": package["zip_sha256"], "manifest_sha256": package["manifest_sha256"],
                  "letter": str(package["letter"]) if package.get("letter") else None,
                  "letter_number": package.get("letter_number"),
                  "route": "Bawaslu -> BKN -> PPK"}
        written = q.decide(self.db, [flag_id],
                           Decision("escalated", reviewer, None, None, self._detail(detail)),
                           _escalate_rule(self.settings.review.four_eyes))
        return written[0], package

    def history(self, flag_id: int) -> list[Review]:
        """Every decision on the flag, oldest first."""
        return q.history(self.db, flag_id)


def training_examples(store: Store) -> list[dict[str, Any]]:
    """Reviewed flags as labelled examples for the classifier's training command.

    - latest decision confirmed or escalated: label = the classification's
      stance (``support`` or ``oppose``);
    - latest decision dismissed with reason ``not_partisan``: label
      ``neutral`` when the classifier had found a candidate or party in the
      text (election talk without a side), else ``unrelated``;
    - other dismissals (wrong_person, out_of_region, duplicate, satire_or_news,
      other) say nothing about the text's stance and are left out.

    Each example: ``text``, ``label``, ``kind``, ``platform``, ``subject_text``,
    ``norm_text``, ``item_key``, ``flag_id``, ``reviewer``, ``decided_at``,
    ``source`` ("review") and the ``model``/``version`` that flagged it.
    """
    out: list[dict[str, Any]] = []
    for row in q.labelled_flags(store.db):
        if row["decision"] in ("confirmed", "escalated"):
            label = row["stance"] if row["stance"] in ("support", "oppose") else "support"
        elif row["reason"] == "not_partisan":
            label = "neutral" if row["targets"] else "unrelated"
        else:
            continue
        out.append({
            "text": row["text"], "label": label, "kind": row["kind"], "platform": row["platform"],
            "subject_text": row["subject_text"], "norm_text": row["norm_text"],
            "item_key": row["item_key"], "flag_id": row["flag_id"], "reviewer": row["reviewer"],
            "decided_at": row["decided_at"], "source": "review", "model": row["model"],
            "version": row["version"],
        })
    return out
