"""One Mastodon source over two instances: two fake servers on 127.0.0.1, kabar.example
(the home instance) and sunda.example, each answering in the documented API shapes.

Both fakes number their accounts and statuses from the same start, so their ids collide
as real instances' ids may.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from monitor.errors import ConfigError, RetryLater, SourceError
from monitor.model import Cursor, Item
from sources.base import SourceContext, build_source
from sources.common import Identity
from sources.http import BudgetExhausted
from sources.mastodon import InstanceNotAllowed, MastodonSource
from sources.testing import FakeMastodon, Reply
from sources.testing.contract import MemoryStore, roster_account

STATUSES = r"/api/v1/accounts/\d+/statuses"
FAVOURITED = r"/api/v1/statuses/\d+/favourited_by"
pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def kabar() -> Iterator[FakeMastodon]:
    with FakeMastodon("kabar.example") as f:
        yield f


@pytest.fixture
def sunda() -> Iterator[FakeMastodon]:
    with FakeMastodon("sunda.example") as f:
        yield f


Sleeps = dict[str, list[float]]


def make(kabar: FakeMastodon, sunda: FakeMastodon, env: dict[str, str] | None = None,
         sunda_keys: dict[str, Any] | None = None, **over: Any) -> tuple[MastodonSource, Sleeps]:
    """The source, and each instance's recorded sleeps (none is slept for real)."""
    raw = {"type": "mastodon", "base_url": kabar.url, "domain": "kabar.example", "page_size": 2,
           "timeout": 2.0, "instances": {"sunda.example": {"base_url": sunda.url, **(sunda_keys or {})}},
           **over}
    src = build_source("masto", raw, SourceContext(env=env or {}), "test.toml")
    assert isinstance(src, MastodonSource)
    sleeps: Sleeps = {}
    for domain, reader in src.readers.items():
        reader.http.sleep = sleeps.setdefault(domain, []).append
    return src, sleeps


def roster() -> dict[str, Any]:
    return {"rina": roster_account("mastodon", "rina@kabar.example", "asn-001"),
            "wawan": roster_account("mastodon", "wawan@sunda.example", "asn-007")}


def people(kabar: FakeMastodon, sunda: FakeMastodon) -> dict[str, str]:
    """Rina on kabar, Wawan on sunda, each also known to the other instance as a remote account."""
    w = {"rina": kabar.account("rina"), "wawan": sunda.account("wawan"),
         "wawan@kabar": kabar.account("wawan", "sunda.example"),
         "rina@sunda": sunda.account("rina", "kabar.example")}
    for i in range(3):
        w[f"r{i}"] = kabar.status(w["rina"], f"<p>rina {i}</p>")
        w[f"w{i}"] = sunda.status(w["wawan"], f"<p>wawan {i}</p>")
    return w


def items_of(store: MemoryStore, account_id: str) -> list[Item]:
    return [f.item for f in store.items.values()
            if f.item.extra.get("account_key", "").startswith(account_id)]


def lookups(fake: FakeMastodon) -> list[str]:
    return [r.arg("acct") or "" for r in fake.log if r.path == "/api/v1/accounts/lookup"]


def test_each_account_is_read_from_its_own_instance(kabar: FakeMastodon, sunda: FakeMastodon) -> None:
    w = people(kabar, sunda)
    src, _ = make(kabar, sunda)
    store = MemoryStore()
    for account in roster().values():
        store.fetch(src, account)
    rina, wawan = items_of(store, "asn-001"), items_of(store, "asn-007")
    # The home instance's ids stay bare (as stored before); sunda's are qualified by its domain.
    assert sorted(i.id for i in rina) == sorted(w[f"r{i}"] for i in range(3))
    assert sorted(i.id for i in wawan) == sorted(f"sunda.example/{w[f'w{i}']}" for i in range(3))
    assert {w["r0"], w["r1"], w["r2"]} & {w["w0"], w["w1"], w["w2"]}, "the fakes' raw ids collide"
    assert len(store.items) == 6, "but no item key does"
    assert {i.actor for i in wawan} == {"wawan@sunda.example"}
    assert {i.actor_id for i in wawan} == {f"sunda.example/{w['wawan']}"}
    assert {i.actor_id for i in rina} == {w["rina"]} and w["rina"] == w["wawan"]
    assert all(i.text and "wawan" in i.text and i.extra["instance"] == "sunda.example" for i in wawan)
    for f in store.items.values():
        url = sunda.url if f.item.actor.startswith("wawan") else kabar.url
        assert f.raw.source_url.startswith(url)
    assert lookups(kabar) == ["rina"] and lookups(sunda) == ["wawan"]
    cursor = store.cursors["asn-007/mastodon"]["identity"]
    assert Identity.from_cursor(cursor) == Identity(f"sunda.example/{w['wawan']}", "wawan@sunda.example",
                                                    "wawan@sunda.example")
    # Next cycle: the pinned, qualified id is read on sunda and nothing is new.
    sunda.log.clear()
    pages = store.fetch(src, roster()["wawan"])
    assert sum(len(p.items) for p in pages) == 0 and store.duplicates == 0
    assert sunda.hits(rf"/api/v1/accounts/{w['wawan']}") == 1 and lookups(sunda) == []


def test_an_id_pinned_on_the_home_instance_is_looked_up_on_the_own_one(
        kabar: FakeMastodon, sunda: FakeMastodon) -> None:
    w = people(kabar, sunda)
    src, _ = make(kabar, sunda)
    store = MemoryStore()
    account = roster()["wawan"]
    # What an earlier version stored: Wawan as the home instance knew him, by its own id.
    old = Identity(w["wawan@kabar"], "wawan@sunda.example", "wawan@sunda.example").cursor()
    store.cursors[account.key] = {"identity": old}
    pages = store.fetch(src, account)
    assert lookups(sunda) == ["wawan"] and not kabar.log
    assert pages[0].cursor is not None and Identity.from_cursor(pages[0].cursor) is not None
    assert len(items_of(store, "asn-007")) == 3


def test_tokens_go_only_to_their_own_instance(kabar: FakeMastodon, sunda: FakeMastodon) -> None:
    people(kabar, sunda)
    env = {"KABAR_TOKEN": "token-kabar", "SUNDA_TOKEN": "token-sunda"}
    src, _ = make(kabar, sunda, env, {"token_env": "SUNDA_TOKEN"}, token_env="KABAR_TOKEN")
    for account in roster().values():
        MemoryStore().fetch(src, account)
    assert kabar.log and {r.headers.get("authorization") for r in kabar.log} == {"Bearer token-kabar"}
    assert sunda.log and {r.headers.get("authorization") for r in sunda.log} == {"Bearer token-sunda"}
    # A home token and none for sunda: sunda gets no Authorization header at all.
    kabar.log.clear()
    sunda.log.clear()
    src, _ = make(kabar, sunda, env, token_env="KABAR_TOKEN")
    for account in roster().values():
        MemoryStore().fetch(src, account)
    assert {r.headers.get("authorization") for r in kabar.log} == {"Bearer token-kabar"}
    assert sunda.log and all("authorization" not in r.headers for r in sunda.log)
    with pytest.raises(ConfigError, match=r"instances\.sunda\.example\].token_env.*SUNDA_TOKEN"):
        make(kabar, sunda, {}, {"token_env": "SUNDA_TOKEN"})


def _cycle(src: MastodonSource, store: MemoryStore) -> dict[str, SourceError]:
    """Every roster account, each failing alone, as the pipeline collects them."""
    errors = {}
    for name, account in roster().items():
        try:
            store.fetch(src, account)
        except SourceError as exc:
            errors[name] = exc
    return errors


def test_a_rate_limited_instance_does_not_stop_the_other(kabar: FakeMastodon, sunda: FakeMastodon) -> None:
    people(kabar, sunda)
    src, sleeps = make(kabar, sunda)
    sunda.fail(STATUSES, Reply(429, {"error": "Too many requests"}, {"retry-after": "3600"}))
    store = MemoryStore()
    errors = _cycle(src, store)
    assert set(errors) == {"wawan"} and isinstance(errors["wawan"], RetryLater)
    assert len(items_of(store, "asn-001")) == 3
    # A short wait is slept by sunda's client alone.
    sunda.fail(STATUSES, Reply(429, {"error": "Too many requests"}, {"retry-after": "2"}))
    assert _cycle(src, store) == {}
    assert sleeps["sunda.example"] == [2.0] and sleeps["kabar.example"] == []
    assert len(items_of(store, "asn-007")) == 3


def test_per_instance_limits(kabar: FakeMastodon, sunda: FakeMastodon) -> None:
    people(kabar, sunda)
    # sunda: at most 2 requests a cycle and no rate-limit wait over 5 s; kabar keeps the source's.
    src, sleeps = make(kabar, sunda, sunda_keys={"request_budget": 2, "max_rate_wait": 5})
    for fake in (kabar, sunda):
        fake.fail(STATUSES, Reply(429, {"error": "Too many requests"}, {"retry-after": "10"}))
    store = MemoryStore()
    errors = _cycle(src, store)
    assert set(errors) == {"wawan"} and "10s" in str(errors["wawan"])
    assert sleeps["kabar.example"] == [10.0] and len(items_of(store, "asn-001")) == 3
    errors = _cycle(src, MemoryStore())
    assert isinstance(errors["wawan"], BudgetExhausted) and "rina" not in errors
    assert sunda.hits(r"/api/v1/.*") == 2  # the second cycle's requests were refused before sending
    assert kabar.hits(STATUSES) >= 4


def test_an_unlisted_instance_is_refused_unless_any_is_allowed(kabar: FakeMastodon,
                                                               sunda: FakeMastodon) -> None:
    src, _ = make(kabar, sunda)
    stranger = roster_account("mastodon", "ujang@lain.example", "asn-009")
    refused = r"ujang@lain\.example: instance 'lain\.example' is not listed"
    with pytest.raises(InstanceNotAllowed, match=refused):
        MemoryStore().fetch(src, stranger)
    assert not kabar.log and not sunda.log
    pages = MemoryStore().reverse(src, ["paslon9@lain.example"], list(roster().values()))
    assert [s.reason for p in pages for s in p.skipped] == [
        "paslon9@lain.example: instance 'lain.example' is not listed under instances and "
        "allow_any_instance is off"]
    # allow_any_instance: read at https://<domain>, the source's limits, no token.
    src, _ = make(kabar, sunda, {"KABAR_TOKEN": "k"}, token_env="KABAR_TOKEN", request_budget=7,
                  allow_any_instance=True)
    reader = src.reader("ujang@lain.example")
    assert reader.api_url("/api/v1/x") == "https://lain.example/api/v1/x"
    assert reader.token is None and reader.http.policy.budget_per_host == 7
    assert src.reader("@siapa@LAIN.example") is reader
    with pytest.raises(InstanceNotAllowed, match="not an account domain"):
        src.reader("x@127.0.0.1:9")


def test_reverse_checks_read_each_candidate_on_its_instance(kabar: FakeMastodon, sunda: FakeMastodon) -> None:
    w = people(kabar, sunda)
    c1 = kabar.status(kabar.account("paslon1"), "<p>Coblos nomor 1</p>")
    c2 = sunda.status(sunda.account("paslon2"), "<p>Coblos nomor 2</p>")
    kabar.favourite(w["wawan@kabar"], c1)  # Wawan of sunda, as kabar lists him: wawan@sunda.example
    kabar.favourite(w["rina"], c1)  # local on kabar: "rina"
    sunda.favourite(w["wawan"], c2)  # local on sunda: "wawan"
    sunda.status(w["rina@sunda"], "", boost=c2)  # Rina of kabar, as sunda lists her: rina@kabar.example
    sunda.favourite(sunda.account("rina"), c2)  # another Rina, of sunda: not the monitored one
    src, _ = make(kabar, sunda)
    store = MemoryStore()
    store.reverse(src, ["paslon2@sunda.example", "paslon1@kabar.example"], list(roster().values()))
    found = {f.item.id: (f.item.kind, f.item.actor, f.item.actor_id) for f in store.items.values()}
    wawan = f"sunda.example/{w['wawan']}"
    assert found == {
        f"fav:{c1}:{w['wawan@kabar']}": ("like", "wawan@sunda.example", None),
        f"fav:{c1}:{w['rina']}": ("like", "rina@kabar.example", w["rina"]),
        f"fav:sunda.example/{c2}:{w['wawan']}": ("like", "wawan@sunda.example", wawan),
        f"boost:sunda.example/{c2}:{w['rina@sunda']}": ("repost", "rina@kabar.example", None),
    }
    assert lookups(kabar) == ["paslon1"] and lookups(sunda) == ["paslon2"]
    assert kabar.hits(FAVOURITED) == 1 and sunda.hits(FAVOURITED) == 1
    subjects = {f.item.subject.id for f in store.items.values() if f.item.subject}
    assert subjects == {c1, f"sunda.example/{c2}"}


def test_a_rate_limited_instance_does_not_stop_the_others_reverse_checks(
        kabar: FakeMastodon, sunda: FakeMastodon) -> None:
    w = people(kabar, sunda)
    c1 = kabar.status(kabar.account("paslon1"), "<p>Coblos nomor 1</p>")
    c2 = sunda.status(sunda.account("paslon2"), "<p>Coblos nomor 2</p>")
    kabar.favourite(w["rina"], c1)
    sunda.favourite(w["wawan"], c2)
    src, _ = make(kabar, sunda)
    sunda.fail(FAVOURITED, Reply(429, {"error": "Too many requests"}, {"retry-after": "3600"}))
    store = MemoryStore()
    with pytest.raises(RetryLater):  # raised once kabar's candidate has been scanned as well
        store.reverse(src, ["paslon2@sunda.example", "paslon1@kabar.example"], list(roster().values()))
    assert [f.item.actor for f in store.items.values()] == ["rina@kabar.example"]
    store.reverse(src, ["paslon2@sunda.example", "paslon1@kabar.example"], list(roster().values()))
    assert len(store.items) == 2 and store.duplicates == 1


def test_identity_cursor_of_home_accounts_is_unchanged(kabar: FakeMastodon, sunda: FakeMastodon) -> None:
    w = people(kabar, sunda)
    src, _ = make(kabar, sunda)
    store = MemoryStore()
    store.fetch(src, roster()["rina"])
    assert store.cursors["asn-001/mastodon"]["identity"] == Identity(
        w["rina"], "rina@kabar.example", "rina@kabar.example").cursor()
    assert isinstance(store.cursors["asn-001/mastodon"]["statuses"], Cursor)


def test_instance_settings() -> None:
    from sources.mastodon import MastodonSettings

    s = MastodonSettings.model_validate({
        "type": "mastodon", "base_url": "https://kabar.example", "max_rate_wait": 30,
        "instances": {"Sunda.Example": {"request_budget": 5}, "lain.example": {"base_url": "http://10.0.0.9"}}})
    sunda = s.plan("sunda.example", "wawan@sunda.example")
    assert sunda.base_url == "https://sunda.example" and not sunda.home
    assert sunda.policy.budget_per_host == 5 and sunda.policy.max_rate_wait == 30  # the rest inherited
    assert s.plan("kabar.example", "rina").home and s.domain_of("rina") == "kabar.example"
    assert s.probe_urls() == ["https://sunda.example"]  # check --online probes the defaulted one
    with pytest.raises(ConfigError, match=r"instances\.sunda\.example\.tokn_env: unknown key"):
        build_source("m", {"type": "mastodon", "base_url": "https://kabar.example",
                           "instances": {"sunda.example": {"tokn_env": "X"}}}, SourceContext(), "t.toml")
    with pytest.raises(ConfigError, match="home instance"):
        build_source("m", {"type": "mastodon", "base_url": "https://kabar.example",
                           "instances": {"kabar.example": {}}}, SourceContext(), "t.toml")
