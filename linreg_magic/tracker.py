"""Recording a run: the loss of every epoch and the path the parameters took.

A stage's loop calls ``tracker.log(loss, b=b, w=w)`` or ``tracker.log(loss,
model)`` once per epoch.  For torch, everything stays on the device: the loss is
kept as a detached tensor and the parameters are copied with one ``torch.cat``
into a preallocated row of a device buffer, so no epoch waits for the GPU.  The
host sees the numbers once, at the end (or when a progress callback asks for a
snapshot, a few times a second).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Recording", "Tracker"]


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
        self._torch = False
        self._losses: list[Any] = []
        self._rows: Any = None
        self._path: Any = None
        self._sources: tuple[Any, ...] = ()
        self._views: tuple[Any, ...] = ()

    # -- set up by the engine -------------------------------------------------
    def start(self, params: dict[str, Any]) -> None:
        """Record the initial parameters (epoch 0) and size the buffers."""
        self.names = tuple(params)
        values = tuple(params.values())
        self._torch = not isinstance(values[0], np.ndarray) and hasattr(values[0], "detach")
        self.shapes = tuple(tuple(v.shape) for v in values)
        if self._torch:
            import torch

            views = self._flat_views(values)
            total = sum(int(v.numel()) for v in views)
            self._path = torch.empty((self.n_epochs + 1, total), dtype=views[0].dtype,
                                     device=views[0].device)
            self._rows = self._path.unbind(0)
            torch.cat(views, out=self._rows[0])
            self._sources, self._views = values, views
        else:
            self._path = np.empty((self.n_epochs + 1, sum(int(np.size(v)) for v in values)))
            self._path[0] = np.concatenate([np.ravel(v) for v in values])

    @staticmethod
    def _flat_views(values: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(v.detach().reshape(-1) for v in values)

    # -- called by the stage's loop -------------------------------------------
    def log(self, loss: Any, model: Any = None, **params: Any) -> None:
        """Record this epoch's loss and the parameters after its update."""
        i = self.epoch
        if i >= self.n_epochs:
            raise RuntimeError(f"tracker.log() called more than n_epochs={self.n_epochs} times")
        self.last_loss = loss
        if self._torch:
            import torch

            self._losses.append(loss.detach())
            if model is not None:
                views = self._views
            else:
                values = tuple(params.values())
                if not all(a is b for a, b in zip(values, self._sources)):
                    self._sources, self._views = values, self._flat_views(values)
                views = self._views
            torch.cat(views, out=self._rows[i + 1])
        else:
            self._losses.append(float(loss))
            self._path[i + 1] = np.concatenate([np.ravel(v) for v in params.values()])
        self.epoch = i + 1
        if self._progress is not None and time.perf_counter() >= self._next_progress:
            self._progress(self)
            self._next_progress = time.perf_counter() + self._interval

    # -- read back ------------------------------------------------------------
    def snapshot(self) -> Recording:
        """What has been recorded so far, copied to the host (one sync)."""
        k = self.epoch
        if self._torch:
            import torch

            losses = (torch.stack(self._losses[:k]).double().cpu().numpy() if k
                      else np.empty(0))
            path = self._path[: k + 1].double().cpu().numpy()
        else:
            losses = np.asarray(self._losses[:k], dtype=np.float64)
            path = self._path[: k + 1].copy()
        return Recording(self.names, self.shapes, losses, path)
