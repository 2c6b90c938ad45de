"""Replaying one training step as a CUDA graph (``--cuda-graph``).

On a GPU, an epoch of this tiny model is a few dozen small kernels, and
launching them one by one from Python takes far longer than running them: the
loop is launch-bound (about 0.5 ms per epoch on an H100, slower than the CPU).
A CUDA graph records the kernels of one training step once; replaying it
launches all of them with one call.  PyTorch's recipe ("whole network capture"):

1. Static tensors: the data, the parameters, their gradients and the record of
   the run keep the same memory for the whole run (a replay reads and writes
   exactly the memory the capture saw; Python code does not run again).
2. Warm up a few steps on a side stream first (lazy initialisation, the
   autograd engine's and the allocator's first-use work stay out of the graph).
3. Capture one step (forward, loss, ``backward()``, ``optimizer.step()``, and
   the tracker's record of the epoch) inside ``torch.cuda.graph(graph)``.
4. Replay: ``graph.replay()`` once per epoch.

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

from .stage import call_step

__all__ = ["StepDone", "StepRecorder", "capture", "source", "train_with_cuda_graph",
           "training_step", "warm_up"]


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


def training_step(stage: Any, ns: dict[str, Any], recorder: StepRecorder) -> None:
    """One epoch of the stage's own training loop, ended by the recorder."""
    try:
        call_step(stage.model_training, {**ns, "n_epochs": 1, "tracker": recorder})
    except StepDone:
        return
    raise RuntimeError(f"the {stage.name} stage's model_training never called tracker.log(), "
                       "so there is no step to capture")


def warm_up(step: Callable[[], None], steps: int, timed: int) -> float:
    """Run ``steps`` eager steps on a side stream; seconds per step of the last ``timed``."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(steps - timed):
            step()
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(timed):
            step()
        torch.cuda.synchronize()
        seconds = (time.perf_counter() - start) / timed
    torch.cuda.current_stream().wait_stream(side)
    return seconds


def capture(step: Callable[[], None]) -> torch.cuda.CUDAGraph:
    """Record one step's kernels into a CUDA graph (nothing runs yet).

    Thread-local capture: a CUDA call from another thread meanwhile (the kernel's
    while the widget trains on its own thread) neither fails nor joins the capture."""
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, capture_error_mode="thread_local"):
        step()
    return graph


def train_with_cuda_graph(stage: Any, ns: dict[str, Any], tracker: Any, params: dict[str, torch.Tensor],
                          n_epochs: int, warmup_steps: int = 11,
                          timed_steps: int = 8) -> tuple[float, float, float]:
    """Warm up, capture one step, put the starting values back, replay it per epoch.

    Returns (seconds replaying, eager seconds per step, seconds warming up and capturing).
    """
    start = time.perf_counter()
    optimizer = ns.get("optimizer")
    saved = [p.detach().clone() for p in params.values()]
    saved_state = [(t, t.clone()) for state in (optimizer.state.values() if optimizer else ())
                   for t in state.values() if torch.is_tensor(t)]

    # warm-up: real steps, recorded into a scratch table
    scratch = torch.zeros((2, tracker.table.shape[1]), dtype=tracker.table.dtype,
                          device=tracker.table.device)
    scratch_row = torch.zeros(1, dtype=torch.long, device=scratch.device)

    def warm_step() -> None:
        scratch_row.zero_()
        training_step(stage, ns, StepRecorder(scratch, params, scratch_row))

    eager = warm_up(warm_step, warmup_steps, timed_steps)

    # capture: the step as it will run, recording into the run's table from row 1
    row = torch.ones(1, dtype=torch.long, device=tracker.table.device)
    recorder = StepRecorder(tracker.table, params, row, tracker)
    graph = capture(lambda: training_step(stage, ns, recorder))

    # the warm-up trained for real: start again from the initial values
    with torch.no_grad():
        for p, value in zip(params.values(), saved):
            p.copy_(value)
        for t, value in saved_state:
            t.copy_(value)
    row.fill_(1)
    torch.cuda.synchronize()
    prepared = time.perf_counter() - start

    start = time.perf_counter()
    for _epoch in range(n_epochs):
        graph.replay()
        tracker.advance()
    torch.cuda.synchronize()
    return time.perf_counter() - start, eager, prepared


# -- for the code view ---------------------------------------------------------
def source() -> str:
    """This file's code, as the code view shows it (the code that runs)."""
    return inspect.getsource(sys.modules[__name__])
