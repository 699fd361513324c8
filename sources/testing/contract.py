"""What every connector must do, as reusable test machinery.

``MemoryStore`` stands in for the pipeline's storage: it applies pages the way the
pipeline must (a page's items and its cursor together, de-duplicated by ``Item.key``).
A ``ContractCase`` is one connector pointed at one fake platform with one monitored
account and a way to add new activity; the contract test suite runs every case through
the same checks. The file source (or any future connector) joins by writing a factory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from monitor.model import Account, Cursor, Fetched, Page, Source
from sources.base import FeedSource, SourceContext, build_source
from sources.testing.bluesky import FakeBluesky
from sources.testing.mastodon import FakeMastodon
from sources.testing.x import FakeX


@dataclass
class MemoryStore:
    """Pages applied as the pipeline applies them: items and cursor together, no duplicates."""

    cursors: dict[str, dict[str, Cursor]] = field(default_factory=dict)
    items: dict[str, Fetched] = field(default_factory=dict)
    duplicates: int = 0
    pages: int = 0

    def cursors_for(self, account_key: str) -> dict[str, Cursor]:
        """The stored cursors of one account key, by stream (a copy)."""
        return dict(self.cursors.get(account_key, {}))

    def apply(self, page: Page) -> None:
        """Store one page whole."""
        self.pages += 1
        for fetched in page.items:
            if fetched.item.key in self.items:
                self.duplicates += 1
            else:
                self.items[fetched.item.key] = fetched
        if page.cursor is not None:
            self.cursors.setdefault(page.account_key, {})[page.cursor.stream] = page.cursor

    def run(self, pages: Iterator[Page], max_pages: int | None = None) -> list[Page]:
        """Apply pages (at most ``max_pages``, as if the process died after them)."""
        seen: list[Page] = []
        for page in pages:
            self.apply(page)
            seen.append(page)
            if max_pages is not None and len(seen) >= max_pages:
                break
        return seen

    def fetch(self, source: Source, account: Account, max_pages: int | None = None) -> list[Page]:
        """One ``fetch`` of ``account`` from its stored cursors (``fetch_feed`` for feeds)."""
        if isinstance(source, FeedSource):
            return self.run(source.fetch_feed(self.cursors_for("feed")), max_pages)
        return self.run(source.fetch(account, self.cursors_for(account.key)), max_pages)

    def reverse(
        self, source: Any, targets: list[str], watched: list[Account], max_pages: int | None = None
    ) -> list[Page]:
        """One ``fetch_reverse`` from the stored reverse cursors."""
        keys = {t: f"reverse:{source.platform}:{t}" for t in targets}
        cursors: Mapping[str, Mapping[str, Cursor]] = {k: self.cursors_for(k) for k in keys.values()}
        return self.run(source.fetch_reverse(targets, watched, cursors), max_pages)


def roster_account(platform: str, handle: str, account_id: str = "asn-001") -> Account:
    """A monitored account as the roster would give it."""
    return Account(account_id, "Budi Santoso", "198501012010011001", "Kemenkeu", "32", platform, handle)


@dataclass
class ContractCase:
    """One connector, its fake platform, a monitored account and a way to add activity."""

    name: str
    source: Source
    account: Account
    add_activity: Callable[[int], None]  # n more items for the account
    item_ids_in_raw: bool = True  # each item's id appears in its raw body
    over_http: bool = True  # raw responses carry an HTTP status and an http(s) URL
    stable_ids: bool = True  # items carry the account's stable platform id (actor_id)

    @property
    def page_key(self) -> str:
        """The ``account_key`` its pages carry: the account's, or ``feed`` for feed sources."""
        return "feed" if isinstance(self.source, FeedSource) else self.account.key


def fast(source: Any) -> Any:
    """Make a connector's waits instant (retries and rate limits sleep for nothing)."""
    http = getattr(source, "http", None)
    if http is not None:
        http.sleep = lambda seconds: None
    for reader in getattr(source, "readers", {}).values():  # Mastodon: one client per instance
        reader.http.sleep = lambda seconds: None
    return source


@contextmanager
def bluesky_case() -> Iterator[ContractCase]:
    """Bluesky against ``FakeBluesky``, with no AppView (the getRecord path)."""
    with FakeBluesky() as fake:
        did = fake.account("budi.test")
        cand = fake.account("paslon1.test")
        target = fake.post(cand, "Coblos nomor 1!")
        raw = {
            "type": "bluesky",
            "resolver_url": fake.url,
            "plc_url": fake.url,
            "appview_url": "",
            "page_size": 3,
        }
        source = fast(build_source("bsky", raw, SourceContext(), "test.toml"))

        def add(n: int) -> None:
            for i in range(n):
                if i % 3 == 0:
                    fake.post(did, f"post {i}")
                elif i % 3 == 1:
                    fake.like(did, target)
                else:
                    fake.repost(did, target)

        add(4)
        yield ContractCase("bluesky", source, roster_account("bluesky", "budi.test"), add)


@contextmanager
def mastodon_case() -> Iterator[ContractCase]:
    """Mastodon against ``FakeMastodon``."""
    with FakeMastodon() as fake:
        aid = fake.account("budi")
        cand = fake.account("paslon1")
        target = fake.status(cand, "<p>Coblos nomor 1!</p>")
        raw = {"type": "mastodon", "base_url": fake.url, "domain": fake.domain, "page_size": 3}
        source = fast(build_source("masto", raw, SourceContext(), "test.toml"))

        def add(n: int) -> None:
            for i in range(n):
                if i % 3 == 2:
                    fake.status(aid, "", boost=target)
                else:
                    fake.status(aid, f"<p>status {i}</p>", reply_to=target if i % 3 else None)

        add(4)
        yield ContractCase("mastodon", source, roster_account("mastodon", "budi@mastodon.test"), add)


@contextmanager
def mastodon_instance_case() -> Iterator[ContractCase]:
    """Mastodon reading an account of a listed instance other than the home one."""
    with FakeMastodon("kabar.example") as home, FakeMastodon("sunda.example") as fake:
        aid = fake.account("wawan")
        target = fake.status(fake.account("paslon1"), "<p>Coblos nomor 1!</p>")
        raw = {"type": "mastodon", "base_url": home.url, "domain": home.domain, "page_size": 3,
               "instances": {fake.domain: {"base_url": fake.url}}}
        source = fast(build_source("masto", raw, SourceContext(), "test.toml"))

        def add(n: int) -> None:
            for i in range(n):
                kw = [{}, {"reply_to": target}, {"boost": target}][i % 3]
                fake.status(aid, f"<p>status {i}</p>" if i % 3 != 2 else "", **kw)

        add(4)
        # Its item ids are "<domain>/<status id>": the body has the bare id only.
        yield ContractCase("mastodon-instance", source, roster_account("mastodon", "wawan@sunda.example"),
                           add, item_ids_in_raw=False)


@contextmanager
def x_case() -> Iterator[ContractCase]:
    """X against ``FakeX``."""
    with FakeX() as fake:
        uid = fake.user("budi_asn")
        cand = fake.user("paslon1")
        target = fake.tweet(cand, "Coblos nomor 1!")
        raw = {"type": "x", "base_url": fake.url, "page_size": 5}
        ctx = SourceContext(env={"X_BEARER_TOKEN": fake.token})
        source = fast(build_source("x", raw, ctx, "test.toml"))

        def add(n: int) -> None:
            for i in range(n):
                kw = [{}, {"reply_to": target}, {"retweet": target}, {"quote": target}][i % 4]
                fake.tweet(uid, f"tweet {i}", **kw)

        add(4)
        yield ContractCase("x", source, roster_account("x", "budi_asn"), add)


@contextmanager
def file_case() -> Iterator[ContractCase]:
    """The file source over a JSONL file in a temporary folder; activity is appended lines."""
    import json
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "items.jsonl"
        path.write_text("", encoding="utf-8")
        count = [0]

        def add(n: int) -> None:
            with path.open("a", encoding="utf-8") as out:
                for _ in range(n):
                    count[0] += 1
                    i = count[0]
                    line: dict[str, Any] = {
                        "platform": "bluesky",
                        "id": f"item-{i}",
                        "actor": "budi.test",
                        "created_at": f"2024-09-01T10:{i % 60:02d}:00+07:00",
                        "text": f"teks {i}",
                        "kind": "post" if i % 2 else "like",
                    }
                    if i % 2 == 0:
                        line["subject"] = {"id": "cand-post", "author": "paslon1.test", "text": "Coblos 1"}
                    out.write(json.dumps(line) + "\n")

        add(4)
        raw = {"type": "file", "paths": [str(path)], "page_size": 3}
        source = build_source("file", raw, SourceContext(base_dir=tmp), "test.toml")
        yield ContractCase(
            "file",
            source,
            roster_account("bluesky", "budi.test"),
            add,
            over_http=False,
            stable_ids=False,
        )


CaseFactory = Callable[[], AbstractContextManager[ContractCase]]
