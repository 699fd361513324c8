"""Property-based tests: whatever the input, the only failure is a clear, typed error."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import BadItem, ConfigError
from monitor.inputs import read_regions, read_registry, read_roster
from sources.file import FileSource, item_from_json, parse_line

CONFIG = Path(__file__).resolve().parents[2] / "config"
REGIONS = read_regions(CONFIG / "regions.csv")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
item_like = st.fixed_dictionaries(
    {},
    optional={
        "platform": st.sampled_from(["x", "bluesky", "", 3]) | json_values,
        "id": st.text(max_size=12) | st.integers() | json_values,
        "kind": st.sampled_from(["post", "reply", "quote", "repost", "like", "boost"]) | json_values,
        "actor": st.text(max_size=12) | json_values,
        "created_at": st.sampled_from(["2024-10-01T08:00:00+07:00", "2024-10-01", "x"]) | json_values,
        "text": st.text(max_size=40) | st.none() | json_values,
        "url": st.text(max_size=10) | st.none(),
        "subject": st.fixed_dictionaries({}, optional={"id": json_values, "author": json_values,
                                                       "text": json_values}) | json_values,
    },
)


@given(item_like)
@settings(max_examples=400)
def test_item_parser_accepts_or_names_the_problem(obj: dict[str, Any]) -> None:
    try:
        item = item_from_json(obj, "f.jsonl:9")
    except BadItem as exc:
        assert str(exc).startswith("f.jsonl:9: ")
        return
    assert item.kind in ("post", "reply", "quote", "repost", "like")
    assert item.created_at.utcoffset() is not None
    assert json.loads(json.dumps(item.to_json(), default=str))["id"] == item.id


@given(st.binary(max_size=300))
@settings(max_examples=400)
def test_raw_lines_never_raise_anything_but_bad_item(line: bytes) -> None:
    try:
        parse_line(line, "f.jsonl:1")
    except BadItem as exc:
        assert exc.where == "f.jsonl:1"


@given(st.lists(st.binary(max_size=80) | item_like.map(lambda o: json.dumps(o).encode()), max_size=25),
       st.integers(min_value=1, max_value=7))
@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow])
def test_file_source_reads_every_line_once_as_item_or_skip(lines: list[bytes], page_size: int) -> None:
    lines = [line.replace(b"\n", b" ").replace(b"\r", b" ") for line in lines]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.jsonl"
        path.write_bytes(b"".join(line + b"\n" for line in lines))
        pages = list(FileSource("p", [str(path)], Path(tmp), page_size).fetch_feed({}))
    seen = sum(len(p.items) + len(p.skipped) for p in pages)
    assert seen == sum(1 for line in lines if line.strip())


csv_cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)


@given(st.lists(st.lists(csv_cell, min_size=0, max_size=9), max_size=6))
@settings(max_examples=200)
def test_roster_parser_only_raises_config_errors(rows: list[list[str]]) -> None:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["account_id", "name", "nip", "agency", "region", "platform", "handle"])
    writer.writerows(rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "roster.csv"
        path.write_text(buffer.getvalue(), encoding="utf-8")
        try:
            accounts = read_roster(path, REGIONS)
        except ConfigError as exc:
            assert str(exc).startswith(str(path))
            return
    for account in accounts:
        assert len(account.nip) == 18 and account.region in REGIONS


toml_scalars = st.one_of(st.integers(-3, 99), st.text(max_size=12), st.booleans(),
                         st.dates().map(lambda d: d))


@given(st.dictionaries(st.sampled_from(["id", "name", "level", "region", "voting_day",
                                        "campaign_start", "campaign_end", "extra"]),
                       toml_scalars, max_size=8),
       st.lists(st.dictionaries(st.sampled_from(["id", "ballot_number", "people", "parties"]),
                                toml_scalars | st.lists(st.text(max_size=8), max_size=3),
                                max_size=4), max_size=3))
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_registry_parser_only_raises_config_errors(election: dict[str, Any],
                                                   candidates: list[dict[str, Any]]) -> None:
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return str(v)

    lines = ["[election]", *(f"{k} = {value(v)}" for k, v in election.items())]
    for c in candidates:
        lines.append("[[candidates]]")
        lines.extend(f"{k} = {value(v)}" for k, v in c.items())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reg.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        try:
            registry = read_registry(path, REGIONS)
        except ConfigError as exc:
            assert str(exc).startswith(str(path))
            return
    assert registry.election.campaign_start <= registry.election.voting_day
