"""Desk benchmark: the queue page with filters and the flag page over a store of 100,000 flags.

``python -m bench.desk [--flags 100000] [--requests 30]``: builds a synthetic
store (``storage.bulk``: 2 items per flag, 70 % of flags reviewed), starts
``asn-monitor desk`` in its own process on 127.0.0.1, signs in and times full
HTTP round trips (session check, query, rendering) from a client process.
Prints median and p95 per page. Near-duplicate grouping is off here: it
embeds every pending text on its first call, which is not a page's cost.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from monitor.users import UserService
from storage.bulk import generate_audit_data
from storage.desk import bench_evidence
from storage.store import Store

PASSWORD = "bangku-uji-desk-2024"  # noqa: S105  (a synthetic benchmark account)
QUEUE_URLS = (
    "/",
    "/?kind=post&min_score=0.5",
    "/?region=13&since=2029-09-15&until=2029-11-15",
    "/?q=coblos&status=any&page=3",
    "/?agency=agency-7&target=cand-3&status=any",
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on at the moment of asking."""
    # The test helpers (monitor.testing) sit above the CLI, which runs this bench: not imported here.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def csrf_of(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    if found is None:
        raise RuntimeError("no CSRF token on the login page")
    return found.group(1)


def _store(folder: Path, flags: int) -> tuple[Path, list[int]]:
    db_path = folder / "data" / "bench.duckdb"
    db_path.parent.mkdir(parents=True)
    store = Store(db_path, lock_timeout=30)
    generate_audit_data(store.db, flags * 2, flag_rate=0.5)
    sample = list(range(1, flags + 1, max(1, flags // 50)))[:50]
    bench_evidence(store.db, sample)
    UserService(store.db).add("bench", "Bench Admin", "admin", PASSWORD)
    settings = folder / "config" / "asn-monitor.toml"
    settings.parent.mkdir()
    settings.write_text(f'[storage]\npath = "{db_path}"\n\n[review]\nnear_duplicates = false\n'
                        f'evidence_dir = "{folder / "evidence"}"\nchromium = ""\n', encoding="utf-8")
    return settings, sample


def _time(client: httpx.Client, urls: list[str]) -> list[float]:
    out = []
    for url in urls:
        started = time.perf_counter()
        resp = client.get(url)
        out.append((time.perf_counter() - started) * 1000)
        if resp.status_code != 200:
            raise SystemExit(f"{url}: HTTP {resp.status_code}")
    return out


def _summary(name: str, ms: list[float], budget: float) -> dict[str, object]:
    p95 = statistics.quantiles(ms, n=20)[-1] if len(ms) >= 20 else max(ms)
    return {"page": name, "requests": len(ms), "median_ms": round(statistics.median(ms), 1),
            "p95_ms": round(p95, 1), "budget_ms": budget, "within": p95 <= budget}


def main(argv: list[str] | None = None) -> int:
    """Build, serve, time; print one JSON report."""
    parser = argparse.ArgumentParser(prog="python -m bench.desk", description=__doc__)
    parser.add_argument("--flags", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="asn-bench-desk-") as tmp:
        started = time.perf_counter()
        settings, sample = _store(Path(tmp), args.flags)
        built = time.perf_counter() - started
        port = free_port()
        exe = Path(sys.executable).with_name("asn-monitor")
        server = subprocess.Popen([str(exe), "--config", str(settings), "desk", "--port", str(port),
                                   "--no-access-log"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env={**os.environ, "ASN_MONITOR_DESK_SECRET": "bench-secret-" + tmp})
        try:
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
            deadline = time.monotonic() + 60
            while True:
                try:
                    token = csrf_of(client.get("/login").text)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            client.post("/login", data={"csrf": token, "username": "bench", "password": PASSWORD})
            _time(client, [*QUEUE_URLS, f"/flag/{sample[0]}"])  # warm caches and the pool
            n = args.requests
            urls = [QUEUE_URLS[i % len(QUEUE_URLS)] for i in range(n)]
            queue = _time(client, urls)
            flag = _time(client, [f"/flag/{sample[i % len(sample)]}" for i in range(n)])
        finally:
            server.terminate()
            server.wait(timeout=30)
    per_url = {u: round(statistics.median([ms for v, ms in zip(urls, queue, strict=True) if v == u]), 1)
               for u in QUEUE_URLS}
    report = {"flags": args.flags, "store_build_s": round(built, 1), "cpus": os.cpu_count(),
              "load_average": [round(x, 2) for x in os.getloadavg()],
              "results": [_summary("queue with filters", queue, 300.0), _summary("flag page", flag, 500.0)],
              "queue_median_ms_by_url": per_url}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
