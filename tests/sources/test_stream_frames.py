"""Decoding ``subscribeRepos`` frames: recorded real frames, and malformed ones (hypothesis).

``bench/data/firehose-sample.frames`` holds 129 frames recorded from the real PDS peer
(six accounts posting, liking, reposting, replying, un-liking, one handle change), each
prefixed with its length (4 bytes, big-endian).
"""

from __future__ import annotations

import contextlib
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.server import ServerConnection, serve

from monitor.app import build_pipeline
from monitor.model import Cursor
from monitor.settings import load
from monitor.stream import StreamJob
from monitor.testing import free_port, write_settings
from sources.bluesky_stream import BadFrame, BlueskyStreamSource, StreamRefused, decode_frame
from sources.common import Identity
from storage.store import PageRecord

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "bench" / "data" / "firehose-sample.frames"
ANDI = "did:plc:w36hsep3bbc5vpzq3czgn5rr"  # andi-rec2.test in the recording


def frames() -> list[bytes]:
    data, out, i = SAMPLE.read_bytes(), [], 0
    while i < len(data):
        (n,) = struct.unpack(">I", data[i:i + 4])
        out.append(data[i + 4:i + 4 + n])
        i += 4 + n
    return out


FRAMES = frames()


def test_recorded_frames_decode_for_the_roster_only() -> None:
    everyone = {decode_frame(f, set()).seq for f in FRAMES}
    assert len(everyone) == len(FRAMES)  # every frame has its own seq, strangers included
    kept = [decode_frame(f, {ANDI}) for f in FRAMES]
    commits = [e for e in kept if e.kind == "commit"]
    assert commits and all(e.did == ANDI and e.raw for e in commits)
    ops = [op for e in commits for op in e.ops]
    assert {op.collection for op in ops} == {"app.bsky.feed.post", "app.bsky.feed.like",
                                            "app.bsky.feed.repost"}
    post = next(op for op in ops if op.collection == "app.bsky.feed.post" and op.action == "create")
    assert post.record is not None and post.record["text"] and post.cid
    handles = [e.handle for e in kept if e.kind == "identity"]
    assert handles == ["andi-rec2.test", "andi-baru.test"]
    assert [e.kind for e in kept if e.did is None].count("skip") == len(FRAMES) - len(
        [e for e in kept if e.did])


def _mutate(frame: bytes, at: int, junk: bytes, cut: int) -> bytes:
    at %= max(1, len(frame))
    return (frame[:at] + junk + frame[at + len(junk):])[: max(0, len(frame) - cut)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.binary(max_size=300),
    st.builds(_mutate, st.sampled_from(FRAMES), st.integers(0, 10_000), st.binary(min_size=1,
              max_size=8), st.integers(0, 50)),
))
def test_malformed_frames_raise_a_typed_error_or_decode(data: bytes) -> None:
    try:
        ev = decode_frame(data, {ANDI}, where="fuzz")
    except (BadFrame, StreamRefused) as exc:
        assert exc.where == "fuzz" and exc.what
        return
    assert ev.kind in ("commit", "identity", "account", "info", "sync", "skip")


class Server:
    """A websocket endpoint on 127.0.0.1 serving recorded frames after the asked cursor."""

    def __init__(self, script: list[bytes | int]) -> None:
        self.script = script  # frames, and seqs after which to send the garbage that follows
        self.port = free_port()
        self.server = serve(self.handle, "127.0.0.1", self.port)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        cursor = int(parse_qs(urlparse(ws.request.path).query).get("cursor", ["0"])[0])
        for item in self.script:
            if isinstance(item, bytes) and (decode_frame(item, set()).seq or 0) > cursor:
                ws.send(item)
            elif isinstance(item, tuple):
                seq, junk = item
                if seq > cursor:
                    ws.send(junk)
        with contextlib.suppress(Exception):  # the client closed: the test is over
            ws.recv(timeout=30)


@pytest.fixture
def garbage_server() -> Iterator[tuple[Server, list[bytes]]]:
    junk = [b"", b"\xa2\x61t\x67#commit\x62op\x01", _mutate(FRAMES[60], 30, b"\xff\xff\xff", 0),
            FRAMES[70][:-40], b"\x00" * 64]
    script: list[Any] = []
    for n, frame in enumerate(FRAMES[30:], start=30):
        script.append(frame)
        if n % 20 == 0:
            script.append((decode_frame(frame, set()).seq, junk[(n // 20) % len(junk)]))
    server = Server(script)
    server.thread.start()
    yield server, junk
    server.server.shutdown()


def test_a_stream_with_malformed_frames_goes_on(config_dir: Path,
                                                garbage_server: tuple[Server, list[bytes]]) -> None:
    server, _ = garbage_server
    lines = (config_dir / "roster.csv").read_text(encoding="utf-8").splitlines()
    rina = next(ln for ln in lines if ln.startswith("asn-001,") and ",bluesky," in ln)
    kept = [ln for ln in lines[1:] if ",bluesky," not in ln]
    (config_dir / "roster.csv").write_text(
        "\n".join([lines[0], *kept, rina.rsplit(",", 1)[0] + ",andi-rec2.test"]) + "\n",
        encoding="utf-8")
    dead = f"http://127.0.0.1:{free_port()}"  # nothing is read over HTTP in this test
    settings_path = write_settings(config_dir, sources={"bsky": {
        "type": "bluesky-stream", "stream_url": f"ws://127.0.0.1:{server.port}",
        "resolver_url": dead, "plc_url": dead, "appview_url": "", "hydrate_subjects": False,
        "batch_seconds": 0.2, "timeout": 1}})
    pipeline, _ = build_pipeline(load(settings_path))
    store = pipeline.store
    run_id = store.begin_run("test")
    # Andi's DID was pinned by an earlier walk, and the stream was read up to seq 30.
    ident = Identity(ANDI, "andi-rec2.test", "andi-rec2.test")
    store.save_page(PageRecord(run_id, "bsky", "asn-001/bluesky", cursor=ident.cursor()))
    store.save_page(PageRecord(run_id, "bsky", "firehose", cursor=Cursor("seq", "30")))
    source = pipeline.sources[0]
    assert isinstance(source, BlueskyStreamSource)
    stop = threading.Event()
    job = StreamJob(pipeline, source, stop)
    thread = threading.Thread(target=job.run, daemon=True)
    thread.start()
    last = max(decode_frame(f, set()).seq or 0 for f in FRAMES)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and job.stored_seq != last:
        time.sleep(0.1)
    stop.set()
    thread.join(30)
    assert job.stored_seq == last, "the stream went on to its last frame"
    expected = {f"at://{ANDI}/{op.collection}/{op.rkey}"
                for f in FRAMES[30:] for ev in [decode_frame(f, {ANDI})] if ev.kind == "commit"
                for op in ev.ops if op.action == "create"}
    with store.db.connect() as con:
        items = {r[0] for r in con.execute("SELECT item_id FROM items").fetchall()}
        skipped = con.execute("SELECT message FROM run_errors WHERE error_type = 'skipped' "
                              "AND source = 'bsky'").fetchall()
    assert expected and expected <= items
    assert len(skipped) >= 4 and all("after seq" in m[0] for m in skipped)
    assert job.reader is not None and job.reader.bad_frames >= 4
