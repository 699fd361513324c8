"""One cycle: collect, normalise, de-duplicate, classify, snapshot evidence, store.

Each step is a small function. ``process_page`` calls steps 2 to 6 for one
page; step 6 writes the page's items, flags, evidence and the source's cursor
in one transaction, so a crash between two pages loses nothing and repeats
nothing. One failing account or source is recorded and the others go on.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import NamedTuple

from monitor.errors import AccountUnavailable, AsnMonitorError, ConfigError, SourceError
from monitor.model import (
    Account,
    AccountChange,
    Classifier,
    Fetched,
    Item,
    Page,
    Raw,
    RegistryView,
    Result,
    Skipped,
    Source,
    Withdrawal,
)
from sources.base import FeedSource, ReverseSource
from storage.evidence import EvidenceFile
from storage.store import Evidence, HandleRow, PageRecord, Rename, Store

Normaliser = Callable[[str], str]
FileFetcher = Callable[[Item], Sequence[EvidenceFile]]


@dataclass
class AccountIndex:
    """Monitored accounts by (platform, handle) and (platform, stable id)."""

    by_handle: dict[tuple[str, str], Account] = field(default_factory=dict)
    by_id: dict[tuple[str, str], Account] = field(default_factory=dict)
    ids: dict[str, str | None] = field(default_factory=dict)  # Account.key -> stable id

    @classmethod
    def build(cls, rows: Sequence[HandleRow]) -> AccountIndex:
        """Index the current handles from storage."""
        index = cls()
        for row in rows:
            a = row.account
            index.by_handle[(a.platform, a.handle.lower())] = a
            index.ids[a.key] = row.platform_user_id
            if row.platform_user_id:
                index.by_id[(a.platform, row.platform_user_id)] = a
        return index

    def accounts(self, platform: str | None = None) -> list[Account]:
        """Monitored accounts, optionally on one platform."""
        return [a for a in self.by_handle.values() if platform in (None, a.platform)]


@dataclass
class CycleStats:
    """What one cycle did, per source; printed as the summary table."""

    source: str
    pages: int = 0
    seen: int = 0
    new: int = 0
    duplicate: int = 0
    skipped: int = 0
    flagged: int = 0
    errors: list[str] = field(default_factory=list)
    skipped_detail: list[str] = field(default_factory=list)


@dataclass
class Pipeline:
    """Everything a cycle needs, built once and reused by the daemon."""

    store: Store
    sources: Sequence[Source]
    classifier: Classifier
    registries: Callable[[AccountIndex], RegistryView]
    normalise: Normaliser
    targets: Callable[[str], list[str]] = lambda platform: []
    max_pages: int = 50
    batch_size: int = 64
    evidence_files: FileFetcher | None = None
    """Downloads a flagged item's images (monitor.evidence.images.ImageFetcher); None keeps none."""


# -- step 1: collect ---------------------------------------------------------


class Collected(NamedTuple):
    """One step of collecting: whose pages (an account key, ``feed`` or ``reverse``) and the page or error."""

    account_key: str
    outcome: Page | SourceError


def collect(source: Source, store: Store, index: AccountIndex, max_pages: int) -> Iterator[Collected]:
    """Pages from one source: per account, per feed, and in reverse where supported.

    Errors are yielded, not raised, so one failing account does not stop the others.
    """
    if isinstance(source, FeedSource):
        yield from _bounded(source.fetch_feed(store.cursors(source.name, "feed")), "feed", max_pages)
    for account in index.accounts(source.platform):
        pages = source.fetch(account, store.cursors(source.name, account.key))
        yield from _bounded(pages, account.key, max_pages)


def collect_reverse(source: Source, store: Store, index: AccountIndex, targets: list[str],
                    max_pages: int) -> Iterator[Collected]:
    """Pages of likes and reposts found from the candidates' side."""
    if not isinstance(source, ReverseSource) or not targets:
        return
    keys = [f"reverse:{source.platform}:{t}" for t in targets]
    cursors = {k: store.cursors(source.name, k) for k in keys}
    watched = index.accounts(source.platform)
    yield from _bounded(source.fetch_reverse(targets, watched, cursors), "reverse", max_pages)


def _bounded(pages: Iterator[Page], key: str, max_pages: int) -> Iterator[Collected]:
    try:
        for n, page in enumerate(pages, start=1):
            yield Collected(key, page)
            if n >= max_pages:
                return
    except SourceError as exc:
        yield Collected(key, exc)


# -- step 2: normalise -------------------------------------------------------


class MappedItem(NamedTuple):
    """One fetched item, the monitored account it belongs to, and its text normalised for the classifier."""

    fetched: Fetched
    account: Account
    text: str


class FirstId(NamedTuple):
    """A platform's stable user id, learned for an account for the first time."""

    account_id: str
    platform: str
    platform_user_id: str


@dataclass
class MappedPage:
    """A page's items mapped to monitored accounts, with what the mapping learned on the way."""

    items: list[MappedItem] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    renames: list[Rename] = field(default_factory=list)
    first_ids: list[FirstId] = field(default_factory=list)
    subject_raws: list[Raw] = field(default_factory=list)
    withdrawals: list[tuple[Withdrawal, str | None]] = field(default_factory=list)
    account_changes: list[tuple[AccountChange, str | None]] = field(default_factory=list)


def _split_subject_evidence(fetched: Fetched, raws: list[Raw]) -> Fetched:
    """Keep the engaged post's response as raw bytes of its own; the item keeps a reference.

    Connectors put it in ``extra["subject_evidence"]`` with the body as text (or base64);
    stored beside the item's own response, keyed by SHA-256, it is kept once however many
    items engaged with the same post.
    """
    ev = fetched.item.extra.get("subject_evidence")
    if not isinstance(ev, dict) or "body" not in ev:
        return fetched
    body = str(ev["body"])
    data = base64.b64decode(body) if ev.get("body_encoding") == "base64" else body.encode("utf-8")
    try:
        fetched_at = datetime.fromisoformat(str(ev.get("fetched_at")))
    except ValueError:
        fetched_at = fetched.raw.fetched_at
    headers = {"content-type": str(ev["content_type"])} if ev.get("content_type") else {}
    raw = Raw(data, str(ev.get("source_url", "")), fetched_at, fetched.raw.connector,
              fetched.raw.connector_version, ev.get("status"), headers)
    raws.append(raw)
    reference = {k: v for k, v in ev.items() if k not in ("body", "body_encoding")}
    reference["sha256"] = raw.sha256
    extra = {**fetched.item.extra, "subject_evidence": reference}
    return Fetched(replace(fetched.item, extra=extra), fetched.raw)


def normalise(page: Page, index: AccountIndex, normaliser: Normaliser) -> MappedPage:
    """Map each item to its monitored account; note renames; normalise the text."""
    out = MappedPage(skipped=list(page.skipped))
    for fetched in page.items:
        fetched = _split_subject_evidence(fetched, out.subject_raws)
        item = fetched.item
        account = _resolve(item, index, out)
        if account is None:
            out.skipped.append(Skipped(item.key, f"actor {item.actor!r} is not a monitored account"))
            continue
        text = item.text or ""
        if item.subject and item.subject.text:
            text = f"{text}\n{item.subject.text}".strip()
        out.items.append(MappedItem(fetched, account, normaliser(text)))
    _account_notices(page, index, out)
    return out


def _account_notices(page: Page, index: AccountIndex, out: MappedPage) -> None:
    """Withdrawals and account notices of a streaming page, mapped to monitored accounts.

    A new handle announced by the platform is a rename, like one seen on an item.
    """
    for w in page.withdrawals:
        account = index.by_id.get((w.platform, w.actor_id))
        out.withdrawals.append((w, account.account_id if account else None))
    for c in page.account_changes:
        account = index.by_id.get((c.platform, c.actor_id))
        if account is not None and c.handle and c.handle.lower() != account.handle.lower():
            out.renames.append(Rename(account.account_id, c.platform, c.actor_id, c.handle))
            renamed = replace(account, handle=c.handle)
            index.by_handle[(c.platform, c.handle.lower())] = renamed
            index.by_id[(c.platform, c.actor_id)] = renamed
        out.account_changes.append((c, account.account_id if account else None))


def _resolve(item: Item, index: AccountIndex, out: MappedPage) -> Account | None:
    handle = item.actor.lower()
    if item.actor_id:
        account = index.by_id.get((item.platform, item.actor_id))
        if account is not None:
            if account.handle.lower() != handle:
                out.renames.append(Rename(account.account_id, item.platform, item.actor_id, item.actor))
                renamed = Account(account.account_id, account.name, account.nip, account.agency,
                                  account.region, account.platform, item.actor)
                index.by_handle[(item.platform, handle)] = renamed
                index.by_id[(item.platform, item.actor_id)] = renamed
                return renamed
            return account
    account = index.by_handle.get((item.platform, handle))
    if account is not None and item.actor_id and not index.ids.get(account.key):
        out.first_ids.append(FirstId(account.account_id, item.platform, item.actor_id))
        index.ids[account.key] = item.actor_id
        index.by_id[(item.platform, item.actor_id)] = account
    return account


def _kept_subject_raws(norm: MappedPage) -> list[Raw]:
    """Subject responses of the items still kept after de-duplication."""
    wanted = {f.item.extra["subject_evidence"]["sha256"] for f, _, _ in norm.items
              if isinstance(f.item.extra.get("subject_evidence"), dict)}
    return [r for r in norm.subject_raws if r.sha256 in wanted]


# -- step 3: de-duplicate ----------------------------------------------------


def deduplicate(norm: MappedPage, store: Store) -> int:
    """Drop items already stored (or repeated within the page); returns how many."""
    known = store.known_item_keys([f.item.key for f, _, _ in norm.items])
    kept: list[MappedItem] = []
    for entry in norm.items:
        key = entry.fetched.item.key
        if key in known:
            continue
        known.add(key)
        kept.append(entry)
    dropped = len(norm.items) - len(kept)
    norm.items = kept
    return dropped


# -- step 4: classify --------------------------------------------------------


def classify(items: Sequence[Item], classifier: Classifier, view: RegistryView,
             batch_size: int) -> list[Result]:
    """Results for ``items``, a batch at a time, in order."""
    results: list[Result] = []
    for start in range(0, len(items), batch_size):
        batch = items[start:start + batch_size]
        got = classifier.classify(batch, view)
        if len(got) != len(batch):
            # A broken classifier contract, not a storage fault: nothing of the page is stored.
            raise AsnMonitorError(
                f"classifier {classifier.name} returned {len(got)} results for {len(batch)} items")
        results.extend(got)
    return results


# -- step 5: snapshot evidence -----------------------------------------------


def snapshot(norm: MappedPage, results: Sequence[Result],
             fetch_files: FileFetcher | None = None) -> list[Evidence]:
    """Evidence for each flagged item: the item, the account, the raw bytes' hash, its images.

    Images are downloaded here, before the page transaction, so no network wait
    ever holds the database; their rows are written with the flag.
    """
    by_key = {f.item.key: (f, a) for f, a, _ in norm.items}
    out: list[Evidence] = []
    for r in results:
        if not r.flagged:
            continue
        fetched, account = by_key[r.item_key]
        item_json = fetched.item.to_json()
        account_json = {
            "account_id": account.account_id, "name": account.name, "nip": account.nip,
            "agency": account.agency, "region": account.region, "platform": account.platform,
            "handle": account.handle,
        }
        record = {"item": item_json, "account": account_json, "raw_sha256": fetched.raw.sha256,
                  "model": r.model, "version": r.version, "score": r.score}
        digest = hashlib.sha256(
            json.dumps(record, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
        files = tuple(fetch_files(fetched.item)) if fetch_files is not None else ()
        out.append(Evidence(r.item_key, fetched.raw.sha256, item_json, account_json, digest, files))
    return out


# -- step 6: store -----------------------------------------------------------


def process_page(pipeline: Pipeline, source: Source, page: Page, run_id: int, index: AccountIndex,
                 view: RegistryView) -> CycleStats:
    """Steps 2 to 6 for one page; the page is stored whole or not at all."""
    norm = normalise(page, index, pipeline.normalise)
    duplicates = deduplicate(norm, pipeline.store)
    items = [f.item for f, _, _ in norm.items]
    results = classify(items, pipeline.classifier, view, pipeline.batch_size)
    record = PageRecord(
        run_id=run_id, source=source.name, account_key=page.account_key,
        items=[(f, a.account_id, n) for f, a, n in norm.items], results=results,
        evidence=snapshot(norm, results, pipeline.evidence_files), renames=norm.renames,
        first_ids=norm.first_ids,
        cursor=page.cursor, duplicates=duplicates,
        skipped=[(s.where, s.reason) for s in norm.skipped],
        subject_raws=_kept_subject_raws(norm), withdrawals=norm.withdrawals,
        account_changes=norm.account_changes,
    )
    flag_ids = pipeline.store.save_page(record)
    stats = CycleStats(source.name, pages=1, seen=len(page.items), new=len(items),
                       duplicate=duplicates, skipped=len(norm.skipped), flagged=len(flag_ids))
    stats.skipped_detail.extend(f"{s.where}: {s.reason}" for s in norm.skipped)
    return stats


def run_cycle(pipeline: Pipeline, trigger: str = "once", stop: threading.Event | None = None,
              only: Sequence[str] | None = None) -> tuple[int, list[CycleStats]]:
    """One full cycle over every (or ``only`` the named) source; returns (run id, stats)."""
    run_id = pipeline.store.begin_run(trigger)
    index = AccountIndex.build(pipeline.store.current_handles(active_only=True))
    view = pipeline.registries(index)
    all_stats: list[CycleStats] = []
    status = "ok"
    try:
        for source in pipeline.sources:
            if only is not None and source.name not in only:
                continue
            stats = run_source(pipeline, source, run_id, index, view, stop)
            all_stats.append(stats)
            if stats.errors and status == "ok":
                status = "partial"
            if stop is not None and stop.is_set():
                status = "interrupted"
                break
    except BaseException:
        pipeline.store.finish_run(run_id, "failed")
        raise
    pipeline.store.finish_run(run_id, status)
    return run_id, all_stats


def run_source(pipeline: Pipeline, source: Source, run_id: int, index: AccountIndex,
               view: RegistryView, stop: threading.Event | None = None) -> CycleStats:
    """Collect and process every page of one source, recording errors per account."""
    total = CycleStats(source.name)
    store, max_pages = pipeline.store, pipeline.max_pages
    pages = [collect(source, store, index, max_pages),
             collect_reverse(source, store, index, pipeline.targets(source.platform), max_pages)]
    for stream in pages:
        for account_key, got in stream:
            if stop is not None and stop.is_set():
                return total
            if isinstance(got, SourceError):
                kind = "account_unavailable" if isinstance(got, AccountUnavailable) else type(got).__name__
                pipeline.store.record_error(run_id, source.name, account_key, kind, str(got))
                total.errors.append(f"{account_key}: {got}")
                continue
            _add(total, process_page(pipeline, source, got, run_id, index, view))
    return total


def _add(total: CycleStats, s: CycleStats) -> None:
    total.pages += s.pages
    total.seen += s.seen
    total.new += s.new
    total.duplicate += s.duplicate
    total.skipped += s.skipped
    total.flagged += s.flagged
    total.errors.extend(s.errors)
    total.skipped_detail.extend(s.skipped_detail)


def require_sources(sources: Sequence[Source], where: str) -> None:
    """A cycle with no enabled source is a configuration mistake."""
    if not sources:
        raise ConfigError(where, "no enabled source under [sources]")
