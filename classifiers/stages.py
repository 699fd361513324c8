"""The classifier as a configured list of stages, each a small class with one method.

An item goes through the stages named in ``[classifier] stages`` in order, as a
:class:`Reading`: the matcher stage finds its targets and writes, for each, the
masked text read for that target; model stages read those texts and write stance
probabilities per target; a later stage may re-read what an earlier one left
unsure. The flag rule (:mod:`classifiers.cascade`) then turns the readings into
results. Adding a rule or a model is one class with ``__call__`` plus one line
of settings.

Stages are found by name: the built-ins below, any registered under the
``asn_monitor.stages`` entry point group, or a ``"package.module:factory"``
path. A factory takes a :class:`StageConfig` and returns a stage.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from classifiers.matcher import CALON, NOMOR, PARTAI, MatchResult, RegistryMatcher
from classifiers.models import LABELS, StanceModel
from monitor.errors import ConfigError
from monitor.model import Item, Registry

ENTRY_POINT_GROUP = "asn_monitor.stages"
# Long texts (blog posts, articles) are read in windows that name the target, so
# one partisan paragraph is not drowned by a long neutral report.
LONG_TEXT_TOKENS = 120
WINDOW_TOKENS = 60
OWN_PLACEHOLDERS = (CALON, PARTAI, NOMOR)


@dataclass
class Reading:
    """One item on its way through the stages.

    ``texts`` holds the masked text read for each target (``""`` for an item
    with election words but no target); ``proba`` the stance probabilities
    (``LABELS`` order) a model stage gave each of those texts; ``by`` which
    stage gave them. ``notes`` are lines for the reviewer's explanation.
    """

    item: Item
    registries: Sequence[Registry]
    match: MatchResult | None = None
    texts: dict[str, str] = field(default_factory=dict)
    proba: dict[str, np.ndarray] = field(default_factory=dict)
    by: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def needs_model(self) -> bool:
        """Whether a stance model has anything to read here."""
        return any(t.strip() for t in self.texts.values())


class Stage(Protocol):
    """One step of the classifier: reads a batch and fills in what it knows."""

    name: str
    version: str

    def __call__(self, batch: Sequence[Reading]) -> Sequence[Reading]:
        """The same readings, with this stage's answers added."""
        ...


@dataclass(frozen=True)
class StageConfig:
    """What a stage factory may need: the trained model folders and the settings' options."""

    model_dir: Path | None = None
    transformer_dir: Path | None = None
    backend: str = "onnx"
    unsure: float = 0.2
    sure: float = 0.95
    batch_size: int = 64
    options: Mapping[str, Any] = field(default_factory=dict)
    gpu: Any = None  # classifiers.transformer_serve.GpuServing when serving on a GPU


class MatchStage:
    """Stage 1: the registry matcher; writes the masked text for each target found."""

    name = "matcher"

    def __init__(self, matcher: RegistryMatcher | None = None) -> None:
        self.matcher = matcher or RegistryMatcher()
        self.version = self.matcher.version

    def __call__(self, batch: Sequence[Reading]) -> Sequence[Reading]:
        """Match every reading; items with neither target nor election words get no text."""
        for r in batch:
            r.match = m = self.matcher.match(r.item, r.registries)
            if m.targets:
                r.texts = {t: m.text_for(t) for t in m.targets}
            elif m.election_context and m.masked_text.strip():
                r.texts = {"": m.masked_text}
        return batch


class ModelStage:
    """A stance model reading every target's text (long texts by their target windows)."""

    def __init__(self, model: StanceModel, name: str = "linear", batch_size: int = 64) -> None:
        self.model = model
        self.name = name
        self.version = model.version
        self.batch_size = batch_size

    def __call__(self, batch: Sequence[Reading]) -> Sequence[Reading]:
        """Stance probabilities for each target of each reading, in one batched model call."""
        keys = [(r, t) for r in batch for t, text in r.texts.items() if text.strip()]
        windows: list[str] = []
        owner: list[int] = []
        for k, (r, t) in enumerate(keys):
            for w in target_windows(r.texts[t]):
                windows.append(w)
                owner.append(k)
        if not windows:
            return batch
        rows = np.vstack([self.model.predict_proba(windows[s:s + self.batch_size])
                          for s in range(0, len(windows), self.batch_size)])
        own = np.asarray(owner)
        for k, (r, t) in enumerate(keys):
            r.proba[t] = aggregate(rows[own == k])
            r.by[t] = self.name
        return batch


class RereadStage:
    """A second, costlier model that re-reads only what the first left open.

    It reads a target's text when the earlier answer is unsure (partisan
    probability at least ``unsure``) or names the target, and not yet settled
    (below ``sure``); the more partisan of the two answers is kept, so a
    partisan text either model recognises stays partisan.
    """

    def __init__(self, model: StanceModel, name: str = "transformer", *, unsure: float = 0.2,
                 sure: float = 0.95) -> None:
        if not 0.0 <= unsure <= sure <= 1.0:
            raise ValueError(f"need 0 <= unsure ({unsure}) <= sure ({sure}) <= 1")
        self.model = model
        self.name = name
        self.version = model.version
        self.unsure = unsure
        self.sure = sure

    def __call__(self, batch: Sequence[Reading]) -> Sequence[Reading]:
        """Re-read the open targets and keep the more partisan answer."""
        todo = [(r, t) for r in batch for t, p in r.proba.items()
                if self.unsure <= partisan(p) < self.sure
                or (any(ph in r.texts[t] for ph in OWN_PLACEHOLDERS) and partisan(p) < self.sure)]
        if not todo:
            return batch
        again = self.model.predict_proba([r.texts[t] for r, t in todo])
        for (r, t), p in zip(todo, again, strict=True):
            if partisan(p) >= partisan(r.proba[t]):
                r.proba[t] = np.asarray(p)
                r.by[t] = self.name
        return batch


def partisan(p: np.ndarray) -> float:
    """P(support) + P(oppose) of one probability row."""
    return float(p[LABELS.index("support")] + p[LABELS.index("oppose")])


def target_windows(text: str) -> list[str]:
    """The text itself, or for long texts its sentence windows that name the target."""
    words = text.split()
    if len(words) <= LONG_TEXT_TOKENS:
        return [text]
    out: list[str] = []
    cur: list[str] = []
    for w in words:
        cur.append(w)
        if (w in (".", "!", "?") and len(cur) >= WINDOW_TOKENS // 2) or len(cur) >= WINDOW_TOKENS:
            out.append(" ".join(cur))
            cur = []
    if cur:
        out.append(" ".join(cur))
    return [w for w in out if any(p in w for p in OWN_PLACEHOLDERS)] or [text]


def aggregate(rows: np.ndarray) -> np.ndarray:
    """One answer from a text's windows: the most partisan window's row.

    A long article that attacks a candidate in two paragraphs and reports in ten
    takes a side; the mean would call it neutral.
    """
    scores = rows[:, LABELS.index("support")] + rows[:, LABELS.index("oppose")]
    return np.asarray(rows[int(np.argmax(scores))])


# ------------------------------------------------------------------------ finding stages

StageFactory = Callable[[StageConfig], Stage]


def _matcher(config: StageConfig) -> Stage:
    return MatchStage()


def _linear(config: StageConfig) -> Stage:
    from classifiers.models import load_model, read_meta

    if config.model_dir is None:
        raise ConfigError("classifier.model_dir", "the linear stage needs a trained model folder")
    if read_meta(config.model_dir).get("kind") == "transformer":
        # A fine-tuned transformer as the only model: on the GPU, or ONNX Runtime on the CPU.
        return ModelStage(_transformer_model(config.model_dir, config), "transformer",
                          config.batch_size)
    return ModelStage(load_model(config.model_dir), "linear", config.batch_size)


def _transformer_model(folder: Path, config: StageConfig) -> StanceModel:
    from classifiers.models import load_model

    if config.gpu is not None and config.gpu.device == "cuda":
        from classifiers.transformer_serve import TorchStanceModel

        return TorchStanceModel.load(folder, config.gpu)
    if config.backend == "torch":
        return load_model(folder)
    from classifiers.staged import FastStanceModel

    return FastStanceModel.load(folder, backend=config.backend)  # type: ignore[arg-type]


def _transformer(config: StageConfig) -> Stage:
    if config.transformer_dir is None:
        raise ConfigError("classifier.transformer_dir",
                          "the transformer stage needs a fine-tuned model folder")
    return RereadStage(_transformer_model(config.transformer_dir, config), "transformer",
                       unsure=config.unsure, sure=config.sure)


BUILTIN: dict[str, StageFactory] = {
    "matcher": _matcher,
    "linear": _linear,
    "transformer": _transformer,
}


def find_stage(name: str) -> StageFactory:
    """The factory for ``name``: built-in, entry point, or ``module:attribute``."""
    if name in BUILTIN:
        return BUILTIN[name]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            factory: StageFactory = ep.load()
            return factory
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            found: StageFactory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError("classifier.stages", f"cannot load stage {name!r}: {exc}") from exc
        return found
    known = sorted({*BUILTIN, *(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))})
    raise ConfigError("classifier.stages",
                      f"unknown stage {name!r} (known: {', '.join(known)}, or module:factory)")


def build_stages(names: Sequence[str], config: StageConfig) -> list[Stage]:
    """The stages named in the settings, in order; the matcher must come first."""
    if not names or names[0] != "matcher":
        raise ConfigError("classifier.stages", "the first stage must be \"matcher\" "
                          f"(it finds the targets the others read), not {list(names)}")
    return [find_stage(n)(config) for n in names]
