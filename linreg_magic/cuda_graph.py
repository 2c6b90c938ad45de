"""Replaying one training step as a CUDA graph (``--cuda-graph``).

On a GPU, an epoch of this tiny model is a few dozen small kernels, and
launching them one by one from Python takes far longer than running them: the
loop is launch-bound (about 0.5 ms per epoch on an H100, slower than the CPU).
A CUDA graph records the kernels of one training step once; replaying it
launches all of them with one call.  PyTorch's recipe ("whole network capture"):

1. Static tensors: the data, the parameters, their gradients, the optimizer's
   state and the record of the run keep the same memory for the whole run (a
   replay reads and writes exactly the memory the capture saw; Python code does
   not run again).
2. Warm up a few steps on a side stream first (lazy initialisation, the
   autograd engine's, the optimizer's and the allocator's first-use work stay
   out of the graph).
3. Capture one step (forward, loss, ``backward()``, ``optimizer.step()``, and
   the tracker's record of the epoch) inside ``torch.cuda.graph(graph)``.
4. Put back the values the run starts from (the warm-up trained for real): the
   parameters, and the optimizer's state, which its first step made (a
   momentum buffer, Adam's moments) and which starts at zero.
5. Replay: ``graph.replay()`` once per epoch.

Everything happens on the run's own device (``cuda:1`` too), and the capture
is thread-local: the widget captures on its worker thread while the kernel's
thread may use CUDA.

The step is the stage's own loop body: its ``model_training`` runs with
``n_epochs=1`` and a recorder in place of the tracker, which writes the epoch's
loss and parameters into the run's table at a row counter kept on the GPU (so
every replay writes the next row), then ends the step.
"""

from __future__ import annotations

import inspect
import sys
import time
from collections.abc import Callable
from typing import Any

import torch

from .errors import usage_error
from .stage import Stage, call_step

__all__ = ["STATE_STARTS_AT_ZERO", "StartingPoint", "StepDone", "StepRecorder", "capture",
           "check_optimizers", "optimizers_in", "source", "train_with_cuda_graph", "training_step",
           "warm_up"]

WARMUP_STEPS = 11  # eager steps before the capture ...
TIMED_STEPS = 8  # ... the last of which give the eager time per step

#: Optimizers whose state is made by their first ``step()`` and starts at zero (momentum
#: buffers, Adam's moments and step count): zeroing it after the warm-up starts them afresh.
STATE_STARTS_AT_ZERO: tuple[type[torch.optim.Optimizer], ...] = (
    torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW, torch.optim.Adamax, torch.optim.RAdam,
    torch.optim.RMSprop, torch.optim.Adadelta)


class StepDone(Exception):
    """Raised by the recorder at the end of the loop's first epoch: one step."""


class StepRecorder:
    """Stands in for the tracker while a step runs: records the epoch on the device."""

    def __init__(self, table: torch.Tensor, params: dict[str, torch.Tensor], row: torch.Tensor,
                 tracker: Any = None) -> None:
        self.table = table  # (epochs + 1, 1 + parameter values): loss, then parameters
        self.params = params  # the static parameter tensors, by name
        self.row = row  # which row the next epoch goes to, a tensor on the GPU
        self.tracker = tracker

    def log(self, loss: torch.Tensor, model: Any = None, **params: torch.Tensor) -> None:
        with torch.no_grad():
            for name, value in params.items():
                static = self.params[name]
                if value is not static:
                    # b = b - lr * b_grad made a new tensor: keep the value in
                    # the static one, which the next replay reads
                    static.copy_(value)
            values = [p.detach().reshape(-1) for p in self.params.values()]
            record = torch.cat([loss.detach().reshape(1).to(self.table.dtype), *values])
            self.table.index_copy_(0, self.row, record.unsqueeze(0))
            self.row += 1
        if self.tracker is not None:
            self.tracker.last_loss = loss
        raise StepDone


def training_step(stage: Stage, ns: dict[str, Any], recorder: StepRecorder) -> None:
    """One epoch of the stage's own training loop, ended by the recorder."""
    try:
        call_step(stage.model_training, {**ns, "n_epochs": 1, "tracker": recorder})
    except StepDone:
        return
    raise RuntimeError(f"the {stage.name} stage's model_training never called tracker.log(), "
                       "so there is no step to capture")


# -- the optimizer's state -------------------------------------------------------
def optimizers_in(ns: dict[str, Any]) -> list[torch.optim.Optimizer]:
    """Every optimizer the stage made, whatever its name in the namespace."""
    found = {id(v): v for v in ns.values() if isinstance(v, torch.optim.Optimizer)}
    return list(found.values())


def check_optimizers(stage: str, optimizers: list[torch.optim.Optimizer]) -> None:
    """One UsageError line for an optimizer whose step a CUDA graph cannot replay as eager."""
    for optimizer in optimizers:
        name, groups = type(optimizer).__name__, optimizer.param_groups
        if any(group.get("capturable") is False for group in groups):
            raise usage_error(
                f"--cuda-graph: the {stage} stage's {name} optimizer was made without "
                "capturable=True, so its step() cannot be captured in a CUDA graph",
                "valid under --cuda-graph are SGD and optimizers made with capturable=True",
                f"Make it with optim.{name}(..., capturable=True), or drop --cuda-graph")
        if isinstance(optimizer, torch.optim.SGD) and any(g["momentum"] and g["dampening"]
                                                          for g in groups):
            raise usage_error(
                f"--cuda-graph: the {stage} stage's SGD has momentum with dampening, whose first "
                "step differs from the others, and a replayed graph repeats one step",
                "valid under --cuda-graph is SGD with dampening=0 (the default)",
                "Drop dampening=..., or drop --cuda-graph")
        # warm-up steps run uncaptured on purpose: no "capturable=True impairs performance" warning
        vars(optimizer)["_warned_capturable_if_run_uncaptured"] = True


class StartingPoint:
    """The values a run starts from: the parameters and every optimizer's state, saved
    before the warm-up (which trains for real) and put back before the first replay."""

    def __init__(self, params: dict[str, torch.Tensor], optimizers: list[torch.optim.Optimizer]) -> None:
        with torch.no_grad():
            self.params = [(p, p.detach().clone()) for p in params.values()]
            self.state = [(t, t.clone()) for optimizer in optimizers
                          for state in optimizer.state.values() for t in state.values()
                          if torch.is_tensor(t)]
        self.optimizers = optimizers
        self._saved = {id(t) for t, _ in self.state}

    def restore(self, stage: str) -> None:
        """Put the saved values back; the state made since starts afresh (at zero)."""
        with torch.no_grad():
            for tensor, value in (*self.params, *self.state):
                tensor.copy_(value)
            for optimizer in self.optimizers:
                for made in self._made_since(optimizer, stage):
                    made.zero_()

    def _made_since(self, optimizer: torch.optim.Optimizer, stage: str) -> list[torch.Tensor]:
        values = [v for state in optimizer.state.values() for v in state.values()
                  if not (torch.is_tensor(v) and id(v) in self._saved)]
        if not values:
            return []
        if type(optimizer) not in STATE_STARTS_AT_ZERO or not all(torch.is_tensor(v) for v in values):
            name = type(optimizer).__name__
            raise usage_error(
                f"--cuda-graph: the {stage} stage's {name} optimizer keeps state that cannot be "
                "started afresh after the warm-up, so replays would differ from eager training",
                "valid under --cuda-graph are " + ", ".join(t.__name__ for t in STATE_STARTS_AT_ZERO),
                "Use one of them, or drop --cuda-graph")
        return [v for v in values if torch.is_tensor(v)]


# -- warm up, capture, replay ----------------------------------------------------
def warm_up(step: Callable[[], None], steps: int, timed: int, device: torch.device) -> float:
    """Run ``steps`` eager steps on a side stream; seconds per step of the last ``timed``."""
    side = torch.cuda.Stream(device)  # type: ignore[no-untyped-call]
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(steps - timed):
            step()
        torch.cuda.synchronize(device)
        start = time.perf_counter()
        for _ in range(timed):
            step()
        torch.cuda.synchronize(device)
        seconds = (time.perf_counter() - start) / timed
    torch.cuda.current_stream(device).wait_stream(side)
    return seconds


def capture(step: Callable[[], None], device: torch.device) -> torch.cuda.CUDAGraph:
    """Record one step's kernels into a CUDA graph (nothing runs yet)."""
    graph = torch.cuda.CUDAGraph()
    stream = torch.cuda.Stream(device)  # type: ignore[no-untyped-call]
    # thread_local: CUDA work from another thread (the kernel's, while the widget
    # captures on its worker thread) does not break this capture
    with torch.cuda.graph(graph, stream=stream, capture_error_mode="thread_local"):
        step()
    return graph


def replay(graph: torch.cuda.CUDAGraph, tracker: Any, n_epochs: int, device: torch.device) -> float:
    """Replay the step once per epoch; the seconds it took."""
    start = time.perf_counter()
    for _epoch in range(n_epochs):
        graph.replay()
        tracker.advance()
    torch.cuda.synchronize(device)
    return time.perf_counter() - start


def _scratch_step(stage: Stage, ns: dict[str, Any], tracker: Any,
                  params: dict[str, torch.Tensor]) -> Callable[[], None]:
    """A warm-up step: a real step, recorded into a scratch table."""
    table = tracker.table
    scratch = torch.zeros((2, table.shape[1]), dtype=table.dtype, device=table.device)
    scratch_row = torch.zeros(1, dtype=torch.long, device=table.device)

    def step() -> None:
        scratch_row.zero_()
        training_step(stage, ns, StepRecorder(scratch, params, scratch_row))

    return step


def train_with_cuda_graph(stage: Stage, ns: dict[str, Any], tracker: Any,
                          params: dict[str, torch.Tensor], n_epochs: int) -> tuple[float, float, float]:
    """Warm up, capture one step, put the starting values back, replay it per epoch.

    Returns (seconds replaying, eager seconds per step, seconds warming up and capturing).
    """
    device = tracker.table.device
    optimizers = optimizers_in(ns)
    check_optimizers(stage.name, optimizers)
    with torch.cuda.device(device):
        start = time.perf_counter()
        origin = StartingPoint(params, optimizers)
        eager = warm_up(_scratch_step(stage, ns, tracker, params), WARMUP_STEPS, TIMED_STEPS, device)
        # the capture: the step as it will run, recording into the run's table from row 1
        row = torch.ones(1, dtype=torch.long, device=device)
        recorder = StepRecorder(tracker.table, params, row, tracker)
        graph = capture(lambda: training_step(stage, ns, recorder), device)
        origin.restore(stage.name)
        row.fill_(1)
        torch.cuda.synchronize(device)
        prepared = time.perf_counter() - start
        return replay(graph, tracker, n_epochs, device), eager, prepared


# -- for the code view ---------------------------------------------------------
def source() -> str:
    """This file's code, as the code view shows it (the code that runs)."""
    return inspect.getsource(sys.modules[__name__])
