"""Test helpers shipped with asn-monitor: run the CLI in-process, write a settings file, run a TSA.

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
    if isinstance(value, Mapping):  # an inline table, keys quoted (they may hold dots)
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items()) + "}"
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


@dataclass
class TsaServer:
    """A running RFC 3161 TSA (``tsa_server``): its URL, the CA bundle that trusts it, its folder."""

    url: str
    ca_bundle: Path
    folder: Path
    requests: list[bytes]


_TSA_CONFIG = """
[tsa]
default_tsa = tsa_config1

[tsa_config1]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
other_policies = 1.3.6.1.4.1.99999.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _openssl(*args: str, cwd: Path) -> bytes:
    import subprocess

    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, timeout=60, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {args[0]}: {proc.stderr.decode(errors='replace')[-500:]}")
    return proc.stdout


def make_tsa_pki(folder: Path, name: str = "Test TSA") -> None:
    """A test CA (ca.pem, ca.key) and a TSA certificate it issued (tsa.pem, tsa.key), with OpenSSL.

    The TSA certificate has ``extendedKeyUsage = critical, timeStamping`` as RFC 3161 requires.
    """
    folder.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "30", "-subj", f"/CN={name} Root CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr",
             "-subj", f"/CN={name}", cwd=folder)
    (folder / "tsa.ext").write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                    "extendedKeyUsage=critical,timeStamping\n", encoding="utf-8")
    _openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "tsa.pem", "-days", "30", "-extfile", "tsa.ext", cwd=folder)
    (folder / "serial").write_text("01\n", encoding="utf-8")
    (folder / "tsa.cnf").write_text(_TSA_CONFIG.format(dir=folder), encoding="utf-8")


@contextlib.contextmanager
def tsa_server(folder: Path) -> Iterator[TsaServer]:
    """A real TSA on 127.0.0.1: ``openssl ts -reply`` behind a small HTTP wrapper.

    POST an RFC 3161 request (application/timestamp-query) to the yielded URL;
    the answer is OpenSSL's reply. The PKI is made by ``make_tsa_pki`` unless
    ``folder`` has one already.
    """
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    if not (folder / "tsa.cnf").exists():
        make_tsa_pki(folder)
    lock = threading.Lock()
    requests: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:  # one reply at a time: OpenSSL's serial file is not shared safely
                requests.append(body)
                (folder / "request.tsq").write_bytes(body)
                try:
                    reply = _openssl("ts", "-reply", "-config", "tsa.cnf", "-queryfile", "request.tsq",
                                     cwd=folder)
                except RuntimeError as exc:
                    self.send_error(400, str(exc)[:200])
                    return
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield TsaServer(f"http://127.0.0.1:{server.server_address[1]}/tsr", folder / "ca.pem", folder,
                      requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class DaemonProcess:
    """``asn-monitor --config CONFIG run`` as a subprocess, its log (stderr) read in the background."""

    def __init__(self, config: Path, *extra: str) -> None:
        import queue
        import subprocess
        import threading

        exe = Path(sys.executable).with_name("asn-monitor")
        # stdout is not read: a pipe nobody drains would block the daemon once full.
        self.p = subprocess.Popen([str(exe), "--config", str(config), "run", *extra],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                  env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.p.stderr is not None
        for line in self.p.stderr:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 60) -> str:
        """The first new log line containing ``text``; ``AssertionError`` after ``timeout`` seconds."""
        import queue
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.p.poll() is not None:  # exited, and every line it wrote is read
                    break
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} not logged; got:\n" + "\n".join(self.seen[-30:]))

    def signal_stop(self, sig: int, timeout: float = 30) -> tuple[int, float]:
        """Send ``sig``; (exit code, seconds until it exited). Its last lines go to ``seen``.

        ``timeout`` bounds the wait, it is not a speed claim: on a loaded 2-core machine a
        page in flight can take several seconds to finish.
        """
        self.p.send_signal(sig)
        return self.wait_exit(timeout, f"signal {sig}")

    def wait_exit(self, timeout: float = 30, after: str = "the stop") -> tuple[int, float]:
        """(exit code, seconds waited); killed, with its last log lines in the failure, after ``timeout``."""
        import subprocess
        import time

        started = time.monotonic()
        try:
            code = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()  # what it logged says where it was stuck
            self.p.wait(timeout=5)
            self._drain()
            raise AssertionError(f"still running {timeout:.0f} s after {after}; log:\n"
                                 + "\n".join(self.seen[-40:])) from None
        elapsed = time.monotonic() - started
        self._drain()
        return code, elapsed

    def _drain(self) -> None:
        self._reader.join(timeout=5)  # the reader ends at EOF: every line written is queued
        while not self.lines.empty():
            self.seen.append(self.lines.get())

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM, then the exit code (killed after ``timeout`` seconds)."""
        import signal
        import subprocess

        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return self.p.wait(timeout=5)
