"""Test helpers shipped with asn-monitor: run the CLI in-process, write a settings file.

Other rooms' tests (and plugin authors) use these rather than re-inventing them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODEL_DIR_ENV = "ASN_MONITOR_TEST_MODEL_DIR"


@dataclass
class CliResult:
    """Exit code and captured output of one CLI invocation."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """stdout parsed as JSON."""
        return json.loads(self.stdout)


def invoke(argv: Sequence[str], stdin: str | None = None) -> CliResult:
    """Run ``asn-monitor argv`` in this process through ``monitor.cli.main``."""
    from monitor.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin or "")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
    finally:
        sys.stdin = old_stdin
    return CliResult(code, out.getvalue(), err.getvalue())


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def write_settings(config_dir: Path, *, sources: Mapping[str, Mapping[str, Any]] | None = None,
                   extra: Mapping[str, Mapping[str, Any]] | None = None,
                   name: str = "asn-monitor.toml") -> Path:
    """Write a settings file into ``config_dir`` whose database lives beside it.

    By default it has one ``file`` source over ``samples/items.jsonl``.
    """
    sections: dict[str, Mapping[str, Any]] = {
        "storage": {"path": "../data/test.duckdb", "lock_timeout": 10},
        "inputs": {"roster": "roster.csv", "regions": "regions.csv",
                   "registries": ["registries/*.toml"]},
        # One trained default model shared by a whole test session (see tests/conftest.py).
        "classifier": {"model_dir": os.environ.get(MODEL_DIR_ENV, "../data/models/linear")},
    }
    sections.update(extra or {})
    lines: list[str] = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in values.items())
        lines.append("")
    for name_, table in (sources or {"sample": {"type": "file",
                                                 "paths": ["samples/items.jsonl"]}}).items():
        lines.append(f"[sources.{name_}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in table.items())
        lines.append("")
    path = config_dir / name
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on at the moment of asking."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def smtp_server(handler: Any, port: int | None = None, **options: Any) -> Iterator[int]:
    """A real SMTP server (aiosmtpd, the test extra) on 127.0.0.1 serving ``handler``.

    Yields its port and stops it on exit; ``options`` go to aiosmtpd's
    ``Controller`` (TLS context, authenticator, ...).
    """
    from aiosmtpd.controller import Controller

    controller = Controller(handler, hostname="127.0.0.1", port=port or free_port(), **options)
    controller.start()
    try:
        yield int(controller.port)
    finally:
        controller.stop()


@contextlib.contextmanager
def allow_loopback_for_tests() -> Iterator[None]:
    """Let image downloads reach 127.0.0.1 / ::1 while inside (servers started by a test).

    Deliberately not a setting: no settings file can open loopback to URLs taken from posts.
    """
    from monitor.safe_fetch import _LOOPBACK_FOR_TESTS

    _LOOPBACK_FOR_TESTS.set()
    try:
        yield
    finally:
        _LOOPBACK_FOR_TESTS.clear()
