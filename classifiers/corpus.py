"""Labelled examples: the seed corpus, bundled real negatives, and reviewers' labels.

A :class:`LabelledExample` is one text with a stance label. Seed-corpus texts
are already target-masked; examples built from reviewed items are masked here
with the registry matcher, so every model trains on the same masked form it
sees at prediction time.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from classifiers.matcher import RegistryMatcher, model_text
from classifiers.matcher_names import drop_titles
from classifiers.normalise import normalise
from monitor.errors import InputError
from monitor.model import STANCES, Item, Kind, RegistryView, Stance

DATA_DIR = Path(__file__).with_name("data")
SEED_CORPUS = DATA_DIR / "seed_corpus.jsonl"
# Real Indonesian reviews (IndoNLU SmSA, Apache-2.0; see data/NOTICE.md), with
# any row naming politics removed: they teach the model that ordinary praise and
# complaint are not campaigning. One text per line; ".txt" so that the package
# data rules in pyproject.toml ship it in a wheel.
SMSA_NEGATIVES = DATA_DIR / "smsa_negatives.txt"
# Real comments and news sentences about politicians (SmSA and NERP train splits,
# Apache-2.0), masked like candidates; built by ``data/make_real_corpus.py``.
REAL_POLITICAL = DATA_DIR / "real_political.jsonl"
# Posts written for the project in many people's styles (see data/NOTICE.md and the data
# card beside each file), each masked by hand: the failure patterns the synthetic seed
# corpus never showed. One author a file, in the order they were written.
WRITTEN_CORPORA = tuple(DATA_DIR / f"written_posts{part}.jsonl" for part in (
    "",           # the first author: support, attacks, neutral talk
    "_more",      # a second author: 1,040 posts in many styles
    "_neutral",   # neutral and namesake posts that name a candidate, with contrast pairs
    "_support",   # support in the shapes real political tweets take
    "_oppose",    # attacks in those shapes
    "_media",     # neutral headlines, reports and both-camps commentary
    "_attack2",   # attacks a word model misreads (short refusals, warm-worded removal calls)
    "_support2",  # support in a negative or angry register
    "_neutral2",  # neutral posts in an angry or excited register, curse-word namesakes
    "_camps",     # posts mocking or defending a candidate's camp (its supporters' nickname)
))

POLITICAL_RE = re.compile(
    r"jokowi|prabowo|ahok|anies|presiden|pilkada|pilpres|partai|capres|gubernur|\bdpr|"
    r"pemilu|politik|sandi|ridwan|ganjar|cawapres|\bpks\b|pdip|gerindra|demokrat|kampanye|"
    r"caleg|koalisi|\bkpu\b|bawaslu|menteri|bupati|walikota|wali kota|pemerintah|\bsby\b|"
    r"megawati|golkar|nasdem|pilgub|calon|dukung",
    re.IGNORECASE,
)


# What a model reads is the bundled texts after model_input (the normaliser, titles):
# bump this when either changes what it makes of a text, so that a model trained on
# first use is trained again (classifiers.api keys its check on the data and this).
MODEL_INPUT_VERSION = "2026-11-28"


@dataclass(frozen=True)
class LabelledExample:
    """One training or evaluation text with its stance label.

    ``text`` is the actor's own words (or, for seed rows, the whole composed
    model input); ``subject_text`` the engaged post's text for engagements.
    ``masked`` says the text already has targets replaced by placeholders.
    """

    text: str
    label: Stance
    kind: Kind = "post"
    subject_text: str | None = None
    source: str = "seed"
    style: str = ""
    masked: bool = True

    def model_input(self) -> str:
        """The normalised text a stance model is trained on, titles masked as the matcher does."""
        if self.subject_text is None:
            return drop_titles(normalise(self.text).text)
        return drop_titles(model_text(self.text, self.subject_text, self.kind))


def load_seed_corpus(split: str | None = None, path: Path = SEED_CORPUS) -> list[LabelledExample]:
    """The seed corpus rows of ``split`` ("train", "test", or ``None`` for all)."""
    out: list[LabelledExample] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("label") not in STANCES:
                raise InputError(f"{path}:{n}: label {row.get('label')!r} is not a stance")
            if split is None or row["split"] == split:
                out.append(LabelledExample(row["text"], row["label"], row["kind"],
                                           source="seed", style=row.get("style", "")))
    return out


def load_bundled_negatives(path: Path = SMSA_NEGATIVES) -> list[LabelledExample]:
    """The bundled real non-political reviews, labelled ``unrelated``."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return [LabelledExample(line.rstrip("\n"), "unrelated", source="smsa", masked=True)
                for line in fh if line.strip()]


def load_written_posts(paths: Iterable[Path] = WRITTEN_CORPORA
                       ) -> list[LabelledExample]:
    """The bundled hand-written posts (same format as the real political rows)."""
    return [ex for path in paths for ex in load_real_political(path)]


def load_real_political(path: Path = REAL_POLITICAL) -> list[LabelledExample]:
    """The bundled real comments and news sentences about politicians, already masked."""
    if not path.exists():
        return []
    out: list[LabelledExample] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("label") not in STANCES:
                raise InputError(f"{path}:{n}: label {row.get('label')!r} is not a stance")
            out.append(LabelledExample(row["text"], row["label"], source=row["source"]))
    return out


def labelled_from_items(
    labelled: Iterable[tuple[Item, Stance]],
    registries: RegistryView,
    matcher: RegistryMatcher | None = None,
) -> list[LabelledExample]:
    """Turn reviewed items (e.g. confirmed or dismissed flags) into masked examples.

    The integrator decides each label: a confirmed flag keeps its stance, a
    dismissed one is usually ``neutral`` or ``unrelated``.
    """
    m = matcher or RegistryMatcher()
    out: list[LabelledExample] = []
    for item, label in labelled:
        if label not in STANCES:
            raise InputError(f"{item.key}: label {label!r} is not a stance")
        masked = m.match(item, registries.for_item(item)).masked_text
        out.append(LabelledExample(masked, label, item.kind, source="review"))
    return out


def labelled_per_target(
    labelled: Iterable[tuple[Item, Stance | Mapping[str, Stance]]],
    registries: RegistryView,
    matcher: RegistryMatcher | None = None,
) -> list[LabelledExample]:
    """Like :func:`labelled_from_items`, but a label may name each target's own stance.

    ``{"jabar-2": "oppose", "jabar-3": "support"}`` gives one example per target,
    read as the model reads it at prediction time: that target ``[CALON]``, every
    rival ``[LAWAN]``. A target the matcher does not find in the text is an error
    naming the item, because its example would teach nothing.
    """
    m = matcher or RegistryMatcher()
    out: list[LabelledExample] = []
    for item, label in labelled:
        if isinstance(label, str):
            out += labelled_from_items([(item, label)], registries, m)
            continue
        match = m.match(item, registries.for_item(item))
        for target, stance in label.items():
            if stance not in STANCES:
                raise InputError(f"{item.key}: label {stance!r} for {target} is not a stance")
            if target not in match.by_target:
                raise InputError(f"{item.key}: target {target!r} is not named in the text "
                                 f"(found: {', '.join(match.targets) or 'none'})")
            out.append(LabelledExample(match.text_for(target), stance, item.kind,
                                       source="examples"))
    return out


NEUTRAL_STANDINS = {"[CALON]": "beliau", "[PARTAI]": "partai itu", "[NOMOR]": "itu"}


def neutralised_copies(
    examples: Iterable[LabelledExample], fraction: float = 0.5, seed: int = 0
) -> list[LabelledExample]:
    """Copies of masked examples with placeholders swapped for plain words ("beliau").

    Added to training so the model learns stance from the words around a target
    and not from the mere presence of ``[CALON]``: without them, "selamat pagi
    [CALON]" looked partisan. ``fraction`` of the examples with a placeholder
    get a copy, chosen by a seeded hash so the result is reproducible.
    """
    out: list[LabelledExample] = []
    for ex in examples:
        if not any(p in ex.text for p in NEUTRAL_STANDINS):
            continue
        h = int(hashlib.sha256(f"{seed}:{ex.text}".encode()).hexdigest()[:8], 16)
        if h / 0xFFFFFFFF >= fraction:
            continue
        text = ex.text
        for p, word in NEUTRAL_STANDINS.items():
            text = text.replace(p, word)
        out.append(LabelledExample(text, ex.label, ex.kind, ex.subject_text,
                                   source=f"{ex.source}+neutralised", style=ex.style))
    return out


def rival_compositions(
    examples: Iterable[LabelledExample], n: int = 600, seed: int = 0, max_words: int = 30
) -> list[LabelledExample]:
    """Texts that attack one side to back the other, built from two real or seed examples.

    An oppose example whose ``[CALON]`` becomes ``[LAWAN]``, joined with a
    support example, supports ``[CALON]``; the reverse opposes it. This teaches
    the model that what is said of a rival does not count for the target, which
    is how the per-target texts read ("[LAWAN] korupsi , pilih [CALON]").
    """
    import random

    pool = [ex for ex in examples if ex.subject_text is None and "[CALON]" in ex.text
            and len(ex.text.split()) <= max_words]
    sup = [ex for ex in pool if ex.label == "support"]
    opp = [ex for ex in pool if ex.label == "oppose"]
    if not sup or not opp:
        return []
    rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
    out: list[LabelledExample] = []
    for k in range(n):
        a, b = rng.choice(sup), rng.choice(opp)
        label: Stance
        if k % 2:  # attack the rival, back the target
            rival, own, label = b.text.replace("[CALON]", "[LAWAN]"), a.text, "support"
        else:  # praise the rival, attack the target
            rival, own, label = a.text.replace("[CALON]", "[LAWAN]"), b.text, "oppose"
        text = f"{rival} {own}" if rng.random() < 0.5 else f"{own} {rival}"
        out.append(LabelledExample(text, label, source="rival"))
    return out


# ---------------------------------------------------------------- real datasets


def iter_smsa(path: Path) -> Iterator[tuple[str, str]]:
    """(text, sentiment) rows of an IndoNLU SmSA tsv file."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            text, _, label = line.rstrip("\n").rpartition("\t")
            if text:
                yield text, label


def iter_csv_column(path: Path, column: str) -> Iterator[str]:
    """One column of a CSV file with a header row."""
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get(column):
                yield row[column]
