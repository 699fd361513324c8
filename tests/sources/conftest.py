"""Fixtures for the connector tests: the real Bluesky PDS peer (session scope).

See ``sources.testing.peer``: installed once into a cache folder (2-3 minutes the first
time), started on free ports with its own state, stopped at the end of the session.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sources.testing.peer import Peer, PeerError, PeerToolsMissing, running_peer


@pytest.fixture(scope="session")
def bsky_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    """A real PDS and PLC directory on 127.0.0.1, for this test session only."""
    try:
        with running_peer(tmp_path_factory.mktemp("bsky-peer")) as peer:
            yield peer
    except PeerToolsMissing as exc:
        pytest.skip(str(exc))
    except PeerError as exc:
        pytest.fail(str(exc))
