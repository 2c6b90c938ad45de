"""Recording a student's run without the student writing anything for it.

The instrumented body (:mod:`.instrument`) calls the :class:`LoopRecorder` before
each loop, at the top of every iteration and after the loop.  At each iteration
the recorder reads the parameters the stage's contract names (``b`` and ``w``, or
``model``'s parameters), whatever objects those names hold now (updated in place,
through ``.data``, by an optimizer, or rebound to new tensors every epoch), and
writes them as one row:

* numpy values and CPU tensors: a row of float64 numbers on the host;
* tensors on a GPU (or MPS): ``torch.cat(..., out=row)`` into a table on the device,
  so no epoch waits for the device.  The host reads the table once, at the end, and
  a few times a second (one read of a device-side flag) to stop a run whose
  parameters became inf or NaN.

At the end, the loop whose iterations changed the parameters is the training loop
(the outermost one, if loops nest): its rows are the trajectory, one per epoch.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine import Diverged
from ..tracker import host_array
from .instrument import ENTER, EXIT, ITERATION

__all__ = ["LoopRecorder", "Trajectory", "watched"]

#: Device rows are allocated this many at a time.
BLOCK = 1024
#: A row written when the body stopped inside a loop (Ctrl-C, an error, divergence).
STOPPED = 3
_MISSING = object()


def watched(returns: str, scope: Mapping[str, Any],
            aliases: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The parameters the stage reads after training, by name, as the scope holds them now.

    ``aliases`` name the variables the body trains under other names and hands over
    afterwards (``b, w = bias, weight``; ``model = net``)."""
    def get(name: str) -> Any:
        alias = (aliases or {}).get(name)
        return scope[alias] if alias is not None and alias in scope else scope.get(name, _MISSING)

    if returns == "bw":
        b, w = get("b"), get("w")
        return None if b is _MISSING or w is _MISSING else {"b": b, "w": w}
    model = get("model")
    if model is None or not hasattr(model, "named_parameters"):
        return None
    try:
        params = dict(model.named_parameters())
    except Exception:  # a half-made module
        return None
    return params or None


@dataclass
class _Segment:
    """Rows of one shape of parameters (a body may replace its model by another)."""

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    device: Any  # a torch.device for device tables, None for host rows
    host: list[np.ndarray] = field(default_factory=list)  # blocks of BLOCK rows, float64
    blocks: list[Any] = field(default_factory=list)
    count: int = 0
    checked: int = 0  # rows up to here were found finite

    def key(self) -> tuple[Any, ...]:
        return (self.names, self.shapes, self.device)


@dataclass(frozen=True)
class Trajectory:
    """The training loop's record: ``path`` rows are the parameters at the top of each
    iteration and after the loop (row 0: the start), flattened in ``names`` order."""

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    path: np.ndarray  # (rows, total values)
    iterations: int  # the epochs completed (the rows after the start)
    finished: bool  # the loop ended (else the body stopped inside it)
    loop: int | None  # the loop's id (None: no loop; the start and end of the body)
    model: Any = None  # for module stages: a copy of the model as the loop found it

    @property
    def epochs(self) -> int:
        return len(self.path) - 1


@dataclass
class _Row:
    loop: int
    run: int
    event: int
    segment: int
    index: int
    depth: int


class LoopRecorder:
    """The ``__linreg_loop__`` of an instrumented body (see the module's docstring)."""

    def __init__(self, returns: str, scope: dict[str, Any], *, limit: int, interval: float = 0.25,
                 aliases: Mapping[str, str] | None = None) -> None:
        self.returns, self.scope, self.limit = returns, scope, limit
        self.aliases = dict(aliases or {})
        self.segments: list[_Segment] = []
        self.rows: list[_Row] = []
        self.runs: dict[int, int] = {}  # loop id -> how many times it was entered
        self.stack: list[int] = []  # loops entered and not left
        self.epoch = 0  # the outermost loop's iteration, 1-based (0: not in a loop)
        self.models: dict[tuple[int, int], Any] = {}
        self.listeners: list[Callable[[int], None]] = []
        self._interval = interval
        self._next_check: float | None = None  # set at the first epoch
        self._thread = threading.get_ident()
        self.broken: str | None = None

    def __call__(self, loop: int, event: int, local: Mapping[str, Any] | None = None) -> None:
        if self.broken is not None or threading.get_ident() != self._thread:
            return
        if event == ENTER:
            self._enter(loop)
            return
        try:
            self._record(loop, event, local)
        except Diverged:
            raise
        except Exception as exc:  # recording must never break the student's code
            self.broken = f"{type(exc).__name__}: {exc}"
        if event == EXIT and self.stack and self.stack[-1] == loop:
            self.stack.pop()

    def _enter(self, loop: int) -> None:
        self.runs[loop] = self.runs.get(loop, 0) + 1
        if not self.stack:
            self.epoch = 0
        self.stack.append(loop)

    def _record(self, loop: int, event: int, local: Mapping[str, Any] | None) -> None:
        outermost = bool(self.stack) and self.stack[0] == loop
        if event == ITERATION and outermost:
            self.epoch += 1
            for listener in self.listeners:
                listener(self.epoch)
        if len(self.rows) >= self.limit:
            return
        params = watched(self.returns, local, self.aliases) if local is not None else None
        params = params or watched(self.returns, self.scope, self.aliases)
        if params is None:
            return
        run = self.runs.get(loop, 1)
        if outermost and event == ITERATION and self.epoch == 1 and len(self.models) < 8:
            self.models[(loop, run)] = self._model_copy(local)
        segment = self._segment(params)
        index = self._write(segment, tuple(params.values()))
        self.rows.append(_Row(loop, run, event, self.segments.index(segment), index, len(self.stack)))
        self._check(segment, index, event)

    def iterate(self, loop: int, iterable: Iterable[Any]) -> Iterator[Any]:
        """A comprehension's iterations, recorded as a loop's (``__linreg_iterate__``)."""
        self(loop, ENTER)
        for item in iterable:
            self(loop, ITERATION)
            yield item
        self(loop, EXIT)

    def stopped(self) -> None:
        """The body stopped inside a loop (Ctrl-C, an error): the outermost open loop's last
        row is the parameters as they are now (the iteration under way counts if it moved them)."""
        if not self.stack or self.broken is not None:
            return
        loop = self.stack[0]
        if self._record_now(loop, self.runs.get(loop, 1), STOPPED, 1):
            self.stack.clear()

    def snapshot(self, event: int = ITERATION) -> None:
        """Record the parameters now, outside any loop (the body's start and end)."""
        if self.broken is None:
            self._record_now(-1, 1, event, 0)

    def _record_now(self, loop: int, run: int, event: int, depth: int) -> bool:
        """A row of the parameters as the body's scope holds them now (whether one was
        written); a failure to read them marks the recording broken instead of raising
        into the body."""
        params = watched(self.returns, self.scope, self.aliases)
        if params is None:
            return False
        try:
            segment = self._segment(params)
            index = self._write(segment, tuple(params.values()))
        except Exception as exc:
            self.broken = f"{type(exc).__name__}: {exc}"
            return False
        self.rows.append(_Row(loop, run, event, self.segments.index(segment), index, depth))
        return True

    def _model_copy(self, local: Mapping[str, Any] | None) -> Any:
        if self.returns != "model":
            return None
        name = self.aliases.get("model", "model")
        model = (local or {}).get(name, self.scope.get(name, self.scope.get("model")))
        try:
            return copy.deepcopy(model)
        except Exception:
            return None

    # -- the tables --------------------------------------------------------------------
    def _segment(self, params: dict[str, Any]) -> _Segment:
        values = tuple(params.values())
        shapes = tuple(tuple(np.shape(v)) if not hasattr(v, "shape") else tuple(v.shape) for v in values)
        device = None
        first = values[0]
        if hasattr(first, "detach") and first.device.type != "cpu":
            device = first.device
        key = (tuple(params), shapes, device)
        if self.segments and self.segments[-1].key() == key:
            return self.segments[-1]
        for segment in self.segments:
            if segment.key() == key:
                return segment
        self.segments.append(_Segment(tuple(params), shapes, device))
        return self.segments[-1]

    def _write(self, segment: _Segment, values: tuple[Any, ...]) -> int:
        index = segment.count
        block, offset = divmod(index, BLOCK)
        total = sum(int(np.prod(s)) for s in segment.shapes)
        if segment.device is None:
            if block == len(segment.host):
                segment.host.append(np.empty((BLOCK, total)))
            segment.host[block][offset] = np.concatenate([_host_flat(v) for v in values])
        else:
            import torch

            if block == len(segment.blocks):
                segment.blocks.append(torch.empty((BLOCK, total), dtype=values[0].dtype,
                                                  device=segment.device))
            flat = [v.detach().reshape(-1).to(segment.device) for v in values]
            torch.cat(flat, out=segment.blocks[block][offset])
        segment.count += 1
        return index

    def _check(self, segment: _Segment, index: int, event: int) -> None:
        """Stop a run whose parameters became inf or NaN: every row on the host; on a
        device, one read of a flag a few times a second."""
        epoch = self.epoch - 1 if event == ITERATION else self.epoch
        if segment.device is None:
            row = segment.host[index // BLOCK][index % BLOCK]
            if not np.all(np.isfinite(row)):
                raise Diverged(max(epoch, 1), float(row[~np.isfinite(row)][0]))
            return
        now = time.perf_counter()
        if self._next_check is None:
            self._next_check = now + self._interval
        if now < self._next_check:
            return
        self._next_check = now + self._interval
        start, segment.checked = segment.checked, index + 1
        if not _finite(segment.blocks, start, index + 1):
            raise Diverged(max(epoch, 1), float("nan"))

    def trajectory(self) -> Trajectory | None:
        """The training loop's record (see :func:`training`)."""
        return training(self)

    def table(self, segment: _Segment) -> np.ndarray:
        """A segment's rows on the host, float64 (one copy from the device)."""
        if segment.device is None:
            return np.concatenate(segment.host)[: segment.count] if segment.host else np.empty((0, 0))
        import torch

        used = torch.cat(segment.blocks)[: segment.count] if segment.blocks else None
        return host_array(used) if used is not None else np.empty((0, 0))


def _finite(blocks: list[Any], start: int, stop: int) -> bool:
    """Whether rows ``start:stop`` of a device table are all finite (one host read)."""
    import torch

    flags = [torch.isfinite(blocks[b][max(start - b * BLOCK, 0):stop - b * BLOCK]).all()
             for b in range(start // BLOCK, (stop - 1) // BLOCK + 1)]
    return bool(torch.stack(flags).all()) if flags else True


def _host_flat(value: Any) -> np.ndarray:
    if hasattr(value, "detach") and value.device.type == "cpu" and value.numel() == 1:
        return np.array([value.item()], dtype=np.float64)
    return host_array(value).reshape(-1)


def training(recorder: LoopRecorder) -> Trajectory | None:
    """The training loop's rows (see :class:`Trajectory`), or the body's start and end
    when no loop changed the parameters; None when nothing was recorded."""
    tables = [recorder.table(s) for s in recorder.segments]
    runs: dict[tuple[int, int], list[_Row]] = {}
    for row in recorder.rows:
        runs.setdefault((row.loop, row.run), []).append(row)
    best: tuple[tuple[int, int], tuple[int, int]] | None = None
    for key, rows in runs.items():
        if key[0] < 0 or len({r.segment for r in rows}) != 1:
            continue
        values = tables[rows[0].segment][[r.index for r in rows]]
        changes = int(np.sum(np.any(values[1:] != values[:-1], axis=1))) if len(values) > 1 else 0
        if changes:
            rank = (-rows[0].depth, len(rows))
            if best is None or rank > best[1]:
                best = (key, rank)
    if best is not None:
        return _of_run(recorder, best[0], runs[best[0]], tables)
    return _start_and_end(recorder, runs.get((-1, 1), []), tables)


def _of_run(recorder: LoopRecorder, key: tuple[int, int], rows: list[_Row],
            tables: list[np.ndarray]) -> Trajectory:
    segment = recorder.segments[rows[0].segment]
    path = tables[rows[0].segment][[r.index for r in rows]]
    if len(path) > 1 and rows[-1].event == STOPPED and np.array_equal(path[-1], path[-2]):
        path = path[:-1]  # stopped before the iteration under way changed anything
    finished = rows[-1].event == EXIT
    return Trajectory(segment.names, segment.shapes, path, len(path) - 1, finished, key[0],
                      recorder.models.get(key))

def _start_and_end(recorder: LoopRecorder, rows: list[_Row], tables: list[np.ndarray]) -> Trajectory | None:
    if not rows:
        return None
    first, last = rows[0], rows[-1]
    segment = recorder.segments[last.segment]
    end = tables[last.segment][last.index]
    start = tables[first.segment][first.index] if first.segment == last.segment else end
    path = np.stack([start, end]) if np.any(start != end) else start[None]
    return Trajectory(segment.names, segment.shapes, path, len(path) - 1, True, None)
