"""``asn-monitor check``, the checks before ``run``, sources that fail every request, crashes."""

from __future__ import annotations

import http.server
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.testing import free_port, invoke, smtp_server, write_settings

MATCHER = {"classifier": {"model": "matcher"}, "digest": {"enabled": False}}


def _cli(path: Path, *args: str) -> Any:
    return invoke(["--config", str(path), *args])


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# The instances of the roster's and registries' Mastodon handles besides the home kabar.example.
OTHER_INSTANCES = ("sunda.example", "kampanye.example", "pkb.example", "gerindra.example", "pks.example")


def _dead_mastodon(config_dir: Path, **more: Any) -> Path:
    """Settings whose only source is Mastodon on instances nothing answers for."""
    dead = f"http://127.0.0.1:{free_port()}"
    source = {"type": "mastodon", "base_url": dead, "domain": "kabar.example",
              "instances": {d: {"base_url": dead} for d in OTHER_INSTANCES},
              "max_attempts": 1, "timeout": 2, **more}
    return write_settings(config_dir, sources={"kabar": source}, extra=MATCHER)


def test_every_settings_error_at_once_with_did_you_mean(config_dir: Path) -> None:
    path = write_settings(config_dir, extra={
        "daemon": {"heartbeat_intervall": 60, "log_level": "LOUD"},
        "digest": {"retry_interval": "soon"},
    }, sources={"sample": {"type": "file", "paths": ["samples/items.jsonl"],
                           "poll_intervall": 900}})
    done = _cli(path, "check", "--json")
    assert done.exit_code == 2
    problems = {p["where"].split(": ", 1)[1]: p["what"] for p in done.json()["problems"]}
    assert "did you mean 'heartbeat_interval'" in problems["daemon.heartbeat_intervall"]
    assert "daemon.log_level" in problems
    assert "not a duration" in problems["digest.retry_interval"]
    # Every command that loads the settings reports all of them, not the first only.
    status = _cli(path, "status")
    assert status.exit_code == 2 and "3 problems" in status.stderr


def test_source_keys_checked_with_suggestions(config_dir: Path) -> None:
    path = write_settings(config_dir, sources={
        "sample": {"type": "file", "paths": ["samples/items.jsonl"]},
        "kabar": {"type": "mastodon", "enabled": False, "base_url": "https://kabar.example",
                  "page_sise": 40}})
    done = _cli(path, "check")
    assert done.exit_code == 2
    assert "[sources.kabar].page_sise: unknown key (did you mean 'page_size'?)" in done.stdout


def test_mastodon_instances_checked(config_dir: Path) -> None:
    path = write_settings(config_dir, sources={
        "sample": {"type": "file", "paths": ["samples/items.jsonl"]},
        "kabar": {"type": "mastodon", "base_url": "https://kabar.example",
                  "instances": {"sunda.example": {"tokn_env": "SUNDA_TOKEN"}, "Bad Domain": {}}}})
    done = _cli(path, "check")
    assert done.exit_code == 2
    assert ("[sources.kabar].instances.sunda.example.tokn_env: unknown key (did you mean 'token_env'?)"
            in done.stdout)
    assert "[sources.kabar].instances.Bad Domain.[key]: 'Bad Domain' is not an account domain" in done.stdout
    bad_url = write_settings(config_dir, name="url.toml", sources={
        "sample": {"type": "file", "paths": ["samples/items.jsonl"]},
        "kabar": {"type": "mastodon", "base_url": "https://kabar.example",
                  "instances": {"sunda.example": {"base_url": "ftp://sunda.example"}}}})
    done = _cli(bad_url, "check")
    assert done.exit_code == 2
    assert ("[sources.kabar].instances.sunda.example.base_url: 'ftp://sunda.example' is not an http:// "
            "or https:// URL") in done.stdout


def test_intervals_accept_seconds_or_units(config_dir: Path) -> None:
    path = write_settings(config_dir, extra={**MATCHER, "daemon": {"heartbeat_interval": "2m"}},
                          sources={"sample": {"type": "file", "paths": ["samples/items.jsonl"],
                                              "poll_interval": "15m"}})
    assert _cli(path, "check").exit_code == 0
    from monitor.settings import load

    settings = load(path)
    assert settings.sources["sample"]["poll_interval"] == 900.0
    assert settings.daemon.heartbeat_interval == 120.0
    bad = write_settings(config_dir, name="bad.toml",
                         sources={"sample": {"type": "file", "paths": ["samples/items.jsonl"],
                                             "poll_interval": "15 minutes"}})
    done = _cli(bad, "registry", "check")  # refused by every command, not only by `run`
    assert done.exit_code == 2 and "poll_interval" in done.stderr


def test_bad_url_refused_before_any_request(config_dir: Path) -> None:
    path = _dead_mastodon(config_dir)
    _edit(path, 'base_url = "http://', 'base_url = "htps://')
    done = _cli(path, "check")
    assert done.exit_code == 2
    assert "[sources.kabar].base_url" in done.stdout and "not an http:// or https:// URL" in done.stdout
    run = _cli(path, "run", "--once")
    assert run.exit_code == 2 and "base_url" in run.stderr
    assert not (config_dir.parent / "data" / "test.duckdb").exists()  # nothing started


def test_unwritable_and_input_problems_listed_together(config_dir: Path) -> None:
    path = write_settings(config_dir, extra={
        **MATCHER, "review": {"evidence_dir": "samples/README.md/evidence"}})  # a file, not a folder
    (config_dir / "roster.csv").write_text("account_id,name\nx,y\n", encoding="utf-8")
    done = _cli(path, "check", "--json")
    assert done.exit_code == 2
    wheres = " ".join(p["where"] for p in done.json()["problems"])
    assert "review.evidence_dir" in wheres and "roster.csv" in wheres


def test_source_failing_every_request_exits_3_and_shows_in_status(config_dir: Path) -> None:
    path = _dead_mastodon(config_dir)
    done = _cli(path, "run", "--once")
    assert done.exit_code == 3, done.stderr
    assert "every request failed for source kabar" in done.stderr
    status = _cli(path, "status", "--json")
    assert any(e["source"] == "kabar" for e in status.json()["last_errors"])


def test_daemon_poll_failing_every_request_is_a_failed_job(config_dir: Path) -> None:
    from monitor.app import build_pipeline
    from monitor.daemon import Daemon
    from monitor.settings import load

    path = _dead_mastodon(config_dir)
    settings = load(path)
    pipeline, _ = build_pipeline(settings)
    daemon = Daemon(settings, pipeline, threading.Event(), env={})
    daemon.state.register_jobs([("poll:kabar", "poll:kabar", "every 900s", None)])
    daemon._tracked("poll:kabar", lambda: daemon._poll("kabar"))()
    jobs = _cli(path, "status", "--json").json()["daemon"]["jobs"]
    (job,) = [j for j in jobs if j["job_id"] == "poll:kabar"]
    assert job["last_status"] == "failed" and "every request failed" in job["last_error"]
    assert "failed" in _cli(path, "status").stdout


@pytest.fixture
def keep_signals() -> Iterator[None]:
    """``run`` installs SIGTERM/SIGINT handlers; put pytest's back afterwards."""
    import logging

    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    handlers = list(logging.getLogger().handlers)
    yield
    for s, h in saved.items():
        signal.signal(s, h)
    logging.getLogger().handlers[:] = handlers


def test_daemon_crash_logged_with_traceback_exit_70_and_in_status(
        config_dir: Path, monkeypatch: pytest.MonkeyPatch, keep_signals: None,
        capfd: pytest.CaptureFixture[str]) -> None:
    import monitor.daemon

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(monitor.daemon, "run_daemon", broken)
    path = write_settings(config_dir, extra=MATCHER)
    done = _cli(path, "run")
    assert done.exit_code == 70
    logged = capfd.readouterr().err + done.stderr
    assert "daemon_crashed" in logged and "Traceback" in logged and "disk on fire" in logged
    for _ in range(2):  # a crash loop: each start adds one
        assert _cli(path, "run").exit_code == 70
    status = _cli(path, "status")
    assert "CRASHED 3 times" in status.stdout and "disk on fire" in status.stdout
    assert _cli(path, "status", "--json").json()["daemon"]["crashes"]["count"] == 3


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


def test_online_checks_hosts_smtp_and_chromium(config_dir: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    class Handler:
        async def handle_DATA(self, *args: Any) -> str:
            return "250 OK"

    try:
        with smtp_server(Handler()) as port:
            dead = free_port()
            path = write_settings(config_dir, extra={
                "classifier": {"model": "matcher"},
                "digest": {"recipients": ["ketua@bawaslu.example"]},
                "digest.smtp": {"host": "127.0.0.1", "port": port, "security": "none"},
                "review": {"chromium": "chromium"}}, sources={
                "up": {"type": "mastodon", "base_url": f"http://127.0.0.1:{server.server_port}"},
                "down": {"type": "mastodon", "base_url": f"http://127.0.0.1:{dead}"}})
            done = _cli(path, "check", "--online", "--json")
    finally:
        server.shutdown()
    assert not done.json()["problems"], done.stdout
    probes = {p["what"]: p for p in done.json()["probes"]}
    assert done.exit_code == 3
    up = probes[f"sources.up: http://127.0.0.1:{server.server_port}/"]
    assert up["ok"] and up["detail"] == "HTTP 200"
    assert not probes[f"sources.down: http://127.0.0.1:{dead}/"]["ok"]
    assert probes[f"smtp 127.0.0.1:{port}"]["ok"]
    assert probes["chromium chromium"]["ok"], probes["chromium chromium"]["detail"]


def test_digest_region_that_does_not_exist(config_dir: Path) -> None:
    path = write_settings(config_dir, extra={**MATCHER,
                                             "digest.by_region": {"3299": ["a@bawaslu.example"]}})
    done = _cli(path, "check")
    assert done.exit_code == 2 and "digest.by_region.3299: unknown region code" in done.stdout
