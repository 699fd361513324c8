"""Sentiment as a feature of the stance model: how people praise and insult, learnt from real text.

The stance corpus can hold only so many ways of attacking or praising a
candidate; real Indonesians have many more ("tai", "gagal total", "mantul",
"juara"). Ten thousand real comments and reviews labelled positive, negative or
neutral (IndoNLU SmSA and NusaX train splits, bundled in
``data/sentiment.tsv.gz``) teach them. :class:`SentimentFeatures` is a
scikit-learn transformer: fitted once on that bundled set, it turns each text
into three scaled probabilities that the stance model weighs beside its word
and character n-grams. Rows that name politics are left out of the set, so the
stance model's own real political rows are never scored by a model that saw
them.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from classifiers.normalise import normalise
from classifiers.zones import split_zones

SENTIMENT_DATA = Path(__file__).with_name("data") / "sentiment.tsv.gz"
SENTIMENT_LABELS = ("positive", "negative", "neutral")


def load_sentiment_data(path: Path = SENTIMENT_DATA) -> tuple[list[str], list[str]]:
    """(normalised texts, labels) of the bundled sentiment set."""
    texts: list[str] = []
    labels: list[str] = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            text, _, label = line.rstrip("\n").rpartition("\t")
            if text and label in SENTIMENT_LABELS:
                texts.append(normalise(text).text)
                labels.append(label)
    return texts, labels


class SentimentFeatures(BaseEstimator, TransformerMixin):
    """Six columns: P(positive), P(negative), P(neutral) of what the text says of the
    target, then of its rivals (zeros when it names none; :mod:`classifiers.zones`),
    times ``scale``.

    ``fit`` ignores the stance texts it is given and trains on the bundled
    sentiment set; the fitted model is pickled with the stance model.
    """

    def __init__(self, scale: float = 1.0, C: float = 2.0) -> None:
        self.scale = scale
        self.C = C

    def fit(self, x: Sequence[str], y: Any = None) -> SentimentFeatures:
        """Train the sentiment model on the bundled set."""
        texts, labels = load_sentiment_data()
        self.model_ = Pipeline([
            ("features", FeatureUnion([
                ("words", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                                          token_pattern=r"\S+")),  # noqa: S106 - a regex, not a secret
                ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 4), min_df=5,
                                          sublinear_tf=True)),
            ])),
            # tol: training time matters (make run trains on first use); 1e-3 loses nothing here.
            ("clf", LogisticRegression(C=self.C, max_iter=2000, tol=1e-3)),
        ])
        self.model_.fit(texts, labels)
        order = list(self.model_.classes_)
        self.columns_ = [order.index(lab) for lab in SENTIMENT_LABELS]
        return self

    def transform(self, x: Sequence[str]) -> np.ndarray:
        """The scaled sentiment probabilities of each text's own and rival zones."""
        own, rival = zip(*(split_zones(t.partition("[SUBJEK]")[0]) for t in x), strict=True) \
            if len(x) else ((), ())
        out = np.zeros((len(x), 2 * len(SENTIMENT_LABELS)))
        if len(x):
            out[:, :3] = self.model_.predict_proba(list(own))[:, self.columns_]
        has_rival = [i for i, r in enumerate(rival) if r]
        if has_rival:
            proba = self.model_.predict_proba([rival[i] for i in has_rival])
            out[has_rival, 3:] = proba[:, self.columns_]
        return np.asarray(out * self.scale)
