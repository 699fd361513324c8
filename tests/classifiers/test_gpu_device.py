"""classifier.device: how "auto", "cpu" and "cuda" resolve, and what a missing GPU looks like."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from classifiers.device import DeviceUnavailable, cuda_available, resolve_device
from monitor.errors import ConfigError
from monitor.settings import load
from monitor.testing import CliResult, invoke, write_settings

Cli = Callable[..., CliResult]
ROOT = Path(__file__).resolve().parents[2]

HAS_CUDA = cuda_available()[0]
needs_no_gpu = pytest.mark.skipif(HAS_CUDA, reason="checks what happens on a machine without CUDA")


def _never() -> tuple[bool, str]:
    raise AssertionError("cpu must resolve without probing for CUDA")


def test_explicit_cpu_never_probes() -> None:
    assert resolve_device("cpu", probe=_never) == "cpu"
    assert resolve_device(" CPU ", probe=_never) == "cpu"


def test_auto_and_cuda_follow_the_probe() -> None:
    yes = lambda: (True, "")  # noqa: E731
    no = lambda: (False, "no NVIDIA driver on this machine")  # noqa: E731
    assert resolve_device("auto", probe=yes) == "cuda"
    assert resolve_device("cuda", probe=yes) == "cuda"
    assert resolve_device("auto", probe=no) == "cpu"
    with pytest.raises(DeviceUnavailable) as err:
        resolve_device("cuda", "x.toml: classifier.device", probe=no)
    assert isinstance(err.value, ConfigError) and err.value.exit_code == 2
    assert err.value.where == "x.toml: classifier.device"
    assert "no NVIDIA driver" in err.value.what and '"auto" or "cpu"' in err.value.what


def test_unknown_device_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown device 'gpu'"):
        resolve_device("gpu", probe=_never)


@needs_no_gpu
def test_on_this_machine_auto_is_cpu_and_cuda_is_refused() -> None:
    assert resolve_device("auto") == "cpu"
    with pytest.raises(DeviceUnavailable, match=r"classifier\.device"):
        resolve_device("cuda")


def test_settings_default_is_auto_and_values_are_checked(config_dir: Path) -> None:
    assert load(write_settings(config_dir)).classifier.device == "auto"
    path = write_settings(config_dir, extra={"classifier": {"device": "tpu"}})
    with pytest.raises(ConfigError, match=r"classifier\.device"):
        load(path)


@needs_no_gpu
def test_train_device_cuda_without_gpu_is_one_line_exit_2(cli: Cli) -> None:
    got = cli("train", "--kind", "transformer", "--device", "cuda", "--without-reviews")
    assert got.exit_code == 2
    lines = got.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --device: device \"cuda\" asked for")


@needs_no_gpu
def test_serving_with_device_cuda_in_settings_is_one_line_exit_2(config_dir: Path) -> None:
    path = write_settings(config_dir, extra={"classifier": {"model": "staged", "device": "cuda"}})
    got = invoke(["--config", str(path), "classify", str(config_dir / "samples" / "items.jsonl")])
    assert got.exit_code == 2, got.stderr
    lines = got.stderr.strip().splitlines()
    assert len(lines) == 1 and "classifier.device: device \"cuda\" asked for" in lines[0]


def test_cli_start_up_does_not_import_torch() -> None:
    code = ("import sys, monitor.cli as c; c._register_commands(); "
            "import classifiers.device, classifiers.transformer_serve, classifiers.api; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "False"


def test_bench_adds_the_gpu_variant_only_on_a_gpu() -> None:
    from bench.transformer import VARIANTS, variants_for

    assert variants_for("cpu") == VARIANTS
    extra = variants_for("cuda")[len(VARIANTS):]
    assert [v.backend for v in extra] == ["torch-cuda"] and extra[0].batching.batch_size == 256


@needs_no_gpu
def test_bench_device_cuda_without_gpu_is_one_line_exit_2() -> None:
    got = invoke(["bench", "--device", "cuda", "--items", "10", "--audit-sizes", ""])
    assert got.exit_code == 2
    assert got.stderr.strip() == got.stderr.strip().splitlines()[0]
    assert got.stderr.startswith("error: --device: device \"cuda\" asked for")
