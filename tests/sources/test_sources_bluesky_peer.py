"""The Bluesky connector against the real PDS and PLC directory (``@atproto/pds``).

No AppView runs here, so liked posts are read with ``getRecord`` on their own PDS; handles
resolve on the PDS itself; DID documents come from the real PLC directory.
"""

from __future__ import annotations

from typing import Any

import pytest

from monitor.errors import AccountUnavailable
from monitor.model import Item
from sources.base import SourceContext, build_source
from sources.bluesky import BlueskySource
from sources.common import renamed
from sources.testing.contract import MemoryStore, roster_account
from sources.testing.peer import Peer

# The first run installs the peer (2-3 minutes) inside the first test's setup.
pytestmark = [pytest.mark.peer, pytest.mark.timeout(900)]

PHASE1 = {
    "accounts": [
        {"name": "budi", "handle": "budi.test", "display_name": "Budi Santoso"},
        {"name": "siti", "handle": "siti.test"},
        {"name": "paslon", "handle": "paslon1.test", "display_name": "Paslon 1"},
    ],
    "actions": [
        {"as": "paslon", "post": "Coblos nomor 1 untuk Jabar juara!", "key": "p1"},
        {"as": "paslon", "post": "Debat malam ini, saksikan!", "key": "p2"},
        {"as": "budi", "post": "Selamat pagi, rekan kerja", "key": "b1"},
        {"as": "budi", "like": "p1", "key": "l1"},
        {"as": "budi", "repost": "p1", "key": "rp1"},
        {"as": "budi", "reply": "p1", "text": "Setuju, nomor 1!", "key": "r1"},
        {"as": "budi", "quote": "p2", "text": "Wajib nonton", "key": "q1"},
        {"as": "budi", "like": "p2", "key": "l2"},
        {"as": "siti", "like": "p2", "key": "s1"},
        {"as": "budi", "like": "b1", "key": "l3"},
        {"as": "budi", "delete": "l3"},
    ],
}

PHASE2 = {
    "accounts": [],
    "actions": [
        {"as": "budi", "delete": "l1"},
        {"as": "budi", "handle": "budi-baru.test"},
        {"as": "paslon", "post": "Terima kasih relawan", "key": "p3"},
        {"as": "budi", "like": "p3", "key": "l4"},
        {"as": "paslon", "delete": "p3"},
        {"as": "budi", "post": "Hari kerja biasa", "key": "b2"},
    ],
}


@pytest.fixture(scope="module")
def scenario(bsky_peer: Peer) -> dict[str, Any]:
    result = bsky_peer.seed(PHASE1, "phase1")
    result["store"] = MemoryStore()
    return result


def make(peer: Peer, page_size: int = 100) -> BlueskySource:
    raw = {
        "type": "bluesky",
        "resolver_url": peer.pds_url,
        "plc_url": peer.plc_url,
        "appview_url": "",
        "page_size": page_size,
        "timeout": 10,
    }
    src = build_source("bsky-peer", raw, SourceContext(), "test.toml")
    assert isinstance(src, BlueskySource)
    return src


def by_uri(store: MemoryStore) -> dict[str, Item]:
    return {f.item.id: f.item for f in store.items.values()}


def test_reads_everything_from_the_real_pds(bsky_peer: Peer, scenario: dict[str, Any]) -> None:
    rec = scenario["records"]
    budi = scenario["accounts"]["budi"]["did"]
    store: MemoryStore = scenario["store"]
    store.fetch(make(bsky_peer), roster_account("bluesky", "budi.test"))
    items = by_uri(store)
    expected = {
        "b1": "post",
        "l1": "like",
        "rp1": "repost",
        "r1": "reply",
        "q1": "quote",
        "l2": "like",
    }
    assert {rec[k]["uri"]: kind for k, kind in expected.items()} == {
        uri: item.kind for uri, item in items.items()
    }, "the un-liked l3 is gone on the PDS, siti's like is not budi's"
    like = items[rec["l1"]["uri"]]
    assert like.actor == "budi.test" and like.actor_id == budi
    assert like.subject is not None and like.subject.id == rec["p1"]["uri"]
    assert like.subject.text == "Coblos nomor 1 untuk Jabar juara!"
    assert like.subject.author == "paslon1.test"
    assert like.extra["subject_evidence"]["source_url"].endswith(rec["p1"]["uri"].rsplit("/", 1)[1])
    reply = items[rec["r1"]["uri"]]
    assert reply.text == "Setuju, nomor 1!" and reply.subject and reply.subject.id == rec["p1"]["uri"]
    quote = items[rec["q1"]["uri"]]
    assert quote.subject and quote.subject.text == "Debat malam ini, saksikan!"
    for f in store.items.values():
        assert f.raw.status == 200 and "listRecords" in f.raw.source_url
        assert f.item.id.encode() in f.raw.body


def test_resume_from_cursors_against_the_real_pds(bsky_peer: Peer, scenario: dict[str, Any]) -> None:
    account = roster_account("bluesky", "budi.test", account_id="asn-resume")
    reference = MemoryStore()
    reference.fetch(make(bsky_peer, page_size=1), account)
    for crash_after in (2, 4, 7):
        store = MemoryStore()
        store.fetch(make(bsky_peer, page_size=1), account, max_pages=crash_after)
        store.fetch(make(bsky_peer, page_size=1), account)
        assert set(store.items) == set(reference.items), crash_after
        assert store.duplicates == 0
    assert len(reference.items) == 6


def test_unlike_rename_and_deleted_subject(bsky_peer: Peer, scenario: dict[str, Any]) -> None:
    store: MemoryStore = scenario["store"]
    account = roster_account("bluesky", "budi.test")
    if not store.items:
        store.fetch(make(bsky_peer), account)
    before = set(store.items)
    old_identity = store.cursors[account.key]["identity"]
    result = bsky_peer.seed(PHASE2, "phase2", resume=bsky_peer.home / "phase1.result.json")
    rec = result["records"]
    pages = store.fetch(make(bsky_peer), account)
    new = [f.item for p in pages for f in p.items]
    assert {i.id for i in new} == {rec["l4"]["uri"], rec["b2"]["uri"]}
    # The un-liked l1 stays stored: the pipeline never deletes.
    assert before <= set(store.items)
    # The rename: same DID, new handle.
    identity = pages[0].cursor
    assert identity is not None and renamed(old_identity, identity) == (
        "budi.test",
        "budi-baru.test",
    )
    assert all(i.actor == "budi-baru.test" for i in new)
    assert all(i.actor_id == result["accounts"]["budi"]["did"] for i in new)
    # The liked post was deleted before it was read: the like stays, without the text.
    like = next(i for i in new if i.kind == "like")
    assert like.subject is not None and like.subject.text is None
    assert "RecordNotFound" in like.extra["subject_error"]
    # A fresh roster with the old handle cannot be resolved any more.
    fresh = MemoryStore()
    with pytest.raises(AccountUnavailable, match=r"HandleNotFound|Unable to resolve"):
        fresh.fetch(make(bsky_peer), roster_account("bluesky", "budi.test", account_id="asn-new"))
    # With the new handle it is the same person.
    fresh.fetch(make(bsky_peer), roster_account("bluesky", "budi-baru.test", account_id="asn-new"))
    assert {f.item.actor_id for f in fresh.items.values()} == {result["accounts"]["budi"]["did"]}
