"""The PyTorch serving class a GPU uses, checked on the CPU against the existing serving paths."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from classifiers.corpus import load_seed_corpus
from classifiers.staged import FastStanceModel
from classifiers.stages import RereadStage
from classifiers.transformer import TransformerStanceModel, build_tiny_bert, train_transformer
from classifiers.transformer_serve import GpuServing, TorchStanceModel, alone_vs_batch, precision_check

pytest.importorskip("torch", reason="the transformer path needs the 'ml' extra")
pytest.importorskip("transformers", reason="the transformer path needs the 'ml' extra")

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """One intra-op thread: tiny models gain nothing from more, and lose much on a busy machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("serve")
    train = load_seed_corpus("train")[::10]
    base = build_tiny_bert(root / "base", [e.model_input() for e in train])
    train_transformer(train, root / "model", base, (), {
        "epochs": 1, "learning_rate": 2e-3, "batch_size": 32, "max_length": 48})
    return root / "model"


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return [e.model_input() for e in load_seed_corpus("test")[:120]] + ["", "coblos [NOMOR] [CALON]"]


def test_torch_serving_matches_the_existing_paths(model_dir: Path, texts: list[str]) -> None:
    served = TorchStanceModel.load(model_dir, GpuServing("cpu", batch_size=16))
    assert served.version.endswith("/torch-cpu-fp32")
    served.chunk = 50  # several chunks: the next one is tokenised in the worker thread
    got = served.predict_proba(texts)
    assert got.shape == (len(texts), 4) and np.allclose(got.sum(axis=1), 1.0, atol=1e-6)
    reference = TransformerStanceModel.load(model_dir).predict_proba(texts)
    assert np.abs(got - reference).max() < 1e-4
    onnx = FastStanceModel.load(model_dir).predict_proba(texts)
    assert np.abs(got - onnx).max() < 1e-4
    # tokenised elsewhere: the same answer
    assert np.abs(served.predict_encoded(served.encode(texts)) - got).max() < 1e-6


def test_same_answer_alone_and_in_a_batch(model_dir: Path, texts: list[str]) -> None:
    served = TorchStanceModel.load(model_dir, GpuServing("cpu", batch_size=32))
    together = served.predict_proba(texts)
    alone = np.vstack([served.predict_proba([t]) for t in texts[:40]])
    assert np.abs(alone - together[:40]).max() < 1e-5
    assert alone_vs_batch(served, texts[:40]) == 1.0
    assert served.predict_proba([]).shape == (0, 4)


def test_precision_check_measures_agreement_with_fp32(model_dir: Path, texts: list[str]) -> None:
    fp32 = TorchStanceModel.load(model_dir, GpuServing("cpu"))
    same = precision_check(fp32, TorchStanceModel.load(model_dir, GpuServing("cpu")), texts, n_alone=8)
    assert same.passed and same.agreement == 1.0 and same.max_abs_diff < 1e-6 and same.n_alone == 8
    bf16 = TorchStanceModel.load(model_dir, GpuServing("cpu", precision="bf16"))
    check = precision_check(fp32, bf16, texts, n_alone=8)
    assert check.precision == "bf16" and check.n == len(texts)
    assert 0.0 < check.max_abs_diff < 0.2  # bf16 moves the probabilities, a little
    assert check.passed == (check.agreement >= 0.995 and check.alone_vs_batch == 1.0)
    strict = precision_check(fp32, bf16, texts, n_alone=8, min_agreement=1.01)
    assert not strict.passed


def test_build_default_classifier_picks_the_serving_class_by_device(
        model_dir: Path, shared_model_dir: Path) -> None:
    from classifiers.api import build_default_classifier, ensure_default_model

    linear = ensure_default_model(shared_model_dir)
    cpu = build_default_classifier(linear, transformer_dir=model_dir, gpu=GpuServing("cpu"))
    reread = cpu.stages[-1]
    assert isinstance(reread, RereadStage)
    assert isinstance(reread.model, FastStanceModel)  # the CPU path is unchanged
    alone = build_default_classifier(model_dir, gpu=GpuServing("cpu"))
    assert isinstance(alone.model, FastStanceModel)
    with pytest.raises(ValueError, match="precision"):
        TorchStanceModel.load(model_dir, GpuServing("cpu", precision="int8"))
