"""Rebuild ``smsa_negatives.txt`` from IndoNLU SmSA (Apache-2.0) in ``../shared/data``.

1,500 real Indonesian reviews and comments from the SmSA *train* split, with
every row that names politics (``corpus.POLITICAL_RE``) or runs past 60 words
removed, sampled 700 positive / 500 negative / 300 neutral. They are bundled as
``unrelated`` examples so that praise and complaint alone are not read as
campaigning. The SmSA valid and test splits stay untouched for evaluation.
Run: ``python -m classifiers.data.make_smsa_negatives [SHARED_DATA_DIR]``.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from classifiers.corpus import POLITICAL_RE, SMSA_NEGATIVES, iter_smsa

QUOTA = (("positive", 700), ("negative", 500), ("neutral", 300))


def main(shared_data: Path) -> None:
    """Sample the negatives from ``shared_data/indonlu-smsa/train_preprocess.tsv``."""
    src = shared_data / "indonlu-smsa" / "train_preprocess.tsv"
    by_label: dict[str, list[str]] = {}
    for text, label in iter_smsa(src):
        if POLITICAL_RE.search(text) or len(text.split()) > 60:
            continue
        by_label.setdefault(label, []).append(text)
    rng = random.Random(7)  # noqa: S311 - reproducible sampling, not security
    out: list[str] = []
    for label, n in QUOTA:
        out += rng.sample(by_label[label], min(n, len(by_label[label])))
    rng.shuffle(out)
    SMSA_NEGATIVES.write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"{len(out)} rows -> {SMSA_NEGATIVES}")


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[3] / "shared" / "data"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else root)
