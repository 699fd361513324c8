"""``asn-monitor check``: every configuration problem at once, before anything starts.

Offline (``run`` and the daemon do this first): the settings file (types, unknown
keys with a suggestion), each source's keys and URLs, the paths the process must
write, and the region table, roster and registries. Online (``--online``): each
enabled source's hosts resolve and answer HTTP, the SMTP server accepts a
connection, Chromium starts.
"""

from __future__ import annotations

import os
import smtplib
import socket
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor.errors import AsnMonitorError, ConfigError, SourceError
from monitor.settings import Settings, describe_errors, parse

ONLINE_TIMEOUT = 5.0  # seconds per host, SMTP server or Chromium start


@dataclass(frozen=True)
class Problem:
    """One thing wrong: where (file and key) and what."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass(frozen=True)
class Probe:
    """One online check and how it went."""

    what: str
    ok: bool
    detail: str


def read_settings(path: Path) -> tuple[Settings | None, list[Problem]]:
    """The settings at ``path`` and every problem in the file itself."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(str(path), f"cannot read settings file: {exc}")]
    settings, problems = parse(text, path)
    return settings, [Problem(f"{path}: {k}", m) for k, m in problems]


def source_problems(settings: Settings) -> list[Problem]:
    """Each ``[sources.<name>]``: its type, its keys (all errors), an enabled one's URLs."""
    from sources.base import source_types

    types = source_types()
    out: list[Problem] = []
    for name, table in settings.sources.items():
        where = f"{settings.file} [sources.{name}]"
        cls = types.get(str(table.get("type")))
        if cls is None:
            out.append(Problem(f"{where}.type", f"unknown source type {table.get('type')!r} "
                                                f"(known: {', '.join(sorted(types))})"))
            continue
        from pydantic import ValidationError

        try:
            validated = cls.Settings.model_validate(dict(table))
        except ValidationError as exc:
            out.extend(Problem(f"{where}.{k}", m) for k, m in describe_errors(exc, cls.Settings))
            continue
        if validated.enabled:
            out.extend(Problem(f"{where}.{k}", m) for k, m in url_problems(validated.model_dump()))
    return out


def _urls(data: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    for key, value in data.items():
        if key.endswith("url") or key.endswith("urls"):
            values = value if isinstance(value, list) else [value]
            yield from ((key, v) for v in values if isinstance(v, str) and v)
        elif isinstance(value, Mapping):
            yield from ((f"{key}.{k}", v) for k, v in _urls(value))


def url_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Keys ending in ``url`` whose value is not an http(s) URL with a host."""
    out = []
    for key, url in _urls(data):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            out.append((key, f"{url!r} is not an http:// or https:// URL"))
        elif not parts.hostname:
            out.append((key, f"{url!r} has no host"))
    return out


def _writable(path: Path, *, is_dir: bool) -> str | None:
    """Why the process could not create or write ``path``, or ``None``."""
    target = path if is_dir else path.parent
    probe = target
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        how = "cannot write" if probe == target else f"cannot create it: {probe} is not writable"
        return f"{path}: {how} (set [storage] state_dir, or an absolute path in a writable folder)"
    if path.exists() and not os.access(path, os.W_OK):
        return f"{path}: not writable"
    return None


def path_problems(settings: Settings) -> list[Problem]:
    """Every state path the process writes must be writable (or creatable)."""
    out = []
    for key, path in settings.state_paths().items():
        if key == "classifier.model_dir" and (path / "meta.json").exists():
            continue  # trained already: only read
        why = _writable(path, is_dir=key not in ("storage.path", "daemon.heartbeat_file"))
        if why:
            out.append(Problem(f"{settings.file}: {key}", why))
    return out


def input_problems(settings: Settings) -> list[Problem]:
    """The region table, roster and registries the settings name."""
    from monitor.app import load_inputs

    try:
        inputs = load_inputs(settings)
    except ConfigError as exc:
        problems = getattr(exc, "problems", None)
        if problems:
            return [Problem(exc.where, p) for p in problems]
        return [Problem(exc.where, exc.what)]
    except AsnMonitorError as exc:
        return [Problem(f"{settings.file}: inputs", str(exc))]
    return [Problem(f"{settings.file}: digest.by_region.{code}", "unknown region code")
            for code in settings.digest.by_region if code not in inputs.regions]


def offline(settings: Settings) -> list[Problem]:
    """Every offline problem of loaded settings."""
    return [*source_problems(settings), *path_problems(settings), *input_problems(settings)]


def check_file(path: Path) -> tuple[Settings | None, list[Problem]]:
    """The settings at ``path`` and every offline problem found."""
    settings, problems = read_settings(path)
    if settings is None:
        return None, problems
    return settings, offline(settings)


def preflight(settings: Settings) -> None:
    """Raise ``ConfigError`` listing every offline problem (before ``run`` starts)."""
    problems = offline(settings)
    if len(problems) == 1:
        raise ConfigError(problems[0].where, problems[0].what)
    if problems:
        raise ConfigError(str(settings.file), f"{len(problems)} problems (asn-monitor check lists "
                          "them): " + "; ".join(str(p) for p in problems))


def _probe_http(url: str) -> Probe:
    import httpx

    host = urlsplit(url).hostname or ""
    try:
        socket.getaddrinfo(host, None)
    except OSError as exc:
        return Probe(url, False, f"host {host!r} does not resolve: {exc}")
    try:
        reply = httpx.get(url, timeout=ONLINE_TIMEOUT, follow_redirects=False)
    except httpx.HTTPError as exc:
        return Probe(url, False, f"no answer: {type(exc).__name__}: {exc}")
    return Probe(url, True, f"HTTP {reply.status_code}")


def _probe_smtp(settings: Settings) -> Probe:
    s = settings.digest.smtp
    what = f"smtp {s.host}:{s.port}"
    try:
        cls = smtplib.SMTP_SSL if s.security == "ssl" else smtplib.SMTP
        with cls(s.host, s.port, timeout=ONLINE_TIMEOUT) as conn:
            code, _ = conn.noop()
    except (OSError, smtplib.SMTPException) as exc:
        return Probe(what, False, f"{type(exc).__name__}: {exc}")
    return Probe(what, code == 250, f"NOOP {code}")


def _probe_chromium(settings: Settings) -> Probe:
    exe = settings.review.chromium
    try:
        done = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                               "about:blank"], capture_output=True, timeout=ONLINE_TIMEOUT * 6,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Probe(f"chromium {exe}", False, f"{type(exc).__name__}: {exc}")
    ok = done.returncode == 0 and b"<html" in done.stdout
    return Probe(f"chromium {exe}", ok, "renders a page" if ok else
                 f"exit {done.returncode}: {done.stderr.decode(errors='replace')[-200:]}")


def online(settings: Settings) -> list[Probe]:
    """Each enabled source's URLs, the SMTP server (if a digest is sent), Chromium (if set)."""
    from monitor.digest import audiences

    probes = []
    for name, table in settings.sources.items():
        if table.get("enabled", True) is False:
            continue
        seen = set()
        for url in [url for _key, url in _urls(table)] + _derived_urls(table):
            origin = urlsplit(url)._replace(path="/", query="", fragment="").geturl()
            if origin not in seen:
                seen.add(origin)
                p = _probe_http(origin)
                probes.append(Probe(f"sources.{name}: {p.what}", p.ok, p.detail))
    if settings.digest.enabled and audiences(settings.digest):
        probes.append(_probe_smtp(settings))
    if settings.review.chromium:
        probes.append(_probe_chromium(settings))
    return probes


def _derived_urls(table: Mapping[str, Any]) -> list[str]:
    """URLs a source reads that its table does not spell out (a Mastodon instance's default)."""
    from pydantic import ValidationError

    from sources.base import source_types

    cls = source_types().get(str(table.get("type")))
    try:
        return cls.Settings.model_validate(dict(table)).probe_urls() if cls else []
    except ValidationError:  # reported offline already
        return []


def failed_sources(stats: Sequence[Any]) -> list[str]:
    """Sources of a cycle whose every request failed (errors and not one page)."""
    return [s.source for s in stats if s.errors and s.pages == 0]


def raise_if_failed(stats: Sequence[Any]) -> None:
    """``SourceError`` (exit 3) when a source failed every request of the cycle."""
    failed = failed_sources(stats)
    if failed:
        details = "; ".join(f"{s.source}: {len(s.errors)} errors, first: {s.errors[0]}"
                            for s in stats if s.source in failed)
        raise SourceError(f"every request failed for source {', '.join(failed)} ({details})")
