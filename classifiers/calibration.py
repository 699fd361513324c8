"""Calibration and classification metrics for the partisan score.

The cascade's score is P(support) + P(oppose). A reviewer reads it as a
probability, so evaluation checks that it behaves like one: a reliability
table (predicted vs observed partisan rate per score bin), the Brier score and
the expected calibration error (ECE).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Bin:
    """One row of a reliability table."""

    lo: float
    hi: float
    count: int
    mean_score: float
    observed_rate: float


@dataclass(frozen=True)
class Calibration:
    """Reliability table, Brier score and ECE of scores against 0/1 outcomes."""

    bins: tuple[Bin, ...]
    brier: float
    ece: float
    n: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"brier": self.brier, "ece": self.ece, "n": self.n,
                "bins": [asdict(b) for b in self.bins]}

    def to_markdown(self) -> str:
        """The reliability table as Markdown, with Brier and ECE underneath."""
        lines = ["| score bin | n | mean score | observed partisan rate |", "|---|---|---|---|"]
        for b in self.bins:
            if b.count:
                lines.append(f"| {b.lo:.1f}–{b.hi:.1f} | {b.count} | {b.mean_score:.3f} | "
                             f"{b.observed_rate:.3f} |")
        lines.append("")
        lines.append(f"Brier score {self.brier:.4f}, ECE {self.ece:.4f} (n = {self.n})")
        return "\n".join(lines)


def calibration(scores: Sequence[float], outcomes: Sequence[bool], n_bins: int = 10) -> Calibration:
    """Reliability table, Brier score and ECE with ``n_bins`` equal-width bins.

    ECE is the count-weighted mean of |mean score - observed rate| over bins.
    """
    if len(scores) != len(outcomes):
        raise ValueError("scores and outcomes differ in length")
    n = len(scores)
    if n == 0:
        return Calibration((), 0.0, 0.0, 0)
    sums = [[0, 0.0, 0.0] for _ in range(n_bins)]
    brier = 0.0
    for s, y in zip(scores, outcomes, strict=True):
        yv = 1.0 if y else 0.0
        brier += (s - yv) ** 2
        i = min(int(s * n_bins), n_bins - 1)
        sums[i][0] += 1
        sums[i][1] += s
        sums[i][2] += yv
    bins: list[Bin] = []
    ece = 0.0
    for i, (count, ssum, ysum) in enumerate(sums):
        c = int(count)
        mean = ssum / c if c else 0.0
        rate = ysum / c if c else 0.0
        ece += c / n * abs(mean - rate)
        bins.append(Bin(i / n_bins, (i + 1) / n_bins, c, mean, rate))
    return Calibration(tuple(bins), brier / n, ece, n)


@dataclass(frozen=True)
class ClassMetrics:
    """Precision, recall, F1 and support of one class."""

    precision: float
    recall: float
    f1: float
    support: int


def prf(gold: Sequence[bool], pred: Sequence[bool]) -> ClassMetrics:
    """Precision, recall and F1 of the positive class."""
    tp = sum(1 for g, p in zip(gold, pred, strict=True) if g and p)
    fp = sum(1 for g, p in zip(gold, pred, strict=True) if not g and p)
    fn = sum(1 for g, p in zip(gold, pred, strict=True) if g and not p)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ClassMetrics(precision, recall, f1, tp + fn)


def per_class(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict[
        str, ClassMetrics]:
    """One-vs-rest precision, recall and F1 for each label."""
    return {lab: prf([g == lab for g in gold], [p == lab for p in pred]) for lab in labels}


def confusion(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> list[list[int]]:
    """Confusion matrix: rows are gold labels, columns predictions, in ``labels`` order."""
    idx = {lab: i for i, lab in enumerate(labels)}
    m = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, pred, strict=True):
        m[idx[g]][idx[p]] += 1
    return m


@dataclass(frozen=True)
class Calibrator:
    """A monotone map from a model's raw partisan score to a probability of partisan.

    Fitted on held-out texts when the model is trained and stored as
    ``calibration.json`` beside it: ``ys`` are the probabilities at the raw
    scores ``xs``, read between them by linear interpolation.
    """

    xs: tuple[float, ...]
    ys: tuple[float, ...]

    @classmethod
    def identity(cls) -> Calibrator:
        """The map that changes nothing (a model with no calibration file)."""
        return cls((0.0, 1.0), (0.0, 1.0))

    @classmethod
    def fit(cls, scores: Sequence[float], outcomes: Sequence[bool]) -> Calibrator:
        """Platt scaling: a logistic curve over the raw score's log-odds.

        Smooth, so every threshold means something (isotonic regression left long
        flat steps on a thousand held-out texts); stored as 101 points of the curve.
        """
        from sklearn.linear_model import LogisticRegression

        x = np.clip(np.asarray(scores, dtype=float), 1e-4, 1 - 1e-4)
        logit = np.log(x / (1 - x)).reshape(-1, 1)
        lr = LogisticRegression(C=100.0).fit(logit, [bool(o) for o in outcomes])
        xs = np.linspace(0.0, 1.0, 101)
        grid = np.clip(xs, 1e-4, 1 - 1e-4)
        ys = lr.predict_proba(np.log(grid / (1 - grid)).reshape(-1, 1))[:, 1]
        return cls(tuple(float(v) for v in xs), tuple(float(v) for v in ys))

    def __call__(self, score: float) -> float:
        """The calibrated probability for a raw score."""
        return float(np.interp(score, self.xs, self.ys))

    def to_json(self) -> dict[str, list[float]]:
        """A JSON-ready dict."""
        return {"xs": list(self.xs), "ys": list(self.ys)}

    @classmethod
    def load(cls, model_dir: Path) -> Calibrator:
        """``calibration.json`` of ``model_dir``, or the identity when there is none."""
        path = Path(model_dir) / "calibration.json"
        if not path.exists():
            return cls.identity()
        data = json.loads(path.read_text())
        return cls(tuple(data["xs"]), tuple(data["ys"]))
