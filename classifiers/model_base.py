"""What every stance model shares: the protocol, labels, versions, metrics and model files.

A trained model lives in a folder holding ``meta.json`` (kind, version,
labels, training parameters), ``metrics.json`` (held-out metrics measured
right after training) and the model's own files.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from classifiers.calibration import calibration, confusion, per_class, prf
from classifiers.corpus import LabelledExample
from monitor.errors import ConfigError
from monitor.model import STANCES

ModelKind = Literal["linear", "transformer"]
LABELS: tuple[str, ...] = STANCES  # column order of every predict_proba
PARTISAN = ("support", "oppose")
# How much P(unrelated) counts against taking a side once a registry target is
# named: a text that names a candidate is about the election far more often than
# the model's "unrelated" says (it learnt that class from reviews and recipes),
# but a name in a plainly everyday text ("nostalgia ... lucu banget dulu") is not.
UNRELATED_WEIGHT = 0.3


def partisan_raw(proba: np.ndarray, unrelated_weight: float = UNRELATED_WEIGHT) -> np.ndarray:
    """Rows of stance probabilities -> the uncalibrated probability of taking a side."""
    p = np.atleast_2d(proba)
    side = p[:, 0] + p[:, 1]
    return np.asarray(side / np.maximum(1e-9, side + p[:, 2] + unrelated_weight * p[:, 3]))


class StanceModel(Protocol):
    """A model that gives stance probabilities for normalised, masked texts."""

    kind: str
    version: str

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """An (n, 4) array of probabilities in ``LABELS`` order."""
        ...


@dataclass
class TrainReport:
    """What a training run produced: where, which version, and its held-out metrics."""

    kind: str
    out_dir: Path
    version: str
    n_train: int
    n_eval: int
    seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        d = asdict(self)
        d["out_dir"] = str(self.out_dir)
        return d


def data_version(kind: str, examples: Sequence[LabelledExample], params: dict[str, Any]) -> str:
    """``<kind>-<sha12>`` of the training texts, labels and parameters."""
    h = hashlib.sha256()
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    for ex in examples:
        h.update(f"{ex.label}\t{ex.model_input()}\n".encode())
    return f"{kind}-{h.hexdigest()[:12]}"


def stance_metrics(gold: Sequence[str], proba: np.ndarray) -> dict[str, Any]:
    """Per-class and partisan metrics, confusion matrix and calibration of ``proba``."""
    pred = [LABELS[i] for i in proba.argmax(axis=1)]
    score = proba[:, 0] + proba[:, 1]
    gold_part = [g in PARTISAN for g in gold]
    pred_part = [p in PARTISAN for p in pred]
    part = prf(gold_part, pred_part)
    cal = calibration(score.tolist(), gold_part)
    classes = per_class(gold, pred, LABELS)
    return {
        "n": len(gold),
        "accuracy": float(np.mean([g == p for g, p in zip(gold, pred, strict=True)]))
        if gold else 0.0,
        "macro_f1": float(np.mean([m.f1 for m in classes.values()])),
        "per_class": {k: asdict(v) for k, v in classes.items()},
        "partisan": asdict(part),
        "confusion": {"labels": list(LABELS), "matrix": confusion(gold, pred, LABELS)},
        "calibration": cal.to_json(),
    }


def write_model_files(out_dir: Path, meta: dict[str, Any], metrics: dict[str, Any]) -> None:
    """Write ``meta.json`` and ``metrics.json`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))


def read_meta(model_dir: Path) -> dict[str, Any]:
    """The ``meta.json`` of a trained model folder."""
    path = Path(model_dir) / "meta.json"
    if not path.exists():
        raise ConfigError(str(model_dir), "not a trained model folder (no meta.json)")
    meta: dict[str, Any] = json.loads(path.read_text())
    return meta


class Timer:
    """Wall-clock seconds since creation."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        """Seconds elapsed."""
        return time.perf_counter() - self.start
