"""The review desk's service: what a signed-in user may see and decide, in words people read.

The web handlers (monitor/desk/) only parse forms and render pages; every rule is
here or in ``ReviewService`` (the same one the CLI uses):

- a user sees and decides only flags of ASN in its region (``AccessDenied``);
- the role decides which decisions it may record;
- confirming needs a note; escalating needs an explicit confirmation;
- four-eyes, reasons and supersession are ``ReviewService``'s rules.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor import i18n, neardup
from monitor.errors import ReviewError
from monitor.i18n import t
from monitor.localtime import in_region, zone_name
from monitor.model import skb_category
from monitor.review import ReviewService
from monitor.settings import Settings
from monitor.stance_words import act_words, target_label
from monitor.users import AccessDenied, User, UserService
from storage import desk as q
from storage.desk import DeskFilter, QueuePage
from storage.evidence import FlagDetail, flag_detail
from storage.review import Review
from storage.store import Store

i18n.register({
    "id": {
        "explain.text": ("Pengklasifikasi ({model} {version}) menilai tindakan ini {stance} {targets} "
                         "dengan skor {score}. Kategori SKB 2022: {skb}. Ini temuan otomatis, bukan "
                         "putusan: periksa unggahannya sebelum memutuskan."),
        "err.note_required": "Konfirmasi memerlukan catatan yang menjelaskan pelanggarannya.",
        "err.already_escalated": "temuan ini sudah diteruskan",
        "err.already_confirmed": "temuan ini sudah Anda konfirmasi",
        "err.not_confirmed": "hanya temuan yang sudah dikonfirmasi yang dapat diteruskan",
        "err.four_eyes": ("aturan empat mata: perlu konfirmasi dari peninjau kedua yang berbeda "
                          "(four-eyes)"),
        "err.reason": "pilih alasan dari daftar",
        "err.other_note": "alasan 'lainnya' memerlukan catatan",
        "err.escalate_confirm": "Centang pernyataan untuk meneruskan temuan ini ke BKN.",
    },
    "en": {
        "explain.text": ("The classifier ({model} {version}) rates this act as {stance} {targets} "
                         "with score {score}. SKB 2022 category: {skb}. This is an automatic flag, "
                         "not a finding: check the post before deciding."),
        "err.note_required": "A confirmation needs a note explaining the breach.",
        "err.already_escalated": "this flag was already escalated",
        "err.already_confirmed": "you have already confirmed this flag",
        "err.not_confirmed": "only a confirmed flag can be escalated",
        "err.four_eyes": "four-eyes rule: a second, different reviewer must confirm first",
        "err.reason": "pick a reason from the list",
        "err.other_note": "the reason 'other' needs a note",
        "err.escalate_confirm": "Tick the statement to escalate this flag to BKN.",
    },
})


# The review service's refusals (English, for logs and the CLI) as reviewers read them.
_REFUSALS = (("already escalated", "err.already_escalated"), ("already confirmed", "err.already_confirmed"),
             ("four-eyes", "err.four_eyes"), ("only a confirmed flag", "err.not_confirmed"),
             ("reason must be one of", "err.reason"), ("needs a --note", "err.other_note"))


def refusal_text(exc: Exception, lang: str = i18n.DEFAULT) -> str:
    """A refused decision's reason in the reviewer's language (the service's text otherwise)."""
    message = str(exc)
    for marker, key in _REFUSALS:
        if marker in message:
            return t(key, lang)
    return message


@dataclass
class FlagView:
    """Everything the flag page shows."""

    detail: FlagDetail
    region: str | None
    zone: str
    act: str
    targets: list[tuple[str, str]]  # (id, name)
    explanation: str
    history: list[Review]
    others: list[dict[str, Any]]
    group_members: list[int] = field(default_factory=list)


class DeskService:
    """The desk's operations for one signed-in user, over one store."""

    _groups_lock = threading.Lock()
    _groups_cache: dict[str, tuple[tuple[Any, ...], neardup.Groups]] = {}  # noqa: RUF012
    _targets_cache: dict[str, tuple[float, list[tuple[str, str]]]] = {}  # noqa: RUF012

    def __init__(self, settings: Settings, store: Store, user: User) -> None:
        self.settings = settings
        self.store = store
        self.user = user
        self.users = UserService(store.db)
        self.review = ReviewService(settings, store, {"via": "desk", "role": user.role})
        self._scope: tuple[str, ...] | None = None
        regions = self.users.regions_of(user)
        self._scope = None if regions is None else tuple(regions)

    # -- reading ---------------------------------------------------------------

    def scope(self) -> tuple[str, ...] | None:
        """The region codes this user sees (None: all)."""
        return self._scope

    def check_flag(self, flag_id: int) -> str | None:
        """The flag's region; ``AccessDenied`` outside the user's region."""
        self.user.require("read")
        region = q.flag_region(self.store.db, flag_id)
        if self._scope is not None and region not in self._scope:
            raise AccessDenied(f"flag {flag_id} is outside region {self.user.region}")
        return region

    def groups(self) -> neardup.Groups:
        """Near-duplicate groups of pending flags, recomputed only when the pending set changes."""
        key = str(self.settings.db_path)
        with self.store.db.connect() as con:
            row = con.execute("SELECT count(*), max(review_id) FROM reviews").fetchone()
            flags = con.execute("SELECT count(*), max(flag_id) FROM flags").fetchone()
        stamp = (tuple(row or ()), tuple(flags or ()))
        with self._groups_lock:
            cached = self._groups_cache.get(key)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            groups = self.review.groups()
            self._groups_cache[key] = (stamp, groups)
            return groups

    def queue(self, flt: DeskFilter, lang: str = i18n.DEFAULT) -> tuple[QueuePage, dict[int, str]]:
        """One page in the user's scope; near-duplicates of a row shown above are folded into it.

        Returns the page and each row's act in words.
        """
        self.user.require("read")
        page = q.queue_page(self.store.db, DeskFilter(**{**flt.__dict__, "regions": self._scope}))
        if flt.status == "pending" and page.rows and self.settings.review.near_duplicates:
            groups = self.groups()
            seen: set[int] = set()
            kept = []
            for row in page.rows:
                gid = groups.group_of.get(row.flag_id)
                row.group, row.group_size = gid, groups.size(row.flag_id)
                if gid is not None and gid in seen:
                    continue
                if gid is not None:
                    seen.add(gid)
                kept.append(row)
            page.rows = kept
        acts = {r.flag_id: act_words(r.kind, r.stance, {page.names.get(x, "").split(":")[0]
                                                       for x in r.targets}, lang)
                for r in page.rows}
        return page, acts

    def flag(self, flag_id: int, lang: str = i18n.DEFAULT) -> FlagView:
        """The flag page's content (``AccessDenied`` outside the user's region)."""
        self.user.require("read")
        extras = q.flag_extras(self.store.db, flag_id)
        if extras is None:
            raise ReviewError(f"flag {flag_id} does not exist")
        region = extras.region
        if self._scope is not None and region not in self._scope:
            raise AccessDenied(f"flag {flag_id} is outside region {self.user.region}")
        detail = flag_detail(self.store.db, flag_id)
        names = extras.names
        kinds = {names.get(x, "").split(":")[0] for x in detail.targets}
        targets = [(x, target_label(names.get(x, x))) for x in detail.targets]
        item = detail.item
        explanation = t("explain.text", lang, model=detail.model or "?", version=detail.version,
                        stance=t(f"stance.{detail.stance}", lang) if detail.stance else "",
                        targets=", ".join(n for _, n in targets) or "-",
                        score=f"{detail.score:.2f}".replace(".", "," if lang == "id" else "."),
                        skb=t(f"category.{skb_category(str(item.get('kind')))}", lang))
        members: list[int] = []
        if detail.status == "pending" and self.settings.review.near_duplicates:
            groups = self.groups()
            gid = groups.group_of.get(flag_id)
            members = groups.members(gid) if gid is not None else []
        return FlagView(detail, region, zone_name(region),
                        act_words(str(item.get("kind")), detail.stance, kinds, lang), targets,
                        explanation, self.review.history(flag_id), extras.others, members)

    def local_time(self, when: Any, region: str | None) -> str:
        """A time in the zone of ``region``, zone named."""
        return in_region(when, region)

    def targets(self) -> list[tuple[str, str]]:
        """Candidates and parties for the queue's filter: (id, name); re-read once a minute."""
        key = str(self.settings.db_path)
        with self._groups_lock:
            cached = self._targets_cache.get(key)
            if cached is not None and time.monotonic() - cached[0] < 60:
                return cached[1]
        found = [(tid, target_label(label)) for tid, label in q.targets_list(self.store.db)]
        with self._groups_lock:
            self._targets_cache[key] = (time.monotonic(), found)
        return found

    # -- deciding --------------------------------------------------------------

    def _members_in_scope(self, flag_id: int, whole_group: bool) -> None:
        self.check_flag(flag_id)
        if whole_group:
            gid = self.groups().group_of.get(flag_id)
            for member in self.groups().members(gid) if gid is not None else []:
                self.check_flag(member)

    def confirm(self, flag_id: int, note: str, whole_group: bool = False,
                lang: str = i18n.DEFAULT) -> list[Review]:
        """Confirm with a note (required), as the signed-in user."""
        self.user.require("confirm")
        if not note.strip():
            raise ReviewError(t("err.note_required", lang))
        self._members_in_scope(flag_id, whole_group)
        return self.review.confirm(flag_id, self.user.username, note.strip(), whole_group)

    def dismiss(self, flag_id: int, reason: str, note: str, whole_group: bool = False) -> list[Review]:
        """Dismiss with a reason from the list (``other`` needs a note)."""
        self.user.require("dismiss")
        self._members_in_scope(flag_id, whole_group)
        return self.review.dismiss(flag_id, self.user.username, reason, note.strip() or None, whole_group)

    def escalate(self, flag_id: int, confirmed: bool, lang: str = i18n.DEFAULT
                 ) -> tuple[Review, dict[str, Any]]:
        """Escalate (four-eyes as configured) once the user has ticked the statement."""
        self.user.require("escalate")
        if not confirmed:
            raise ReviewError(t("err.escalate_confirm", lang))
        self.check_flag(flag_id)
        return self.review.escalate(flag_id, self.user.username, None, lang)

    def escalations(self) -> list[dict[str, Any]]:
        """Escalations in the user's scope, newest first."""
        self.user.require("read")
        return q.escalations(self.store.db, self._scope)

    def escalation_file(self, review_id: int, what: str) -> Path:
        """The zip or letter of one escalation in scope (``ReviewError`` when missing)."""
        for esc in self.escalations():
            if esc["review_id"] == review_id:
                key = {"zip": "zip", "pdf": "letter"}.get(what)
                path = esc["detail"].get(key or "")
                if path and Path(path).is_file():
                    return Path(path)
                raise ReviewError(f"escalation {review_id} has no {what} file")
        raise AccessDenied(f"escalation {review_id} is not in your region")
