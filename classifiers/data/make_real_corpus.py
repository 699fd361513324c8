"""Rebuild ``real_political.jsonl`` from IndoNLU SmSA and NERP (Apache-2.0) in ``../shared/data``.

Real Indonesian text about politicians, masked the way the matcher masks a
candidate, so the stance model learns how people actually write about them:

* **SmSA train rows that name a political figure or party** (see
  :mod:`classifiers.figures`): comments and tweets with a sentiment label. With
  the figure masked as the target, positive is close to support, negative to
  opposition and neutral to talk that takes no side. A few hundred rows were
  read; where the sentiment is not aimed at the named figure the mapping is
  noisy, but it is real noise of real posts.
* **NERP train sentences that name a person**: news reporting. Every person
  (``PPL``) is masked as a target and the sentence labelled ``neutral``: a name
  in a news sentence is not an endorsement.

Only train splits are read; valid and test splits stay for evaluation.
Run: ``python -m classifiers.data.make_real_corpus [SHARED_DATA_DIR]``.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from classifiers.corpus import POLITICAL_RE, REAL_POLITICAL, iter_smsa
from classifiers.figures import figures_registry
from classifiers.matcher import CALON, RegistryMatcher
from classifiers.sentiment import SENTIMENT_DATA
from monitor.model import Item

SENTIMENT_TO_STANCE = {"positive": "support", "negative": "oppose", "neutral": "neutral"}
# Rows read by hand whose sentiment is not the stance toward the figure (see the file).
RELABELS = Path(__file__).with_name("smsa_relabels.csv")
# SmSA's preprocessing expanded "pak" (sir) to "pakai" (use) before names.
_PAK = re.compile(r"\bpakai (?=\[CALON\])")
NERP_SAMPLE = 500
EMOTION_TO_SENTIMENT = {"anger": "negative", "happy": "positive", "love": "positive"}
_WHEN = datetime(2019, 1, 1, tzinfo=UTC)


def relabels(path: Path = RELABELS) -> dict[int, str]:
    """Row -> stance (or "drop") from the hand-checked relabel file."""
    out: dict[int, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            row, _, stance = line.partition(",")
            out[int(row)] = stance.strip()
    return out


def smsa_rows(path: Path, matcher: RegistryMatcher) -> Iterator[dict[str, str]]:
    """SmSA rows that name a figure or party, masked, with the stance their sentiment implies."""
    view = (figures_registry(),)
    fixed = relabels()
    for n, (text, label) in enumerate(iter_smsa(path)):
        m = matcher.match(Item("smsa", str(n), "post", "x", _WHEN, text), view)
        stance = fixed.get(n, SENTIMENT_TO_STANCE[label])
        if m.targets and len(text.split()) <= 80 and stance != "drop":
            yield {"text": _PAK.sub("bapak ", m.masked_text), "label": stance,
                   "source": f"smsa-train:{n}"}


def nerp_sentences(path: Path) -> Iterator[tuple[int, list[tuple[str, str]]]]:
    """(index, [(token, tag), ...]) for each sentence of a NERP file."""
    sent: list[tuple[str, str]] = []
    n = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if sent:
                yield n, sent
                n += 1
            sent = []
            continue
        tok, _, tag = line.partition("\t")
        sent.append((tok, tag.strip()))
    if sent:
        yield n, sent


def nerp_rows(path: Path, matcher: RegistryMatcher) -> list[dict[str, str]]:
    """News sentences naming a person, every person masked, labelled neutral."""
    out: list[dict[str, str]] = []
    view = (figures_registry(),)
    for n, sent in nerp_sentences(path):
        if not any(tag.endswith("PPL") for _, tag in sent):
            continue
        words: list[str] = []
        for tok, tag in sent:
            if tag == "B-PPL":
                words.append(CALON)
            elif tag != "I-PPL":
                words.append(tok)
        text = matcher.match(Item("nerp", str(n), "post", "x", _WHEN, " ".join(words)),
                             view).masked_text
        if 6 <= len(text.split()) <= 60:
            out.append({"text": text, "label": "neutral", "source": f"nerp-train:{n}"})
    rng = random.Random(11)  # noqa: S311 - reproducible sampling, not security
    return rng.sample(out, min(NERP_SAMPLE, len(out)))


def sentiment_rows(shared_data: Path) -> list[tuple[str, str]]:
    """SmSA, NusaX and EmoT train rows that do not name politics: (text, sentiment)."""
    rows = [(t, lab) for t, lab in iter_smsa(shared_data / "indonlu-smsa" / "train_preprocess.tsv")
            if not POLITICAL_RE.search(t)]
    with (shared_data / "nusax-sentiment-ind" / "train.csv").open(encoding="utf-8") as fh:
        rows += [(r["text"], r["label"]) for r in csv.DictReader(fh)
                 if not POLITICAL_RE.search(r["text"])]
    # Real tweets (IndoNLU EmoT train, Apache-2.0): anger is how people attack, happiness
    # and love how they praise, in tweet style; fear and sadness say neither and stay out.
    with (shared_data / "indonlu-emot" / "train_preprocess.csv").open(encoding="utf-8") as fh:
        rows += [(r["tweet"], EMOTION_TO_SENTIMENT[r["label"]]) for r in csv.DictReader(fh)
                 if r["label"] in EMOTION_TO_SENTIMENT and not POLITICAL_RE.search(r["tweet"])]
    return [(" ".join(t.split()), lab) for t, lab in rows]


def main(shared_data: Path) -> None:
    """Write ``real_political.jsonl`` from the train splits under ``shared_data``."""
    matcher = RegistryMatcher()
    rows = list(smsa_rows(shared_data / "indonlu-smsa" / "train_preprocess.tsv", matcher))
    rows += nerp_rows(shared_data / "indonlu-nerp" / "train_preprocess.txt", matcher)
    with REAL_POLITICAL.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    senti = sentiment_rows(shared_data)
    blob = "".join(f"{t}\t{lab}\n" for t, lab in senti).encode("utf-8")
    # mtime=0: the same rows give the same bytes, so git sees no change on a rebuild.
    SENTIMENT_DATA.write_bytes(gzip.compress(blob, mtime=0))
    print(f"{len(senti)} rows -> {SENTIMENT_DATA}")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["label"]] = counts.get(row["label"], 0) + 1
    print(f"{len(rows)} rows -> {REAL_POLITICAL}: {counts}")


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[3] / "shared" / "data"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else root)
