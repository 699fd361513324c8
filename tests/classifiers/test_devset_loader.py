"""The real dev set's loader: labels joined with texts from a data folder, changes detected."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from classifiers.devset import (
    HANDWRITTEN_FILE,
    LABELS_FILE,
    REGISTRY_DIR,
    SHARED_DATA,
    DevsetDataMissing,
    DevsetError,
    DevsetTextChanged,
    load_handwritten,
    load_real,
    load_registries,
    read_labels,
    text_sha1,
)
from monitor.inputs import read_regions, read_registry

ROOT = Path(__file__).resolve().parents[2]
TWEETS = ["USER Jokowi 2 periode!", "lupa kata sandi lagi", "Masak sayur asem dulu ah"]
BLOG = ("Ahok dan Jakarta", json.dumps(["Paragraf satu.", "Paragraf dua."]))
HEADER = ["dataset", "file", "row", "text_sha1", "election", "target", "stance", "note"]


def _shared(tmp_path: Path, tweets: list[str] = TWEETS) -> Path:
    """A small data folder in the layout of ../shared/data (latin-1 tweets, ;-separated blogs)."""
    shared = tmp_path / "data"
    (shared / "id-hatespeech-abusive").mkdir(parents=True)
    with (shared / "id-hatespeech-abusive" / "re_dataset.csv").open(
            "w", encoding="latin-1", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Tweet", "HS", "Abusive"])
        for t in tweets:
            w.writerow([t, 0, 0])
    blogs = shared / "id-stance-political-figures"
    blogs.mkdir()
    with (blogs / "dataset_stance_2_label_2018_building_by_rini.csv").open(
            "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(["Tokoh", "Event", "Judul Artikel", "Isi Artikel", "stance final", ""])
        w.writerow(["ahok", "Pilgub DKI 2016", BLOG[0], BLOG[1], "for", ""])
    return shared


def _labels(tmp_path: Path) -> Path:
    rows = [
        ["id-hatespeech-abusive", "re_dataset.csv", 0, text_sha1(TWEETS[0]), "pilpres-2019",
         "pres19-01", "support", ""],
        ["id-hatespeech-abusive", "re_dataset.csv", 1, text_sha1(TWEETS[1]), "pilpres-2019",
         "pres19-02", "unrelated", "password"],
        ["id-hatespeech-abusive", "re_dataset.csv", 2, text_sha1(TWEETS[2]), "", "",
         "unrelated", ""],
        ["id-stance-political-figures", "dataset_stance_2_label_2018_building_by_rini.csv", 0,
         text_sha1(f"{BLOG[0]}\n{BLOG[1]}"), "pilkada-dki-2017", "dki17-2", "support", ""],
    ]
    path = tmp_path / "labels.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


def test_loader_joins_rows_with_their_texts(tmp_path: Path) -> None:
    items = load_real(_shared(tmp_path), _labels(tmp_path))
    by_id = {d.item.id: d for d in items}
    assert [d.subset for d in items] == ["tweets", "tweets", "tweets", "blogs"]
    first = by_id["re_dataset.csv:0"]
    assert first.item.text == TWEETS[0] and first.partisan and first.names_target
    assert first.elections == ("pilkada-dki-2017", "pilpres-2019")
    password = by_id["re_dataset.csv:1"]
    assert password.names_target and not password.partisan
    assert not by_id["re_dataset.csv:2"].names_target
    blog = by_id["dataset_stance_2_label_2018_building_by_rini.csv:0"]
    assert blog.item.text == "Ahok dan Jakarta. Paragraf satu. Paragraf dua."
    assert blog.elections == ("pilkada-dki-2017",) and blog.partisan


def test_a_changed_text_is_a_typed_error_naming_file_and_row(tmp_path: Path) -> None:
    changed = [TWEETS[0], "lupa kata sandi lagi!!", TWEETS[2]]
    with pytest.raises(DevsetTextChanged) as err:
        load_real(_shared(tmp_path, changed), _labels(tmp_path))
    assert err.value.file == "re_dataset.csv" and err.value.row == 1
    assert "re_dataset.csv row 1" in str(err.value)


def test_missing_data_folder_and_rows_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DevsetDataMissing) as err:
        load_real(tmp_path / "nowhere", _labels(tmp_path))
    assert str(tmp_path / "nowhere") in str(err.value)
    short = _shared(tmp_path, TWEETS[:1])
    with pytest.raises(DevsetError, match=r"row 1: no such row"):
        load_real(short, _labels(tmp_path))
    bad = tmp_path / "bad.csv"
    bad.write_text(",".join(HEADER) + "\nx,y,0,abc,,,maybe,\n", encoding="utf-8")
    with pytest.raises(DevsetError, match=r"bad\.csv:2"):
        read_labels(bad)


def test_shipped_labels_cover_what_the_set_promises() -> None:
    rows = read_labels(LABELS_FILE)
    tweet_items = {(r.row) for r in rows if r.dataset == "id-hatespeech-abusive"}
    named = {r.row for r in rows if r.dataset == "id-hatespeech-abusive" and r.gold.target}
    assert len(named) >= 400 and len(tweet_items - named) >= 150
    regs = load_registries(REGISTRY_DIR)
    ids = {(e, c.id) for e, r in regs.items() for c in r.candidates}
    ids |= {(e, p.id) for e, r in regs.items() for p in r.parties}
    assert all((r.gold.election, r.gold.target) in ids for r in rows if r.gold.target)
    hand = load_handwritten(HANDWRITTEN_FILE)
    assert len(hand) >= 150 and sum(d.partisan for d in hand) >= 60
    assert {g.stance for d in hand for g in d.gold} == {"support", "oppose", "neutral", "unrelated"}
    assert all((g.election, g.target) in ids for d in hand for g in d.gold if g.target)


def test_registries_pass_the_projects_own_reader() -> None:
    regions = read_regions(ROOT / "config" / "regions.csv")
    for path in sorted(REGISTRY_DIR.glob("*.toml")):
        full = read_registry(path, regions)
        mine = load_registries(REGISTRY_DIR)[full.election.id]
        assert (mine.candidates, mine.parties) == (full.candidates, full.parties)


def test_shipped_labels_match_the_shared_texts() -> None:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} (evaluation-only data) is missing")
    items = load_real()
    assert len({d.item.key for d in items if d.subset == "tweets"}) >= 550
    assert sum(d.subset == "blogs" for d in items) >= 400
