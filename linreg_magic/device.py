"""Which device a run uses: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.

Resolution needs torch (to ask what exists), so it happens at run time, never at
``%load_ext``.
"""

from __future__ import annotations

import functools
import os
import platform

from .errors import usage_error

__all__ = ["available_devices", "describe", "resolve_device", "why_no_cuda"]


def _torch_devices() -> list[str]:
    import torch

    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def available_devices(uses_torch: bool = True) -> list[str]:
    """The devices this machine can run on, best last (``cpu`` first)."""
    return _torch_devices() if uses_torch else ["cpu"]


def why_no_cuda() -> str:
    import torch

    if torch.version.cuda is None:
        return f"this torch ({torch.__version__}) is a CPU-only build"
    return "no CUDA GPU or driver is visible to this torch"


def resolve_device(name: str, uses_torch: bool, stage: str = "") -> str:
    """The concrete device for a run (``cpu``, ``cuda:0``, ``mps``), or a UsageError."""
    if not uses_torch:
        if name in ("auto", "cpu"):
            return "cpu"
        raise usage_error(
            f"The {stage or 'numpy'} stage runs on the CPU only (numpy arrays cannot live on {name})",
            "valid devices for it are auto and cpu",
            "Drop --device, or pick a torch stage such as --stage tensors to use " + name,
        )
    devices = _torch_devices()
    if name == "auto":
        return next((d for d in devices if d.startswith("cuda")), None) or (
            "mps" if "mps" in devices else "cpu")
    asked = name
    if name == "cuda":
        name = "cuda:0"
    if name in devices:
        return name
    name = asked
    valid = "valid devices on this machine are " + ", ".join(["auto", *devices])
    if name.startswith("cuda"):
        n_cuda = sum(d.startswith("cuda") for d in devices)
        what = (f"--device {name}: this machine has {n_cuda} CUDA device(s)" if n_cuda
                else f"--device {name}: CUDA is not available ({why_no_cuda()})")
        return _raise(usage_error(what, valid, "Use --device auto or --device cpu"))
    return _raise(usage_error(f"--device {name}: Apple's MPS backend is not available here", valid,
                              "Use --device auto or --device cpu"))


def _raise(error: Exception) -> str:
    raise error


@functools.cache
def describe(device: str) -> str:
    """The device with its name, e.g. ``cuda:0 NVIDIA H100 80GB HBM3`` or ``cpu (2 cores)``."""
    if device.startswith("cuda"):
        import torch

        return f"{device} {torch.cuda.get_device_name(torch.device(device))}"
    if device == "mps":
        return "mps (Apple GPU)"
    return f"cpu ({_cpu_name()}, {os.cpu_count() or 1} cores)"


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"
