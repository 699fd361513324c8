"""The Mastodon connector against a fake instance on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from monitor.errors import AccountUnavailable, ConfigError
from sources.base import SourceContext, build_source
from sources.common import Identity, renamed
from sources.http import BadResponse
from sources.mastodon import MastodonSource, html_to_text, next_max_id
from sources.testing import FakeMastodon, Reply, json_reply
from sources.testing.contract import MemoryStore, roster_account

STATUSES = r"/api/v1/accounts/\d+/statuses"
sleeps: list[float] = []


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    sleeps.clear()
    with FakeMastodon() as f:
        yield f


def make(fake: FakeMastodon, env: dict[str, str] | None = None, **over: Any) -> MastodonSource:
    raw = {
        "type": "mastodon",
        "base_url": fake.url,
        "domain": fake.domain,
        "page_size": 2,
        "timeout": 1.0,
        **over,
    }
    src = build_source("masto", raw, SourceContext(env=env or {}), "test.toml")
    assert isinstance(src, MastodonSource)
    src.http.sleep = sleeps.append
    return src


def world(fake: FakeMastodon, cand_domain: str | None = "kpu.social") -> dict[str, str]:
    """A monitored ``budi`` and a candidate (remote by default, as the home instance knows it)."""
    w = {"budi": fake.account("budi"), "cand": fake.account("paslon1", cand_domain)}
    w["c1"] = fake.status(w["cand"], "<p>Coblos <b>nomor 1</b>!</p><p>Jabar&nbsp;juara &amp; maju</p>")
    w["own"] = fake.status(w["budi"], "<p>Selamat pagi<br>rekan</p>")
    w["reply"] = fake.status(w["budi"], "<p>Setuju!</p>", reply_to=w["c1"])
    w["boost"] = fake.status(w["budi"], "", boost=w["c1"])
    w["quote"] = fake.status(w["budi"], "<p>Mantap</p>", quote=w["c1"])
    return w


def test_html_to_text() -> None:
    html = (
        '<p>Halo <a href="https://x"><span class="invisible">https://</span>x.id</a><br>baris</p>'
        "<p>dua &amp; tiga</p>"
    )
    assert html_to_text(html) == "Halo https://x.id\nbaris\n\ndua & tiga"
    assert html_to_text("") == ""


def test_link_header() -> None:
    link = (
        '<https://m.example/api/v1/accounts/1/statuses?limit=2&max_id=109>; rel="next", '
        '<https://m.example/api/v1/accounts/1/statuses?limit=2&min_id=111>; rel="prev"'
    )
    assert next_max_id(link) == "109"
    assert next_max_id('<https://m/x?min_id=1>; rel="prev"') is None and next_max_id(None) is None


def test_reads_posts_replies_boosts_quotes_over_several_pages(fake: FakeMastodon) -> None:
    w = world(fake)
    store = MemoryStore()
    store.fetch(make(fake), roster_account("mastodon", "budi@mastodon.test"))
    items = {f.item.id: f.item for f in store.items.values()}
    assert {k: items[w[k]].kind for k in ("own", "reply", "boost", "quote")} == {
        "own": "post",
        "reply": "reply",
        "boost": "repost",
        "quote": "quote",
    }
    assert fake.hits(STATUSES) >= 2
    assert items[w["own"]].text == "Selamat pagi\nrekan"
    boost = items[w["boost"]]
    assert boost.subject is not None and boost.subject.author == "paslon1@kpu.social"
    assert boost.subject.text == "Coblos nomor 1!\n\nJabar\xa0juara & maju"
    assert boost.actor == "budi@mastodon.test" and boost.actor_id == w["budi"]
    reply = items[w["reply"]]
    assert reply.subject is not None and reply.subject.id == w["c1"]
    assert reply.subject.text and "nomor 1" in reply.subject.text
    assert reply.extra["subject_evidence"]["status"] == 200


def test_429_500_and_timeout_are_survived(fake: FakeMastodon) -> None:
    world(fake)
    fake.fail(
        STATUSES,
        Reply(429, {"error": "Too many requests"}, {"retry-after": "2"}),
        json_reply({"error": "boom"}, 500),
        Reply(200, [], delay=1.5),
    )
    store = MemoryStore()
    store.fetch(make(fake, timeout=0.3), roster_account("mastodon", "budi"))
    assert sleeps[0] == 2.0 and len(sleeps) == 3
    assert len(store.items) == 4


def test_x_ratelimit_reset_iso_time(fake: FakeMastodon) -> None:
    from datetime import UTC, datetime, timedelta

    world(fake)
    src = make(fake)
    reset = (datetime.now(UTC) + timedelta(seconds=20)).isoformat()
    fake.fail(STATUSES, Reply(429, {"error": "Too many requests"}, {"x-ratelimit-reset": reset}))
    MemoryStore().fetch(src, roster_account("mastodon", "budi"))
    assert 15 < sleeps[0] <= 20


def test_malformed_json_then_recovery(fake: FakeMastodon) -> None:
    world(fake)
    src = make(fake)
    fake.fail(STATUSES, Reply(200, b'[{"id": "1", '))
    store = MemoryStore()
    with pytest.raises(BadResponse):
        store.fetch(src, roster_account("mastodon", "budi"))
    store.fetch(src, roster_account("mastodon", "budi"))
    assert len(store.items) == 4 and store.duplicates == 0


def test_deleted_and_suspended_accounts(fake: FakeMastodon) -> None:
    w = world(fake)
    src = make(fake)
    with pytest.raises(AccountUnavailable):
        list(src.fetch(roster_account("mastodon", "nobody"), {}))
    store = MemoryStore()
    store.fetch(src, roster_account("mastodon", "budi"))
    fake.gone.add(w["budi"])
    with pytest.raises(AccountUnavailable):
        store.fetch(src, roster_account("mastodon", "budi"))
    fake.gone.clear()
    fake.accounts[w["budi"]]["suspended"] = True
    with pytest.raises(AccountUnavailable, match="suspended"):
        store.fetch(src, roster_account("mastodon", "budi"))


def test_rename_follows_the_pinned_id(fake: FakeMastodon) -> None:
    w = world(fake)
    src = make(fake)
    account = roster_account("mastodon", "budi")
    store = MemoryStore()
    store.fetch(src, account)
    old = store.cursors[account.key]["identity"]
    assert Identity.from_cursor(old) == Identity(w["budi"], "budi", "budi")
    # Mastodon keeps usernames, but an admin rename or a migrated record changes acct.
    fake.accounts[w["budi"]].update(acct="budi_baru", username="budi_baru")
    fake.status(w["budi"], "<p>baru</p>")
    pages = store.fetch(src, account)
    assert pages[0].cursor is not None
    assert renamed(old, pages[0].cursor) == ("budi", "budi_baru@mastodon.test")
    new = [f.item for p in pages for f in p.items]
    assert [i.actor for i in new] == ["budi_baru@mastodon.test"] and new[0].actor_id == w["budi"]


def test_token_env(fake: FakeMastodon) -> None:
    with pytest.raises(ConfigError, match="MASTO_TOKEN"):
        make(fake, token_env="MASTO_TOKEN")
    src = make(fake, env={"MASTO_TOKEN": "sekrit"}, token_env="MASTO_TOKEN")
    world(fake)
    MemoryStore().fetch(src, roster_account("mastodon", "budi"))
    assert fake.log[-1].headers["authorization"] == "Bearer sekrit"


def test_reverse_finds_watched_favourites_and_boosts(fake: FakeMastodon) -> None:
    w = world(fake, cand_domain=None)  # reverse checks read a candidate on its own instance
    siti = fake.account("siti", "pemda.social")
    other = fake.account("warga")
    c2 = fake.status(w["cand"], "<p>Debat malam ini</p>")
    fake.favourite(w["budi"], w["c1"])
    fake.favourite(other, w["c1"])
    fake.favourite(siti, c2)
    for i in range(90):  # more favourites than one page of favourited_by
        fake.favourite(fake.account(f"fan{i}"), c2)
    fake.favourite(w["budi"], c2)
    src = make(fake)
    watched = [
        roster_account("mastodon", "budi"),
        roster_account("mastodon", "siti@pemda.social", "asn-002"),
    ]
    targets = ["paslon1@mastodon.test", "hilang@mastodon.test"]
    store = MemoryStore()
    pages = store.reverse(src, targets, watched)
    found = {
        (f.item.kind, f.item.actor, f.item.subject.id if f.item.subject else "") for f in store.items.values()
    }
    assert found == {
        ("like", "budi", w["c1"]),
        ("repost", "budi", w["c1"]),
        ("like", "budi", c2),
        ("like", "siti@pemda.social", c2),
    }
    like = store.items[f"mastodon:fav:{w['c1']}:{w['budi']}"]
    assert like.item.extra["account_key"] == "asn-001/mastodon" and like.item.actor_id == w["budi"]
    assert like.item.subject and like.item.subject.text == "Coblos nomor 1!\n\nJabar\xa0juara & maju"
    assert b'"acct":"budi"' in like.raw.body.replace(b" ", b"")
    assert all(p.account_key.startswith("reverse:mastodon:") for p in pages)
    missing = [s for p in pages for s in p.skipped]
    assert len(missing) == 1 and "hilang" in missing[0].where
    # Next cycle: the same favourites again, all duplicates by key.
    store.reverse(src, targets, watched)
    assert store.duplicates == 4


def test_reverse_resumes_after_a_crash(fake: FakeMastodon) -> None:
    w = world(fake, cand_domain=None)
    statuses = [fake.status(w["cand"], f"<p>post {i}</p>") for i in range(4)]
    for s in statuses:
        fake.favourite(w["budi"], s)
    src = make(fake)
    watched = [roster_account("mastodon", "budi")]
    store = MemoryStore()
    store.reverse(src, ["paslon1"], watched, max_pages=4)
    cursor = store.cursors["reverse:mastodon:paslon1"]["reverse"]
    assert '"done"' in cursor.value
    before = fake.hits(r"/api/v1/statuses/\d+/favourited_by")
    store.reverse(src, ["paslon1"], watched)
    done_first = len(cursor.value.split(","))
    assert fake.hits(r"/api/v1/statuses/\d+/favourited_by") - before == 5 - done_first
    assert len(store.items) == 5 and store.duplicates == 0  # 4 favourites, 1 boost
    assert store.cursors["reverse:mastodon:paslon1"]["reverse"].value == "{}"


def test_a_deleted_reply_parent_keeps_the_reply(fake: FakeMastodon) -> None:
    w = world(fake)
    fake.statuses.pop(w["c1"])
    store = MemoryStore()
    store.fetch(make(fake), roster_account("mastodon", "budi"))
    reply = store.items[f"mastodon:{w['reply']}"].item
    assert reply.kind == "reply" and reply.subject is not None
    assert reply.subject.id == w["c1"] and reply.subject.text is None
    assert reply.subject.author == "paslon1@kpu.social"
    assert "404" in reply.extra["subject_error"]
