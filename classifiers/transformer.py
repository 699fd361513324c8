"""The production stance model: a BERT encoder fine-tuned for four stance labels.

``train_transformer`` loads any encoder with ``AutoModelForSequenceClassification``
(default ``indolem/indobertweet-base-uncased``; ``indobenchmark/indobert-base-p1``
or a local folder work the same), adds the target placeholders as special
tokens so they are never split or lower-cased, fine-tunes with the loop of
:mod:`classifiers.transformer_train` (on the CPU in fp32, on a GPU with mixed
precision), and saves model, tokenizer, ``meta.json`` and ``metrics.json``.

Offline, the tests run this exact path with a tiny BERT built on the seed corpus
and with the packaged all-MiniLM-L6-v2 encoder; on a machine that can reach the
Hugging Face hub the same call fine-tunes real IndoBERT unchanged.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.corpus import LabelledExample
from classifiers.matcher import CALON, NOMOR, PARTAI, SUBJEK
from classifiers.model_base import (
    LABELS,
    Timer,
    TrainReport,
    data_version,
    read_meta,
    stance_metrics,
    write_model_files,
)
from classifiers.transformer_train import TRAIN_DEFAULTS, Trainer, pretokenize
from monitor.errors import ConfigError

DEFAULT_BASE = "indolem/indobertweet-base-uncased"
PLACEHOLDERS = [CALON, PARTAI, NOMOR, SUBJEK]
DEFAULT_PARAMS: dict[str, Any] = {
    "epochs": 3,
    "learning_rate": 3e-5,
    "batch_size": 16,
    "max_length": 128,
    "weight_decay": 0.01,
    "warmup_ratio": 0.1,
    "seed": 13,
}


def _torch() -> Any:
    try:
        import torch
        from transformers.utils import logging as hf_logging
    except ImportError as exc:  # the ml extra is optional for the linear default
        raise ConfigError("transformer", "needs the 'ml' extra (torch, transformers)") from exc
    # Load reports ("classifier.weight MISSING") and progress bars are expected
    # here and would bury the CLI's own output.
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    return torch


class TransformerStanceModel:
    """A fine-tuned sequence classifier, loaded once, predicting in length-sorted batches."""

    kind = "transformer"

    def __init__(self, model: Any, tokenizer: Any, version: str, max_length: int = 128,
                 batch_size: int = 32) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.version = version
        self.max_length = max_length
        self.batch_size = batch_size
        # Columns follow the model's id2label; map them to LABELS.
        id2label = {int(k): v for k, v in model.config.id2label.items()}
        self._cols = [next(i for i, lab in id2label.items() if lab == want) for want in LABELS]

    @classmethod
    def load(cls, model_dir: Path, batch_size: int = 32) -> TransformerStanceModel:
        """Load a folder written by :func:`train_transformer` (no network needed)."""
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        _torch()
        meta = read_meta(model_dir)
        tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(
            str(model_dir), local_files_only=True)
        return cls(model, tok, str(meta["version"]),
                   int(meta.get("params", {}).get("max_length", 128)), batch_size)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Stance probabilities (n, 4) in ``LABELS`` order; batches sorted by length."""
        torch = _torch()
        out = np.zeros((len(texts), len(LABELS)))
        # Sorting by length keeps padding (and wasted compute) small per batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for s in range(0, len(order), self.batch_size):
                idx = order[s:s + self.batch_size]
                enc = self.tokenizer([texts[i] or "" for i in idx], padding=True,
                                     truncation=True, max_length=self.max_length,
                                     return_tensors="pt").to(self.model.device)
                logits = self.model(**enc).logits
                p = torch.softmax(logits.float(), dim=-1).cpu().numpy()
                out[idx] = p[:, self._cols]
        return out


def train_transformer(
    examples: Sequence[LabelledExample],
    out_dir: Path,
    base_model: str | Path = DEFAULT_BASE,
    eval_examples: Sequence[LabelledExample] = (),
    params: dict[str, Any] | None = None,
    log: Any = None,
    device: str = "cpu",
) -> TrainReport:
    """Fine-tune ``base_model`` on ``examples``; save it with metrics to ``out_dir``.

    ``base_model`` is a hub id or a local folder. Set ``HF_HUB_OFFLINE=1`` to be
    sure nothing is downloaded; a hub id then has to be in the local cache.
    ``device`` is ``"cpu"`` or ``"cuda"`` (resolved by :mod:`classifiers.device`);
    the loop is :class:`classifiers.transformer_train.Trainer` on either.
    """
    torch = _torch()
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    timer = Timer()
    p = {**DEFAULT_PARAMS, **TRAIN_DEFAULTS, **(params or {}), "base_model": str(base_model)}
    if not examples:
        raise ConfigError(str(out_dir), "no training examples")
    random.seed(p["seed"])
    np.random.seed(p["seed"])
    torch.manual_seed(p["seed"])
    try:
        tok = AutoTokenizer.from_pretrained(str(base_model))
        model = AutoModelForSequenceClassification.from_pretrained(
            str(base_model), num_labels=len(LABELS),
            id2label=dict(enumerate(LABELS)), label2id={lab: i for i, lab in enumerate(LABELS)},
        )
    except OSError as exc:
        raise ConfigError(str(base_model), f"cannot load base model: {exc}") from exc
    tok.add_special_tokens({"additional_special_tokens": PLACEHOLDERS})
    model.resize_token_embeddings(len(tok))

    texts = [ex.model_input() for ex in examples]
    y = [LABELS.index(ex.label) for ex in examples]
    ids = pretokenize(tok, texts, int(p["max_length"]))
    trainer = Trainer(model, p, device, _pad(tok), log)
    fit = trainer.fit(ids, y)
    losses = fit.train_loss
    model.eval()
    version = data_version("transformer", examples, p)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    tok.save_pretrained(str(out_dir))
    trained = TransformerStanceModel(model, tok, version, int(p["max_length"]),
                                     256 if device == "cuda" else 32)
    metrics: dict[str, Any] = {"train_loss": losses, "holdout_loss": fit.holdout_loss,
                               "training": {**fit.to_json(), "device": device}}
    if eval_examples:
        proba = trained.predict_proba([ex.model_input() for ex in eval_examples])
        metrics.update(stance_metrics([ex.label for ex in eval_examples], proba))
    meta = {"kind": "transformer", "version": version, "labels": list(LABELS), "params": p,
            "n_train": len(examples), "n_eval": len(eval_examples)}
    write_model_files(out_dir, meta, metrics)
    return TrainReport("transformer", out_dir, version, len(examples), len(eval_examples),
                       timer.seconds, metrics)


def _pad(tok: Any) -> int:
    return int(tok.pad_token_id) if tok.pad_token_id is not None else 0


# The shape of IndoBERT-base (indobenchmark/indobert-base-p1): for timing with random weights.
INDOBERT_BASE_SHAPE: dict[str, int] = {
    "vocab_size": 31923, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
    "intermediate_size": 3072, "max_position_embeddings": 512}
TINY_SHAPE: dict[str, int] = {
    "vocab_size": 3000, "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
    "intermediate_size": 128, "max_position_embeddings": 256}


def build_tiny_bert(out_dir: Path, texts: Sequence[str], vocab_size: int = 3000) -> Path:
    """Write a small, randomly initialised BERT with a WordPiece vocabulary trained on ``texts``.

    For offline tests of the transformer path: it has the same files as a hub
    checkpoint, so ``train_transformer(base_model=out_dir)`` treats it like IndoBERT.
    """
    return build_bert(out_dir, texts, {**TINY_SHAPE, "vocab_size": vocab_size})


def build_bert(out_dir: Path, texts: Sequence[str], shape: dict[str, int],
               fill_vocab: bool = False) -> Path:
    """A randomly initialised BERT of ``shape`` (``BertConfig`` fields) with a WordPiece
    vocabulary trained on ``texts``, saved like a hub checkpoint (nothing is downloaded).

    The corpus may yield fewer word pieces than ``shape["vocab_size"]``; with
    ``fill_vocab`` the vocabulary is filled up with ``[unusedN]`` entries (as BERT
    vocabularies are), so that the embedding matrix has the size asked for.
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel, BertTokenizer

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    unk = "[UNK]"
    tk = Tokenizer(models.WordPiece(unk_token=unk))
    tk.normalizer = normalizers.BertNormalizer(lowercase=True)
    tk.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    size = int(shape["vocab_size"])
    tk.train_from_iterator(list(texts), trainers.WordPieceTrainer(
        vocab_size=size, special_tokens=special))
    vocab = tk.get_vocab()
    words = sorted(vocab, key=vocab.__getitem__)
    if fill_vocab:
        words += [f"[unused{i}]" for i in range(size - len(words))]
    (out_dir / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(vocab_file=str(out_dir / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(str(out_dir))
    fields: dict[str, Any] = {**shape, "vocab_size": len(tokenizer)}
    config = BertConfig(**fields)
    BertModel(config).save_pretrained(str(out_dir))
    return out_dir
