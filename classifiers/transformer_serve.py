"""Serving the fine-tuned transformer with PyTorch on a GPU (``classifier.device`` resolves to cuda).

On the CPU the transformer is served by ONNX Runtime (:class:`classifiers.staged.FastStanceModel`);
on a GPU by :class:`TorchStanceModel`, which keeps the GPU busy:

* **Tokenisation off the hot path.** The Rust tokenizer encodes a whole chunk
  of texts in one call (it releases the GIL and uses every core); while the
  GPU runs chunk *k*, a worker thread already tokenises, sorts and pads chunk
  *k + 1*. :meth:`TorchStanceModel.predict_encoded` takes ids tokenised elsewhere.
* **Length-bucketed batches.** Texts are sorted by length and cut into
  batches of ``batch_size``, each padded only to its own longest text (rounded
  up to a multiple of 8 on the GPU, where tensor cores want it).
* **Few host-device round trips.** Batches go up from pinned memory without
  blocking; probabilities stay on the GPU until the chunk is done.
* **Precision.** ``fp32`` by default. ``bf16``/``fp16`` cast the weights (not
  autocast, whose per-op casts cost more than they save at these sizes); use
  them only where :func:`precision_check` shows that each text keeps fp32's
  stance (at least 99.5 % of texts) and that a text's stance is the same read
  alone or in a batch. ``bench/gpu_check.py`` runs that check.

The same class runs on the CPU (fp32), which is how the tests check it against
the existing paths.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.fast import encode, label_columns, load_tokenizer
from classifiers.model_base import LABELS, read_meta

SERVE_PRECISIONS = ("fp32", "bf16", "fp16")
MIN_AGREEMENT = 0.995


@dataclass(frozen=True)
class GpuServing:
    """How a transformer is served when the device is a GPU (from ``[classifier]``)."""

    device: str = "cpu"  # resolved: "cpu" or "cuda"
    precision: str = "fp32"
    batch_size: int = 256
    compile: bool = False


class TorchStanceModel:
    """A fine-tuned transformer folder served by PyTorch on ``device`` (see the module doc)."""

    kind = "transformer-torch"

    def __init__(self, model: Any, tokenizer: Any, columns: Sequence[int], version: str, *,
                 device: str = "cpu", batch_size: int = 256, max_length: int = 128,
                 pad_id: int = 0, chunk: int = 4096, precision: str = "fp32") -> None:
        import torch

        self.torch = torch
        self.model = model
        self.tokenizer = tokenizer
        self.columns = list(columns)
        self.version = version
        self.device = device
        self.batch_size = max(1, batch_size)
        self.max_length = max_length
        self.pad_id = pad_id
        self.chunk = max(1, chunk)
        self.precision = precision
        self.pad_multiple = 8 if device == "cuda" else 1
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tokenize")

    @classmethod
    def load(cls, model_dir: Path, gpu: GpuServing | None = None) -> TorchStanceModel:
        """Load a folder written by ``train --kind transformer`` onto ``gpu.device``."""
        import torch
        from transformers import AutoModelForSequenceClassification

        gpu = gpu or GpuServing()
        if gpu.precision not in SERVE_PRECISIONS:
            raise ValueError(f"precision {gpu.precision!r}: one of {', '.join(SERVE_PRECISIONS)}")
        meta = read_meta(model_dir)
        max_length = int(meta.get("params", {}).get("max_length", 128))
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[gpu.precision]
        model = AutoModelForSequenceClassification.from_pretrained(
            str(model_dir), local_files_only=True).eval().to(device=gpu.device, dtype=dtype)
        if gpu.compile:
            model = torch.compile(model, dynamic=True)
        cfg = json.loads((Path(model_dir) / "config.json").read_text())
        version = f"{meta['version']}/torch-{gpu.device}-{gpu.precision}"
        return cls(model, load_tokenizer(model_dir, max_length), label_columns(model_dir, LABELS),
                   version, device=gpu.device, batch_size=gpu.batch_size, max_length=max_length,
                   pad_id=int(cfg.get("pad_token_id") or 0), precision=gpu.precision)

    # -- inference -------------------------------------------------------

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of ``texts`` (one Rust call for all of them)."""
        return encode(self.tokenizer, [t or "" for t in texts], self.max_length)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Stance probabilities (n, 4) in ``LABELS`` order.

        A worker thread tokenises, sorts and pads chunk *k + 1* while the GPU runs chunk *k*.
        """
        if not texts:
            return np.zeros((0, len(LABELS)))
        starts = list(range(0, len(texts), self.chunk))
        parts: list[np.ndarray] = []
        pending = self._pool.submit(self._prepare_texts, texts[:self.chunk])
        for k in range(len(starts)):
            prepared = pending.result()
            if k + 1 < len(starts):
                nxt = starts[k + 1]
                pending = self._pool.submit(self._prepare_texts, texts[nxt:nxt + self.chunk])
            parts.append(self._run(prepared))
        return np.concatenate(parts)

    def predict_encoded(self, ids: Sequence[Sequence[int]]) -> np.ndarray:
        """Probabilities for already tokenised texts, in their order."""
        if not ids:
            return np.zeros((0, len(LABELS)))
        return self._run(self.prepare(ids))

    def prepare(self, ids: Sequence[Sequence[int]]) -> Prepared:
        """Length-sorted batches of ``ids``, each padded to its longest row (host memory)."""
        order = np.argsort([len(x) for x in ids], kind="stable")
        batches = []
        for s in range(0, len(order), self.batch_size):
            rows = [ids[int(i)] for i in order[s:s + self.batch_size]]
            width = -(-max(len(r) for r in rows) // self.pad_multiple) * self.pad_multiple
            input_ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, r in enumerate(rows):
                input_ids[j, :len(r)] = r
                mask[j, :len(r)] = 1
            batches.append((input_ids, mask))
        return Prepared(order, batches)

    def _prepare_texts(self, texts: Sequence[str]) -> Prepared:
        return self.prepare(self.encode(texts))

    def _run(self, prepared: Prepared) -> np.ndarray:
        """The model over prepared batches; one device-to-host copy at the end."""
        torch = self.torch
        cols = torch.tensor(self.columns, device=self.device)
        outs = []
        with torch.inference_mode():
            for input_ids, mask in prepared.batches:
                t_ids, t_mask = torch.from_numpy(input_ids), torch.from_numpy(mask)
                if self.device == "cuda":  # pinned: the copy does not hold up the host
                    t_ids, t_mask = t_ids.pin_memory(), t_mask.pin_memory()
                logits = self.model(input_ids=t_ids.to(self.device, non_blocking=True),
                                    attention_mask=t_mask.to(self.device, non_blocking=True)).logits
                outs.append(torch.softmax(logits.float(), dim=-1).index_select(1, cols))
            proba = torch.cat(outs).cpu().numpy().astype(np.float64)
        out = np.empty_like(proba)
        out[prepared.order] = proba
        return out


@dataclass
class Prepared:
    """Texts ready for the model: their length order and the padded (ids, mask) batches."""

    order: np.ndarray
    batches: list[tuple[np.ndarray, np.ndarray]]


@dataclass
class PrecisionCheck:
    """How a serving precision compares with fp32, and whether it may be used."""

    precision: str
    n: int
    agreement: float  # share of texts whose stance (argmax) equals fp32's
    max_abs_diff: float  # largest probability difference from fp32
    alone_vs_batch: float  # share of sampled texts with the same stance alone as in the batch
    n_alone: int
    passed: bool

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


def alone_vs_batch(model: TorchStanceModel, texts: Sequence[str],
                   together: np.ndarray | None = None) -> float:
    """Share of ``texts`` whose stance is the same read one at a time as read in one call."""
    if not texts:
        return 1.0
    batch = model.predict_proba(list(texts)) if together is None else together
    alone = np.vstack([model.predict_proba([t]) for t in texts])
    return float((batch.argmax(axis=1) == alone.argmax(axis=1)).mean())


def precision_check(reference: TorchStanceModel, candidate: TorchStanceModel,
                    texts: Sequence[str], *, n_alone: int = 96,
                    min_agreement: float = MIN_AGREEMENT) -> PrecisionCheck:
    """Compare ``candidate`` (e.g. bf16) with the fp32 ``reference`` on ``texts``.

    It passes when at least ``min_agreement`` of the texts get fp32's stance and
    every one of ``n_alone`` sampled texts gets the same stance alone as in the batch.
    """
    ref = reference.predict_proba(list(texts))
    got = candidate.predict_proba(list(texts))
    agree = float((ref.argmax(axis=1) == got.argmax(axis=1)).mean()) if len(texts) else 1.0
    step = max(1, len(texts) // max(1, n_alone))
    sample_idx = list(range(0, len(texts), step))[:n_alone]
    sample = [texts[i] for i in sample_idx]
    same = alone_vs_batch(candidate, sample, got[sample_idx])
    return PrecisionCheck(candidate.precision, len(texts), agree,
                          float(np.abs(ref - got).max()) if len(texts) else 0.0,
                          same, len(sample), agree >= min_agreement and same >= 1.0)
