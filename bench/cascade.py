"""The classifier cascade: stage 1 on every item, stage 2 on every item, stage 3 where needed.

Stage 1 is the registry matcher (:class:`classifiers.matcher.RegistryMatcher`):
it finds candidates and parties and masks them. Stage 2 is any object with
``predict_proba(texts) -> (n, 4)`` in ``LABELS`` order (the linear TF-IDF model).
Stage 3 is any such object too (the transformer, made fast by
:mod:`classifiers.fast`). An item goes to stage 3 when stage 1 found a target or
election words, or when stage 2's partisan probability is at least ``Gate.unsure``;
every other item is decided by stage 2 alone ("unrelated", cheaply).

For items that reach stage 3 the cascade keeps, of stage 2's and stage 3's
probabilities, the row with the higher partisan probability, so a partisan item
either model catches is flagged: the cascade's recall is at least the
transformer's on the items it forwards.

Until the classifiers room's models land, the benchmark trains a stand-in
stage 2 (:func:`train_standin_linear`), clearly labelled as such.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from classifiers.matcher import RegistryMatcher
from monitor.model import STANCES, Item, RegistryView, Result, skb_category

LABELS: tuple[str, ...] = STANCES  # support, oppose, neutral, unrelated
PARTISAN = (0, 1)


class ProbaModel(Protocol):
    """A stance model: (n, 4) probabilities in ``LABELS`` order for n texts."""

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, one row per text."""
        ...


def partisan(proba: np.ndarray) -> np.ndarray:
    """P(support) + P(oppose) per row."""
    if len(proba) == 0:
        return np.zeros(0)
    return np.asarray(proba[:, 0] + proba[:, 1])


@dataclass(frozen=True)
class Gate:
    """When an item goes to stage 3, and when a final score is a flag."""

    unsure: float = 0.2
    flag: float = 0.5
    context: bool = False  # whether election words alone (no target) send an item to stage 3


@dataclass
class CascadeStats:
    """Counts and seconds per stage, summed over every call."""

    items: int = 0
    stage3_items: int = 0
    flagged: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: {"stage1": 0.0, "stage2": 0.0,
                                                               "stage3": 0.0})
    decisions: dict[str, bool] = field(default_factory=dict)


class CascadeClassifier:
    """A ``monitor.model.Classifier``: matcher, then linear model, then transformer."""

    name = "cascade"

    def __init__(self, linear: ProbaModel, transformer: ProbaModel, *,
                 matcher: RegistryMatcher | None = None, gate: Gate | None = None,
                 version: str = "bench", keep_decisions: bool = False) -> None:
        self.matcher = matcher or CachingMatcher()
        self.linear = linear
        self.transformer = transformer
        self.gate = gate or Gate()
        self.version = version
        self.keep_decisions = keep_decisions
        self.stats = CascadeStats()

    def decide(self, texts: Sequence[str], matched: np.ndarray, context: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities, forwarded-to-stage-3 mask) for masked ``texts``."""
        t = time.perf_counter()
        p2 = np.asarray(self.linear.predict_proba(texts), dtype=np.float64)
        t2 = time.perf_counter()
        self.stats.seconds["stage2"] += t2 - t
        fwd = matched | (partisan(p2) >= self.gate.unsure)
        if self.gate.context:
            fwd |= context
        proba = p2.copy()
        idx = np.flatnonzero(fwd)
        if len(idx):
            p3 = np.asarray(self.transformer.predict_proba([texts[int(i)] for i in idx]),
                            dtype=np.float64)
            keep3 = partisan(p3) >= partisan(p2[idx])
            proba[idx] = np.where(keep3[:, None], p3, p2[idx])
        self.stats.seconds["stage3"] += time.perf_counter() - t2
        self.stats.stage3_items += len(idx)
        return proba, fwd

    def classify(self, items: Sequence[Item], registries: RegistryView) -> list[Result]:
        """One result per item, in order."""
        t = time.perf_counter()
        matches = [self.matcher.match(it, registries.for_item(it)) for it in items]
        self.stats.seconds["stage1"] += time.perf_counter() - t
        texts = [m.masked_text for m in matches]
        matched = np.array([m.matched for m in matches], dtype=bool)
        context = np.array([m.election_context for m in matches], dtype=bool)
        proba, fwd = self.decide(texts, matched, context)
        score = partisan(proba)
        out: list[Result] = []
        for i, (it, m) in enumerate(zip(items, matches, strict=True)):
            flagged = bool(score[i] >= self.gate.flag)
            stage = "stage 3 (transformer)" if fwd[i] else "stage 2 (linear)"
            why = "; ".join(e.describe() for e in m.evidence) or "no registry match"
            out.append(Result(it.key, flagged, float(score[i]), LABELS[int(proba[i].argmax())],  # type: ignore[arg-type]
                              m.targets, skb_category(it.kind), f"{stage}: {why}", self.name,
                              self.version))
            if self.keep_decisions:
                self.stats.decisions[it.key] = flagged
        self.stats.items += len(items)
        self.stats.flagged += sum(r.flagged for r in out)
        return out


def text_signals(texts: Sequence[str], matcher: RegistryMatcher | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(matched, election context) for already-masked texts (the seed corpus's form).

    A placeholder (``[CALON]``, ``[PARTAI]``, ``[NOMOR]``) is what stage 1 leaves
    where it matched, so it stands for a stage-1 match.
    """
    from datetime import UTC, datetime

    m = matcher or RegistryMatcher()
    now = datetime.now(UTC)
    matched = np.array([any(p in t.upper() for p in ("[CALON]", "[PARTAI]", "[NOMOR]"))
                        for t in texts], dtype=bool)
    context = np.array([m.match(Item("x", str(i), "post", "x", now, text=t), []).election_context
                        for i, t in enumerate(texts)], dtype=bool)
    return matched, context


@dataclass(frozen=True)
class Scores:
    """Partisan recall and precision of a set of decisions against gold labels."""

    recall: float
    precision: float
    n_partisan: int


def score(gold: Sequence[str], flagged: Sequence[bool]) -> Scores:
    """Partisan (support or oppose) recall and precision."""
    g = np.array([x in ("support", "oppose") for x in gold], dtype=bool)
    f = np.asarray(flagged, dtype=bool)
    tp = int((g & f).sum())
    return Scores(tp / max(1, int(g.sum())), tp / max(1, int(f.sum())), int(g.sum()))


class StandInLinear:
    """STAND-IN for the classifiers room's linear model: TF-IDF (words and characters) + LR."""

    kind = "linear-standin"

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        classes = list(pipeline.classes_)
        self.columns = [classes.index(lab) for lab in LABELS]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 4) probabilities in ``LABELS`` order."""
        if not texts:
            return np.zeros((0, len(LABELS)))
        return np.asarray(self.pipeline.predict_proba(list(texts)))[:, self.columns]


def train_standin_linear(texts: Sequence[str], labels: Sequence[str]) -> StandInLinear:
    """Fit the stand-in TF-IDF + logistic-regression stance model."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, make_pipeline

    features = FeatureUnion([
        ("words", TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2,
                                  sublinear_tf=True, max_features=50000)),
    ])
    pipe = make_pipeline(features, LogisticRegression(C=4.0, max_iter=2000))
    pipe.fit(list(texts), list(labels))
    return StandInLinear(pipe)


def train_head(embeddings: np.ndarray, labels: Sequence[str]) -> tuple[Any, list[int]]:
    """A scaled logistic-regression head on pooled embeddings; (head, columns in LABELS order)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    head = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=3000))
    head.fit(embeddings, list(labels))
    classes = list(head.classes_)
    return head, [classes.index(lab) for lab in LABELS]


class CachingMatcher(RegistryMatcher):
    """The stage-1 matcher with two memoisations it lacks upstream (same results).

    ``RegistryMatcher.match`` recomputes each registry's fingerprint (a JSON dump
    and a SHA-256) and rebuilds the hashtag-splitting normaliser on every item;
    both depend only on the registries, so they are cached here by registry
    identity. (Proposed upstream to the classifiers room.)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._by_id: dict[int, Any] = {}
        self._norms: dict[tuple[int, ...], tuple[tuple[Any, ...], Any]] = {}

    def _compile(self, reg: Any) -> Any:
        got = self._by_id.get(id(reg))
        if got is None or got.registry is not reg:
            got = super()._compile(reg)
            self._by_id[id(reg)] = got
        return got

    def normaliser_for(self, registries: Sequence[Any]) -> Any:
        """The hashtag-splitting normaliser for ``registries``, built once per set."""
        key = tuple(id(r) for r in registries)
        got = self._norms.get(key)
        if got is None:  # the cache holds the registries, so their ids are never reused
            got = (tuple(registries), super().normaliser_for(registries))
            self._norms[key] = got
        return got[1]
