"""Property-based tests: the normaliser never fails, the connectors' parsers fail only typed.

Each connector is fed arbitrary JSON (random values and platform-shaped objects with random
fields) through ``httpx.MockTransport``: no socket is opened. Whatever comes back, only
``SourceError`` subclasses or ``BadItem`` may leave ``fetch``; bad items become ``Skipped``.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from classifiers.normalise import normalise
from monitor.errors import BadItem, SourceError
from sources.base import SourceContext, build_source
from sources.testing.contract import roster_account

EXAMPLES = 300

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
times = st.sampled_from(["2024-10-01T08:00:00.000Z", "2024-10-01T08:00:00+07:00", "nope", ""]) | json_values


def _shaped(keys: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=keys)


tweet = _shaped({"id": st.sampled_from(["1", "1900000000000000000", "x"]) | json_values,
                 "text": st.text(max_size=20) | json_values, "author_id": st.just("1000") | json_values,
                 "created_at": times, "referenced_tweets": st.lists(_shaped({
                     "type": st.sampled_from(["retweeted", "quoted", "replied_to"]) | json_values,
                     "id": st.just("1") | json_values}), max_size=2) | json_values})
x_body = (_shaped({"data": st.lists(tweet, max_size=3) | tweet | json_values,
                   "meta": _shaped({"next_token": st.text(max_size=5) | json_values,
                                    "result_count": json_values}),
                   "includes": _shaped({"tweets": st.lists(tweet, max_size=2) | json_values,
                                        "users": json_values}),
                   "errors": json_values})
          | st.just({"data": {"id": "1000", "username": "budi_s", "name": "Budi"}}) | json_values)
record = _shaped({"uri": st.sampled_from(["at://did:plc:abc/app.bsky.feed.post/3l3okodzelmwt", "at://x"])
                  | json_values, "cid": json_values,
                  "value": _shaped({"$type": st.sampled_from(["app.bsky.feed.post", "app.bsky.feed.like",
                                                              "app.bsky.feed.repost"]) | json_values,
                                    "text": st.text(max_size=20) | json_values, "createdAt": times,
                                    "subject": json_values, "reply": json_values,
                                    "embed": json_values}) | json_values})
bsky_body = (_shaped({"records": st.lists(record, max_size=3) | json_values,
                      "cursor": st.text(max_size=5) | json_values})
             | st.just({"did": "did:plc:abc"})
             | st.just({"id": "did:plc:abc", "alsoKnownAs": ["at://budi.bsky.social"],
                        "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer",
                                     "serviceEndpoint": "http://pds.test"}]})
             | json_values)
status = _shaped({"id": st.sampled_from(["1", "2", "x"]) | json_values, "created_at": times,
                  "content": st.text(max_size=20) | json_values, "url": json_values,
                  "account": _shaped({"id": st.just("7") | json_values,
                                      "acct": st.just("budi") | json_values}),
                  "reblog": json_values, "in_reply_to_id": json_values, "visibility": json_values})
masto_body = (st.lists(status, max_size=3)
              | st.just({"id": "7", "acct": "budi", "username": "budi", "url": "http://m.test/@budi"})
              | json_values)


def _drive(platform: str, raw: dict[str, Any], handle: str, bodies: list[Any]) -> None:
    cycle = itertools.cycle(bodies)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=json.dumps(next(cycle)).encode(),
                              headers={"content-type": "application/json"})

    ctx = SourceContext(env={"X_BEARER_TOKEN": "t"}, transport=httpx.MockTransport(answer))
    src = build_source(platform, {"type": platform, "max_attempts": 1, "timeout": 1.0, **raw}, ctx, "t.toml")
    http = getattr(src, "http", None)
    if http is not None:
        http.sleep = lambda s: None
    try:
        for page in itertools.islice(src.fetch(roster_account(platform, handle), {}), 4):
            assert all(f.item.platform == platform for f in page.items)
    except (SourceError, BadItem):
        pass


FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


LOOKUP = {"data": {"id": "1000", "username": "budi_s", "name": "Budi"}}


@FUZZ
@given(st.lists(x_body, min_size=1, max_size=4))
# Found by this test, fixed in sources/x.py: "errors" not a list; included ids or lists not hashable.
@example([{"meta": {}, "errors": True}])
@example([{"meta": {}, "errors": {"": None}}])
@example([LOOKUP, {"includes": {"tweets": [{"id": []}]}}])
@example([LOOKUP, {"includes": {"tweets": [], "users": True}}])
# Found by this test, fixed in sources/http/client.py: a user id with a control character made an invalid URL.
@example([{"data": {"id": "\x1f"}}])
def test_x_parser_fails_only_with_typed_errors(bodies: list[Any]) -> None:
    _drive("x", {"base_url": "http://x.test", "page_size": 5}, "budi_s", bodies)


@FUZZ
@given(st.lists(bsky_body, min_size=1, max_size=4))
def test_bluesky_parser_fails_only_with_typed_errors(bodies: list[Any]) -> None:
    _drive("bluesky", {"resolver_url": "http://bsky.test", "plc_url": "http://bsky.test",
                       "appview_url": "", "page_size": 5}, "budi.bsky.social", bodies)


@FUZZ
@given(st.lists(masto_body, min_size=1, max_size=4))
def test_mastodon_parser_fails_only_with_typed_errors(bodies: list[Any]) -> None:
    _drive("mastodon", {"base_url": "http://m.test", "page_size": 5}, "budi@m.test", bodies)


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_normaliser_never_raises_and_tokens_have_no_whitespace(text: str) -> None:
    out = normalise(text)
    for word in out.words:
        assert word and not any(c.isspace() for c in word), (text, word)
    assert normalise(None).words == []
