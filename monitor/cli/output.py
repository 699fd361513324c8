"""The one way commands print: a table for people, CSV, JSON or JSON lines for programs.

Every command that prints records takes ``@output_options`` and receives an ``out:
Printer``; ``--json`` always means one JSON document on stdout (an array for listings),
``--jsonl`` one JSON object per line, ``--csv`` a header row and one row per record, and
the default ``--table`` what a person reads (rich tables, Indonesian/English text).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table

console = Console(highlight=False, soft_wrap=True)
FORMATS = ("table", "csv", "json", "jsonl")


def to_json(value: Any) -> Any:
    """A value as JSON can hold it: dates as ISO text, anything else unknown as its ``str``."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def emit_json(data: Any) -> None:
    """Print ``data`` as one indented JSON document on stdout."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A rich table with ``columns`` and ``rows`` (values shown with ``str``)."""
    t = Table(title=title, title_justify="left")
    for c in columns:
        t.add_column(c)
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    return t


def _flat(value: Any) -> Any:
    """A CSV cell: nested values as compact JSON."""
    value = to_json(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


@dataclass(frozen=True)
class Printer:
    """Prints a command's result in the format its output options chose."""

    fmt: str = "table"

    @property
    def for_people(self) -> bool:
        """Whether the output is the human table/text (not CSV, JSON or JSON lines)."""
        return self.fmt == "table"

    def records(self, rows: Sequence[Mapping[str, Any]], title: str = "",
                columns: Sequence[str] | None = None,
                human: Callable[[], None] | None = None) -> None:
        """A listing: one record per row in every format; ``human`` replaces the plain table."""
        data = [{k: to_json(v) for k, v in r.items()} for r in rows]
        if self.fmt == "json":
            emit_json(data)
        elif self.fmt == "jsonl":
            for r in data:
                click.echo(json.dumps(r, ensure_ascii=False, default=str))
        elif self.fmt == "csv":
            self._csv(data, columns)
        elif human is not None:
            human()
        else:
            cols = list(columns or (data[0].keys() if data else []))
            console.print(table(title, cols, [[r.get(c) for c in cols] for r in data]))

    def document(self, data: Any, human: Callable[[], None]) -> None:
        """A result that is one object (a report, counts): JSON as is, CSV as key/value rows."""
        if self.fmt == "json":
            emit_json(data)
        elif self.fmt == "jsonl":
            for r in data if isinstance(data, list) else [data]:
                click.echo(json.dumps(r, ensure_ascii=False, default=str))
        elif self.fmt == "csv":
            if isinstance(data, list):
                self._csv([r if isinstance(r, dict) else {"value": r} for r in data], None)
            else:
                self._csv([{"key": k, "value": v} for k, v in dict(data).items()], None)
        else:
            human()

    def rows(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str = "") -> None:
        """A listing given as column names and row tuples (query results)."""
        self.records([dict(zip(columns, r, strict=True)) for r in rows], title, columns)

    @staticmethod
    def _csv(data: list[dict[str, Any]], columns: Sequence[str] | None) -> None:
        cols = list(columns or dict.fromkeys(k for r in data for k in r))
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(cols)
        writer.writerows([_flat(r.get(c)) for c in cols] for r in data)
        sys.stdout.write(buf.getvalue())


def output_options(fn: Callable[..., Any] | None = None, *, default: str = "table") -> Any:
    """``--table``, ``--csv``, ``--json``, ``--jsonl``; the command gets ``out: Printer``.

    Used bare (``@output_options``, tables by default) or with another ``default`` format
    (``@output_options(default="jsonl")`` for a command whose output feeds programs).
    """
    if fn is None:
        return functools.partial(output_options, default=default)

    @functools.wraps(fn)
    def wrapper(*args: Any, output_format: str, **kwargs: Any) -> Any:
        return fn(*args, out=Printer(output_format), **kwargs)

    def marks(fmt: str) -> dict[str, Any]:
        # Only the default format's flag may carry a default: the flags share one value.
        return {"flag_value": fmt, "default": True} if fmt == default else {"flag_value": fmt}

    options = [
        click.option("--table", "output_format", **marks("table"),
                     help="Print for people: tables and text."),
        click.option("--csv", "output_format", **marks("csv"),
                     help="Print CSV: a header row, then one row per record."),
        click.option("--json", "output_format", **marks("json"), help="Print one JSON document."),
        click.option("--jsonl", "output_format", **marks("jsonl"),
                     help="Print JSON lines: one JSON object per line."),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    wrapper.prints_records = True  # type: ignore[attr-defined]  # found by the every-command test
    return wrapper
