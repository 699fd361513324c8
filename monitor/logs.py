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
    """Send ``asn_monitor.*`` and APScheduler logs to stderr in ``fmt``; returns the handler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    for name in ("asn_monitor", "apscheduler"):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            if getattr(old, "_asn_monitor", False):
                logger.removeHandler(old)
        handler._asn_monitor = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
        # APScheduler is chatty at INFO (every job start); its warnings are what matter.
        logger.setLevel(level if name == "asn_monitor" else max(logging.WARNING,
                                                                logging.getLevelName(level)))
    return handler
