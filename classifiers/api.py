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
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from classifiers.calibration import Calibrator
from classifiers.cascade import CascadeClassifier
from classifiers.corpus import (
    MODEL_INPUT_VERSION,
    REAL_POLITICAL,
    SEED_CORPUS,
    SMSA_NEGATIVES,
    WRITTEN_CORPORA,
    LabelledExample,
    load_bundled_negatives,
    load_real_political,
    load_seed_corpus,
    load_written_posts,
    neutralised_copies,
    rival_compositions,
)
from classifiers.linear import train_linear
from classifiers.models import (
    ModelKind,
    StanceModel,
    TrainReport,
    load_model,
    partisan_raw,
    read_meta,
)
from classifiers.sentiment import SENTIMENT_DATA
from classifiers.stages import StageConfig, build_stages
from classifiers.transformer import DEFAULT_BASE, train_transformer
from classifiers.transformer_serve import GpuServing
from monitor.errors import ConfigError
from monitor.model import Classifier

# What the default model is trained from: a change to any of it retrains an auto-trained model.
BUNDLED = (SEED_CORPUS, SMSA_NEGATIVES, REAL_POLITICAL, *WRITTEN_CORPORA, SENTIMENT_DATA)
# Every seventh real row is held out of training to calibrate the score.
CALIBRATION_FOLD = 7
DEFAULT_STAGES: dict[str, tuple[str, ...]] = {
    "linear": ("matcher", "linear"),
    "transformer": ("matcher", "linear"),  # a transformer folder read as the one model
    "staged": ("matcher", "linear", "transformer"),
}


def _bundled_data_sha() -> str:
    h = hashlib.sha256(MODEL_INPUT_VERSION.encode())
    for path in BUNDLED:
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def _calibration_row(ex: LabelledExample) -> bool:
    digest = hashlib.sha256(ex.text.encode()).digest()
    return digest[0] % CALIBRATION_FOLD == 0


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
    eval_set: list[LabelledExample] = []
    if include_seed:
        train_set += load_seed_corpus("train")
        eval_set += load_seed_corpus("test")
    if bundled_negatives:
        train_set += load_bundled_negatives()
        real = load_real_political() + load_written_posts()
        train_set += [ex for ex in real if not _calibration_row(ex)]
        eval_set += [ex for ex in real if _calibration_row(ex)]
    train_set += list(extra_examples)
    train_set += rival_compositions(train_set)
    if neutralised_fraction > 0:
        train_set += neutralised_copies(train_set, neutralised_fraction)
    return train_set, eval_set


def fit_calibration(model: StanceModel, held_out: Sequence[LabelledExample],
                    out_dir: Path) -> Calibrator:
    """Fit the partisan score's calibration on held-out texts that name a target; save it."""
    named = [ex for ex in held_out if any(p in ex.text for p in ("[CALON]", "[PARTAI]",
                                                                 "[NOMOR]"))]
    if len(named) < 50:
        return Calibrator.identity()
    raw = partisan_raw(model.predict_proba([ex.model_input() for ex in named]))
    cal = Calibrator.fit(raw.tolist(), [ex.label in ("support", "oppose") for ex in named])
    (Path(out_dir) / "calibration.json").write_text(json.dumps(cal.to_json(), indent=1))
    return cal


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
    extra_sources: dict[str, int] | None = None,
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
        report = train_linear(train_set, Path(out_dir), eval_set, params)
        fit_calibration(load_model(Path(out_dir)), eval_set, Path(out_dir))
        record_sources(Path(out_dir), train_set, extra_sources or {})
        return report
    if kind == "transformer":
        p = {"epochs": epochs, **(params or {})}
        return train_transformer(train_set, Path(out_dir), base_model, eval_set, p, log=log,
                                 device=device)
    raise ConfigError("train", f"unknown model kind {kind!r} (linear or transformer)")


def record_sources(out_dir: Path, train_set: Sequence[LabelledExample],
                   extra: dict[str, int]) -> None:
    """Write into ``meta.json`` what the model was trained on: rows per corpus and file."""
    counts: dict[str, int] = {}
    for ex in train_set:
        key = ex.source.split(":")[0].split("+")[0]
        counts[key] = counts.get(key, 0) + 1
    meta_path = Path(out_dir) / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["trained_on"] = {"rows_by_source": counts, "bundled_data_sha": _bundled_data_sha(),
                          **({"extra": extra} if extra else {})}
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True))


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
        fit_calibration(load_model(tmp), eval_set, tmp)
        record_sources(tmp, train_set, {})
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
    backend: str = "onnx",
    stages: Sequence[str] | None = None,
    unsure: float = 0.2,
    sure: float = 0.95,
    threshold: float = 0.5,
    review_threshold: float | None = None,
    unrelated_veto: float = 0.9,
    account_score: float = 0.9,
    batch_size: int = 64,
    gpu: GpuServing | None = None,
) -> CascadeClassifier:
    """The classifier over the model in ``model_dir``; trains the linear default there if absent.

    ``stages`` names the stages in order (default: matcher and linear, plus the
    transformer when ``transformer_dir`` is given). ``model_dir`` may hold any
    model written by :func:`train` (a transformer runs on ``backend``). The
    thresholds come from the caller's settings; ``threshold`` is the flag
    (high-confidence) threshold and ``review_threshold`` what enters the queue.
    """
    path = ensure_default_model(Path(model_dir))
    if stages is None:
        stages = DEFAULT_STAGES["staged" if transformer_dir is not None else "linear"]
    config = StageConfig(model_dir=path, transformer_dir=transformer_dir, backend=backend,
                         unsure=unsure, sure=max(sure, threshold), batch_size=batch_size,
                         gpu=gpu)
    built = build_stages(stages, config)
    model = _first_model(built)
    return CascadeClassifier(stages=built, model=model, flag_threshold=threshold,
                             review_threshold=review_threshold, unrelated_veto=unrelated_veto,
                             account_score=account_score, calibrator=Calibrator.load(path),
                             batch_size=batch_size)


def _first_model(stages: Sequence[object]) -> StanceModel | None:
    for stage in stages:
        model: StanceModel | None = getattr(stage, "model", None)
        if model is not None:
            return model
    return None


def _conforms(c: CascadeClassifier) -> Classifier:
    """Static check (for mypy) that the cascade implements the Classifier protocol."""
    return c
