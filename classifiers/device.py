"""Where the transformer runs: ``classifier.device`` = ``"auto"``, ``"cpu"`` or ``"cuda"``.

``resolve_device`` turns the setting into ``"cpu"`` or ``"cuda"``:

* ``"cpu"`` is always ``"cpu"`` (torch is not imported);
* ``"auto"`` is ``"cuda"`` when torch sees a CUDA device, else ``"cpu"``;
* ``"cuda"`` is ``"cuda"`` when torch sees one, else :class:`DeviceUnavailable`
  (a :class:`~monitor.errors.ConfigError`, so the CLI prints one line and exits 2).

torch is imported lazily and only when an NVIDIA driver is present at all
(``/proc/driver/nvidia`` or ``/dev/nvidiactl``): on a CPU-only server ``"auto"``
resolves without loading torch, so the ONNX Runtime serving process stays small.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal, cast

from monitor.errors import ConfigError

DeviceSetting = Literal["auto", "cpu", "cuda"]
Device = Literal["cpu", "cuda"]
DEVICE_CHOICES: tuple[DeviceSetting, ...] = ("auto", "cpu", "cuda")
SETTING = "classifier.device"
# Files an NVIDIA driver creates; without any of them torch cannot see a GPU either.
DRIVER_MARKERS = (Path("/proc/driver/nvidia/version"), Path("/dev/nvidiactl"), Path("/dev/nvidia0"))


class DeviceUnavailable(ConfigError):
    """``cuda`` was asked for where torch sees no CUDA device (or torch is not installed)."""


def driver_present() -> bool:
    """Whether this machine has an NVIDIA driver loaded (cheap: no torch import)."""
    return any(p.exists() for p in DRIVER_MARKERS)


def cuda_available() -> tuple[bool, str]:
    """(torch sees a CUDA device, why not when it does not)."""
    if not driver_present():
        return False, "no NVIDIA driver on this machine"
    try:
        import torch
    except ImportError:
        return False, "torch is not installed (the 'ml' extra)"
    if not torch.cuda.is_available():
        return False, f"torch {torch.__version__} sees no CUDA device"
    return True, ""


Probe = Callable[[], tuple[bool, str]]


def resolve_device(asked: str, where: str = SETTING, probe: Probe = cuda_available) -> Device:
    """``"cpu"`` or ``"cuda"`` for the setting ``asked``; ``where`` names it in errors.

    ``probe`` answers whether CUDA is usable (tests pass their own).
    """
    value = (asked or "").strip().lower()
    if value not in DEVICE_CHOICES:
        raise ConfigError(where, f"unknown device {asked!r} (auto, cpu or cuda)")
    if value == "cpu":
        return "cpu"
    ok, why = probe()
    if ok:
        return "cuda"
    if value == "auto":
        return "cpu"
    raise DeviceUnavailable(where, f"device \"cuda\" asked for but {why}; "
                                   "set it to \"auto\" or \"cpu\"")


def device_name(device: str) -> str:
    """A human name of the device: the GPU's model, or the CPU's."""
    if device == "cuda":
        import torch

        return cast(str, torch.cuda.get_device_name(0))
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "cpu"
