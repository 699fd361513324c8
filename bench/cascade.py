"""The benchmark's view of the product cascade: how to build it, watch it, and score it.

The cascade measured here is the one the daemon runs with ``classifier.model =
"staged"``: :class:`classifiers.cascade.CascadeClassifier` (stage 1, the
registry matcher, and the flag rule) over :class:`classifiers.staged.StagedStanceModel`
(stage 2, the trained linear model, on every text stage 1 hands on; stage 3,
the transformer, only where stage 1 found a target or stage 2 is unsure).

The benchmark adds only what measuring needs: :class:`Recorder` remembers each
decision and the matcher's time, :func:`score` computes partisan recall and
precision, and :func:`train_head` fits a stance head on a bare encoder's
embeddings (MiniLM and the random IndoBERT shape are not fine-tuned).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from classifiers.cascade import CascadeClassifier
from classifiers.staged import StagedStanceModel
from monitor.model import STANCES, Item, RegistryView, Result

LABELS: tuple[str, ...] = STANCES  # support, oppose, neutral, unrelated


class Recorder:
    """A ``monitor.model.Classifier`` that runs the product cascade and keeps what it decided."""

    def __init__(self, cascade: CascadeClassifier) -> None:
        self.cascade = cascade
        self.name: str = cascade.name
        self.version: str = cascade.version
        self.decisions: dict[str, bool] = {}
        self.items = 0
        self.seconds = 0.0

    @property
    def staged(self) -> StagedStanceModel:
        """The cascade's stages 2 and 3."""
        model = self.cascade.model
        assert isinstance(model, StagedStanceModel)
        return model

    def classify(self, items: Sequence[Item], registries: RegistryView) -> list[Result]:
        """The cascade's results, timed and remembered by item key."""
        t = time.perf_counter()
        out = self.cascade.classify(items, registries)
        self.seconds += time.perf_counter() - t
        self.items += len(items)
        self.decisions.update((r.item_key, r.flagged) for r in out)
        return out

    def stage_seconds(self) -> dict[str, float]:
        """Seconds per stage; stage 1 is the matcher and the flag rule (all the rest)."""
        s = self.staged.stats.seconds
        return {"stage1": self.seconds - s["stage2"] - s["stage3"], **s}


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


def train_head(embeddings: np.ndarray, labels: Sequence[str]) -> tuple[Any, list[int]]:
    """A scaled logistic-regression head on pooled embeddings; (head, columns in LABELS order)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    head = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=3000))
    head.fit(embeddings, list(labels))
    classes = list(head.classes_)
    return head, [classes.index(lab) for lab in LABELS]
