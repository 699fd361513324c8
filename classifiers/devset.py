"""The real-text development set: hand labels joined with texts read from ``../shared/data``.

``classifiers/data/devset/labels.csv`` holds row references and per-target stance labels
for real tweets (``id-hatespeech-abusive``) and blog articles
(``id-stance-political-figures``); their licence (CC BY-NC-SA) keeps the texts out of
the project, so they are read at evaluation time and checked against ``text_sha1``.
``handwritten.jsonl`` is written for the project and ships whole. The registries of the
elections the texts talk about are under ``data/devset/registries``.

Use it to choose designs; never train on it. ``python -m classifiers.devset_metrics
[--model-dir DIR]`` prints the current model's figures and the keyword floor's.
"""

from __future__ import annotations

import csv
import hashlib
import json
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from monitor.errors import ConfigError, InputError
from monitor.model import (
    STANCES,
    Candidate,
    Election,
    Item,
    Party,
    Registry,
    Stance,
)

DEVSET_DIR = Path(__file__).resolve().parent / "data" / "devset"
LABELS_FILE = DEVSET_DIR / "labels.csv"
HANDWRITTEN_FILE = DEVSET_DIR / "handwritten.jsonl"
REGISTRY_DIR = DEVSET_DIR / "registries"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SUBSETS = ("tweets", "blogs", "handwritten")
TWEETS = ("id-hatespeech-abusive", "re_dataset.csv")
BLOG_DATASET = "id-stance-political-figures"
# The tweets were collected in 2017-2018: both elections' registries apply to each.
TWEET_ELECTIONS = ("pilkada-dki-2017", "pilpres-2019")
HANDWRITTEN_ELECTIONS = ("pilkada-dki-2017", "pilbup-batang-2029")
_WHEN = datetime(2018, 6, 1, tzinfo=UTC)
csv.field_size_limit(10**8)  # blog articles are long


class DevsetError(InputError):
    """The development set cannot be built (labels, texts or registries)."""


class DevsetDataMissing(DevsetError):
    """The evaluation-only data folder (or one of its files) is not there."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path}: evaluation data not found (the real dev set reads the "
                         f"CC BY-NC-SA texts from ../shared/data)")
        self.path = path


class DevsetTextChanged(DevsetError):
    """A source row's text no longer matches the ``text_sha1`` recorded with its label."""

    def __init__(self, file: str, row: int, want: str, got: str) -> None:
        super().__init__(f"{file} row {row}: text changed (labelled sha1 {want}, now {got}); "
                         f"the label no longer applies")
        self.file = file
        self.row = row


@dataclass(frozen=True)
class Gold:
    """The labelled stance toward one named target (``target`` empty: the item names none)."""

    election: str
    target: str
    stance: Stance


@dataclass(frozen=True)
class DevItem:
    """One labelled item: which subset, the item itself, its gold targets, its elections."""

    subset: str
    item: Item
    gold: tuple[Gold, ...]
    elections: tuple[str, ...]

    @property
    def names_target(self) -> bool:
        """Whether the item names (or unmistakably points at) a registry target."""
        return any(g.target for g in self.gold)

    @property
    def partisan(self) -> bool:
        """Item-level gold: any target supported or opposed."""
        return any(g.stance in ("support", "oppose") for g in self.gold)


def text_sha1(text: str) -> str:
    """First 12 hex digits of the sha1 of ``text`` in UTF-8 (the label file's check)."""
    # A change detector, not security: sha1 is what the label file records.
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:12]


# ------------------------------------------------------------------------- registries

def read_registry(path: Path) -> Registry:
    """One registry TOML (the project's format) read without the region table.

    ``monitor.inputs.read_registry`` validates more; this room may not import it, and
    these files are also checked by the tests with the full reader.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        e = data["election"]
        election = Election(e["id"], e["name"], e["level"], e.get("region"), e["voting_day"],
                            e["campaign_start"], e["campaign_end"])
        cands = tuple(Candidate(
            c["id"], c["ballot_number"], tuple(c["people"]), tuple(c.get("aliases", ())),
            tuple(h.lstrip("#") for h in c.get("hashtags", ())), tuple(c.get("parties", ())),
            {k: tuple(v) for k, v in c.get("accounts", {}).items()})
            for c in data["candidates"])
        parties = tuple(Party(p["id"], tuple(p["names"]), p.get("ballot_number"),
                              {k: tuple(v) for k, v in p.get("accounts", {}).items()})
                        for p in data.get("parties", ()))
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(str(path), f"not a valid registry: {exc}") from None
    return Registry(election, cands, parties, source=str(path))


def load_registries(folder: Path = REGISTRY_DIR) -> dict[str, Registry]:
    """Every registry in ``folder``, by election id."""
    regs = [read_registry(p) for p in sorted(folder.glob("*.toml"))]
    return {r.election.id: r for r in regs}


@dataclass(frozen=True)
class DevsetView:
    """Registries per item: each dev item carries the elections that apply to it."""

    by_key: Mapping[str, tuple[Registry, ...]]

    def for_item(self, item: Item) -> Sequence[Registry]:
        """The registries of the item's elections."""
        return self.by_key.get(item.key, ())


def view_for(items: Sequence[DevItem], registries: Mapping[str, Registry]) -> DevsetView:
    """A registry view giving each item the registries of its elections."""
    missing = {e for d in items for e in d.elections} - set(registries)
    if missing:
        raise DevsetError(f"{REGISTRY_DIR}: no registry for election(s) {sorted(missing)}")
    return DevsetView({d.item.key: tuple(registries[e] for e in d.elections) for d in items})


# ------------------------------------------------------------------------------ labels

@dataclass(frozen=True)
class LabelRow:
    """One line of ``labels.csv``."""

    dataset: str
    file: str
    row: int
    text_sha1: str
    gold: Gold


def read_labels(path: Path = LABELS_FILE) -> list[LabelRow]:
    """The label file; a malformed line is a ``DevsetError`` naming its line."""
    if not path.exists():
        raise DevsetError(f"{path}: label file not found")
    out: list[LabelRow] = []
    with path.open(encoding="utf-8", newline="") as fh:
        for n, rec in enumerate(csv.DictReader(fh), start=2):
            try:
                stance = rec["stance"]
                if stance not in STANCES:
                    raise ValueError(f"stance {stance!r}")
                out.append(LabelRow(rec["dataset"], rec["file"], int(rec["row"]),
                                    rec["text_sha1"], Gold(rec["election"] or "",
                                                           rec["target"] or "", stance)))
            except (KeyError, ValueError, TypeError) as exc:
                raise DevsetError(f"{path}:{n}: bad label line ({exc})") from None
    return out


def _tweet_texts(shared: Path) -> list[str]:
    path = shared.joinpath(*TWEETS)
    if not path.exists():
        raise DevsetDataMissing(path)
    with path.open(encoding="latin-1", newline="") as fh:
        return [r[0] for r in list(csv.reader(fh))[1:]]


def _blog_rows(path: Path) -> list[tuple[str, str]]:
    """(title, raw content) per data record of a blog stance file."""
    if not path.exists():
        raise DevsetDataMissing(path)
    semi = "rini" in path.name
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh, delimiter=";" if semi else ",")
        if semi:
            return [(r["Judul Artikel"] or "", r["Isi Artikel"] or "") for r in reader]
        return [(r["title"] or "", r["content"] or "") for r in reader]


def article_text(title: str, content: str) -> str:
    """An article as one text: its title, then its paragraphs (stored as a JSON list)."""
    try:
        paras = json.loads(content)
        body = " ".join(p for p in paras if isinstance(p, str)) if isinstance(paras, list) \
            else content
    except json.JSONDecodeError:
        body = content
    return f"{title.strip()}. {body.strip()}"


def _grouped(labels: Sequence[LabelRow]) -> Iterator[tuple[tuple[str, str, int], list[LabelRow]]]:
    groups: dict[tuple[str, str, int], list[LabelRow]] = {}
    for lab in labels:
        groups.setdefault((lab.dataset, lab.file, lab.row), []).append(lab)
    yield from groups.items()


def _check(file: str, row: int, want: str, text: str) -> None:
    got = text_sha1(text)
    if got != want:
        raise DevsetTextChanged(file, row, want, got)


def load_real(shared: Path = SHARED_DATA, labels: Path = LABELS_FILE) -> list[DevItem]:
    """Tweets and blog articles: labels joined with the texts in ``shared``."""
    if not shared.is_dir():
        raise DevsetDataMissing(shared)
    rows = read_labels(labels)
    tweets: list[str] | None = None
    blogs: dict[str, list[tuple[str, str]]] = {}
    out: list[DevItem] = []
    for (dataset, file, row), labs in _grouped(rows):
        gold = tuple(lab.gold for lab in labs)
        if dataset == TWEETS[0]:
            tweets = tweets if tweets is not None else _tweet_texts(shared)
            if not 0 <= row < len(tweets):
                raise DevsetError(f"{file} row {row}: no such row ({len(tweets)} rows)")
            _check(file, row, labs[0].text_sha1, tweets[row])
            item = Item("x", f"{file}:{row}", "post", "devset", _WHEN, tweets[row])
            out.append(DevItem("tweets", item, gold, TWEET_ELECTIONS))
        elif dataset == BLOG_DATASET:
            if file not in blogs:
                blogs[file] = _blog_rows(shared / dataset / file)
            if not 0 <= row < len(blogs[file]):
                raise DevsetError(f"{file} row {row}: no such row ({len(blogs[file])} rows)")
            title, content = blogs[file][row]
            _check(file, row, labs[0].text_sha1, f"{title}\n{content}")
            item = Item("blog", f"{file}:{row}", "post", "devset", _WHEN,
                        article_text(title, content))
            out.append(DevItem("blogs", item, gold,
                               tuple(dict.fromkeys(g.election for g in gold if g.election))))
        else:
            raise DevsetError(f"{labels}: unknown dataset {dataset!r}")
    return out


def load_handwritten(path: Path = HANDWRITTEN_FILE) -> list[DevItem]:
    """The hand-written posts: interchange items with a ``labels`` list each."""
    from sources.file import item_from_json  # the interchange parser, shared with classify

    out: list[DevItem] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path.name}:{n}"
            try:
                obj = json.loads(line)
                gold = tuple(Gold(g.get("election", ""), g.get("target", ""), g["stance"])
                             for g in obj.get("labels", []))
                if not gold or any(g.stance not in STANCES for g in gold):
                    raise ValueError("'labels' needs at least one valid stance")
            except (json.JSONDecodeError, KeyError, ValueError, AttributeError) as exc:
                raise DevsetError(f"{where}: bad hand-written item ({exc})") from None
            out.append(DevItem("handwritten", item_from_json(obj, where), gold,
                               HANDWRITTEN_ELECTIONS))
    return out


def load_devset(shared: Path = SHARED_DATA, labels: Path = LABELS_FILE,
                handwritten: Path = HANDWRITTEN_FILE) -> list[DevItem]:
    """Every labelled item: real tweets and blogs (needs ``shared``), then hand-written."""
    return load_real(shared, labels) + load_handwritten(handwritten)


__all__ = ["DevItem", "DevsetDataMissing", "DevsetError", "DevsetTextChanged", "DevsetView",
           "Gold", "load_devset", "load_handwritten", "load_real", "load_registries",
           "read_labels", "read_registry", "text_sha1", "view_for"]
