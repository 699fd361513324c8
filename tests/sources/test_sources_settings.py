"""Connector settings: validation through ``build_source``, defaults, registration."""

from __future__ import annotations

import pytest

from monitor.errors import ConfigError
from sources.base import SourceContext, build_source, platforms, source_types
from sources.bluesky import BlueskySettings
from sources.common import Identity, Walk, newer_snowflake, newer_tid, renamed
from sources.http import USER_AGENT
from sources.mastodon import MastodonSettings
from sources.x import XSettings

CTX = SourceContext(env={"X_BEARER_TOKEN": "t"})


def test_every_connector_registers() -> None:
    build_source("b", {"type": "bluesky"}, CTX, "s.toml")  # found through entry points
    assert {"bluesky", "mastodon", "x", "file"} <= set(source_types())
    assert platforms() == {"bluesky", "mastodon", "x"}  # the file source reads any platform


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"type": "bluesky", "bogus": 1}, "bogus"),
        ({"type": "bluesky", "page_size": 500}, "page_size"),
        ({"type": "mastodon"}, "base_url"),
        ({"type": "mastodon", "base_url": "https://m.example", "page_size": 0}, "page_size"),
        ({"type": "x", "page_size": 2}, "page_size"),
        ({"type": "x", "timeout": -1}, "timeout"),
    ],
)
def test_bad_settings_are_config_errors_naming_the_key(raw: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_source("s", raw, CTX, "settings.toml")
    assert f"[sources.s].{key}" in str(err.value)


def test_defaults_point_at_the_public_services() -> None:
    b = BlueskySettings(type="bluesky")
    assert b.plc_url == "https://plc.directory" and b.appview_url and b.page_size == 100
    assert XSettings(type="x").base_url == "https://api.x.com"
    m = MastodonSettings(type="mastodon", base_url="https://m.example", poll_interval=60)
    assert m.policy().cycle_seconds == 60 and m.policy().max_bytes == 5 * 1024 * 1024
    assert USER_AGENT.endswith("(+Bawaslu)")


def test_walk_cursor_round_trip_and_plain_values() -> None:
    w = Walk(seen="3a", top="3c", next="3b")
    from monitor.model import Cursor

    assert Walk.decode(Cursor("likes", w.encode())) == w
    assert Walk.decode(Cursor("likes", "3kabc")) == Walk(seen="3kabc")
    assert Walk.decode(None) == Walk()
    keep, after, done = Walk(seen="5").step(["9", "7", "5", "3"], "3", newer_snowflake)
    assert (keep, after, done) == (2, Walk(seen="9"), True)
    keep, after, done = Walk().step(["c", "b"], "b", newer_tid)
    assert (keep, after, done) == (2, Walk(seen=None, top="c", next="b"), False)
    keep, after, done = after.step(["a"], None, newer_tid)
    assert (keep, after, done) == (1, Walk(seen="c"), True)
    assert newer_snowflake("10", "9") and not newer_snowflake("9", "10")


def test_identity_cursor() -> None:
    a = Identity("did:plc:x", "budi.test", "budi.test")
    b = Identity("did:plc:x", "budi2.test", "budi.test")
    assert Identity.from_cursor(a.cursor()) == a
    assert renamed(a.cursor(), b.cursor()) == ("budi.test", "budi2.test")
    assert renamed(None, b.cursor()) is None and renamed(a.cursor(), a.cursor()) is None
    assert a.pinned_for("@Budi.Test") and not a.pinned_for("other.test")


def test_peer_without_node_is_a_skip_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    from sources.testing import peer

    monkeypatch.setattr(peer.shutil, "which", lambda name: None)
    with pytest.raises(peer.PeerToolsMissing, match="node and npm"):
        peer.install()
