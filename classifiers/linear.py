"""The default stance model: TF-IDF over words and character n-grams + logistic regression.

It trains in seconds on the seed corpus (plus the bundled real negatives and
any reviewed examples), needs no network and no GPU, and is what ``make run``
uses. Character n-grams carry it over slang spellings the normaliser misses.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from classifiers.corpus import LabelledExample
from classifiers.model_base import (
    LABELS,
    Timer,
    TrainReport,
    data_version,
    read_meta,
    stance_metrics,
    write_model_files,
)
from classifiers.sentiment import SentimentFeatures
from classifiers.zones import split_zones
from monitor.errors import ConfigError

DEFAULT_PARAMS: dict[str, Any] = {
    "C": 2.0,
    "char_ngrams": (2, 5),
    "char_min_df": 3,
    "class_weight": "balanced",
    "max_iter": 3000,
    # Loose enough to train in seconds on 2 cores (make run trains on first use).
    "tol": 1e-3,
    # Weight of the sentiment columns (classifiers.sentiment) beside the n-grams; 0 leaves them out.
    "sentiment_scale": 2.0,
    # Multiplies the balanced weight of "neutral": news sentences and neutral comments
    # outnumber partisan rows in the real data, but among posts that name a candidate
    # taking a side is the common case.
    "neutral_weight": 0.7,
}


class LinearStanceModel:
    """A fitted TF-IDF + logistic-regression stance model."""

    kind = "linear"

    def __init__(self, pipeline: Pipeline, version: str) -> None:
        self.pipeline = pipeline
        self.version = version
        classes = list(pipeline.classes_)
        # Columns of predict_proba follow sklearn's class order; map them to LABELS.
        self._cols = [classes.index(lab) if lab in classes else -1 for lab in LABELS]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Stance probabilities (n, 4) in ``LABELS`` order, for normalised texts."""
        if not texts:
            return np.zeros((0, len(LABELS)))
        raw = self.pipeline.predict_proba(list(texts))
        out = np.zeros((len(texts), len(LABELS)))
        for j, c in enumerate(self._cols):
            if c >= 0:
                out[:, j] = raw[:, c]
        return out

    def save(self, out_dir: Path) -> None:
        """Write the fitted pipeline to ``out_dir/model.joblib``."""
        out_dir.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.pipeline, out_dir / "model.joblib")

    @classmethod
    def load(cls, model_dir: Path) -> LinearStanceModel:
        """Load a model saved by :func:`train_linear`."""
        meta = read_meta(model_dir)
        path = Path(model_dir) / "model.joblib"
        if not path.exists():
            raise ConfigError(str(model_dir), "model.joblib is missing")
        # joblib files are pickles: load only folders this project wrote.
        pipeline = joblib.load(path)
        return cls(pipeline, str(meta["version"]))


NEGATORS = frozenset({"tidak", "bukan", "jangan", "belum", "tanpa", "no", "not", "ojo", "stop",
                      "tolak", "anti"})
NEGATION_SCOPE = 2


def _marked(toks: list[str], prefix: str = "") -> list[str]:
    out: list[str] = []
    scope = 0
    for i, t in enumerate(toks):
        out.append(prefix + t)
        if i:
            out.append(f"{prefix}{toks[i - 1]} {t}")
        if scope and t not in NEGATORS and t[:1].isalnum():
            out.append(f"{prefix}NEG_{t}")
            scope -= 1
        if t in NEGATORS:
            scope = NEGATION_SCOPE
    return out


def word_features(text: str) -> list[str]:
    """Word features of a normalised text: unigrams, bigrams, negation, subject and rival marks.

    * the two words after a negator also appear as ``NEG_<word>``, so "bukan
      pemimpin" is not read like "pemimpin";
    * in replies and quotes, the engaged post's words (after ``[SUBJEK]``) are
      prefixed ``S_``: they get their own weights, so a neutral reply ("info
      jadwalnya dong") to a campaign post is not read as the campaign post;
    * words said of a rival (:mod:`classifiers.zones`) are prefixed ``R_``, so
      "[LAWAN] korupsi , pilih [CALON]" is not read like "[CALON] korupsi".
    """
    toks = text.split()
    subject: list[str] = []
    if "[SUBJEK]" in toks:
        k = toks.index("[SUBJEK]")
        toks, subject = toks[:k], ["[SUBJEK]", *_marked(toks[k + 1:], "S_")]
    own, rival = split_zones(" ".join(toks))
    return [*_marked(own.split()), *_marked(rival.split(), "R_"), *subject]


def own_words(text: str) -> str:
    """The text without what it says of rivals (the character n-grams read this)."""
    head, sep, tail = text.partition("[SUBJEK]")
    return split_zones(head)[0] + (f" {sep} {tail}" if sep else "")


def _pipeline(params: dict[str, Any]) -> Pipeline:
    parts: list[tuple[str, Any]] = [
        # Tokens are already normalised and space-separated; keep placeholders and emoji.
        ("words", TfidfVectorizer(analyzer=word_features, lowercase=False, sublinear_tf=True)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(params["char_ngrams"]),
                                  min_df=params["char_min_df"], lowercase=False,
                                  preprocessor=own_words, sublinear_tf=True)),
    ]
    if params.get("sentiment_scale"):
        parts.append(("sentiment", SentimentFeatures(scale=params["sentiment_scale"])))
    features = FeatureUnion(parts)
    clf = LogisticRegression(C=params["C"], max_iter=params["max_iter"], tol=params["tol"],
                             class_weight=params.get("weights") or params["class_weight"])
    return Pipeline([("features", features), ("clf", clf)])


def _class_weights(labels: Sequence[str], params: dict[str, Any]) -> dict[str, float] | None:
    """Balanced class weights, with neutral's scaled by ``neutral_weight``."""
    if params.get("class_weight") != "balanced":
        return None
    counts = {lab: labels.count(lab) for lab in set(labels)}
    weights = {lab: len(labels) / (len(counts) * n) for lab, n in counts.items()}
    if "neutral" in weights:
        weights["neutral"] *= float(params.get("neutral_weight", 1.0))
    return weights


def train_linear(
    examples: Sequence[LabelledExample],
    out_dir: Path,
    eval_examples: Sequence[LabelledExample] = (),
    params: dict[str, Any] | None = None,
) -> TrainReport:
    """Fit the linear model on ``examples``, save it with metrics, and report."""
    timer = Timer()
    p = {**DEFAULT_PARAMS, **(params or {})}
    if not examples:
        raise ConfigError(str(out_dir), "no training examples")
    texts = [ex.model_input() for ex in examples]
    labels = [ex.label for ex in examples]
    version = data_version("linear", examples, p)
    pipeline = _pipeline({**p, "weights": _class_weights(labels, p)})
    pipeline.fit(texts, labels)
    model = LinearStanceModel(pipeline, version)
    metrics: dict[str, Any] = {}
    if eval_examples:
        proba = model.predict_proba([ex.model_input() for ex in eval_examples])
        metrics = stance_metrics([ex.label for ex in eval_examples], proba)
    out_dir = Path(out_dir)
    model.save(out_dir)
    meta = {"kind": "linear", "version": version, "labels": list(LABELS), "params": p,
            "n_train": len(examples), "n_eval": len(eval_examples)}
    write_model_files(out_dir, meta, metrics)
    return TrainReport("linear", out_dir, version, len(examples), len(eval_examples),
                       timer.seconds, metrics)
