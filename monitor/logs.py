"""Structured logs: ``key=value`` lines by default, JSON lines with ``--log-json``.

Code logs an event name and fields through ``event(log, "cycle_done", run=3)``;
the formatter writes ``ts=... level=info logger=... event=cycle_done run=3``
or ``{"ts": ..., "level": "info", "event": "cycle_done", "run": 3}``. Both
go to stderr, where systemd's journal picks them up.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

FIELDS_ATTR = "asn_fields"
_RESERVED = ("ts", "level", "logger", "event")


def event(log: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log event ``name`` with ``fields`` (kept as data, not interpolated into the message)."""
    log.log(level, name, extra={FIELDS_ATTR: fields})


def _record_fields(record: logging.LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "event": record.getMessage(),
    }
    for key, value in (getattr(record, FIELDS_ATTR, None) or {}).items():
        # A field may not overwrite the envelope; it keeps its value under a prefix.
        out[f"field_{key}" if key in _RESERVED else key] = value
    if record.exc_info:
        out["exc"] = logging.Formatter().formatException(record.exc_info)
    return out


def _kv_value(value: Any) -> str:
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    if text == "" or any(c in text for c in ' "=\n\t'):
        return json.dumps(text, ensure_ascii=False)
    return text


class KeyValueFormatter(logging.Formatter):
    """One ``key=value`` line per record; values with spaces or quotes are JSON-quoted."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as ``key=value`` pairs."""
        return " ".join(f"{k}={_kv_value(v)}" for k, v in _record_fields(record).items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON object."""
        return json.dumps(_record_fields(record), ensure_ascii=False, default=str)


def setup(fmt: Literal["kv", "json"] = "kv", level: str = "INFO") -> logging.Handler:
    """Send every log record to stderr in ``fmt``; returns the handler.

    The handler sits on the root logger, so connectors that log under their
    module name (``sources.bluesky``) come out in the same format. Project
    loggers log at ``level``; third-party ones (APScheduler, httpx) only warnings.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    handler._asn_monitor = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_asn_monitor", False):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in ("asn_monitor", "monitor", "sources", "classifiers", "storage"):
        logging.getLogger(name).setLevel(level)
    return handler
