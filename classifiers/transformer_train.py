"""The fine-tuning loop of the transformer, one code path for CPU and GPU.

What it does, and why:

* **Pre-tokenised once.** Every text is tokenised before the first step (Rust
  tokenizer, whole corpus in one call), not per batch per epoch, so the GPU
  never waits on the tokenizer.
* **Length bucketing.** :class:`BucketBatchSampler` shuffles, sorts pools of
  ``pool`` batches by length and cuts them into batches whose order is
  shuffled again: little padding, and still a different mix every epoch.
* **Gradient accumulation.** ``batch_size`` is the recipe's batch (the one the
  learning-rate schedule counts steps of); a batch is run as micro-batches of
  ``micro_batch_size`` texts whose summed loss is divided by the whole batch's
  size, so the gradient is that of the whole batch whatever the micro size.
* **Mixed precision on CUDA.** bf16 autocast where the GPU supports it, else
  fp16 autocast with a ``GradScaler``; the weights stay fp32, so the saved
  folder is the same. On the CPU: fp32 and no autocast.
* **Early stopping** on a held-out, label-stratified share of the training
  examples (``holdout_fraction``): after ``patience`` epochs without a lower
  held-out loss training stops and the best epoch's weights are kept.
* **A time budget** (``time_budget_s``): training stops after the optimizer
  step that crosses it; the best weights so far are kept.
* ``compile``: ``torch.compile`` of the model for training (off by default:
  on short runs its compile time costs more than it saves, see
  ``bench/gpu_check.py``).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

TRAIN_DEFAULTS: dict[str, Any] = {
    "micro_batch_size": None,  # None: the whole batch in one pass
    "holdout_fraction": 0.1,
    "patience": 1,
    "time_budget_s": None,
    "precision": "auto",  # auto: bf16 (or fp16) autocast on CUDA, fp32 on the CPU
    "compile": False,
    "bucket_pool": 50,
}
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
Log = Callable[[str], None]


def holdout_split(labels: Sequence[int], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(train, held-out) positions; ``fraction`` of each label is held out (at least one of a
    label with two or more examples), chosen reproducibly from ``seed``."""
    if fraction <= 0:
        return list(range(len(labels))), []
    rng = random.Random(seed)  # noqa: S311 - reproducible split, not security
    by_label: dict[int, list[int]] = {}
    for i, y in enumerate(labels):
        by_label.setdefault(y, []).append(i)
    held: list[int] = []
    for idx in by_label.values():
        rng.shuffle(idx)
        k = min(len(idx) - 1, max(1, round(len(idx) * fraction)))
        held += idx[:k]
    chosen = set(held)
    return [i for i in range(len(labels)) if i not in chosen], sorted(held)


class BucketBatchSampler:
    """Batches of positions of similar length, a fresh mix each epoch (``set_epoch``)."""

    def __init__(self, lengths: Sequence[int], batch_size: int, *, seed: int = 0,
                 pool: int = 50, shuffle: bool = True) -> None:
        self.lengths = list(lengths)
        self.batch_size = max(1, batch_size)
        self.seed = seed
        self.pool = max(1, pool)
        self.shuffle = shuffle
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use the mix of epoch ``epoch``."""
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        order = list(range(len(self.lengths)))
        rng = random.Random(self.seed * 1000 + self.epoch)  # noqa: S311 - reproducible mix
        if self.shuffle:
            rng.shuffle(order)
        span = self.batch_size * self.pool
        out: list[list[int]] = []
        for s in range(0, len(order), span):
            chunk = sorted(order[s:s + span], key=lambda i: self.lengths[i])
            out += [chunk[b:b + self.batch_size] for b in range(0, len(chunk), self.batch_size)]
        if self.shuffle:
            rng.shuffle(out)
        return iter(out)


class Collate:
    """Pads a list of (ids, label) to the longest row: input_ids, attention_mask, labels."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, rows: Sequence[tuple[Sequence[int], int]]) -> dict[str, Any]:
        import torch

        width = max(len(ids) for ids, _ in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for j, (r, _) in enumerate(rows):
            ids[j, :len(r)] = torch.tensor(r, dtype=torch.long)
            mask[j, :len(r)] = 1
        return {"input_ids": ids, "attention_mask": mask,
                "labels": torch.tensor([y for _, y in rows], dtype=torch.long)}


def loader(ids: Sequence[Sequence[int]], labels: Sequence[int], batch_size: int, *,
           pad_id: int, seed: int, pool: int, shuffle: bool, pin: bool) -> Any:
    """A ``torch.utils.data.DataLoader`` of length-bucketed, padded batches."""
    from torch.utils.data import DataLoader

    rows = list(zip(ids, labels, strict=True))
    sampler = BucketBatchSampler([len(x) for x in ids], batch_size, seed=seed, pool=pool,
                                 shuffle=shuffle)
    return DataLoader(rows, batch_sampler=sampler, collate_fn=Collate(pad_id),  # type: ignore[arg-type]
                      num_workers=0, pin_memory=pin)


def autocast_dtype(device: str, precision: str) -> Any:
    """The autocast dtype for ``precision`` on ``device`` (None: fp32, no autocast)."""
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: one of {', '.join(PRECISIONS)}")
    if device != "cuda" or precision == "fp32":
        return None
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if precision == "bf16" else torch.float16


def micro_batches(batch: dict[str, Any], micro: int | None) -> Iterator[dict[str, Any]]:
    """``batch`` cut into slices of ``micro`` rows, each trimmed to its own longest row."""
    n = int(batch["labels"].shape[0])
    step = n if not micro else max(1, micro)
    for s in range(0, n, step):
        part = {k: v[s:s + step] for k, v in batch.items()}
        width = int(part["attention_mask"].sum(dim=1).max())
        part["input_ids"] = part["input_ids"][:, :width]
        part["attention_mask"] = part["attention_mask"][:, :width]
        yield part


@dataclass
class FitResult:
    """What the loop did: losses per epoch, optimizer steps, and why it stopped."""

    train_loss: list[float] = field(default_factory=list)
    holdout_loss: list[float] = field(default_factory=list)
    steps: int = 0
    planned_steps: int = 0
    epochs_run: int = 0
    best_epoch: int = 0
    stopped: str = "completed"  # completed | early_stopping | time_budget
    seconds: float = 0.0
    precision: str = "fp32"
    accumulation: int = 1

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


class Trainer:
    """One fine-tuning run of a sequence classifier on pre-tokenised ids (see the module doc)."""

    def __init__(self, model: Any, p: dict[str, Any], device: str, pad_id: int,
                 log: Log | None = None) -> None:
        import torch

        self.torch = torch
        self.p = {**TRAIN_DEFAULTS, **p}
        self.device = device
        self.pad_id = pad_id
        self.log = log
        self.model = model.to(device)
        self.dtype = autocast_dtype(device, str(self.p["precision"]))
        self.forward = torch.compile(self.model, dynamic=True) if self.p["compile"] else self.model
        fp16 = self.dtype is torch.float16
        self.scaler = torch.amp.GradScaler("cuda") if fp16 else None
        bs = int(self.p["batch_size"])
        micro = self.p["micro_batch_size"]
        self.micro = min(bs, int(micro)) if micro else None
        self.accumulation = math.ceil(bs / self.micro) if self.micro else 1

    def _loss_sum(self, part: dict[str, Any]) -> Any:
        torch = self.torch
        part = {k: v.to(self.device, non_blocking=True) for k, v in part.items()}
        with torch.autocast(self.device, dtype=self.dtype, enabled=self.dtype is not None):
            logits = self.forward(input_ids=part["input_ids"],
                                  attention_mask=part["attention_mask"]).logits
        return torch.nn.functional.cross_entropy(logits.float(), part["labels"], reduction="sum")

    def step(self, batch: dict[str, Any], opt: Any) -> Any:
        """One optimizer step over ``batch`` (accumulated over micro-batches); its summed loss.

        The loss comes back as a tensor on the device: reading it here would make
        the host wait for the GPU after every step.
        """
        torch = self.torch
        n = int(batch["labels"].shape[0])
        total = torch.zeros((), device=self.device)
        for part in micro_batches(batch, self.micro):
            loss = self._loss_sum(part) / n  # the batch mean, whatever the micro size
            (self.scaler.scale(loss) if self.scaler else loss).backward()
            total += loss.detach() * n
        if self.scaler:
            self.scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        if self.scaler:
            self.scaler.step(opt)
            self.scaler.update()
        else:
            opt.step()
        opt.zero_grad(set_to_none=True)
        return total

    def holdout_loss(self, batches: Any) -> float:
        """Mean loss on the held-out batches (eval mode, no gradients)."""
        torch = self.torch
        self.model.eval()
        total, n = 0.0, 0
        with torch.inference_mode():
            for batch in batches:
                for part in micro_batches(batch, self.micro):
                    total += float(self._loss_sum(part))
                    n += int(part["labels"].shape[0])
        self.model.train()
        return total / max(1, n)

    def fit(self, ids: Sequence[Sequence[int]], labels: Sequence[int]) -> FitResult:
        """Train on ``ids``/``labels`` (a share held out for early stopping); returns what it did."""
        p = self.p
        t0 = time.perf_counter()
        train_idx, hold_idx = holdout_split(labels, float(p["holdout_fraction"]), int(p["seed"]))
        common: dict[str, Any] = {"pad_id": self.pad_id, "seed": int(p["seed"]),
                                  "pool": int(p["bucket_pool"]), "pin": self.device == "cuda"}
        bs = int(p["batch_size"])
        train = loader([ids[i] for i in train_idx], [labels[i] for i in train_idx], bs,
                       shuffle=True, **common)
        hold = loader([ids[i] for i in hold_idx], [labels[i] for i in hold_idx], bs,
                      shuffle=False, **common) if hold_idx else None
        steps = max(1, len(train.batch_sampler)) * int(p["epochs"])
        opt, sched = self._optimizer(steps)
        res = FitResult(planned_steps=steps, accumulation=self.accumulation,
                        precision=str(self.dtype).removeprefix("torch.") if self.dtype else "fp32")
        deadline = t0 + float(p["time_budget_s"]) if p["time_budget_s"] else math.inf
        best: tuple[float, dict[str, Any]] | None = None
        bad = 0
        self.model.train()
        for epoch in range(int(p["epochs"])):
            train.batch_sampler.set_epoch(epoch)
            res.train_loss.append(self._epoch(train, opt, sched, res, deadline))
            res.epochs_run = epoch + 1
            line = f"epoch {epoch + 1}: loss {res.train_loss[-1]:.4f}"
            if hold is not None:
                res.holdout_loss.append(self.holdout_loss(hold))
                line += f", held-out loss {res.holdout_loss[-1]:.4f}"
                if best is None or res.holdout_loss[-1] < best[0]:
                    best, bad, res.best_epoch = (res.holdout_loss[-1], _cpu_state(self.model)), 0, epoch + 1
                else:
                    bad += 1
            if self.log is not None:
                self.log(f"{line} ({time.perf_counter() - t0:.1f}s)")
            if res.stopped == "time_budget":
                break
            if hold is not None and bad >= int(p["patience"]):
                res.stopped = "early_stopping"
                break
        if best is not None and res.best_epoch != res.epochs_run:
            self.model.load_state_dict(best[1])
        res.best_epoch = res.best_epoch or res.epochs_run
        self.model.eval()
        if self.device == "cuda":
            self.torch.cuda.synchronize()
        res.seconds = time.perf_counter() - t0
        return res

    def _optimizer(self, steps: int) -> tuple[Any, Any]:
        """AdamW (fused on CUDA) and the recipe's linear schedule with warm-up over ``steps``."""
        from transformers import get_linear_schedule_with_warmup

        p = self.p
        # fused: one kernel for the whole update, not a few per tensor (CUDA only)
        opt = self.torch.optim.AdamW(self.model.parameters(), lr=float(p["learning_rate"]),
                                     weight_decay=float(p["weight_decay"]),
                                     fused=True if self.device == "cuda" else None)
        return opt, get_linear_schedule_with_warmup(opt, int(steps * float(p["warmup_ratio"])), steps)

    def _epoch(self, train: Any, opt: Any, sched: Any, res: FitResult, deadline: float) -> float:
        """One pass over ``train`` (cut short at ``deadline``); the mean loss of what it read."""
        total, seen = self.torch.zeros((), device=self.device), 0
        for batch in train:
            total += self.step(batch, opt)
            seen += int(batch["labels"].shape[0])
            sched.step()
            res.steps += 1
            if time.perf_counter() > deadline:
                res.stopped = "time_budget"
                break
        return float(total) / max(1, seen)


def _cpu_state(model: Any) -> dict[str, Any]:
    """A copy of the weights in host memory (the best epoch's, for early stopping)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def pretokenize(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids (with special tokens) of every text, truncated to ``max_length``, in one call."""
    enc = tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)
    return [list(x) for x in enc["input_ids"]]
