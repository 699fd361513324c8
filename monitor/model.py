"""The interchange vocabulary every room of asn-monitor shares.

This module imports nothing from the project. ``sources/``, ``classifiers/`` and
``storage/`` may import it (and ``monitor.errors``) but nothing else from
``monitor/``.

One item's way through the house::

    Source.fetch() -> Page[Fetched(Item, Raw)] -> normalise -> de-duplicate
        -> Classifier.classify(items, registries) -> Result -> evidence -> store
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol

Kind = Literal["post", "reply", "quote", "repost", "like"]
KINDS: tuple[Kind, ...] = ("post", "reply", "quote", "repost", "like")
ENGAGEMENT_KINDS: frozenset[str] = frozenset({"reply", "quote", "repost", "like"})

Stance = Literal["support", "oppose", "neutral", "unrelated"]
STANCES: tuple[Stance, ...] = ("support", "oppose", "neutral", "unrelated")

# The SKB 2022 names these acts; the kind of an item decides which one it is.
SKB_CATEGORY: Mapping[str, str] = {
    "post": "posting",
    "reply": "commenting",
    "quote": "sharing",
    "repost": "sharing",
    "like": "liking",
}

Level = Literal["national", "province", "regency", "city"]


@dataclass(frozen=True)
class Subject:
    """The post an item engaged with (replied to, quoted, reposted or liked)."""

    id: str
    author: str
    text: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Item:
    """One public act of a monitored account, in the interchange format.

    ``id`` is unique within ``platform``; ``actor`` is the account's handle at the
    time it was seen and ``actor_id`` its stable platform id (a Bluesky DID, a
    Mastodon or X user id) when the source knows it. ``extra`` keeps fields the
    interchange format does not name, so nothing in the input is lost.
    """

    platform: str
    id: str
    kind: Kind
    actor: str
    created_at: datetime
    text: str | None = None
    url: str | None = None
    subject: Subject | None = None
    actor_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The item's identity in storage: one row per platform and id."""
        return f"{self.platform}:{self.id}"

    def to_json(self) -> dict[str, Any]:
        """The item as an interchange-format object (one JSONL line)."""
        out: dict[str, Any] = dict(self.extra)
        out.update(
            platform=self.platform,
            id=self.id,
            kind=self.kind,
            actor=self.actor,
            created_at=self.created_at.isoformat(),
            text=self.text,
            url=self.url,
        )
        if self.actor_id is not None:
            out["actor_id"] = self.actor_id
        if self.subject is not None:
            out["subject"] = {
                "id": self.subject.id,
                "author": self.subject.author,
                "text": self.subject.text,
                "url": self.subject.url,
            }
        return out


@dataclass(frozen=True)
class Raw:
    """The exact bytes an item came from, with where and when they were fetched.

    Evidence is data: the bytes are kept as they arrived and hashed, so a
    reviewer can show later what the platform served at ``fetched_at``.
    """

    body: bytes
    source_url: str
    fetched_at: datetime
    connector: str
    connector_version: str
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of ``body``."""
        return hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True)
class Fetched:
    """An item together with the raw response it was read from."""

    item: Item
    raw: Raw


@dataclass(frozen=True)
class Skipped:
    """An input element a source could not turn into an item, and why."""

    where: str
    reason: str


@dataclass(frozen=True)
class Cursor:
    """Where a source stopped in one stream of one account.

    It is stored in the same transaction as the page it follows, so a crash
    between pages neither loses nor repeats anything.
    """

    stream: str
    value: str


@dataclass(frozen=True)
class Withdrawal:
    """A record its author deleted (a like, repost or post withdrawn), as the platform told it.

    ``item_id`` is the id the item has (or would have had) in ``platform``; the stored
    item, its flag and evidence stay: the withdrawal is evidence of its own.
    """

    platform: str
    item_id: str
    actor_id: str
    withdrawn_at: datetime
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def item_key(self) -> str:
        """The withdrawn item's key in storage (it may never have been stored)."""
        return f"{self.platform}:{self.item_id}"


@dataclass(frozen=True)
class AccountChange:
    """A platform's notice about an account: a new handle, or a change of its standing.

    ``status`` is ``None`` for an active account, else e.g. ``deactivated``,
    ``takendown``, ``suspended`` or ``deleted``.
    """

    platform: str
    actor_id: str
    at: datetime
    handle: str | None = None
    active: bool | None = None
    status: str | None = None


@dataclass
class Page:
    """One unit of collection: items, what was skipped, and the cursor after it.

    Streaming sources also carry withdrawals and account notices, stored in the
    same transaction as the items and the cursor.
    """

    account_key: str
    items: list[Fetched] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    cursor: Cursor | None = None
    withdrawals: list[Withdrawal] = field(default_factory=list)
    account_changes: list[AccountChange] = field(default_factory=list)


@dataclass(frozen=True)
class Account:
    """A monitored ASN account on one platform, from the roster."""

    account_id: str
    name: str
    nip: str
    agency: str
    region: str
    platform: str
    handle: str

    @property
    def key(self) -> str:
        """Stable key of this roster row: ``account_id/platform``."""
        return f"{self.account_id}/{self.platform}"


@dataclass(frozen=True)
class Region:
    """A province, regency or city; ``province`` is the code of the province it lies in."""

    code: str
    name: str
    level: Literal["province", "regency", "city"]
    province: str
    timezone: Literal["WIB", "WITA", "WIT"] = "WIB"


@dataclass(frozen=True)
class Election:
    """One election: national, or a province's, regency's or city's."""

    id: str
    name: str
    level: Level
    region: str | None
    voting_day: date
    campaign_start: date
    campaign_end: date


@dataclass(frozen=True)
class Candidate:
    """A candidate (or ticket) in an election."""

    id: str
    ballot_number: int
    people: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    parties: tuple[str, ...] = ()
    accounts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Party:
    """A political party taking part in an election."""

    id: str
    names: tuple[str, ...]
    ballot_number: int | None = None
    accounts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Registry:
    """Everything known about one election: the election, its candidates and parties."""

    election: Election
    candidates: tuple[Candidate, ...]
    parties: tuple[Party, ...]
    source: str = ""

    def fingerprint(self) -> str:
        """A stable hash of the registry's content, to tell versions apart."""
        blob = json.dumps(
            {
                "election": self.election.__dict__,
                "candidates": [c.__dict__ for c in self.candidates],
                "parties": [p.__dict__ for p in self.parties],
            },
            default=str,
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()


class RegistryView(Protocol):
    """Which registries apply to an item (normally: by the actor's region)."""

    def for_item(self, item: Item) -> Sequence[Registry]:
        """The registries whose election covers ``item``'s actor."""
        ...


@dataclass(frozen=True)
class StaticRegistryView:
    """A view that applies the same registries to every item."""

    registries: tuple[Registry, ...]

    def for_item(self, item: Item) -> Sequence[Registry]:
        """Every registry, whatever the item."""
        return self.registries


@dataclass(frozen=True)
class TargetStance:
    """The stance an item takes toward one candidate or party, and its partisan score."""

    target: str
    stance: Stance
    score: float


@dataclass(frozen=True)
class Result:
    """A classifier's verdict on one item.

    ``score`` is the probability that the item is partisan (support or oppose);
    ``targets`` are candidate and party ids; ``category`` the SKB act.
    ``target_stances`` gives each target its own stance ("supports A, attacks
    B"); ``stance`` is the stance toward the most partisan target. ``flagged``
    means the item goes to a reviewer; ``high_confidence`` that its score also
    reached the flag threshold.
    """

    item_key: str
    flagged: bool
    score: float
    stance: Stance
    targets: tuple[str, ...]
    category: str
    explanation: str
    model: str
    version: str
    target_stances: tuple[TargetStance, ...] = ()
    high_confidence: bool = False


class Source(Protocol):
    """A connector: yields pages of items for one account, resuming from a cursor.

    ``name`` names the configured source (``settings.sources.<name>``);
    ``platform`` the platform its items belong to.
    """

    name: str
    platform: str
    version: str

    def streams(self) -> Sequence[str]:
        """The streams this source keeps a cursor for (posts, likes, ...)."""
        ...

    def fetch(self, account: Account, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        """Pages of new items for ``account``, from its stored cursors onward."""
        ...


class Classifier(Protocol):
    """Decides, for a batch of items, whether each one took a side."""

    name: str
    version: str

    def classify(self, items: Sequence[Item], registries: RegistryView) -> list[Result]:
        """One result per item, in the same order."""
        ...


def skb_category(kind: str) -> str:
    """The SKB act that an item of ``kind`` is (posting, commenting, sharing, liking)."""
    return SKB_CATEGORY.get(kind, "posting")


# Indonesia's time zones by province code (the statutory division); every other province is WIB.
WITA_PROVINCES = frozenset({"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"})
# Maluku (81, 82) and every Papua province under either numbering (91-97).
WIT_PROVINCES = frozenset({"81", "82", "91", "92", "93", "94", "95", "96", "97"})
ZONE_NAMES = {"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}


def region_zone(region: str | None) -> str:
    """WIB, WITA or WIT of a region code (a province's, regency's or city's): its province's zone."""
    province = (region or "")[:2]
    if province in WITA_PROVINCES:
        return "WITA"
    return "WIT" if province in WIT_PROVINCES else "WIB"
