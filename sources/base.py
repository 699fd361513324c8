"""The contract every connector follows, and the registry of connector types.

A connector is a small declarative class: a ``type_name``, a pydantic
``Settings`` model for its ``[sources.<name>]`` table, the ``streams`` it keeps
cursors for, and one generator method, ``fetch``. Connectors that can find
engagement only in reverse (Mastodon, X: who liked a candidate's post) also
implement ``fetch_reverse``.

Connectors are found through the ``asn_monitor.sources`` entry points (see
pyproject.toml), so a connector can live in another installed package; the pipeline
builds them with ``build_source``. Sources never import ``storage/``,
``classifiers/`` or the rest of ``monitor/``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from monitor.errors import ConfigError
from monitor.model import Account, Cursor, Page, Registry, Source


class SourceSettings(BaseModel):
    """Settings every source has; connectors extend this model."""

    model_config = ConfigDict(extra="forbid")

    type: str
    enabled: bool = True
    poll_interval: float = 900.0  # seconds between polls in the daemon

    def probe_urls(self) -> list[str]:
        """URLs ``check --online`` probes beside the table's own ``*url`` keys (derived defaults)."""
        return []


@dataclass(frozen=True)
class SourceContext:
    """What a connector is given when it is built.

    ``transport`` lets tests swap in ``httpx.MockTransport``; ``env`` is where
    token variables are read from (never the settings file).
    """

    env: Mapping[str, str] = field(default_factory=dict)
    transport: httpx.BaseTransport | None = None
    registries: tuple[Registry, ...] = ()
    base_dir: str = "."


@runtime_checkable
class ReverseSource(Protocol):
    """A source that finds likes and reposts from the engaged posts' side.

    ``fetch_reverse`` reads the candidates' and parties' own accounts (from the
    registries) and yields pages of like/repost items by the ``watched``
    accounts. Its pages use ``account_key = "reverse:<platform>:<target>"``.
    """

    def fetch_reverse(
        self,
        targets: Sequence[str],
        watched: Sequence[Account],
        cursors: Mapping[str, Mapping[str, Cursor]],
    ) -> Iterator[Page]:
        """Pages of engagement items by ``watched`` on ``targets``' posts."""
        ...


@runtime_checkable
class FeedSource(Protocol):
    """A source that is not read account by account (files, a firehose).

    Its pages use ``account_key = "feed"``; the pipeline maps each item to a
    monitored account by its actor.
    """

    def fetch_feed(self, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        """Pages of items from the stored cursors (by stream) onward."""
        ...


class SourceType(Protocol):
    """A connector class: how it is named, configured and built.

    Matched by the class object itself, so the members are plain attributes here.
    """

    type_name: str
    Settings: type[SourceSettings]

    @classmethod
    def from_settings(cls, name: str, settings: Any, ctx: SourceContext) -> Source:
        """Build the connector called ``name`` from its validated settings."""
        ...


ENTRY_POINT_GROUP = "asn_monitor.sources"


@cache
def source_types() -> dict[str, SourceType]:
    """The connector classes installed, by ``type_name`` (the ``asn_monitor.sources`` entry points)."""
    types: dict[str, SourceType] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        cls = point.load()
        types[cls.type_name] = cls
    if not types:
        raise ConfigError(ENTRY_POINT_GROUP, "no connectors are installed (run: pip install -e .)")
    return types


def platforms() -> frozenset[str]:
    """The platforms a roster may name: those of the installed connectors that read accounts.

    The file source reads items of any platform (its ``platform`` is ``"*"``), so it adds none.
    """
    named = (getattr(cls, "platform", None) for cls in source_types().values())
    return frozenset(p for p in named if isinstance(p, str) and p != "*")


def validate_source(name: str, raw: Mapping[str, Any], where: str) -> tuple[SourceType, SourceSettings]:
    """Validate ``[sources.<name>]`` (enabled or not); ``where`` names the settings file."""
    types = source_types()
    type_name = raw.get("type")
    if type_name not in types:
        known = ", ".join(sorted(types))
        raise ConfigError(f"{where} [sources.{name}].type",
                          f"unknown source type {type_name!r} (known: {known})")
    cls = types[str(type_name)]
    try:
        return cls, cls.Settings.model_validate(dict(raw))
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        raise ConfigError(f"{where} [sources.{name}].{key}", msg) from None


def build_source(name: str, raw: Mapping[str, Any], ctx: SourceContext, where: str) -> Source:
    """Validate ``[sources.<name>]`` and build its connector."""
    cls, settings = validate_source(name, raw, where)
    return cls.from_settings(name, settings, ctx)
