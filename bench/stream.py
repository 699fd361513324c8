"""Benchmark of the ``bluesky-stream`` source (``python -m bench.stream``).

``throughput``
    Filtering and decoding on one core: a stream of realistic frames, built from the 129
    frames recorded from the real PDS (``bench/data/firehose-sample.frames``) with each
    repo DID replaced by one of a large population and a fresh seq, of which 0.1 % belong
    to a 10,000-DID roster. Every frame goes through ``StreamReader.frame`` (the reader
    thread's whole work: DAG-CBOR decode, roster check, and for roster commits the CAR
    decode of the records). Goal: at least 5,000 events/s.
``latency``
    Like written on the real PDS peer -> its flag stored in DuckDB, through the real
    ``StreamJob`` (reader thread, batches, pipeline, classifier, evidence), while other
    accounts write posts as fast as they can. Reports p50 and p99; goal p99 under 2 s.
    Needs node and npm (the peer installs itself the first time).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import struct
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import libipld

from sources.bluesky_stream import BlueskyStreamSettings, BlueskyStreamSource, StreamReader

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "bench" / "data" / "firehose-sample.frames"


def recorded() -> list[bytes]:
    """The recorded frames."""
    data, out, i = SAMPLE.read_bytes(), [], 0
    while i < len(data):
        (n,) = struct.unpack(">I", data[i:i + 4])
        out.append(data[i + 4:i + 4 + n])
        i += 4 + n
    return out


def _did(n: int) -> str:
    return f"did:plc:{n:024x}"


def synthetic(count: int, roster_size: int, roster_share: float, seed: int = 16
              ) -> tuple[list[bytes], set[str]]:
    """``count`` frames re-addressed from the recording; ``roster_share`` of them by the roster."""
    rng = random.Random(seed)  # noqa: S311  (a reproducible workload, not a secret)
    templates = []
    for frame in recorded():
        header, body = libipld.decode_dag_cbor_multi(frame)
        if header.get("t") in ("#commit", "#identity", "#account"):
            templates.append((header, body))
    roster = {_did(n) for n in range(roster_size)}
    out = []
    for seq in range(1, count + 1):
        header, body = rng.choice(templates)
        mine = rng.random() < roster_share
        did = _did(rng.randrange(roster_size)) if mine else _did(roster_size + rng.randrange(5_000_000))
        body = dict(body, seq=seq)
        body["repo" if header["t"] == "#commit" else "did"] = did
        out.append(libipld.encode_dag_cbor(header) + libipld.encode_dag_cbor(body))
    return out, roster


def throughput(count: int, roster_size: int, share: float) -> dict[str, Any]:
    """Events/s of the reader's per-frame work on one thread."""
    frames, roster = synthetic(count, roster_size, share)
    settings = BlueskyStreamSettings.model_validate(
        {"type": "bluesky-stream", "stream_url": "ws://127.0.0.1:9"})
    source = BlueskyStreamSource("bench", settings, None)  # type: ignore[arg-type]
    reader = StreamReader(source, None, lambda: roster)
    kept = 0
    start = time.process_time()
    wall = time.perf_counter()
    for data in frames:
        ev = reader.frame(data)
        if ev is not None and ev.kind != "skip":
            kept += 1
        if ev is not None:
            with reader.events.mutex:  # drain: the bench measures decoding, not a consumer
                reader.events.queue.clear()
    cpu = time.process_time() - start
    wall = time.perf_counter() - wall
    return {"frames": count, "roster_dids": roster_size, "roster_share": share,
            "kept": kept, "bytes": sum(map(len, frames)), "cpu_s": round(cpu, 3),
            "wall_s": round(wall, 3), "events_per_s_cpu": round(count / cpu),
            "events_per_s_wall": round(count / wall)}


def _settings_file(cfg: Path, model_dir: Path, pds_url: str, plc_url: str) -> Path:
    """The bench's settings: the bundled inputs in ``cfg``, one stream source on the peer."""
    path = cfg / "asn-monitor.toml"
    path.write_text("\n".join([
        "[storage]", 'path = "../data/bench.duckdb"', "lock_timeout = 10", "",
        "[inputs]", 'roster = "roster.csv"', 'regions = "regions.csv"',
        'registries = ["registries/*.toml"]', "",
        "[classifier]", f"model_dir = {json.dumps(str(model_dir))}", "",
        "[sources.bsky]", 'type = "bluesky-stream"', f"stream_url = {json.dumps(pds_url)}",
        f"resolver_url = {json.dumps(pds_url)}", f"plc_url = {json.dumps(plc_url)}",
        'appview_url = ""', "timeout = 5", "batch_seconds = 0.25", ""]), encoding="utf-8")
    return path


def latency(samples: int, load_accounts: int) -> dict[str, Any]:
    """Like written -> flag stored, under a write load by accounts not on the roster."""
    import httpx

    from monitor.app import build_pipeline
    from monitor.settings import load
    from monitor.stream import StreamJob
    from sources.testing.peer import running_peer

    home = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    try:
        (home / "peer").mkdir()
        with running_peer(home / "peer") as peer:
            names = [f"muatan{n}" for n in range(load_accounts)]
            seeded = peer.seed({"accounts": [{"name": "rina", "handle": "rina-bench.test"},
                                             {"name": "asih", "handle": "asih-bench.test"},
                                             *({"name": n, "handle": f"{n}.test"} for n in names)],
                                "actions": [{"as": "asih", "key": "camp", "post":
                                             "Ayo coblos nomor 1 tanggal 27 November! #JabarAsih"}]},
                               "bench")
            cfg = home / "config"
            shutil.copytree(ROOT / "config", cfg)
            lines = (cfg / "roster.csv").read_text(encoding="utf-8").splitlines()
            rina = next(ln for ln in lines if ln.startswith("asn-001,") and ",bluesky," in ln)
            kept = [ln for ln in lines[1:] if ",bluesky," not in ln]
            (cfg / "roster.csv").write_text("\n".join(
                [lines[0], *kept, rina.rsplit(",", 1)[0] + ",rina-bench.test"]) + "\n")
            reg = cfg / "registries" / "pilgub-jabar-2024.toml"
            reg.write_text(reg.read_text().replace("asih-jabar.bsky.social", "asih-bench.test"))
            settings_path = _settings_file(cfg, home / "model", peer.pds_url, peer.plc_url)
            pipeline, _ = build_pipeline(load(settings_path))
            source = pipeline.sources[0]
            assert isinstance(source, BlueskyStreamSource)
            stop = threading.Event()
            job = StreamJob(pipeline, source, stop)
            runner = threading.Thread(target=job.run, daemon=True)
            runner.start()
            deadline = time.monotonic() + 120
            while not (job.reader and job.reader.connected) and time.monotonic() < deadline:
                time.sleep(0.1)
            http = httpx.Client(base_url=peer.pds_url, timeout=10)

            def session(name: str) -> tuple[str, str]:
                acc = seeded["accounts"][name]
                r = http.post("/xrpc/com.atproto.server.createSession",
                              json={"identifier": acc["did"], "password": acc["password"]})
                return acc["did"], r.json()["accessJwt"]

            camp = seeded["records"]["camp"]
            written = [0]
            done = threading.Event()

            def flood(name: str) -> None:
                did, jwt = session(name)
                client = httpx.Client(base_url=peer.pds_url, timeout=10)
                n = 0
                while not done.is_set():
                    client.post("/xrpc/com.atproto.repo.createRecord", headers={
                        "authorization": f"Bearer {jwt}"}, json={
                        "repo": did, "collection": "app.bsky.feed.post", "record": {
                            "$type": "app.bsky.feed.post", "text": f"muatan {n}",
                            "createdAt": _now()}})
                    n += 1
                    written[0] += 1

            floods = [threading.Thread(target=flood, args=(n,), daemon=True) for n in names]
            for t in floods:
                t.start()
            did, jwt = session("rina")
            lat: list[float] = []
            load_start, load_count = time.monotonic(), written[0]
            for _ in range(samples):
                r = http.post("/xrpc/com.atproto.repo.createRecord", headers={
                    "authorization": f"Bearer {jwt}"}, json={
                    "repo": did, "collection": "app.bsky.feed.like", "record": {
                        "$type": "app.bsky.feed.like", "createdAt": _now(),
                        "subject": {"uri": camp["uri"], "cid": camp["cid"]}}})
                t0 = time.monotonic()
                key = f"bluesky:{r.json()['uri']}"
                while time.monotonic() - t0 < 30:
                    with pipeline.store.db.connect() as con:
                        hit = con.execute("SELECT 1 FROM flags WHERE item_key = ?", [key]).fetchone()
                    if hit:
                        lat.append(time.monotonic() - t0)
                        break
                    time.sleep(0.01)
                time.sleep(random.uniform(0.1, 0.4))  # noqa: S311
            load_rate = (written[0] - load_count) / (time.monotonic() - load_start)
            done.set()
            stop.set()
            runner.join(30)
            for t in floods:
                t.join(15)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    lat.sort()
    return {"samples": samples, "flagged": len(lat), "load_writes_per_s": round(load_rate, 1),
            "batch_seconds": 0.25, "p50_s": round(statistics.median(lat), 3) if lat else None,
            "p99_s": round(lat[min(len(lat) - 1, int(0.99 * len(lat)))], 3) if lat else None,
            "max_s": round(lat[-1], 3) if lat else None}


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def main(argv: list[str] | None = None) -> None:
    """Run one benchmark and print its figures as JSON."""
    ap = argparse.ArgumentParser(prog="python -m bench.stream")
    sub = ap.add_subparsers(dest="what", required=True)
    t = sub.add_parser("throughput")
    t.add_argument("--frames", type=int, default=200_000)
    t.add_argument("--roster", type=int, default=10_000)
    t.add_argument("--share", type=float, default=0.001)
    lat = sub.add_parser("latency")
    lat.add_argument("--samples", type=int, default=60)
    lat.add_argument("--load-accounts", type=int, default=4)
    a = ap.parse_args(argv)
    if a.what == "throughput":
        print(json.dumps(throughput(a.frames, a.roster, a.share), indent=2))
    else:
        print(json.dumps(latency(a.samples, a.load_accounts), indent=2))


if __name__ == "__main__":
    main()
