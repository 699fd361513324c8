"""The transformer's training loop (the one a GPU runs), exercised on the CPU with tiny models."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from classifiers.corpus import load_seed_corpus
from classifiers.models import LABELS, load_model
from classifiers.transformer import TransformerStanceModel, build_tiny_bert, train_transformer
from classifiers.transformer_train import (
    BucketBatchSampler,
    Collate,
    Trainer,
    autocast_dtype,
    holdout_split,
)
from monitor.testing import CliResult

torch = pytest.importorskip("torch", reason="the transformer path needs the 'ml' extra")
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
Cli = Callable[..., CliResult]


def test_holdout_split_is_stratified_disjoint_and_reproducible() -> None:
    labels = [0] * 50 + [1] * 20 + [2] * 3 + [3]
    train, held = holdout_split(labels, 0.1, seed=13)
    assert sorted(train + held) == list(range(len(labels))) and not set(train) & set(held)
    assert [labels[i] for i in held].count(0) == 5 and [labels[i] for i in held].count(1) == 2
    assert [labels[i] for i in held].count(2) == 1  # every label with two or more examples
    assert 73 in train  # a label's only example is never held out
    assert holdout_split(labels, 0.1, seed=13) == (train, held)
    assert holdout_split(labels, 0.0, seed=13) == (list(range(len(labels))), [])


def test_bucket_sampler_covers_everything_with_little_padding_and_a_new_mix_each_epoch() -> None:
    lengths = [(i * 37) % 101 + 3 for i in range(500)]
    sampler = BucketBatchSampler(lengths, 16, seed=1, pool=50)
    first = list(sampler)
    assert len(first) == len(sampler) == 32
    assert sorted(i for b in first for i in b) == list(range(500))
    padded = sum(len(b) * max(lengths[i] for i in b) for b in first)
    assert padded < 1.05 * sum(lengths)  # one pool: nearly no padding
    sampler.set_epoch(1)
    assert list(sampler) != first
    sampler.set_epoch(0)
    assert list(sampler) == first


def test_collate_pads_and_masks() -> None:
    out = Collate(pad_id=0)([([5, 6, 7], 1), ([8], 3)])
    assert out["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert out["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert out["labels"].tolist() == [1, 3]


def test_cpu_trains_in_fp32_without_autocast() -> None:
    assert autocast_dtype("cpu", "auto") is None
    assert autocast_dtype("cpu", "bf16") is None
    assert autocast_dtype("cuda", "fp32") is None
    with pytest.raises(ValueError, match="precision"):
        autocast_dtype("cpu", "int4")


def _tiny_classifier() -> object:
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, hidden_dropout_prob=0.0,
                     attention_probs_dropout_prob=0.0, num_labels=len(LABELS))
    return BertForSequenceClassification(cfg)


def test_accumulated_micro_batches_give_the_whole_batch_step() -> None:
    model = _tiny_classifier()
    rows = [([2, 3 + i % 7, 4, 9 + i % 5][: 2 + i % 3], i % 4) for i in range(12)]
    batch = Collate(0)(rows)
    results = []
    for micro in (None, 5):
        m = copy.deepcopy(model)
        trainer = Trainer(m, {"batch_size": 12, "micro_batch_size": micro, "seed": 1}, "cpu", 0)
        assert trainer.accumulation == (1 if micro is None else 3)
        opt = torch.optim.SGD(m.parameters(), lr=0.5)
        loss = trainer.step(batch, opt)
        results.append((float(loss), [p.detach().clone() for p in m.parameters()]))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-5)
    for a, b in zip(results[0][1], results[1][1], strict=True):
        assert torch.allclose(a, b, atol=1e-6)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    train = load_seed_corpus("train")[::20]
    return build_tiny_bert(tmp_path_factory.mktemp("tiny") / "base",
                           [e.model_input() for e in train]), train


def test_early_stopping_when_held_out_loss_stops_falling(base: tuple[Path, list], tmp_path: Path) -> None:
    folder, train = base
    # A zero learning rate leaves the weights as they are: the held-out loss cannot fall.
    report = train_transformer(train, tmp_path / "m", folder, (), {
        "epochs": 3, "learning_rate": 0.0, "batch_size": 32, "micro_batch_size": 16,
        "max_length": 24, "patience": 1})
    t = report.metrics["training"]
    assert t["stopped"] == "early_stopping" and t["epochs_run"] == 2 and t["best_epoch"] == 1
    assert t["accumulation"] == 2 and t["precision"] == "fp32" and t["device"] == "cpu"
    assert report.metrics["holdout_loss"][0] == report.metrics["holdout_loss"][1]


@pytest.mark.slow
def test_best_epoch_weights_are_kept(base: tuple[Path, list], tmp_path: Path) -> None:
    folder, train = base
    report = train_transformer(train, tmp_path / "m", folder, (), {
        "epochs": 3, "learning_rate": 3e-2, "batch_size": 16, "max_length": 24, "patience": 3})
    hold = report.metrics["holdout_loss"]
    t = report.metrics["training"]
    assert len(hold) == 3 and t["best_epoch"] == hold.index(min(hold)) + 1
    # the saved model's held-out loss is the best epoch's, whichever epoch that was
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from classifiers.transformer_train import loader, pretokenize

    tok = AutoTokenizer.from_pretrained(str(tmp_path / "m"))
    model = AutoModelForSequenceClassification.from_pretrained(str(tmp_path / "m"))
    ids = pretokenize(tok, [e.model_input() for e in train], 24)
    labels = [LABELS.index(e.label) for e in train]
    _, held = holdout_split(labels, 0.1, 13)
    trainer = Trainer(model, {"batch_size": 16, "seed": 13}, "cpu", int(tok.pad_token_id))
    got = trainer.holdout_loss(loader([ids[i] for i in held], [labels[i] for i in held], 16,
                                      pad_id=int(tok.pad_token_id), seed=13, pool=50,
                                      shuffle=False, pin=False))
    assert got == pytest.approx(min(hold), rel=1e-4)


def test_time_budget_stops_after_the_step_that_crosses_it(base: tuple[Path, list],
                                                         tmp_path: Path) -> None:
    folder, train = base
    report = train_transformer(train, tmp_path / "m", folder, (), {
        "epochs": 50, "batch_size": 16, "max_length": 24, "time_budget_s": 1e-9})
    t = report.metrics["training"]
    assert t["stopped"] == "time_budget" and t["steps"] == 1 and t["epochs_run"] == 1
    assert t["planned_steps"] > 300


@pytest.mark.slow
def test_cli_train_transformer_on_cpu_saves_the_usual_folder(
        cli: Cli, base: tuple[Path, list], tmp_path: Path) -> None:
    folder, _ = base
    out = tmp_path / "model"
    got = cli("train", "--kind", "transformer", "--device", "cpu", "--base-model", str(folder),
              "--epochs", "1", "--time-budget", "1", "--micro-batch-size", "8",
              "--without-reviews", "--out", str(out), "--json")
    assert got.exit_code == 0, got.stderr
    report = got.json()
    assert report["version"].startswith("transformer-") and report["n_eval"] > 0
    t = report["metrics"]["training"]
    assert t["device"] == "cpu" and t["accumulation"] == 2 and t["stopped"] in (
        "time_budget", "completed")
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
            "meta.json", "metrics.json"} <= names
    meta = json.loads((out / "meta.json").read_text())
    assert meta["kind"] == "transformer" and meta["params"]["micro_batch_size"] == 8
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"train_loss", "partisan", "confusion", "calibration"} <= set(metrics)
    assert isinstance(load_model(out), TransformerStanceModel)
