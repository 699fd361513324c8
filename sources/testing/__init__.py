"""Local fake platform servers and helpers for tests (other rooms' tests may use them).

Real HTTP servers on 127.0.0.1 (``http.server.ThreadingHTTPServer`` in a thread) that answer
in the documented shapes: the AT Protocol lexicons, the Mastodon API documentation and the
X API v2 reference. ``FakeServer.fail`` scripts faults (429, 500, hangs, malformed bodies).
"""

from sources.testing.bluesky import FakeBluesky
from sources.testing.mastodon import FakeMastodon
from sources.testing.server import FakeServer, Reply, Request, json_reply, tid, xrpc_error
from sources.testing.x import FakeX

__all__ = [
    "FakeBluesky",
    "FakeMastodon",
    "FakeServer",
    "FakeX",
    "Reply",
    "Request",
    "json_reply",
    "tid",
    "xrpc_error",
]
