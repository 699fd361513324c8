"""The GPU check: train and serve the transformer at IndoBERT-base shape and write the figures as JSON.

Run it on a machine with a GPU (CI has none)::

    bench/gpu_check.sh                       # writes docs/bench/gpu_check.json
    bench/gpu_check.sh --smoke --out x.json  # tiny shape on the CPU: checks that it runs

The model is a BERT of IndoBERT-base's shape (12 layers, 768 hidden, 31,923-token
vocabulary) with **random weights**, built here with a WordPiece vocabulary
trained on the seed corpus: nothing is downloaded. The speed figures are real;
accuracy figures are not (the weights are random), but agreement between
precisions is, because it compares the same weights.

Steps:

1. ``train_transformer`` on the product's training set (seed train split,
   bundled negatives, neutralised copies: what ``asn-monitor train`` uses) for
   ``--epochs`` epochs on the device: the loop's seconds and the whole call's;
2. the whole ``asn-monitor train --kind transformer --device ...`` command,
   timed from process start to exit (load, train, save, held-out metrics);
3. serving with :class:`classifiers.transformer_serve.TorchStanceModel`: texts/s
   from text to stance probabilities (end to end) and from token ids
   (tokenizer off the critical path), per batch size;
4. bf16 and fp16 against fp32: the share of texts keeping fp32's stance
   (seed corpus, and the political-stance articles when ``../shared/data`` has
   them) and whether a text read alone gets the stance it gets in a batch;
5. peak GPU memory of training and of serving, and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "bench" / "gpu_check.json"
GOALS = {"train_3_epochs_s": 30.0, "cli_train_s": 60.0, "serve_end_to_end_texts_per_s": 10_000.0,
         "serve_pretokenized_texts_per_s": 20_000.0, "min_agreement": 0.995}


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    ap = argparse.ArgumentParser(prog="bench/gpu_check.sh", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="tiny shape, few texts (runs on a CPU)")
    ap.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None,
                    help="default: cuda (cpu with --smoke)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the JSON file to write")
    ap.add_argument("--epochs", type=int, default=None, help="default 3 (1 with --smoke)")
    ap.add_argument("--serve-texts", type=int, default=None, help="default 20000 (200 with --smoke)")
    ap.add_argument("--batch-sizes", default=None, help="serving batch sizes, e.g. 64,256,1024")
    ap.add_argument("--micro-batch-size", type=int, default=None, help="training micro-batch")
    ap.add_argument("--time-budget", type=float, default=None,
                    help="training time budget in seconds (default none; 1 with --smoke)")
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                    help="a training parameter (batch_size, learning_rate, ...; repeatable)")
    ap.add_argument("--compile", action="store_true", help="also time training with torch.compile")
    ap.add_argument("--skip-cli", action="store_true", help="do not time the train command")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    ap.add_argument("--work-dir", type=Path, default=None, help="keep models here")
    return ap.parse_args(argv)


def machine(device: str) -> dict[str, Any]:
    """What ran the check."""
    import torch

    from classifiers.device import device_name

    out: dict[str, Any] = {"device": device, "device_name": device_name(device),
                           "cpu": device_name("cpu"), "cores": os.cpu_count(),
                           "torch": torch.__version__, "python": platform.python_version(),
                           "host": platform.node()}
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        out.update(cuda=torch.version.cuda, gpu_memory_gib=round(props.total_memory / 2**30, 1),
                   bf16_supported=bool(torch.cuda.is_bf16_supported()))
    return out


class Gpu:
    """Synchronisation and peak memory, no-ops on the CPU."""

    def __init__(self, device: str) -> None:
        import torch

        self.torch = torch
        self.cuda = device == "cuda"

    def sync(self) -> None:
        """Wait for the GPU."""
        if self.cuda:
            self.torch.cuda.synchronize()

    def reset_peak(self) -> None:
        """Start a new peak-memory window."""
        if self.cuda:
            self.torch.cuda.empty_cache()
            self.torch.cuda.reset_peak_memory_stats()

    def peak_mib(self) -> float | None:
        """Peak GPU memory allocated since ``reset_peak``, in MiB."""
        return self.torch.cuda.max_memory_allocated() / 2**20 if self.cuda else None


def best_rate(n: int, fn: Callable[[], Any], gpu: Gpu, rounds: int) -> float:
    """Items per second of the best of ``rounds`` runs of ``fn`` (after one warm-up)."""
    fn()
    best = float("inf")
    for _ in range(rounds):
        gpu.sync()
        t = time.perf_counter()
        fn()
        gpu.sync()
        best = min(best, time.perf_counter() - t)
    return n / best


def train_step(base: Path, work: Path, device: str, epochs: int, extra: dict[str, Any],
               gpu: Gpu, name: str) -> dict[str, Any]:
    """``train_transformer`` on the product's training set; its timings and peak memory."""
    from classifiers.api import training_examples
    from classifiers.transformer import train_transformer

    train_set, eval_set = training_examples()
    gpu.reset_peak()
    t = time.perf_counter()
    report = train_transformer(train_set, work / name, base, eval_set,
                               {"epochs": epochs, **extra}, device=device)
    total = time.perf_counter() - t
    fit = report.metrics["training"]
    return {"n_train": len(train_set), "n_eval": len(eval_set), "epochs": epochs,
            "fit_seconds": fit["seconds"], "call_seconds": total, "steps": fit["steps"],
            "seconds_per_step": fit["seconds"] / max(1, fit["steps"]),
            "precision": fit["precision"], "accumulation": fit["accumulation"],
            "stopped": fit["stopped"], "train_loss": report.metrics["train_loss"],
            "peak_gpu_mib": gpu.peak_mib(), "params": extra, "model_dir": str(work / name)}


def cli_train(base: Path, work: Path, device: str, epochs: int, threads: int | None,
              budget: float | None) -> dict[str, Any]:
    """The whole ``asn-monitor train --kind transformer`` command, timed from start to exit."""
    out = work / "cli-model"
    code = "import sys; from monitor.cli import run; sys.argv[0] = 'asn-monitor'; run()"
    cmd = [sys.executable, "-c", code, "--config", str(ROOT / "config" / "asn-monitor.toml"),
           "train", "--kind", "transformer", "--device", device, "--base-model", str(base),
           "--epochs", str(epochs), "--without-reviews", "--out", str(out), "--json"]
    if budget:
        cmd += ["--time-budget", str(budget)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"train command failed ({proc.returncode}): {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout)
    return {"command": " ".join(["asn-monitor", *cmd[3:]]), "seconds": seconds,
            "fit_seconds": report["metrics"]["training"]["seconds"],
            "version": report["version"]}


def serve_step(model_dir: Path, device: str, texts: list[str], agree_sets: dict[str, list[str]],
               batch_sizes: Sequence[int], gpu: Gpu, rounds: int) -> dict[str, Any]:
    """Serving speed per precision and batch size, and each precision's agreement with fp32."""
    from classifiers.transformer_serve import GpuServing, TorchStanceModel, precision_check

    gpu.reset_peak()
    fp32 = TorchStanceModel.load(model_dir, GpuServing(device, "fp32", max(batch_sizes)))
    t = time.perf_counter()
    ids = fp32.encode(texts)
    tokenize_rate = len(texts) / (time.perf_counter() - t)
    out: dict[str, Any] = {"texts": len(texts), "tokenizer_texts_per_s": tokenize_rate,
                           "mean_tokens": sum(map(len, ids)) / len(ids), "by_precision": {}}
    models = {"fp32": fp32}
    bf16_ok = device != "cuda" or gpu.torch.cuda.is_bf16_supported()
    for prec in ("bf16", "fp16") if bf16_ok else ("fp16",):
        models[prec] = TorchStanceModel.load(model_dir, GpuServing(device, prec, max(batch_sizes)))
    for prec, model in models.items():
        row: dict[str, Any] = {"pretokenized_by_batch_size": {}}
        for bs in batch_sizes:
            model.batch_size = bs
            row["pretokenized_by_batch_size"][str(bs)] = best_rate(
                len(ids), partial(model.predict_encoded, ids), gpu, rounds)
        best_bs = max(batch_sizes, key=lambda b: row["pretokenized_by_batch_size"][str(b)])
        model.batch_size = best_bs
        row["batch_size"] = best_bs
        row["pretokenized_texts_per_s"] = row["pretokenized_by_batch_size"][str(best_bs)]
        row["end_to_end_texts_per_s"] = best_rate(len(texts), partial(model.predict_proba, texts),
                                                  gpu, rounds)
        row["checks"] = {name: precision_check(fp32, model, subset).to_json()
                         for name, subset in agree_sets.items() if subset}
        out["by_precision"][prec] = row
    out["peak_gpu_mib"] = gpu.peak_mib()
    return out


def agreement_sets(smoke: bool) -> dict[str, list[str]]:
    """Texts on which each precision is compared with fp32: the seed corpus, the real articles."""
    from classifiers.corpus import load_seed_corpus

    seed = [e.model_input() for e in load_seed_corpus("train") + load_seed_corpus("test")]
    sets = {"seed_corpus": seed[:120] if smoke else seed}
    if not smoke:
        try:
            from classifiers.evaluate import SHARED_DATA, political_articles

            sets["political_stance"] = [text for _, text, _ in political_articles(SHARED_DATA)]
        except (ImportError, OSError):
            pass
    return sets


def goals_met(result: dict[str, Any]) -> dict[str, bool | None]:
    """Each goal of the GPU work, met or not (None where the step did not run)."""
    train, serve = result["train"], result["serve"]["by_precision"]
    best = {k: max(v[k] for v in serve.values() if v["checks"]["seed_corpus"]["passed"]
                   or v is serve["fp32"])
            for k in ("end_to_end_texts_per_s", "pretokenized_texts_per_s")}
    cli = result.get("cli_train")
    return {"train_3_epochs_under_30s": train["fit_seconds"] < GOALS["train_3_epochs_s"]
            if train["epochs"] == 3 else None,
            "cli_train_under_60s": cli["seconds"] < GOALS["cli_train_s"]
            if cli and "seconds" in cli else None,
            "serve_end_to_end_10k": best["end_to_end_texts_per_s"]
            >= GOALS["serve_end_to_end_texts_per_s"],
            "serve_pretokenized_20k": best["pretokenized_texts_per_s"]
            >= GOALS["serve_pretokenized_texts_per_s"]}


def params_of(pairs: Sequence[str]) -> dict[str, Any]:
    """``["batch_size=64", "learning_rate=6e-5"]`` as training parameters (JSON values)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"--param {pair!r}: expected KEY=VALUE")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def run(args: argparse.Namespace, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Every step; returns the figures."""
    import torch

    from classifiers.corpus import load_seed_corpus
    from classifiers.device import resolve_device
    from classifiers.transformer import INDOBERT_BASE_SHAPE, TINY_SHAPE, build_bert

    device = resolve_device(args.device or ("cpu" if args.smoke else "cuda"), "--device")
    if args.threads:
        torch.set_num_threads(args.threads)
    epochs = args.epochs or (1 if args.smoke else 3)
    n_serve = args.serve_texts or (200 if args.smoke else 20_000)
    sizes = [int(s) for s in (args.batch_sizes or ("16,64" if args.smoke else "64,256,1024")).split(",")]
    shape = TINY_SHAPE if args.smoke else INDOBERT_BASE_SHAPE
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="gpu-check-"))
    work.mkdir(parents=True, exist_ok=True)
    gpu = Gpu(device)
    result: dict[str, Any] = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                              "smoke": args.smoke, "machine": machine(device), "goals": GOALS,
                              "shape": {"name": "tiny" if args.smoke else "indobert-base", **shape},
                              "weights": "random (speed is real, accuracy is not)"}
    corpus = [e.model_input() for e in load_seed_corpus("train") + load_seed_corpus("test")]
    base = build_bert(work / "base", corpus, dict(shape), fill_vocab=not args.smoke)
    budget = args.time_budget or (1.0 if args.smoke else None)
    extra: dict[str, Any] = {"micro_batch_size": args.micro_batch_size, "time_budget_s": budget}
    extra = {k: v for k, v in extra.items() if v}
    extra.update(params_of(args.param))
    log(f"1/4 train {epochs} epoch(s) on {device}")
    result["train"] = train_step(base, work, device, epochs, extra, gpu, "model")
    log(f"    {result['train']['fit_seconds']:.1f}s in the loop")
    if args.compile:
        result["train_compiled"] = train_step(base, work, device, epochs, {**extra, "compile": True},
                                              gpu, "model-compiled")
    if not args.skip_cli:
        log("2/4 the whole train command")
        try:
            result["cli_train"] = cli_train(base, work, device, epochs, args.threads, budget)
            log(f"    {result['cli_train']['seconds']:.1f}s")
        except RuntimeError as exc:  # e.g. a package the CLI needs is missing on the GPU machine:
            result["cli_train"] = {"error": str(exc)}  # the other figures still count
            log(f"    failed: {exc}")
    log(f"3/4 serve {n_serve} texts, batch sizes {sizes}, fp32/bf16/fp16")
    texts = (corpus * (n_serve // len(corpus) + 1))[:n_serve]
    result["serve"] = serve_step(Path(result["train"]["model_dir"]), device, texts,
                                 agreement_sets(args.smoke), sizes, gpu, 1 if args.smoke else 3)
    log("4/4 goals")
    result["goals_met"] = goals_met(result)
    result["goals_apply"] = not args.smoke and device == "cuda" and not budget
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.gpu_check``; exit 2 when the device asked for is not there."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may come from the hub
    args = parse(argv)
    from monitor.errors import ConfigError

    try:
        result = run(args, log=lambda m: print(m, file=sys.stderr, flush=True))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".partial")
    tmp.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
