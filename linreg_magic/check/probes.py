"""What a run's torch code did, observed as it runs: backward passes and gradients,
optimizer steps, and (for the first epochs only) the torch operations of the cell.

None of these reads a number from a GPU while the run goes on: gradients are
copied on the device and read once at the end; counts and shapes are host facts.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..tracker import host_array

__all__ = ["FirstEpochs", "GradientProbe", "OpsSeen", "OptimizerWatch", "StepRecord"]

#: The first epochs whose torch operations are watched one by one.
WATCHED_EPOCHS = 2

_ELEMENTWISE = frozenset({"add", "sub", "mul", "div", "rsub", "__add__", "__sub__", "__mul__",
                          "__truediv__", "__radd__", "__rsub__", "__rmul__", "__rtruediv__",
                          "mse_loss", "l1_loss"})


class GradientProbe:
    """Hooks on the parameters' gradients: backward passes per epoch, the gradients of
    epoch 1 (and epoch 2's, with what ``.grad`` held after it: more than that
    epoch's gradient means the gradients accumulate)."""

    def __init__(self, epoch: Callable[[], int]) -> None:
        self._epoch = epoch
        self.passes: dict[int, dict[str, int]] = {}
        self.raw: dict[tuple[int, str], Any] = {}
        self.held: dict[str, Any] = {}
        self._hooked: dict[str, Any] = {}
        self._handles: list[Any] = []

    def watch(self, params: Mapping[str, Any] | None) -> None:
        """Hook these parameters (again, if the names now hold other tensors)."""
        for name, value in (params or {}).items():
            if self._hooked.get(name) is value or not _hookable(value):
                continue
            self._hooked[name] = value
            self._handles.append(value.register_hook(self._on_grad(name)))
            self._handles.append(value.register_post_accumulate_grad_hook(self._on_held(name)))

    def _on_grad(self, name: str) -> Callable[[Any], None]:
        def hook(grad: Any) -> None:
            epoch = self._epoch()
            counts = self.passes.setdefault(epoch, {})
            counts[name] = counts.get(name, 0) + 1
            if epoch <= 2 and counts[name] == 1:
                self.raw[(epoch, name)] = grad.detach().clone()
        return hook

    def _on_held(self, name: str) -> Callable[[Any], None]:
        def hook(param: Any) -> None:
            if self._epoch() == 2 and name not in self.held and param.grad is not None:
                self.held[name] = param.grad.detach().clone()
        return hook

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def gradients(self, epoch: int = 1) -> dict[str, np.ndarray]:
        """The gradient each parameter got in the first backward pass of ``epoch``."""
        return {name: host_array(g) for (e, name), g in self.raw.items() if e == epoch}

    def accumulated(self) -> tuple[str, np.ndarray, np.ndarray] | None:
        """A parameter whose ``.grad`` after epoch 2's first backward pass held more than
        that pass's gradient: (name, the pass's gradient, what ``.grad`` held)."""
        for name, held in self.held.items():
            raw = self.raw.get((2, name))
            if raw is None:
                continue
            raw_host, held_host = host_array(raw), host_array(held)
            if raw_host.shape == held_host.shape and not np.allclose(raw_host, held_host, rtol=1e-5,
                                                                     atol=1e-7):
                return name, raw_host, held_host
        return None

    def per_epoch(self) -> int:
        """Backward passes in each of the first epochs (the most seen; 0: none)."""
        counts = [max(c.values()) for e, c in self.passes.items() if 1 <= e <= 3 and c]
        return max(counts) if counts else 0

    @property
    def total(self) -> int:
        return sum(max(c.values()) for c in self.passes.values() if c)


def _hookable(value: Any) -> bool:
    return bool(getattr(value, "requires_grad", False)) and bool(getattr(value, "is_leaf", False))


@dataclass
class StepRecord:
    """One optimizer as it stepped: its kind, settings and which tensors it updates."""

    kind: str
    lr: float
    settings: dict[str, Any]
    params: frozenset[int]
    steps: int = 0
    per_epoch: dict[int, int] = field(default_factory=dict)


class OptimizerWatch:
    """Every ``optimizer.step()`` of this thread while installed (torch's global hook)."""

    def __init__(self, epoch: Callable[[], int]) -> None:
        self._epoch = epoch
        self.optimizers: dict[int, StepRecord] = {}
        self._thread = threading.get_ident()
        self._handle: Any = None

    def install(self) -> None:
        from torch.optim.optimizer import register_optimizer_step_post_hook

        self._handle = register_optimizer_step_post_hook(self._stepped)

    def _stepped(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if threading.get_ident() != self._thread:
            return
        record = self.optimizers.get(id(optimizer))
        if record is None:
            group = optimizer.param_groups[0]
            settings = {k: v for k, v in group.items() if k != "params" and isinstance(v, (int, float, bool))}
            params = frozenset(id(p) for g in optimizer.param_groups for p in g["params"])
            record = StepRecord(type(optimizer).__name__, float(group.get("lr", float("nan"))), settings,
                                params)
            self.optimizers[id(optimizer)] = record
        record.steps += 1
        epoch = self._epoch()
        record.per_epoch[epoch] = record.per_epoch.get(epoch, 0) + 1

    def remove(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def stepping(self, params: Mapping[str, Any] | None) -> tuple[StepRecord | None, bool]:
        """The optimizer that stepped most, and whether it updates these parameters."""
        if not self.optimizers:
            return None, False
        record = max(self.optimizers.values(), key=lambda r: r.steps)
        ids = {id(v) for v in (params or {}).values()}
        return record, bool(ids) and ids <= record.params


@dataclass
class OpsSeen:
    """The cell's torch operations in the first epochs, with their cell lines."""

    backward: list[int] = field(default_factory=list)
    reductions: list[tuple[int, str]] = field(default_factory=list)
    broadcasts: list[tuple[int, str, tuple[tuple[int, ...], ...], tuple[int, ...]]] = field(
        default_factory=list)
    numpy_operands: list[int] = field(default_factory=list)
    mse_loss: list[tuple[int, str]] = field(default_factory=list)  # (line, reduction)


@functools.cache
def _make_first_epochs() -> type:
    from torch.overrides import TorchFunctionMode

    class _Mode(TorchFunctionMode):
        def __init__(self, filename: str | None, seen: OpsSeen) -> None:
            super().__init__()
            self.filename, self.seen = filename, seen

        def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            with contextlib.suppress(Exception):  # watching must never break the student's code
                line = _cell_line(self.filename)
                if line is not None:
                    _note(self.seen, line, getattr(func, "__name__", ""), (args, kwargs))
            return out

    return _Mode


class FirstEpochs:
    """Watches the torch operations of epochs 1 and 2 (a torch function mode, on only
    then): which lines call ``backward``, reduce with ``sum``/``mean``, broadcast two
    shapes into a bigger one, or hand torch a numpy array."""

    def __init__(self, filename: str | None) -> None:
        self.filename = filename  # None: any code's operations (a stage's own)
        self.seen = OpsSeen()
        self._mode: Any = None

    def epoch(self, epoch: int) -> None:
        """Called at the top of each epoch of the outermost loop."""
        if epoch == 1 and self._mode is None:
            self._mode = _make_first_epochs()(self.filename, self.seen)
            self._mode.__enter__()
        elif epoch > WATCHED_EPOCHS:
            self.close()

    def close(self) -> None:
        mode, self._mode = self._mode, None
        if mode is None:
            return
        from torch.overrides import _get_current_function_mode_stack

        stack = _get_current_function_mode_stack()
        if stack and stack[-1] is mode:
            mode.__exit__(None, None, None)


def _cell_line(filename: str | None, depth: int = 8) -> int | None:
    """The cell line that led to this torch call (0 for code that is not a cell's)."""
    if filename is None:
        return 0
    frame = sys._getframe(2)
    for _ in range(depth):
        if frame is None:
            return None
        if frame.f_code.co_filename == filename:
            return frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _note(seen: OpsSeen, line: int, name: str, call: tuple[Any, Any]) -> None:
    args, kwargs = call
    if name == "backward":
        seen.backward.append(line)
    elif name in ("sum", "mean"):
        seen.reductions.append((line, name))
    if name == "mse_loss":
        seen.mse_loss.append((line, str(kwargs.get("reduction", args[2] if len(args) > 2 else "mean"))))
    if name in ("__array__", "__array_wrap__") or any(isinstance(a, np.ndarray) for a in args):
        seen.numpy_operands.append(line)  # numpy computing with a tensor, or torch with an array
    if name in _ELEMENTWISE:
        shapes = tuple(tuple(a.shape) for a in args[:2] if hasattr(a, "shape") and len(a.shape))
        if len(shapes) == 2 and shapes[0] != shapes[1]:
            joined = tuple(np.broadcast_shapes(*shapes))
            if int(np.prod(joined)) > max(int(np.prod(s)) for s in shapes):
                seen.broadcasts.append((line, name, shapes, joined))
