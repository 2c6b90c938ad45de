"""Which device a run uses: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``, and
what a device can refuse, each as one UsageError line with the session intact: a
``cuda:N`` that this process cannot see (``CUDA_VISIBLE_DEVICES``, a MIG slice),
a GPU busy in another process, memory that runs out on a shared GPU.

Resolution needs torch (to ask what exists), so it happens at run time, never at
``%load_ext``.
"""

from __future__ import annotations

import functools
import os
import platform
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType

from .errors import UsageError, usage_error

__all__ = ["DeviceGuard", "Refusal", "available_devices", "check_device", "describe", "device_error",
           "hidden_devices_note", "resolve_device", "why_no_cuda"]

#: Devices that have run a first allocation in this process (not asked again).
_opened: set[str] = set()


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


def hidden_devices_note(environ: Mapping[str, str] | None = None) -> str:
    """Why this process may see fewer GPUs than the machine has ("" when nothing hides them)."""
    visible = (os.environ if environ is None else environ).get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return ""
    if "MIG-" in visible:
        return (f"CUDA_VISIBLE_DEVICES={visible!r} names a MIG slice, which a process sees as "
                "one device, cuda:0")
    if not visible.strip() or visible.strip().startswith("-"):
        return f"CUDA_VISIBLE_DEVICES={visible!r} hides every GPU from this process"
    return f"CUDA_VISIBLE_DEVICES={visible!r} shows this process only those GPUs, as cuda:0 onwards"


def why_no_cuda() -> str:
    import torch

    if torch.version.cuda is None:
        return f"this torch ({torch.__version__}) is a CPU-only build"
    return hidden_devices_note() or "no CUDA GPU or driver is visible to this torch"


@dataclass(frozen=True)
class Refusal:
    """A device that cannot run a stage here: the reason in a few words (for a note such
    as bench's "skipped cuda: ..."), and the UsageError line a run that asks for it gets."""

    reason: str
    error: UsageError


def check_device(name: str, uses_torch: bool, stage: str = "") -> str | Refusal:
    """The concrete device for a run (``cpu``, ``cuda:0``, ``mps``), or why not.

    ``auto`` takes the first GPU that opens (one busy in another process is passed
    over), then ``mps``, then the CPU; a device named explicitly must open."""
    if not uses_torch:
        if name in ("auto", "cpu"):
            return "cpu"
        what = f"The {stage or 'numpy'} stage runs on the CPU only (numpy arrays cannot live on {name})"
        return Refusal(what, usage_error(
            what, "valid devices for it are auto and cpu",
            "Drop --device, or pick a torch stage such as --stage tensors to use " + name))
    devices = _torch_devices()
    if name == "auto":
        return next((d for d in devices[1:] if _open(d) is None), "cpu")
    concrete = "cuda:0" if name == "cuda" else name
    if concrete not in devices:
        return _missing_device(name, devices)
    busy = _open(concrete)
    if busy is not None:
        return Refusal("busy or unavailable (another process holds it)", busy)
    return concrete


def resolve_device(name: str, uses_torch: bool, stage: str = "") -> str:
    """The concrete device for a run (see :func:`check_device`), or its UsageError line."""
    found = check_device(name, uses_torch, stage)
    if isinstance(found, Refusal):
        raise found.error
    return found


def _missing_device(name: str, devices: list[str]) -> Refusal:
    valid = "valid devices on this machine are " + ", ".join(["auto", *devices])
    if not name.startswith("cuda"):
        reason = "Apple's MPS backend is not available here"
        return Refusal(reason, usage_error(f"--device {name}: {reason}", valid,
                                           "Use --device auto or --device cpu"))
    n_cuda = sum(d.startswith("cuda") for d in devices)
    if not n_cuda:
        reason = f"CUDA is not available ({why_no_cuda()})"
        return Refusal(reason, usage_error(f"--device {name}: {reason}", valid,
                                           "Use --device auto or --device cpu"))
    hidden = hidden_devices_note()
    reason = f"this process sees {n_cuda} CUDA device(s)" + (f" ({hidden})" if hidden else "")
    last = f" to cuda:{n_cuda - 1}" if n_cuda > 1 else ""
    return Refusal(reason, usage_error(f"--device {name}: {reason}", valid,
                                       f"Use --device cuda:0{last}, or --device auto"))


def _open(device: str) -> UsageError | None:
    """A first allocation on a GPU: the UsageError line if another process holds it."""
    if not device.startswith("cuda") or device in _opened:
        return None
    import torch

    try:
        torch.zeros(1, device=device)
    except RuntimeError as exc:
        error = device_error(device, exc)
        if error is None:
            raise
        return error
    _opened.add(device)
    return None


def _gib(n_bytes: int) -> str:
    return f"{n_bytes / 2**30:.1f} GiB"


def _memory_note(device: str) -> str:
    import torch

    try:
        free, total = torch.cuda.mem_get_info(torch.device(device))
    except (RuntimeError, AssertionError):  # a CPU-only build asserts
        return "how much is free could not be read"
    return f"free now: {_gib(free)} of {_gib(total)}; other processes and earlier results on it hold the rest"


def device_error(device: str, error: BaseException) -> UsageError | None:
    """The one line for a device's refusal (out of memory, busy), or None for any other error."""
    if "torch" not in sys.modules or not isinstance(error, RuntimeError):
        return None
    import torch

    text = str(error)
    if isinstance(error, torch.cuda.OutOfMemoryError) or (device == "mps" and "out of memory" in text):
        note = _memory_note(device) if device.startswith("cuda") else "the GPU shares the Mac's memory"
        return usage_error(f"{device} ran out of memory during the run ({note})",
                           "a run needs room on the device for the data, the model and the record of "
                           "every epoch",
                           "Use a smaller --n or fewer --epochs, free memory (del earlier results, stop "
                           "other notebooks on this GPU), or use --device cpu")
    if "busy or unavailable" in text:
        return usage_error(f"--device {device} is busy or unavailable: another process holds it "
                           "(the GPU is in exclusive-process mode) or it cannot be opened",
                           "valid devices are those this process can open: " +
                           ", ".join(d for d in _torch_devices() if d != device),
                           "Use --device cpu or another GPU, or wait for the other process to end")
    return None


class DeviceGuard:
    """``with DeviceGuard(device):`` a device's refusal raised inside (CUDA or MPS out of
    memory, a busy GPU) becomes one UsageError line; the memory the failed run held on the
    device is given back first (its frames are cleared, the allocator's cache emptied)."""

    def __init__(self, device: str) -> None:
        self.device = device

    def __enter__(self) -> DeviceGuard:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        if error is None:
            return
        message = device_error(self.device, error)
        if message is None:
            return
        traceback.clear_frames(tb)  # the finished frames' tensors, which the traceback would keep
        _empty_cache(self.device)
        raise message


def _empty_cache(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    elif device == "mps":
        torch.mps.empty_cache()


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
