"""Recording a run: the loss of every epoch and the path the parameters took.

The recording contract (what code must do for its epochs to be recorded):

* A stage's ``model_training`` calls ``tracker.log(loss, b=b, w=w)`` or
  ``tracker.log(loss, model)`` once per epoch, after the epoch's update.  That is
  all; the engine starts the tracker with the initial parameters and reads the
  record when training ends.  (``--cuda-graph`` captures this call with the epoch.)
* A student's ``%%linreg`` cell body does nothing: its loops are recorded for it
  (:mod:`linreg_magic.check.recording`).  ``tracker.log(...)`` in a body, as in a
  stage's loop pasted from the code view, is accepted and changes nothing.

Everything goes into one preallocated table, one row per epoch: column 0 is the
epoch's loss, the other columns the parameters after its update (row 0: the
initial parameters, and NaN for the loss).

How a row is written depends on where the numbers live, so that recording costs
little next to the epoch itself:

* numpy stage: the row is filled in place (a float and one ``np.concatenate``).
* torch on the CPU: no waiting is possible, so the values are read directly
  (``loss.item()``; parameters through numpy views of their storage, made once).
* torch on a GPU (or any other device): the table lives on the device and each
  row is one ``torch.cat(..., out=row)``: no epoch waits for the GPU.  The host
  sees the numbers once, at the end, or when a progress callback asks for a
  snapshot (a few times a second).  They become float64 on the host (MPS has no
  float64).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Recording", "Tracker", "host_array"]

#: Device rows are made (``unbind``) this many at a time, so a million-epoch run
#: never holds a million row views.
ROW_BLOCK = 1024

_HOST_DTYPES = ("torch.float32", "torch.float64", "torch.float16")


def host_array(value: Any) -> np.ndarray:
    """A float64 numpy copy of a tensor (any device), array or number.

    The tensor is copied to the host first and converted there: devices such as
    Apple's MPS have no float64, and numpy has no bfloat16.
    """
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        if str(value.dtype) not in _HOST_DTYPES:
            value = value.float()
        value = value.numpy()
    return np.array(value, dtype=np.float64)


@dataclass(frozen=True)
class Recording:
    """What a tracker saw, on the host: ``path`` rows are epochs 0..k (0 = initial)."""

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    losses: np.ndarray  # (k,)
    path: np.ndarray  # (k + 1, total number of parameter values)

    @property
    def epochs(self) -> int:
        return len(self.losses)

    def params_at(self, row: int) -> dict[str, np.ndarray]:
        """Each parameter, by name, at row ``row`` of the path."""
        out, start = {}, 0
        for name, shape in zip(self.names, self.shapes):
            size = int(np.prod(shape)) if shape else 1
            out[name] = self.path[row, start:start + size].reshape(shape)
            start += size
        return out

    def param_paths(self) -> dict[str, np.ndarray]:
        """Each parameter's values over the epochs, shape (k + 1, *shape)."""
        out, start = {}, 0
        for name, shape in zip(self.names, self.shapes):
            size = int(np.prod(shape)) if shape else 1
            out[name] = self.path[:, start:start + size].reshape((len(self.path), *shape))
            start += size
        return out


class Tracker:
    """Records the loss and the parameters once per epoch, cheaply.

    ``progress(tracker)``, if given, is called at most every ``interval`` seconds
    during training (for a live view); it may call :meth:`snapshot`.
    """

    def __init__(self, n_epochs: int, *, progress: Callable[[Tracker], None] | None = None,
                 interval: float = 0.25) -> None:
        self.n_epochs = n_epochs
        self.epoch = 0
        self.last_loss: Any = None
        self.names: tuple[str, ...] = ()
        self.shapes: tuple[tuple[int, ...], ...] = ()
        self._progress = progress
        self._interval = interval
        self._next_progress = time.perf_counter() + interval
        self._mode = "numpy"  # "numpy", "host" (torch on the CPU) or "device"
        self._table: Any = None
        self._sources: tuple[Any, ...] = ()
        self._views: tuple[Any, ...] = ()
        self._scalars = False  # every parameter holds one number
        self._block: tuple[Any, ...] = ()
        self._block_start = 0

    # -- set up by the engine -------------------------------------------------
    def start(self, params: dict[str, Any]) -> None:
        """Record the initial parameters (epoch 0) and size the table."""
        self.names = tuple(params)
        values = tuple(params.values())
        self.shapes = tuple(tuple(v.shape) for v in values)
        total = sum(int(np.prod(shape)) if shape else 1 for shape in self.shapes)
        if isinstance(values[0], np.ndarray) or not hasattr(values[0], "detach"):
            self._mode = "numpy"
            self._scalars = all(np.shape(v) == (1,) for v in values)
            self._table = np.empty((self.n_epochs + 1, 1 + total))
            self._table[0, 0] = np.nan
            self._table[0, 1:] = np.concatenate([np.ravel(v) for v in values])
            return
        import torch

        self._sources = values
        if all(v.device.type == "cpu" and str(v.dtype) in _HOST_DTYPES for v in values):
            self._mode = "host"
            self._scalars = all(v.numel() == 1 for v in values)
            self._views = self._numpy_views(values)
            self._table = np.empty((self.n_epochs + 1, 1 + total))
            self._table[0, 0] = np.nan
            self._table[0, 1:] = np.concatenate(self._views)
            return
        self._mode = "device"
        self._views = self._flat_views(values)
        self._table = torch.empty((self.n_epochs + 1, 1 + total), dtype=values[0].dtype,
                                  device=values[0].device)
        with torch.no_grad():
            self._table[0, 0] = float("nan")
            torch.cat(self._views, out=self._table[0, 1:])

    @property
    def table(self) -> Any:
        """The record itself: row ``i`` holds epoch ``i``'s loss and the parameters
        after it (row 0: NaN and the initial parameters), flattened in ``names``
        order.  A numpy array, or a tensor on the device for device runs."""
        return self._table

    @staticmethod
    def _flat_views(values: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(v.detach().reshape(-1) for v in values)

    @staticmethod
    def _numpy_views(values: tuple[Any, ...]) -> tuple[np.ndarray, ...]:
        """Flat numpy arrays sharing the CPU tensors' memory (copies if not contiguous)."""
        return tuple(v.detach().reshape(-1).numpy() for v in values)

    def _device_row(self, i: int) -> Any:
        offset = i - self._block_start
        if not 0 <= offset < len(self._block):
            self._block_start = i
            self._block = self._table[i:i + ROW_BLOCK].unbind(0)
            offset = 0
        return self._block[offset]

    # -- called by the stage's loop -------------------------------------------
    def log(self, loss: Any, model: Any = None, **params: Any) -> None:
        """Record this epoch's loss and the parameters after its update."""
        i = self.epoch + 1
        if i > self.n_epochs:
            raise RuntimeError(f"tracker.log() called more than n_epochs={self.n_epochs} times")
        self.last_loss = loss
        if self._mode == "host":
            self._log_host(i, loss, model, params)
        elif self._mode == "numpy":
            self._log_numpy(i, loss, params)
        else:
            self._log_device(i, loss, model, params)
        self.epoch = i
        if self._progress is not None:
            self._tick()

    def _log_host(self, i: int, loss: Any, model: Any, params: dict[str, Any]) -> None:
        """Row ``i`` of the host table from CPU tensors."""
        table = self._table
        table[i, 0] = loss.item()
        if self._scalars:  # read each value (whatever tensor holds it now)
            for j, value in enumerate(self._sources if model is not None else params.values(), 1):
                table[i, j] = value.item()
            return
        if model is None:
            values = tuple(params.values())
            if not all(a is b for a, b in zip(values, self._sources)):
                self._sources, self._views = values, self._numpy_views(values)
        np.concatenate(self._views, out=table[i, 1:])

    def _log_numpy(self, i: int, loss: Any, params: dict[str, Any]) -> None:
        """Row ``i`` of the host table from numpy arrays."""
        table = self._table
        table[i, 0] = loss
        if self._scalars:
            for j, value in enumerate(params.values(), 1):
                table[i, j] = value[0]
        else:
            table[i, 1:] = np.concatenate([np.ravel(v) for v in params.values()])

    def _log_device(self, i: int, loss: Any, model: Any, params: dict[str, Any]) -> None:
        """Row ``i`` of the device table, written on the device (no sync)."""
        import torch

        if model is None:
            values = tuple(params.values())
            if not all(a is b for a, b in zip(values, self._sources)):
                self._sources, self._views = values, self._flat_views(values)
        torch.cat((loss.detach().reshape(1), *self._views), out=self._device_row(i))

    def _tick(self) -> None:
        if self._progress is not None and time.perf_counter() >= self._next_progress:
            self._progress(self)
            self._next_progress = time.perf_counter() + self._interval

    def advance(self, epochs: int = 1) -> None:
        """``epochs`` more rows of :attr:`table` were written on the device by
        someone else (a replayed CUDA graph); count them, call progress when due."""
        if self.epoch + epochs > self.n_epochs:
            raise RuntimeError(f"more than n_epochs={self.n_epochs} epochs recorded")
        self.epoch += epochs
        self._tick()

    # -- read back ------------------------------------------------------------
    def snapshot(self) -> Recording:
        """What has been recorded so far, copied to the host (one sync)."""
        k = self.epoch
        rows = self._table[: k + 1]
        table = host_array(rows) if self._mode == "device" else rows.copy()
        return Recording(self.names, self.shapes, np.ascontiguousarray(table[1:, 0]),
                         np.ascontiguousarray(table[:, 1:]))
