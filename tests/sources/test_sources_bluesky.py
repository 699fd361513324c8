"""The Bluesky connector against a fake PDS + PLC + AppView on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from monitor.errors import AccountUnavailable, RetryLater
from sources.base import SourceContext, build_source
from sources.bluesky import BlueskySource
from sources.common import Identity, renamed
from sources.http import BadResponse
from sources.testing import FakeBluesky, Reply, json_reply, xrpc_error
from sources.testing.contract import MemoryStore, roster_account

LIST = r"/xrpc/com\.atproto\.repo\.listRecords"


@pytest.fixture
def fake() -> Iterator[FakeBluesky]:
    with FakeBluesky(appview=True) as f:
        yield f


def make(fake: FakeBluesky, **over: Any) -> BlueskySource:
    raw = {
        "type": "bluesky",
        "resolver_url": fake.url,
        "plc_url": fake.url,
        "appview_url": "",
        "page_size": 2,
        "timeout": 1.0,
        **over,
    }
    src = build_source("bsky", raw, SourceContext(), "test.toml")
    assert isinstance(src, BlueskySource)
    src.http.sleep = lambda s: sleeps.append(s)
    return src


sleeps: list[float] = []


@pytest.fixture(autouse=True)
def _clear() -> None:
    sleeps.clear()


def world(fake: FakeBluesky) -> dict[str, str]:
    budi = fake.account("budi.test")
    cand = fake.account("paslon1.test")
    p1 = fake.post(cand, "Coblos nomor 1, Jabar juara!")
    out = {"budi": budi, "cand": cand, "p1": p1}
    out["own"] = fake.post(budi, "Selamat pagi")
    out["reply"] = fake.post(budi, "Setuju!", reply_to=p1)
    out["quote"] = fake.post(budi, "Mantap", quote=p1)
    out["like"] = fake.like(budi, p1)
    out["repost"] = fake.repost(budi, p1)
    return out


def test_reads_posts_replies_quotes_likes_reposts_over_several_pages(fake: FakeBluesky) -> None:
    w = world(fake)
    for i in range(3):
        fake.like(w["budi"], fake.post(w["cand"], f"kampanye {i}"))
    store = MemoryStore()
    pages = store.fetch(make(fake), roster_account("bluesky", "budi.test"))
    items = {f.item.id: f.item for f in store.items.values()}
    kinds = {uri: items[uri].kind for uri in (w["own"], w["reply"], w["quote"], w["like"], w["repost"])}
    assert kinds == {
        w["own"]: "post",
        w["reply"]: "reply",
        w["quote"]: "quote",
        w["like"]: "like",
        w["repost"]: "repost",
    }
    assert len(items) == 3 + 4 + 1  # 3 posts, 4 likes, 1 repost
    assert fake.hits(LIST) >= 6  # page size 2: several pages per stream
    like = items[w["like"]]
    assert like.actor == "budi.test" and like.actor_id == w["budi"]
    assert like.subject is not None and like.subject.text == "Coblos nomor 1, Jabar juara!"
    assert like.subject.author == "paslon1.test" and like.subject.id == w["p1"]
    assert like.extra["subject_evidence"]["sha256"]
    assert like.extra["subject_author_id"] == w["cand"]
    assert items[w["own"]].url and items[w["own"]].url.startswith("https://bsky.app/profile/")
    assert pages[0].items == [] and pages[0].cursor is not None and pages[0].cursor.stream == "identity"
    # The raw body of every item is the exact listRecords response that carried it.
    for f in store.items.values():
        assert f.item.id in json.loads(f.raw.body)["records"][0]["uri"] or f.item.id.encode() in f.raw.body


def test_appview_get_posts_is_used_when_configured(fake: FakeBluesky) -> None:
    world(fake)
    store = MemoryStore()
    store.fetch(make(fake, appview_url=fake.url), roster_account("bluesky", "budi.test"))
    assert fake.hits(r"/xrpc/app\.bsky\.feed\.getPosts") >= 1
    assert fake.hits(r"/xrpc/com\.atproto\.repo\.getRecord") == 0
    likes = [f.item for f in store.items.values() if f.item.kind == "like"]
    assert likes[0].subject is not None and likes[0].subject.text == "Coblos nomor 1, Jabar juara!"


def test_falls_back_to_get_record_when_the_appview_refuses(fake: FakeBluesky) -> None:
    world(fake)
    fake.fail(r"/xrpc/app\.bsky\.feed\.getPosts", xrpc_error("InvalidRequest", "No service configured"))
    store = MemoryStore()
    store.fetch(make(fake, appview_url=fake.url), roster_account("bluesky", "budi.test"))
    assert fake.hits(r"/xrpc/com\.atproto\.repo\.getRecord") >= 1
    assert all(f.item.subject and f.item.subject.text for f in store.items.values() if f.item.subject)


def test_429_with_retry_after_then_success(fake: FakeBluesky) -> None:
    world(fake)
    fake.fail(LIST, Reply(429, {"error": "RateLimitExceeded"}, {"retry-after": "3"}))
    store = MemoryStore()
    store.fetch(make(fake), roster_account("bluesky", "budi.test"))
    assert sleeps == [3.0] and len(store.items) == 5


def test_500_then_success(fake: FakeBluesky) -> None:
    world(fake)
    fake.fail(LIST, xrpc_error("InternalServerError", status=500))
    store = MemoryStore()
    store.fetch(make(fake), roster_account("bluesky", "budi.test"))
    assert len(sleeps) == 1 and len(store.items) == 5


def test_timeout_is_retried(fake: FakeBluesky) -> None:
    world(fake)
    fake.fail(LIST, Reply(200, {"records": []}, delay=1.5))
    store = MemoryStore()
    store.fetch(make(fake, timeout=0.3), roster_account("bluesky", "budi.test"))
    assert len(sleeps) == 1 and len(store.items) == 5


def test_malformed_json_stops_the_stream_without_moving_its_cursor(fake: FakeBluesky) -> None:
    world(fake)
    src = make(fake)
    fake.fail(LIST, json_reply({"records": []}), Reply(200, b'{"records": [{"uri": '))
    store = MemoryStore()
    with pytest.raises(BadResponse):
        store.fetch(src, roster_account("bluesky", "budi.test"))
    store.fetch(src, roster_account("bluesky", "budi.test"))  # next cycle
    assert len(store.items) == 5 and store.duplicates == 0


def test_a_malformed_record_is_skipped_not_fatal(fake: FakeBluesky) -> None:
    w = world(fake)
    good = fake.repos[w["budi"]]["app.bsky.feed.like"]
    rkey = next(iter(good))
    good["zzzzzzzzzzzzz"] = {
        "uri": f"at://{w['budi']}/app.bsky.feed.like/zzzzzzzzzzzzz",
        "cid": "x",
        "value": {"$type": "app.bsky.feed.like", "createdAt": "2024-09-01T00:00:00Z"},
    }
    store = MemoryStore()
    pages = store.fetch(make(fake), roster_account("bluesky", "budi.test"))
    skipped = [s for p in pages for s in p.skipped]
    assert len(skipped) == 1 and "subject" in skipped[0].reason
    assert any(f.item.id.endswith(rkey) for f in store.items.values())


def test_deleted_and_deactivated_accounts_are_unavailable(fake: FakeBluesky) -> None:
    w = world(fake)
    src = make(fake)
    with pytest.raises(AccountUnavailable):
        list(src.fetch(roster_account("bluesky", "nobody.test"), {}))
    fake.status[w["budi"]] = "deactivated"
    with pytest.raises(AccountUnavailable):
        list(src.fetch(roster_account("bluesky", "budi.test"), {}))
    fake.status[w["budi"]] = "tombstoned"  # the PLC answers 410 for a deleted DID
    store = MemoryStore()
    store.cursors["asn-001/bluesky"] = {"identity": Identity(w["budi"], "budi.test", "budi.test").cursor()}
    with pytest.raises(AccountUnavailable):
        store.fetch(src, roster_account("bluesky", "budi.test"))


def test_rename_follows_the_pinned_did(fake: FakeBluesky) -> None:
    w = world(fake)
    src = make(fake)
    account = roster_account("bluesky", "budi.test")
    store = MemoryStore()
    store.fetch(src, account)
    old_identity = store.cursors[account.key]["identity"]
    fake.rename(w["budi"], "budi-baru.test")
    fake.like(w["budi"], w["p1"])
    pages = store.fetch(src, account)  # the roster still says budi.test
    new_identity = pages[0].cursor
    assert new_identity is not None
    assert renamed(old_identity, new_identity) == ("budi.test", "budi-baru.test")
    new = [f.item for p in pages for f in p.items]
    assert len(new) == 1 and new[0].actor == "budi-baru.test" and new[0].actor_id == w["budi"]
    assert new[0].extra["previous_handle"] == "budi.test"
    # A newcomer taking the old handle is not followed in the person's place.
    impostor = fake.account("budi.test")
    fake.post(impostor, "bukan Budi")
    assert store.fetch(src, account)[0].items == []
    assert all(f.item.actor_id == w["budi"] for f in store.items.values())


def test_handle_not_claimed_by_its_did_is_refused(fake: FakeBluesky) -> None:
    w = world(fake)
    fake.handles["liar.test"] = w["budi"]  # resolves, but the DID document says budi.test
    with pytest.raises(AccountUnavailable, match=r"names 'budi\.test'"):
        list(make(fake).fetch(roster_account("bluesky", "liar.test"), {}))


def test_unliked_record_is_not_refetched_and_stored_stays(fake: FakeBluesky) -> None:
    w = world(fake)
    src = make(fake)
    account = roster_account("bluesky", "budi.test")
    store = MemoryStore()
    store.fetch(src, account)
    fake.delete(w["like"])
    assert sum(len(p.items) for p in store.fetch(src, account)) == 0
    assert f"bluesky:{w['like']}" in store.items


def test_subject_deleted_before_reading_keeps_the_like(fake: FakeBluesky) -> None:
    w = world(fake)
    gone = fake.post(w["cand"], "akan dihapus")
    like = fake.like(w["budi"], gone)
    fake.delete(gone)
    store = MemoryStore()
    store.fetch(make(fake), roster_account("bluesky", "budi.test"))
    item = store.items[f"bluesky:{like}"].item
    assert item.subject is not None and item.subject.text is None
    assert "RecordNotFound" in item.extra["subject_error"]


def test_budget_exhaustion_is_retry_later_and_resumes(fake: FakeBluesky) -> None:
    world(fake)
    src = make(fake, request_budget=6)
    store = MemoryStore()
    with pytest.raises(RetryLater):
        store.fetch(src, roster_account("bluesky", "budi.test"))
    for _ in range(10):
        src.http.new_cycle()
        try:
            store.fetch(src, roster_account("bluesky", "budi.test"))
            break
        except RetryLater:
            continue
    assert len(store.items) == 5 and store.duplicates == 0


def test_did_web_accounts_and_their_own_pds() -> None:
    """did:web: the DID document is at https://<host>/.well-known/did.json (MockTransport)."""
    import httpx

    did = "did:web:asn.example.go.id"
    doc = {
        "id": did,
        "alsoKnownAs": ["at://asn.example.go.id"],
        "service": [
            {
                "id": "#atproto_pds",
                "type": "AtprotoPersonalDataServer",
                "serviceEndpoint": "https://pds.example.go.id",
            }
        ],
    }
    post = {
        "uri": f"at://{did}/app.bsky.feed.post/3kaaaaaaaaa22",
        "cid": "bafy1",
        "value": {
            "$type": "app.bsky.feed.post",
            "text": "halo",
            "createdAt": "2024-09-01T00:00:00Z",
        },
    }
    seen: list[str] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(f"{req.url.host}{req.url.path}")
        if req.url.path.endswith("resolveHandle"):
            return httpx.Response(200, json={"did": did})
        if req.url.path == "/.well-known/did.json":
            return httpx.Response(200, json=doc)
        coll = req.url.params.get("collection")
        records = [post] if coll == "app.bsky.feed.post" and not req.url.params.get("cursor") else []
        return httpx.Response(
            200, json={"records": records, **({"cursor": "3kaaaaaaaaa22"} if records else {})}
        )

    raw = {"type": "bluesky", "resolver_url": "https://resolver.example", "appview_url": ""}
    src = build_source("bsky", raw, SourceContext(transport=httpx.MockTransport(handler)), "t.toml")
    store = MemoryStore()
    store.fetch(src, roster_account("bluesky", "asn.example.go.id"))
    assert [f.item.text for f in store.items.values()] == ["halo"]
    assert "asn.example.go.id/.well-known/did.json" in seen
    assert any(s.startswith("pds.example.go.id/xrpc/com.atproto.repo.listRecords") for s in seen)


def test_records_of_another_repo_are_refused_as_evidence(fake: FakeBluesky) -> None:
    w = world(fake)
    likes = fake.repos[w["budi"]]["app.bsky.feed.like"]
    forged = dict(next(iter(likes.values())))
    forged["uri"] = forged["uri"].replace(w["budi"], w["cand"]).replace("222", "zzz")
    likes["zzzzzzzzzzzzz"] = forged
    store = MemoryStore()
    pages = store.fetch(make(fake), roster_account("bluesky", "budi.test"))
    assert [s.reason for p in pages for s in p.skipped] == [f"not a app.bsky.feed.like record of {w['budi']}"]
    assert len(store.items) == 5


def test_an_unreachable_appview_falls_back_for_the_rest_of_the_cycle(fake: FakeBluesky) -> None:
    w = world(fake)
    for i in range(3):
        fake.like(w["budi"], fake.post(w["cand"], f"janji {i}"))
    boom = json_reply({"error": "InternalServerError"}, 502)
    fake.fail(r"/xrpc/app\.bsky\.feed\.getPosts", boom, boom, boom, boom)
    store = MemoryStore()
    store.fetch(make(fake, appview_url=fake.url), roster_account("bluesky", "budi.test"))
    assert fake.hits(r"/xrpc/app\.bsky\.feed\.getPosts") == 4  # one request's retries, then no more
    likes = [f.item for f in store.items.values() if f.item.kind == "like"]
    assert len(likes) == 4 and all(i.subject and i.subject.text for i in likes)


def test_backfill_days_bounds_the_first_walk(fake: FakeBluesky) -> None:
    from datetime import UTC, datetime, timedelta

    budi = fake.account("budi.test")
    cand = fake.account("paslon1.test")
    fake.clock.t = datetime.now(UTC) - timedelta(days=400)
    old_post = fake.post(cand, "lama")
    for _ in range(5):
        fake.like(budi, old_post)
    fake.clock.t = datetime.now(UTC) - timedelta(days=3)
    new_post = fake.post(cand, "baru")
    recent = [fake.like(budi, new_post) for _ in range(3)]
    store = MemoryStore()
    store.fetch(make(fake, backfill_days=30), roster_account("bluesky", "budi.test"))
    assert {f.item.id for f in store.items.values()} == set(recent)
    fake.like(budi, new_post)
    store.fetch(make(fake, backfill_days=30), roster_account("bluesky", "budi.test"))
    assert len(store.items) == 4 and store.duplicates == 0
