"""bench/gpu_check.sh runs end to end (tiny shape, on the CPU) and writes the figures as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the GPU check needs the 'ml' extra")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gpu_check_smoke_writes_valid_json(tmp_path: Path) -> None:
    out = tmp_path / "gpu.json"
    env = {**os.environ, "PY": sys.executable, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(["bash", str(ROOT / "bench" / "gpu_check.sh"), "--smoke", "--threads", "1",
                           "--out", str(out), "--serve-texts", "64", "--batch-sizes", "8,32",
                           "--param", "batch_size=32", "--micro-batch-size", "16"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=280, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["smoke"] is True and data["goals_apply"] is False
    assert data["machine"]["device"] == "cpu" and data["shape"]["name"] == "tiny"
    train = data["train"]
    assert train["n_train"] > 1000 and train["steps"] >= 1 and train["precision"] == "fp32"
    assert train["params"]["batch_size"] == 32 and train["accumulation"] == 2
    assert data["cli_train"]["seconds"] > 0 and data["cli_train"]["version"].startswith("transformer-")
    serve = data["serve"]
    assert serve["texts"] == 64 and set(serve["by_precision"]) == {"fp32", "bf16", "fp16"}
    fp32 = serve["by_precision"]["fp32"]
    assert set(fp32["pretokenized_by_batch_size"]) == {"8", "32"}
    assert fp32["end_to_end_texts_per_s"] > 0
    check = fp32["checks"]["seed_corpus"]
    assert check["agreement"] == 1.0 and check["alone_vs_batch"] == 1.0 and check["passed"]
    assert 0.0 <= serve["by_precision"]["bf16"]["checks"]["seed_corpus"]["agreement"] <= 1.0
    assert set(data["goals_met"]) == {"train_3_epochs_under_30s", "cli_train_under_60s",
                                      "serve_end_to_end_10k", "serve_pretokenized_20k"}


def test_gpu_check_asking_for_cuda_without_one_exits_2(tmp_path: Path) -> None:
    from classifiers.device import cuda_available

    if cuda_available()[0]:
        pytest.skip("this machine has a GPU")
    proc = subprocess.run([sys.executable, "-m", "bench.gpu_check", "--device", "cuda",
                           "--out", str(tmp_path / "x.json")], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 2 and "--device: device \"cuda\" asked for" in proc.stderr
    assert not (tmp_path / "x.json").exists()
