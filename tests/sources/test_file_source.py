"""The interchange JSONL reader and the incremental ``file`` source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.errors import BadItem
from monitor.model import Cursor
from sources.file import FileSource, item_from_json, parse_line, read_items

SAMPLES = Path(__file__).resolve().parents[2] / "config" / "samples"

GOOD = {
    "platform": "x", "id": "1", "kind": "like", "actor": "@budi_s",
    "created_at": "2024-10-01T08:00:00+07:00", "text": None, "url": None,
    "subject": {"id": "9", "author": "@JabarAsih1", "text": "Coblos 1!", "url": None},
    "client": "web",
}


def test_item_fields_and_unknown_fields_are_kept() -> None:
    item = item_from_json(GOOD, "f:1")
    assert item.actor == "budi_s"
    assert item.subject is not None and item.subject.author == "JabarAsih1"
    assert item.created_at.utcoffset() is not None
    assert item.extra == {"client": "web"}
    assert item.to_json()["client"] == "web"


@pytest.mark.parametrize(
    ("change", "what"),
    [
        ({"kind": "boost"}, "'kind' must be one of"),
        ({"created_at": "2024-10-01T08:00:00"}, "needs a UTC offset"),
        ({"created_at": "kemarin"}, "not ISO 8601"),
        ({"subject": None}, "a like needs a 'subject'"),
        ({"subject": {"id": "9"}}, "'subject.author' is missing"),
        ({"actor": ""}, "'actor' is empty"),
        ({"id": ["a"]}, "'id' must be a string"),
        ({"kind": "post", "text": None, "subject": None}, "a post needs 'text'"),
    ],
)
def test_bad_items_say_what_and_where(change: dict[str, object], what: str) -> None:
    with pytest.raises(BadItem) as info:
        item_from_json({**GOOD, **change}, "items.jsonl:7")
    assert str(info.value).startswith("items.jsonl:7: ")
    assert what in str(info.value)


def test_invalid_json_names_the_column() -> None:
    with pytest.raises(BadItem, match=r"f:3: not valid JSON \(.* at column \d+\)"):
        parse_line(b'{"platform": "x", ', "f:3")


def test_sample_bad_file_keeps_the_good_lines() -> None:
    items, bad = read_items(SAMPLES / "bad-items.jsonl")
    assert len(items) == 4
    assert [e.where.rsplit(":", 1)[1] for e in bad] == ["2", "5"]


def _source(tmp_path: Path, page_size: int = 2) -> FileSource:
    return FileSource("t", ["in/*.jsonl"], tmp_path, page_size)


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))


def _line(n: int) -> str:
    return json.dumps({**GOOD, "id": str(n)})


def test_pages_carry_raw_lines_and_a_resumable_cursor(tmp_path: Path) -> None:
    _write(tmp_path / "in/a.jsonl", [_line(i) for i in range(5)])
    src = _source(tmp_path)
    pages = list(src.fetch_feed({}))
    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert json.loads(pages[0].items[0].raw.body)["id"] == "0"
    assert pages[0].items[1].raw.source_url.endswith("a.jsonl#L2")
    # Resume after the first page, as if the process died after storing it.
    cursor = pages[0].cursor
    assert cursor is not None
    rest = list(src.fetch_feed({cursor.stream: cursor}))
    assert [f.item.id for p in rest for f in p.items] == ["2", "3", "4"]
    assert rest[0].items[0].raw.source_url.endswith("a.jsonl#L3")
    # After the last page nothing is read again; appended lines are.
    last = pages[-1].cursor
    assert last is not None
    assert [f for p in src.fetch_feed({last.stream: last}) for f in p.items] == []
    with (tmp_path / "in/a.jsonl").open("a") as handle:
        handle.write(_line(5) + "\n")
    assert [f.item.id for p in src.fetch_feed({last.stream: last}) for f in p.items] == ["5"]


def test_a_replaced_file_is_read_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "in/a.jsonl"
    _write(path, [_line(i) for i in range(3)])
    src = _source(tmp_path, page_size=10)
    cursor = list(src.fetch_feed({}))[-1].cursor
    assert cursor is not None
    _write(path, [_line(i) for i in range(10, 14)])
    ids = [f.item.id for p in src.fetch_feed({cursor.stream: cursor}) for f in p.items]
    assert ids == ["10", "11", "12", "13"]


def test_a_half_written_last_line_waits(tmp_path: Path) -> None:
    path = tmp_path / "in/a.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(_line(1) + "\n" + _line(2)[:30])
    src = _source(tmp_path, page_size=10)
    pages = list(src.fetch_feed({}))
    assert [f.item.id for p in pages for f in p.items] == ["1"]
    assert pages[-1].skipped == []
    cursor = pages[-1].cursor
    assert cursor is not None
    path.write_text(_line(1) + "\n" + _line(2) + "\n")
    assert [f.item.id for p in src.fetch_feed({cursor.stream: cursor}) for f in p.items] == ["2"]


def test_garbage_cursor_restarts_safely(tmp_path: Path) -> None:
    _write(tmp_path / "in/a.jsonl", [_line(1)])
    src = _source(tmp_path)
    stream = src.streams()[0]
    ids = [f.item.id for p in src.fetch_feed({stream: Cursor(stream, "not json")}) for f in p.items]
    assert ids == ["1"]
