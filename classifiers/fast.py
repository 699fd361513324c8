"""Fast CPU inference for the stage-3 transformer: sorted batches, dynamic padding, ONNX, int8.

The naive way to run a BERT-sized model pads every text to ``max_length`` and
runs fp32 PyTorch over batches in arrival order. Short social-media posts then
spend most of their compute on padding. :class:`FastTransformer` instead

* tokenises everything first (Rust ``tokenizers``), sorts the texts by length
  and pads each batch only to its own longest text (``Batching``);
* runs either PyTorch (fp32, or int8 dynamic quantisation of the Linear
  layers) or ONNX Runtime (fp32, or int8 dynamic quantisation of the weights),
  with ``threads`` intra-op threads;
* returns outputs in the caller's order.

ONNX Runtime's transformer graph fusions were measured too and dropped: with
eager attention exported so that they apply, the fused graph ran no faster
than the plain one for MiniLM and at half its speed for the IndoBERT-base
shape on this 2-core CPU.

Serving needs neither ``torch`` nor ``transformers``: :meth:`FastTransformer.from_onnx`
loads an exported model with ``onnxruntime`` and ``tokenizers`` only, which keeps
the process small (no PyTorch in memory). Export (:func:`export_onnx`) needs torch.

``output`` selects what the model returns: ``"logits"`` for a sequence
classification model (``predict_proba`` is then their softmax), ``"mean"`` or
``"cls"`` for a bare encoder, whose pooled embeddings a separate head turns into
stance probabilities.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from classifiers.model_base import LABELS, read_meta

# "torch-cuda": PyTorch fp32 on the GPU (the benchmark's GPU variant; serving on a GPU is
# classifiers.transformer_serve.TorchStanceModel).
Backend = Literal["torch", "torch-int8", "onnx", "onnx-int8", "torch-cuda"]
BACKENDS: tuple[Backend, ...] = ("torch", "torch-int8", "onnx", "onnx-int8", "torch-cuda")
ONNX_BACKENDS: tuple[Backend, ...] = ("onnx", "onnx-int8")
# The file each ONNX backend serves, in a model's ``onnx/`` folder.
ONNX_FILES: dict[str, str] = {"onnx": "model.onnx", "onnx-int8": "model.int8.onnx"}
Output = Literal["logits", "mean", "cls"]
Runner = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Batching:
    """How texts are cut into batches.

    ``dynamic_padding=False`` pads every batch to ``max_length`` (the naive way);
    ``sort_by_length`` groups texts of similar length so little padding remains.
    """

    max_length: int = 64
    batch_size: int = 32
    sort_by_length: bool = True
    dynamic_padding: bool = True


NAIVE = Batching(sort_by_length=False, dynamic_padding=False)


def default_threads() -> int:
    """Intra-op threads: every core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def load_tokenizer(model_dir: str | Path, max_length: int = 64) -> Any:
    """The fast (Rust) tokenizer of a Hugging Face model folder, truncating at ``max_length``."""
    from tokenizers import Tokenizer

    path = Path(model_dir) / "tokenizer.json"
    if path.exists():
        tok = Tokenizer.from_file(str(path))
    else:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(model_dir)).backend_tokenizer
    tok.no_padding()
    tok.enable_truncation(max_length)
    return tok


def encode(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids of each text (with special tokens), truncated to ``max_length``."""
    if hasattr(tokenizer, "backend_tokenizer"):  # a transformers tokenizer
        tokenizer = tokenizer.backend_tokenizer
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length)
    return [e.ids[:max_length] for e in tokenizer.encode_batch(list(texts))]


def batches(ids: Sequence[Sequence[int]], batching: Batching, pad_id: int = 0
            ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(positions, input_ids, attention_mask) per batch, padded as ``batching`` says."""
    order = np.arange(len(ids))
    if batching.sort_by_length:
        order = np.argsort([len(x) for x in ids], kind="stable")
    for start in range(0, len(order), batching.batch_size):
        pos = order[start:start + batching.batch_size]
        rows = [ids[i] for i in pos]
        width = batching.max_length if not batching.dynamic_padding else max(len(r) for r in rows)
        input_ids = np.full((len(rows), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for j, r in enumerate(rows):
            input_ids[j, :len(r)] = r
            mask[j, :len(r)] = 1
        yield pos, input_ids, mask


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    z = x - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


class FastTransformer:
    """A transformer behind one of four backends, fed length-sorted, dynamically padded batches."""

    def __init__(self, runner: Runner, tokenizer: Any, *, backend: Backend | str,
                 batching: Batching | None = None, output: Output = "logits",
                 pad_id: int = 0, threads: int | None = None) -> None:
        self._runner = runner
        self.tokenizer = tokenizer
        self.backend = backend
        self.batching = batching or Batching()
        self.output = output
        self.pad_id = pad_id
        self.threads = threads or default_threads()

    # -- construction ----------------------------------------------------

    @classmethod
    def from_torch(cls, model: Any, tokenizer: Any, *, backend: Backend = "onnx",
                   output: Output = "logits", batching: Batching | None = None,
                   threads: int | None = None, work_dir: str | Path | None = None) -> FastTransformer:
        """Wrap a ``transformers`` model object; ONNX backends export it to ``work_dir`` first."""
        threads = threads or default_threads()
        batching = batching or Batching()
        pad_id = _pad_id(model)
        if backend in ONNX_BACKENDS:
            folder = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="fast-onnx-"))
            path = export_onnx(model, folder / "model.onnx", output=output,
                               quantize=backend == "onnx-int8")
            return cls.from_onnx(path, tokenizer, batching=batching, output=output, threads=threads,
                                 pad_id=pad_id)
        if backend == "torch-cuda":
            runner = _cuda_runner(model, output)
        else:
            runner = _torch_runner(model, output, backend == "torch-int8", threads)
        return cls(runner, tokenizer, backend=backend, batching=batching, output=output,
                   pad_id=pad_id, threads=threads)

    @classmethod
    def from_onnx(cls, path: str | Path, tokenizer: Any, *, batching: Batching | None = None,
                  output: Output = "logits", threads: int | None = None,
                  pad_id: int = 0) -> FastTransformer:
        """Serve an exported ONNX file with ONNX Runtime (no torch import)."""
        import onnxruntime as ort

        threads = threads or default_threads()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Dynamic padding gives a new input shape nearly every batch; the CPU arena
        # would keep a block per shape and grow the process by hundreds of MB.
        opts.enable_cpu_mem_arena = False
        opts.enable_mem_pattern = False  # memory plans are cached per input shape, too
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]

        def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            feed = {names[0]: ids, names[1]: mask}
            return np.asarray(session.run(None, feed)[0])

        backend = "onnx-int8" if Path(path).stem.endswith("int8") else "onnx"
        return cls(run, tokenizer, backend=backend, batching=batching, output=output,
                   pad_id=pad_id, threads=threads)

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, *, backend: Backend = "onnx",
                        output: Output | None = None, batching: Batching | None = None,
                        threads: int | None = None) -> FastTransformer:
        """Load a Hugging Face model folder; ONNX files are cached in ``model_dir/onnx``."""
        batching = batching or Batching()
        tokenizer = load_tokenizer(model_dir, batching.max_length)
        model_dir = Path(model_dir)
        out: Output = output or ("logits" if _is_classifier_dir(model_dir) else "mean")
        if backend in ONNX_BACKENDS:
            cached = model_dir / "onnx" / ONNX_FILES[backend]
            if cached.exists():
                return cls.from_onnx(cached, tokenizer, batching=batching, output=out, threads=threads)
        from transformers import AutoModel, AutoModelForSequenceClassification

        loader = AutoModelForSequenceClassification if out == "logits" else AutoModel
        model = loader.from_pretrained(str(model_dir)).eval()
        return cls.from_torch(model, tokenizer, backend=backend, output=out, batching=batching,
                              threads=threads, work_dir=model_dir / "onnx")

    # -- inference -------------------------------------------------------

    def run(self, texts: Sequence[str]) -> np.ndarray:
        """The model's outputs (logits or pooled embeddings), one row per text, in order."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        ids = encode(self.tokenizer, texts, self.batching.max_length)
        out: np.ndarray | None = None
        for pos, input_ids, mask in batches(ids, self.batching, self.pad_id):
            got = self._runner(input_ids, mask)
            if out is None:
                out = np.zeros((len(texts), got.shape[1]), dtype=np.float32)
            out[pos] = got
        assert out is not None
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Softmax of the logits (only for ``output="logits"`` models)."""
        if self.output != "logits":
            raise ValueError("predict_proba needs a classification model (output='logits')")
        logits = self.run(texts)
        return softmax(logits) if len(logits) else logits


class SoftmaxHead:
    """The "head" of a classification model: softmax over the logits it already returns."""

    def predict_proba(self, logits: np.ndarray) -> np.ndarray:
        """Row-wise softmax."""
        return softmax(np.asarray(logits)) if len(logits) else np.asarray(logits)


def label_columns(model_dir: str | Path, labels: Sequence[str]) -> list[int]:
    """Columns of a classification model's logits in ``labels`` order (from ``id2label``)."""
    import json

    cfg = json.loads((Path(model_dir) / "config.json").read_text())
    by_name = {str(v).lower(): int(k) for k, v in (cfg.get("id2label") or {}).items()}
    missing = [lab for lab in labels if lab not in by_name]
    if missing:
        raise ValueError(f"{model_dir}: id2label lacks {', '.join(missing)}")
    return [by_name[lab] for lab in labels]


class HeadedTransformer:
    """A pooled-embedding transformer plus a probability head (any ``predict_proba``).

    It has ``kind`` and ``version``, so it is a stance model wherever one is expected.
    """

    kind = "transformer-headed"

    def __init__(self, encoder: FastTransformer, head: Any, columns: Sequence[int] | None = None,
                 version: str = "headed") -> None:
        self.encoder = encoder
        self.head = head
        self.columns = list(columns) if columns is not None else None
        self.version = version

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Head probabilities over the encoder's embeddings (columns reordered if asked)."""
        if not texts:
            return np.zeros((0, len(self.columns or [])), dtype=np.float32)
        proba = np.asarray(self.head.predict_proba(self.encoder.run(texts)))
        return proba[:, self.columns] if self.columns is not None else proba


# -- torch and export --------------------------------------------------------


def _pad_id(model: Any) -> int:
    pad = getattr(getattr(model, "config", None), "pad_token_id", None)
    return int(pad) if pad is not None else 0


def _is_classifier_dir(model_dir: Path) -> bool:
    import json

    cfg = model_dir / "config.json"
    if not cfg.exists():
        return False
    archs = json.loads(cfg.read_text()).get("architectures") or []
    return any("SequenceClassification" in a for a in archs)


def wrap(model: Any, output: Output) -> Any:
    """A ``torch.nn.Module`` taking (input_ids, attention_mask) and returning one tensor."""
    import torch

    class _Wrapped(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            res = self.inner(input_ids=input_ids, attention_mask=attention_mask)
            if output == "logits":
                return res.logits
            hidden = res.last_hidden_state
            if output == "cls":
                return hidden[:, 0]
            m = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)

    return _Wrapped(model).eval()


def _torch_runner(model: Any, output: Output, int8: bool, threads: int) -> Runner:
    import torch

    torch.set_num_threads(threads)
    module = wrap(model, output)
    if int8:
        import warnings

        with warnings.catch_warnings():  # torch.ao's deprecation notes (torchao is not installed)
            warnings.simplefilter("ignore")
            module = torch.ao.quantization.quantize_dynamic(module, {torch.nn.Linear},
                                                            dtype=torch.qint8)

    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return module(torch.from_numpy(ids), torch.from_numpy(mask)).float().numpy()

    return run


def _cuda_runner(model: Any, output: Output) -> Runner:
    """fp32 on the GPU, on a copy of the model (the caller's stays on the CPU for other backends)."""
    import copy

    import torch

    module = wrap(copy.deepcopy(model), output).to("cuda")

    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            got = module(torch.from_numpy(ids).to("cuda", non_blocking=True),
                         torch.from_numpy(mask).to("cuda", non_blocking=True))
            return got.float().cpu().numpy()

    return run


def export_onnx(model: Any, path: str | Path, *, output: Output = "logits", quantize: bool = True,
                opset: int = 17) -> Path:
    """Export ``model`` to ONNX at ``path`` (dynamic batch and length); returns the file to serve.

    With ``quantize`` the weights are also quantised to int8 (ONNX Runtime dynamic
    quantisation) into ``<stem>.int8.onnx``, which is returned. Each file is
    written under a temporary name and renamed, so a crash or a second process
    never leaves a half-written model to be served.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        _export(model, path, output, opset)
    if not quantize:
        return path
    qpath = path.with_name(path.stem + ".int8.onnx")
    if not qpath.exists():
        quantize_int8(path, qpath)
    return qpath


def _export(model: Any, path: Path, output: Output, opset: int) -> None:
    import warnings

    import torch

    module = wrap(model, output)
    ids = torch.ones((2, 8), dtype=torch.long)
    mask = torch.ones((2, 8), dtype=torch.long)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.partial")
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module, (ids, mask), str(tmp), input_names=["input_ids", "attention_mask"],
            output_names=["output"], opset_version=opset, dynamo=False,
            dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                          "attention_mask": {0: "batch", 1: "seq"}, "output": {0: "batch"}},
        )
    os.replace(tmp, path)


def quantize_int8(src: str | Path, dst: str | Path) -> Path:
    """ONNX Runtime dynamic int8 quantisation of ``src``'s weights into ``dst``."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # the quantiser's "consider pre-processing" note
    # Per-channel scales keep far more decisions equal to fp32's than one scale per tensor.
    tmp = Path(dst).with_name(f"{Path(dst).name}.{os.getpid()}.partial")
    quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                     extra_options={"DefaultTensorType": 1})  # 1 = FLOAT, for fused ops
    os.replace(tmp, dst)
    return Path(dst)


class FastStanceModel:
    """A fine-tuned transformer folder (``train --kind transformer``) served by ONNX Runtime."""

    kind = "transformer-fast"

    def __init__(self, engine: FastTransformer, columns: Sequence[int], version: str) -> None:
        self.engine = engine
        self.columns = list(columns)
        self.version = version

    @classmethod
    def load(cls, model_dir: Path, *, backend: Backend = "onnx", threads: int | None = None,
             batch_size: int = 32) -> FastStanceModel:
        """Load ``model_dir``; the ONNX file is exported there (``onnx/``) on first use."""
        meta = read_meta(model_dir)
        max_length = int(meta.get("params", {}).get("max_length", 128))
        if backend.endswith("int8"):
            # Dynamic int8 scales activations per batch: one text per batch keeps a
            # text's stance independent of the posts that arrived with it.
            batch_size = 1
        engine = FastTransformer.from_pretrained(
            model_dir, backend=backend, output="logits", threads=threads,
            batching=Batching(max_length=max_length, batch_size=batch_size))
        return cls(engine, label_columns(model_dir, LABELS), f"{meta['version']}/{engine.backend}")

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Softmax of the logits, in ``LABELS`` order."""
        if not texts:
            return np.zeros((0, len(LABELS)))
        return np.asarray(self.engine.predict_proba(list(texts)))[:, self.columns]
