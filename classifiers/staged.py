"""Stages 2 and 3 of the cascade as one stance model: the linear model everywhere, the transformer
only where it matters.

:class:`classifiers.cascade.CascadeClassifier` runs stage 1 (the registry matcher)
and hands the model only texts that name a registry target or talk about the
election. :class:`StagedStanceModel` is that model when the cheap and the
expensive stance models are combined:

* stage 2, the linear model, reads every text it is given;
* stage 3, the transformer, reads only the texts where stage 1 found a target
  (the text holds a ``[CALON]``, ``[PARTAI]`` or ``[NOMOR]`` placeholder) or
  where stage 2 is unsure (its partisan probability is at least ``unsure``),
  and that stage 2 has not already settled (partisan probability below
  ``sure``);
* for a text that reached stage 3, the row with the higher partisan probability
  is kept, so a partisan text that either model recognises stays partisan: the
  staged model's partisan recall is at least the transformer's on the texts it
  forwards, and the linear model's on the rest.

Why ``sure`` changes no flag: stage 3 can only make a text *more* partisan, and
a text whose partisan probability is already at least ``sure`` (0.95, never
below ``flag_threshold``) is partisan by argmax and above the threshold either
way. Skipping it saves most of stage 3's work, because most texts that name a
target are plainly partisan or plainly not.

The transformer is served by :class:`FastStanceModel` (ONNX Runtime fp32,
length-sorted dynamic padding; see :mod:`classifiers.fast`), which needs
neither torch nor transformers once the model's ONNX file exists.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from classifiers.fast import Backend, FastStanceModel
from classifiers.matcher import CALON, NOMOR, PARTAI
from classifiers.models import LABELS, StanceModel, load_model
from classifiers.transformer_serve import GpuServing, TorchStanceModel

PLACEHOLDERS = (CALON, PARTAI, NOMOR)


def partisan(proba: np.ndarray) -> np.ndarray:
    """P(support) + P(oppose) per row (``LABELS`` order)."""
    if len(proba) == 0:
        return np.zeros(0)
    return np.asarray(proba[:, LABELS.index("support")] + proba[:, LABELS.index("oppose")])


def names_a_target(text: str) -> bool:
    """Whether stage 1 masked a candidate, party or ballot number in this model input."""
    return any(p in text for p in PLACEHOLDERS)


def forward_mask(texts: Sequence[str], p2: np.ndarray, unsure: float, sure: float) -> np.ndarray:
    """Which texts stage 3 reads: named a target or unsure, and not already settled by stage 2."""
    score = partisan(p2)
    named = np.array([names_a_target(t) for t in texts], dtype=bool).reshape(-1)
    return np.asarray((named | (score >= unsure)) & (score < sure))


def combine(p2: np.ndarray, p3: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Stage 2's rows, replaced by stage 3's where forwarded and more partisan."""
    keep3 = forward & (partisan(p3) >= partisan(p2))
    return np.asarray(np.where(keep3[:, None], p3, p2))


@dataclass
class StageStats:
    """What the staged model did, summed over every call (the benchmark reads it)."""

    texts: int = 0
    forwarded: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: {"stage2": 0.0, "stage3": 0.0})


class StagedStanceModel:
    """A :class:`~classifiers.models.StanceModel`: linear on every text, transformer where needed."""

    kind = "staged"

    def __init__(self, linear: StanceModel, transformer: StanceModel, *, unsure: float = 0.2,
                 sure: float = 0.95) -> None:
        if not 0.0 <= unsure <= sure <= 1.0:
            raise ValueError(f"need 0 <= unsure ({unsure}) <= sure ({sure}) <= 1")
        self.linear = linear
        self.transformer = transformer
        self.unsure = unsure
        self.sure = sure
        self.version = f"{linear.version}+{transformer.version}"
        self.stats = StageStats()

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Stance probabilities (n, 4) in ``LABELS`` order."""
        return self.route(texts)[0]

    def route(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities, forwarded-to-stage-3 mask) for ``texts``."""
        t0 = time.perf_counter()
        p2 = np.asarray(self.linear.predict_proba(list(texts)), dtype=np.float64).reshape(-1, len(LABELS))
        t1 = time.perf_counter()
        forward = forward_mask(texts, p2, self.unsure, self.sure)
        idx = np.flatnonzero(forward)
        p3 = np.zeros_like(p2)
        if len(idx):
            p3[idx] = np.asarray(self.transformer.predict_proba([texts[int(i)] for i in idx]),
                                 dtype=np.float64)
        proba = combine(p2, p3, forward)
        t2 = time.perf_counter()
        self.stats.texts += len(texts)
        self.stats.forwarded += len(idx)
        self.stats.seconds["stage2"] += t1 - t0
        self.stats.seconds["stage3"] += t2 - t1
        return proba, forward


def load_staged(linear_dir: Path, transformer_dir: Path, *, backend: Backend = "onnx",
                unsure: float = 0.2, sure: float = 0.95,
                threads: int | None = None, gpu: GpuServing | None = None) -> StagedStanceModel:
    """The staged model over a trained linear folder and a trained transformer folder."""
    linear = load_model(linear_dir)
    transformer: StanceModel
    if gpu is not None and gpu.device == "cuda":  # on a GPU, PyTorch serves stage 3
        transformer = TorchStanceModel.load(transformer_dir, gpu)
    elif backend == "torch":
        transformer = load_model(transformer_dir)
    else:
        transformer = FastStanceModel.load(transformer_dir, backend=backend, threads=threads)
    return StagedStanceModel(linear, transformer, unsure=unsure, sure=sure)
