"""The public API the CLI calls: build the default classifier, train, evaluate.

::

    clf = build_default_classifier(Path("data/models/stance"), threshold=0.5)
    results = clf.classify(items, registry_view)

    # linear on every candidate text, the transformer (ONNX Runtime) only where needed
    clf = build_default_classifier(Path("data/models/linear"),
                                   transformer_dir=Path("data/models/indobert"))

    report = train("linear", Path("data/models/stance-v2"), extra_examples=reviewed)
    report = train("transformer", Path("data/models/indobert"),
                   base_model="indolem/indobertweet-base-uncased", epochs=3)

    print(evaluate(Path("data/models/stance")).to_markdown())
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from classifiers.cascade import CascadeClassifier
from classifiers.corpus import (
    SEED_CORPUS,
    SMSA_NEGATIVES,
    LabelledExample,
    load_bundled_negatives,
    load_seed_corpus,
    neutralised_copies,
)
from classifiers.fast import Backend
from classifiers.linear import train_linear
from classifiers.matcher import RegistryMatcher
from classifiers.models import ModelKind, StanceModel, TrainReport, load_model, read_meta
from classifiers.staged import FastStanceModel, load_staged
from classifiers.transformer import DEFAULT_BASE, train_transformer
from classifiers.transformer_serve import GpuServing, TorchStanceModel
from monitor.errors import ConfigError
from monitor.model import Classifier


def _bundled_data_sha() -> str:
    h = hashlib.sha256()
    for path in (SEED_CORPUS, SMSA_NEGATIVES):
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def training_examples(
    extra_examples: Iterable[LabelledExample] = (),
    *,
    include_seed: bool = True,
    bundled_negatives: bool = True,
    neutralised_fraction: float = 0.5,
) -> tuple[list[LabelledExample], list[LabelledExample]]:
    """(train, eval) examples: seed train split + negatives + extras, and the seed test split.

    ``neutralised_fraction`` of the training rows with placeholders are also
    added with the placeholders replaced by plain words (see
    :func:`classifiers.corpus.neutralised_copies`).
    """
    train_set: list[LabelledExample] = []
    if include_seed:
        train_set += load_seed_corpus("train")
    if bundled_negatives:
        train_set += load_bundled_negatives()
    train_set += list(extra_examples)
    if neutralised_fraction > 0:
        train_set += neutralised_copies(train_set, neutralised_fraction)
    return train_set, load_seed_corpus("test")


def train(
    kind: ModelKind,
    out_dir: Path,
    extra_examples: Iterable[LabelledExample] = (),
    *,
    base_model: str | Path = DEFAULT_BASE,
    epochs: int = 3,
    params: dict[str, Any] | None = None,
    include_seed: bool = True,
    bundled_negatives: bool = True,
    neutralised_fraction: float = 0.5,
    log: Callable[[str], None] | None = None,
    device: str = "cpu",
) -> TrainReport:
    """Train a stance model of ``kind`` into ``out_dir`` and report its held-out metrics.

    Training data: the seed corpus's train split, the bundled real negatives,
    and ``extra_examples`` (e.g. reviewers' confirmed and dismissed flags, see
    :func:`classifiers.corpus.labelled_from_items`). Metrics are measured on the
    seed corpus's test split and written to ``out_dir/metrics.json``.

    ``kind="transformer"`` fine-tunes ``base_model`` (a hub id or local folder)
    with ``epochs`` epochs; ``params`` overrides the other hyper-parameters.
    """
    train_set, eval_set = training_examples(
        extra_examples, include_seed=include_seed, bundled_negatives=bundled_negatives,
        neutralised_fraction=neutralised_fraction)
    if kind == "linear":
        return train_linear(train_set, Path(out_dir), eval_set, params)
    if kind == "transformer":
        p = {"epochs": epochs, **(params or {})}
        return train_transformer(train_set, Path(out_dir), base_model, eval_set, p, log=log,
                                 device=device)
    raise ConfigError("train", f"unknown model kind {kind!r} (linear or transformer)")


def ensure_default_model(model_dir: Path) -> Path:
    """Train the default linear model into ``model_dir`` unless a current one is there.

    A folder holding any trained model (``meta.json``) is used as it is, except
    an auto-trained linear model whose bundled data changed, which is retrained.
    Training writes to a temporary folder first and renames it, so a crash or a
    second process never leaves a half-written model.
    """
    model_dir = Path(model_dir)
    sha = _bundled_data_sha()
    if (model_dir / "meta.json").exists():
        meta = read_meta(model_dir)
        if not meta.get("auto") or meta.get("bundled_data_sha") == sha:
            return model_dir
    elif model_dir.exists() and any(model_dir.iterdir()):
        # Never replace a folder we did not write (e.g. data/models/ itself).
        raise ConfigError(str(model_dir), "exists, is not empty and holds no trained model; "
                          "give a model folder such as data/models/stance")
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".training-", dir=model_dir.parent))
    try:
        train_set, eval_set = training_examples()
        train_linear(train_set, tmp, eval_set)
        meta_path = tmp / "meta.json"
        meta = json.loads(meta_path.read_text())
        meta.update(auto=True, bundled_data_sha=sha)
        meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True))
        if model_dir.exists():
            shutil.rmtree(model_dir)
        os.replace(tmp, model_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return model_dir


def build_default_classifier(
    model_dir: Path,
    *,
    transformer_dir: Path | None = None,
    backend: Backend = "onnx",
    unsure: float = 0.2,
    sure: float = 0.95,
    threshold: float = 0.5,
    unrelated_veto: float = 0.97,
    account_score: float = 0.9,
    batch_size: int = 64,
    gpu: GpuServing | None = None,
) -> CascadeClassifier:
    """The cascade over the model in ``model_dir``; trains the linear default there if absent.

    ``model_dir`` may hold any model written by :func:`train` (linear or
    transformer; a transformer runs on ``backend``). With ``transformer_dir``
    the cascade's model is staged (:mod:`classifiers.staged`): the linear model
    in ``model_dir`` reads every text, the transformer only those that name a
    target or leave the linear model unsure. Thresholds come from the caller's
    settings.
    """
    path = ensure_default_model(Path(model_dir))
    model: StanceModel
    if transformer_dir is not None:
        # Never below the flag threshold: skipping stage 3 must change no flag.
        model = load_staged(path, Path(transformer_dir), backend=backend, unsure=unsure,
                            sure=max(sure, threshold), gpu=gpu)
    elif read_meta(path).get("kind") == "transformer" and gpu is not None and gpu.device == "cuda":
        model = TorchStanceModel.load(path, gpu)
    elif read_meta(path).get("kind") == "transformer" and backend != "torch":
        model = FastStanceModel.load(path, backend=backend)
    else:
        model = load_model(path)
    return CascadeClassifier(RegistryMatcher(), model, flag_threshold=threshold,
                             unrelated_veto=unrelated_veto, account_score=account_score,
                             batch_size=batch_size)


def _conforms(c: CascadeClassifier) -> Classifier:
    """Static check (for mypy) that the cascade implements the Classifier protocol."""
    return c
