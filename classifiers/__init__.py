"""Classifiers: text normaliser, registry matcher, stance models and the cascade.

The public API (see ``classifiers/README.md``)::

    build_default_classifier(model_dir, threshold=0.5) -> CascadeClassifier
    train("linear" | "transformer", out_dir, extra_examples=(), ...) -> TrainReport
    evaluate(classifier_or_model_dir, datasets=...) -> EvalReport
    labelled_from_items([(item, stance), ...], registries) -> [LabelledExample]

Heavy imports (scikit-learn, torch) happen on first use of these names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from classifiers.api import build_default_classifier, train
    from classifiers.cascade import CascadeClassifier
    from classifiers.corpus import LabelledExample, labelled_from_items
    from classifiers.evaluate import EvalReport, evaluate
    from classifiers.matcher import RegistryMatcher
    from classifiers.models import TrainReport

__all__ = [
    "CascadeClassifier",
    "EvalReport",
    "LabelledExample",
    "RegistryMatcher",
    "TrainReport",
    "build_default_classifier",
    "evaluate",
    "labelled_from_items",
    "train",
]

_WHERE = {
    "build_default_classifier": "classifiers.api",
    "train": "classifiers.api",
    "CascadeClassifier": "classifiers.cascade",
    "LabelledExample": "classifiers.corpus",
    "labelled_from_items": "classifiers.corpus",
    "EvalReport": "classifiers.evaluate",
    "evaluate": "classifiers.evaluate",
    "RegistryMatcher": "classifiers.matcher",
    "TrainReport": "classifiers.models",
}


def __getattr__(name: str) -> Any:
    """Import public names lazily, so ``import classifiers`` stays cheap."""
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'classifiers' has no attribute {name!r}")
