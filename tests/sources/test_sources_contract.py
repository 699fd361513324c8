"""The source contract, checked the same way for every connector.

To add a connector (e.g. the file source), write a factory returning a context manager
of ``ContractCase`` and append it to ``FACTORIES``.
"""

from __future__ import annotations

from datetime import UTC

import pytest

from monitor.model import Source
from sources.testing.contract import (
    CaseFactory,
    ContractCase,
    MemoryStore,
    bluesky_case,
    file_case,
    mastodon_case,
    mastodon_instance_case,
    x_case,
)

FACTORIES: list[CaseFactory] = [bluesky_case, mastodon_case, mastodon_instance_case, x_case, file_case]


@pytest.fixture(params=FACTORIES, ids=lambda f: f.__name__.removesuffix("_case"))
def case(request: pytest.FixtureRequest):
    with request.param() as c:
        yield c


def test_is_a_source(case: ContractCase) -> None:
    src: Source = case.source
    assert src.name and src.platform and src.version
    assert len(src.streams()) == len(set(src.streams()))


def test_pages_items_and_raw(case: ContractCase) -> None:
    store = MemoryStore()
    pages = store.fetch(case.source, case.account)
    assert pages, "a first fetch yields pages"
    items = [f for p in pages for f in p.items]
    assert len(items) >= 4
    keys = [f.item.key for f in items]
    assert len(keys) == len(set(keys)), "no item twice in one fetch"
    for page in pages:
        assert page.account_key == case.page_key
        if page.cursor is not None:
            assert page.cursor.stream in case.source.streams()
    for f in items:
        if case.source.platform != "*":  # "*": a feed of items of any platform
            assert f.item.platform == case.source.platform
        assert f.item.created_at.tzinfo is not None
        assert f.raw.body and len(f.raw.sha256) == 64
        assert f.raw.fetched_at.tzinfo is not None and f.raw.fetched_at.utcoffset() == UTC.utcoffset(None)
        assert f.raw.connector and f.raw.connector_version
        if case.over_http:
            assert f.raw.status == 200 and f.raw.source_url.startswith("http")
        if case.item_ids_in_raw:
            assert f.item.id.encode() in f.raw.body, "the raw body is the response the item came from"
        if case.stable_ids:
            assert f.item.actor_id, "connectors know the stable account id"
        if f.item.kind != "post":
            assert f.item.subject is not None


def test_second_fetch_from_cursors_finds_nothing_new(case: ContractCase) -> None:
    store = MemoryStore()
    store.fetch(case.source, case.account)
    before = len(store.items)
    again = store.fetch(case.source, case.account)
    assert sum(len(p.items) for p in again) == 0
    assert len(store.items) == before and store.duplicates == 0


def test_new_activity_is_found_once(case: ContractCase) -> None:
    store = MemoryStore()
    store.fetch(case.source, case.account)
    before = len(store.items)
    case.add_activity(2)
    store.fetch(case.source, case.account)
    assert len(store.items) == before + 2
    assert store.duplicates == 0


@pytest.mark.parametrize("crash_after", [1, 2, 3])
def test_resume_after_crash_loses_and_repeats_nothing(case: ContractCase, crash_after: int) -> None:
    case.add_activity(11)
    reference = MemoryStore()
    reference.fetch(case.source, case.account)

    store = MemoryStore()
    first = store.fetch(case.source, case.account, max_pages=crash_after)
    assert len(first) == crash_after
    store.fetch(case.source, case.account)  # the next run resumes from what was stored
    assert set(store.items) == set(reference.items)
    assert store.duplicates == 0
