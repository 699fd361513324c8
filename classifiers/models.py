"""Stance models: what they share (:mod:`classifiers.model_base`) and loading a trained folder.

Loading lives here, apart from the shared parts, because it picks the model's class:
the linear and transformer modules build on ``model_base`` and never import this
module, so nothing imports in a circle.
"""

from __future__ import annotations

from pathlib import Path

from classifiers.model_base import (
    LABELS,
    PARTISAN,
    UNRELATED_WEIGHT,
    ModelKind,
    StanceModel,
    Timer,
    TrainReport,
    data_version,
    partisan_raw,
    read_meta,
    stance_metrics,
    write_model_files,
)
from monitor.errors import ConfigError

__all__ = ["LABELS", "PARTISAN", "UNRELATED_WEIGHT", "ModelKind", "StanceModel", "Timer",
           "TrainReport", "data_version", "load_model", "partisan_raw", "read_meta",
           "stance_metrics", "write_model_files"]


def load_model(model_dir: Path) -> StanceModel:
    """Load a trained linear or transformer model from ``model_dir``."""
    meta = read_meta(model_dir)
    if meta.get("kind") == "linear":
        from classifiers.linear import LinearStanceModel

        return LinearStanceModel.load(model_dir)
    if meta.get("kind") == "transformer":
        from classifiers.transformer import TransformerStanceModel

        return TransformerStanceModel.load(model_dir)
    raise ConfigError(str(model_dir), f"unknown model kind {meta.get('kind')!r}")
