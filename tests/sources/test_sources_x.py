"""The X API v2 connector against a fake X on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from monitor.errors import AccountUnavailable, ConfigError
from sources.base import SourceContext, build_source
from sources.common import renamed
from sources.http import AuthError, BadResponse
from sources.testing import FakeX, Reply, json_reply
from sources.testing.contract import MemoryStore, roster_account
from sources.x import XSource

TIMELINE = r"/2/users/\d+/tweets"
sleeps: list[float] = []


@pytest.fixture
def fake() -> Iterator[FakeX]:
    sleeps.clear()
    with FakeX() as f:
        yield f


def make(fake: FakeX, token: str | None = None, **over: Any) -> XSource:
    raw = {"type": "x", "base_url": fake.url, "page_size": 5, "timeout": 1.0, **over}
    env = {"X_BEARER_TOKEN": token or fake.token}
    src = build_source("x", raw, SourceContext(env=env), "test.toml")
    assert isinstance(src, XSource)
    src.http.sleep = sleeps.append
    return src


def world(fake: FakeX) -> dict[str, str]:
    w = {"budi": fake.user("budi_asn"), "cand": fake.user("paslon1")}
    w["c1"] = fake.tweet(w["cand"], "Coblos nomor 1!")
    w["own"] = fake.tweet(w["budi"], "Selamat pagi")
    w["reply"] = fake.tweet(w["budi"], "Setuju!", reply_to=w["c1"])
    w["rt"] = fake.tweet(w["budi"], "", retweet=w["c1"])
    w["quote"] = fake.tweet(w["budi"], "Mantap", quote=w["c1"])
    for i in range(4):
        fake.tweet(w["budi"], f"rutin {i}")
    return w


def test_token_is_required_and_sent(fake: FakeX) -> None:
    with pytest.raises(ConfigError, match="X_BEARER_TOKEN"):
        build_source("x", {"type": "x", "base_url": fake.url}, SourceContext(), "test.toml")
    world(fake)
    with pytest.raises(AuthError):
        list(make(fake, token="wrong").fetch(roster_account("x", "budi_asn"), {}))
    MemoryStore().fetch(make(fake), roster_account("x", "budi_asn"))
    assert fake.log[-1].headers["authorization"] == f"Bearer {fake.token}"


def test_reads_posts_replies_retweets_quotes_over_several_pages(fake: FakeX) -> None:
    w = world(fake)
    store = MemoryStore()
    store.fetch(make(fake), roster_account("x", "budi_asn"))
    items = {f.item.id: f.item for f in store.items.values()}
    assert len(items) == 8 and fake.hits(TIMELINE) == 2
    assert {k: items[w[k]].kind for k in ("own", "reply", "rt", "quote")} == {
        "own": "post",
        "reply": "reply",
        "rt": "repost",
        "quote": "quote",
    }
    rt = items[w["rt"]]
    assert rt.text is None and rt.subject is not None
    assert rt.subject.text == "Coblos nomor 1!" and rt.subject.author == "paslon1"
    assert rt.subject.url == f"https://x.com/paslon1/status/{w['c1']}"
    assert rt.actor == "budi_asn" and rt.actor_id == w["budi"]
    assert items[w["own"]].url == f"https://x.com/budi_asn/status/{w['own']}"
    # The subject's text is in the same response: the raw evidence of the retweet holds it.
    assert b"Coblos nomor 1!" in store.items[f"x:{w['rt']}"].raw.body


def test_429_with_epoch_reset_500_timeout_and_malformed_json(fake: FakeX) -> None:
    w = world(fake)
    src = make(fake, timeout=0.3)
    reset = str(int(time.time()) + 5)
    fake.fail(
        TIMELINE,
        Reply(429, {"title": "Too Many Requests"}, {"x-rate-limit-reset": reset}),
        json_reply({"title": "Internal"}, 503),
        Reply(200, {"data": []}, delay=1.5),
    )
    store = MemoryStore()
    store.fetch(src, roster_account("x", "budi_asn"))
    assert 3 <= sleeps[0] <= 5 and len(sleeps) == 3 and len(store.items) == 8
    fake.tweet(w["budi"], "baru")
    fake.fail(TIMELINE, Reply(200, b'{"data": [{"id": '))
    with pytest.raises(BadResponse):
        store.fetch(src, roster_account("x", "budi_asn"))
    store.fetch(src, roster_account("x", "budi_asn"))
    assert len(store.items) == 9 and store.duplicates == 0


def test_an_expired_pagination_token_restarts_the_walk(fake: FakeX) -> None:
    world(fake)
    src = make(fake)
    store = MemoryStore()
    store.fetch(src, roster_account("x", "budi_asn"), max_pages=2)  # identity + first page
    assert '"next": "tok5"' in store.cursors["asn-001/x"]["tweets"].value
    fake.fail(TIMELINE, json_reply({"title": "Invalid Request", "detail": "bad token"}, 400))
    store.fetch(src, roster_account("x", "budi_asn"))
    assert len(store.items) == 8 and store.duplicates == 5


def test_unknown_suspended_and_protected_users(fake: FakeX) -> None:
    w = world(fake)
    src = make(fake)
    with pytest.raises(AccountUnavailable, match="Could not find user"):
        list(src.fetch(roster_account("x", "nobody"), {}))
    fake.suspended.add(w["budi"])
    with pytest.raises(AccountUnavailable, match="suspended"):
        list(src.fetch(roster_account("x", "budi_asn"), {}))
    fake.suspended.clear()
    fake.users[w["budi"]]["protected"] = True
    with pytest.raises(AccountUnavailable, match="protected"):
        list(src.fetch(roster_account("x", "budi_asn"), {}))


def test_rename_follows_the_pinned_id(fake: FakeX) -> None:
    w = world(fake)
    src = make(fake)
    account = roster_account("x", "budi_asn")
    store = MemoryStore()
    store.fetch(src, account)
    old = store.cursors[account.key]["identity"]
    fake.users[w["budi"]]["username"] = "budi_baru"
    fake.tweet(w["budi"], "nama baru")
    pages = store.fetch(src, account)
    assert pages[0].cursor is not None and renamed(old, pages[0].cursor) == (
        "budi_asn",
        "budi_baru",
    )
    new = [f.item for p in pages for f in p.items]
    assert [i.actor for i in new] == ["budi_baru"] and new[0].actor_id == w["budi"]
    assert new[0].extra["previous_handle"] == "budi_asn"


def test_reverse_finds_watched_likes_and_retweets(fake: FakeX) -> None:
    w = world(fake)
    siti = fake.user("siti_pemda")
    c2 = fake.tweet(w["cand"], "Debat malam ini")
    fake.like(w["budi"], w["c1"])
    fake.like(siti, c2)
    for i in range(120):  # more than one page of liking_users
        fake.like(fake.user(f"fan{i}"), c2)
    fake.like(w["budi"], c2)
    src = make(fake)
    watched = [roster_account("x", "budi_asn"), roster_account("x", "Siti_Pemda", "asn-002")]
    store = MemoryStore()
    pages = store.reverse(src, ["paslon1", "tidakada"], watched)
    found = {
        (f.item.kind, f.item.actor, f.item.subject.id if f.item.subject else "") for f in store.items.values()
    }
    assert found == {
        ("like", "budi_asn", w["c1"]),
        ("repost", "budi_asn", w["c1"]),
        ("like", "budi_asn", c2),
        ("like", "Siti_Pemda", c2),
    }
    item = store.items[f"x:like:{c2}:{siti}"].item
    assert item.extra["account_key"] == "asn-002/x" and item.subject and item.subject.author == "paslon1"
    assert item.extra["created_at_is"] == "first_seen"
    assert [s.where for p in pages for s in p.skipped] == ["reverse:x:tidakada"]


def test_reverse_matches_a_renamed_account_by_id(fake: FakeX) -> None:
    w = world(fake)
    src = make(fake)
    account = roster_account("x", "budi_asn")
    MemoryStore().fetch(src, account)  # learns budi_asn's id
    fake.users[w["budi"]]["username"] = "budi_baru"
    fake.like(w["budi"], w["c1"])
    store = MemoryStore()
    store.reverse(src, ["paslon1"], [account])
    likes = [f.item for f in store.items.values() if f.item.kind == "like"]
    assert [(i.actor, i.actor_id) for i in likes] == [("budi_baru", w["budi"])]


def test_backfill_days_bounds_the_first_walk(fake: FakeX) -> None:
    from datetime import UTC, datetime, timedelta

    uid = fake.user("budi_asn")
    fake.clock.t = datetime.now(UTC) - timedelta(days=400)
    for i in range(7):
        fake.tweet(uid, f"lama {i}")
    fake.clock.t = datetime.now(UTC) - timedelta(days=2)
    recent = {fake.tweet(uid, f"baru {i}") for i in range(6)}
    store = MemoryStore()
    store.fetch(make(fake, backfill_days=30), roster_account("x", "budi_asn"))
    assert {f.item.id for f in store.items.values()} == recent
    assert fake.hits(TIMELINE) == 2  # stopped on the page where old posts begin
