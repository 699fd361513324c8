"""The ``file`` source: items in the interchange JSONL format, from files or globs.

Each line is one item. A bad line is skipped with a ``Skipped`` record naming
file and line; the good lines around it are still read. The cursor of each
file is the byte offset after the last line read, with a fingerprint of the
file's head, so re-running over the same files reads nothing twice, while a
file that was replaced is read again from the start (and de-duplicated).
"""

from __future__ import annotations

import glob
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from monitor.errors import BadItem, ConfigError
from monitor.model import KINDS, Account, Cursor, Fetched, Item, Page, Raw, Skipped, Subject
from sources.base import SourceContext, SourceSettings

MAX_LINE_BYTES = 1_000_000
HEAD_BYTES = 4096
_NAMED = {"platform", "id", "kind", "actor", "actor_id", "created_at", "text", "url", "subject"}


class FileSettings(SourceSettings):
    """``[sources.<name>]`` with ``type = "file"``."""

    paths: list[str] = Field(min_length=1)
    page_size: int = Field(default=500, ge=1, le=100_000)


def _str(obj: Mapping[str, Any], key: str, where: str, *, required: bool = True,
         prefix: str = "") -> str | None:
    value = obj.get(key)
    name = prefix + key
    if value is None:
        if required:
            raise BadItem(where, f"'{name}' is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadItem(where, f"'{name}' must be a string, not {type(value).__name__}")
    text = str(value)
    if required and not text.strip():
        raise BadItem(where, f"'{name}' is empty")
    return text


def _created_at(obj: Mapping[str, Any], where: str) -> datetime:
    raw = _str(obj, "created_at", where)
    assert raw is not None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadItem(where, f"'created_at' is not ISO 8601: {raw[:40]!r}") from None
    if value.tzinfo is None:
        raise BadItem(where, "'created_at' needs a UTC offset (e.g. +07:00)")
    return value


def _subject(obj: Mapping[str, Any], kind: str, where: str) -> Subject | None:
    value = obj.get("subject")
    if value is None:
        if kind != "post":
            raise BadItem(where, f"a {kind} needs a 'subject'")
        return None
    if not isinstance(value, dict):
        raise BadItem(where, "'subject' must be an object")
    sid = _str(value, "id", where, prefix="subject.")
    author = _str(value, "author", where, prefix="subject.")
    assert sid is not None and author is not None
    return Subject(
        id=sid,
        author=author.lstrip("@"),
        text=_str(value, "text", where, required=False, prefix="subject."),
        url=_str(value, "url", where, required=False, prefix="subject."),
    )


def item_from_json(obj: Any, where: str) -> Item:
    """Turn one interchange-format object into an ``Item``; ``BadItem`` names what is wrong."""
    if not isinstance(obj, dict):
        raise BadItem(where, "each line must be a JSON object")
    kind = obj.get("kind")
    if kind not in KINDS:
        raise BadItem(where, f"'kind' must be one of {', '.join(KINDS)}, not {kind!r}")
    text = obj.get("text")
    if text is not None and not isinstance(text, str):
        raise BadItem(where, "'text' must be a string or null")
    if kind in ("post", "reply", "quote") and text is None:
        raise BadItem(where, f"a {kind} needs 'text'")
    platform, iid, actor = (_str(obj, k, where) for k in ("platform", "id", "actor"))
    assert platform is not None and iid is not None and actor is not None
    return Item(
        platform=platform.lower(),
        id=iid,
        kind=kind,
        actor=actor.lstrip("@"),
        created_at=_created_at(obj, where),
        text=text,
        url=_str(obj, "url", where, required=False),
        subject=_subject(obj, kind, where),
        actor_id=_str(obj, "actor_id", where, required=False),
        extra={k: v for k, v in obj.items() if k not in _NAMED},
    )


def parse_line(line: bytes, where: str) -> Item:
    """Parse one JSONL line (bytes) into an item."""
    if len(line) > MAX_LINE_BYTES:
        raise BadItem(where, f"line is longer than {MAX_LINE_BYTES} bytes")
    try:
        obj = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadItem(where, "line is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise BadItem(where, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    return item_from_json(obj, where)


def read_items(path: Path) -> tuple[list[Item], list[BadItem]]:
    """Every item of a JSONL file, and the lines that were bad (for ``classify``)."""
    items: list[Item] = []
    bad: list[BadItem] = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                items.append(parse_line(line, f"{path}:{number}"))
            except BadItem as exc:
                bad.append(exc)
    return items, bad


def _head_fingerprint(path: Path, length: int) -> str:
    """Hash of the file's first ``length`` bytes: tells an appended file from a replaced one."""
    with path.open("rb") as handle:
        return hashlib.sha256(handle.read(length)).hexdigest()[:16]


class FileSource:
    """Reads interchange JSONL files; one stream (and cursor) per file."""

    type_name: ClassVar[str] = "file"
    Settings: ClassVar[type[SourceSettings]] = FileSettings
    platform = "*"
    version = "1"

    def __init__(self, name: str, patterns: Sequence[str], base_dir: Path, page_size: int = 500):
        self.name = name
        self.patterns = list(patterns)
        self.base_dir = base_dir
        self.page_size = page_size

    @classmethod
    def from_settings(cls, name: str, settings: Any, ctx: SourceContext) -> FileSource:
        """Build from ``[sources.<name>]``."""
        return cls(name, settings.paths, Path(ctx.base_dir), settings.page_size)

    def files(self) -> list[Path]:
        """The files the patterns match now, in a stable order."""
        out: list[Path] = []
        for pattern in self.patterns:
            full = pattern if Path(pattern).is_absolute() else str(self.base_dir / pattern)
            matched = sorted(glob.glob(full))
            if not matched and not glob.has_magic(pattern):
                raise ConfigError(f"[sources.{self.name}].paths", f"file not found: {full}")
            out.extend(Path(m).resolve() for m in matched)
        return out

    def streams(self) -> Sequence[str]:
        """One stream per file."""
        return [str(p) for p in self.files()]

    def fetch(self, account: Account, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        """Files are not per account: everything comes from ``fetch_feed``."""
        return iter(())

    def fetch_feed(self, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        """Pages of items from every file, each from its stored offset onward."""
        for path in self.files():
            yield from self._read_file(path, cursors.get(str(path)))

    def _start(self, path: Path, cursor: Cursor | None) -> int:
        if cursor is None:
            return 0
        try:
            state = json.loads(cursor.value)
            offset, head = int(state["offset"]), str(state["head"])
        except (ValueError, KeyError, TypeError):
            return 0
        if offset > path.stat().st_size or head != _head_fingerprint(path, min(offset, HEAD_BYTES)):
            return 0  # replaced or truncated: read again; storage de-duplicates
        return offset

    def _read_file(self, path: Path, cursor: Cursor | None) -> Iterator[Page]:
        start = offset = self._start(path, cursor)
        with path.open("rb") as handle:
            handle.seek(offset)
            number = 1 + (_count_lines(path, offset) if offset else 0)
            page = Page(account_key="feed")
            while True:
                line = handle.readline(MAX_LINE_BYTES + 2)
                if not line:
                    break
                if not line.endswith(b"\n") and len(line) <= MAX_LINE_BYTES and _incomplete(line):
                    # A last line still being written: leave it for the next run.
                    break
                if len(line) > MAX_LINE_BYTES:
                    _skip_rest_of_line(handle)
                self._add(page, line, path, number)
                number += 1
                offset = handle.tell()
                if len(page.items) + len(page.skipped) >= self.page_size:
                    yield self._with_cursor(page, path, offset)
                    page = Page(account_key="feed")
            if page.items or page.skipped or offset != start:
                yield self._with_cursor(page, path, offset)

    @staticmethod
    def _with_cursor(page: Page, path: Path, offset: int) -> Page:
        head = _head_fingerprint(path, min(offset, HEAD_BYTES))
        page.cursor = Cursor(str(path), json.dumps({"offset": offset, "head": head}))
        return page

    def _add(self, page: Page, line: bytes, path: Path, number: int) -> None:
        where = f"{path.name}:{number}"
        if not line.strip():
            return
        try:
            item = parse_line(line, where)
        except BadItem as exc:
            page.skipped.append(Skipped(where, exc.what))
            return
        raw = Raw(
            body=line.rstrip(b"\n"),
            source_url=f"{path.as_uri()}#L{number}",
            fetched_at=datetime.now(UTC),
            connector=f"file:{self.name}",
            connector_version=self.version,
        )
        page.items.append(Fetched(item, raw))


def _incomplete(line: bytes) -> bool:
    """A last line without newline that is not yet valid JSON is still being written."""
    try:
        json.loads(line)
    except ValueError:
        return True
    return False


def _count_lines(path: Path, offset: int) -> int:
    with path.open("rb") as handle:
        return handle.read(offset).count(b"\n")


def _skip_rest_of_line(handle: Any) -> None:
    while True:
        chunk = handle.readline(MAX_LINE_BYTES)
        if not chunk or chunk.endswith(b"\n"):
            return
