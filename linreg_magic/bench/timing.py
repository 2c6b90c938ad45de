"""Timing one stage on one device: seconds per epoch of its own training loop.

A sample is timed from the first epoch the tracker records to the last, each
mark after a device synchronisation, so that what the stage does before its loop
(moving the data) and after it (``print(model.state_dict())``, which formats
CUDA tensors) stays out.  A warm-up sample first pays for the first kernels, the
allocator and the caches, and says how long an epoch takes, which sizes the
samples: each lasts about :data:`SAMPLE_SECONDS`.
"""

from __future__ import annotations

import math
import time
from typing import Any

from ..cuda_graph import train_with_cuda_graph
from ..device import DeviceGuard
from ..engine import prepare_namespace, stage_parameters, synchronize
from ..plan import Plan
from ..printed import capture_prints
from ..session import preserved_random_state
from ..stage import call_step
from ..tracker import Tracker

__all__ = ["REPEATS", "EpochClock", "epochs_for", "time_stage"]

#: Each timed sample lasts about this long, whatever the size ...
SAMPLE_SECONDS = 0.1
#: ... within these bounds on the epochs it times.
MIN_EPOCHS, MAX_EPOCHS = 3, 20_000
#: The record of one sample (loss and parameters per epoch) stays under this many numbers.
RECORD_VALUES = 4_000_000
WARMUP_EPOCHS = 3
REPEATS = 3


def epochs_for(seconds_per_epoch: float, asked: int | None = None, values_per_epoch: int = 1) -> int:
    """Epochs to time per sample: the asked number, or about :data:`SAMPLE_SECONDS` of them."""
    if asked is not None:
        return asked
    by_time = int(SAMPLE_SECONDS / max(seconds_per_epoch, 1e-9))
    by_memory = RECORD_VALUES // max(values_per_epoch, 1)
    return max(MIN_EPOCHS, min(MAX_EPOCHS, by_time, by_memory))


class EpochClock:
    """Stands in for the tracker while a sample is timed: every epoch is recorded by the
    real tracker, and the clock is read (after a device synchronisation) when the first
    and when the last epoch is logged."""

    def __init__(self, tracker: Tracker, device: str) -> None:
        self.tracker = tracker
        self.device = device
        self.first: float | None = None
        self.last: float | None = None

    def log(self, *args: Any, **kwargs: Any) -> None:
        self.tracker.log(*args, **kwargs)
        epoch = self.tracker.epoch
        if epoch in (1, self.tracker.n_epochs):
            synchronize(self.device)
            now = time.perf_counter()
            self.first = now if epoch == 1 else self.first
            self.last = now

    def __getattr__(self, name: str) -> Any:  # the rest of the tracker, as the stage may use it
        if name == "tracker":
            raise AttributeError(name)
        return getattr(self.tracker, name)

    def seconds_per_epoch(self) -> float:
        """Seconds from the first epoch's end to the last's, per epoch in between."""
        epochs = self.tracker.n_epochs
        if self.first is None or self.last is None or self.tracker.epoch != epochs or epochs < 2:
            raise RuntimeError(f"the stage logged {self.tracker.epoch} of {epochs} epochs: "
                               "there is no span from the first to the last to time")
        return (self.last - self.first) / (epochs - 1)


def _sample(plan: Plan, ns: dict[str, Any], graph: bool, n_epochs: int) -> float:
    """Seconds per epoch of one sample of ``n_epochs`` (replays of the captured step with ``graph``)."""
    stage = plan.stage
    tracker = Tracker(n_epochs)
    params = stage_parameters(stage, ns)
    tracker.start(params)
    if graph:
        return train_with_cuda_graph(stage, ns, tracker, params, n_epochs)[0] / n_epochs
    clock = EpochClock(tracker, plan.device)
    call_step(stage.model_training, {**ns, "n_epochs": n_epochs, "tracker": clock})
    return clock.seconds_per_epoch()


def time_stage(plan: Plan, *, graph: bool = False, epochs: int | None = None,
               repeats: int = REPEATS) -> tuple[int, list[float]]:
    """The epochs timed per sample, and the seconds per epoch of each of ``repeats`` samples
    after a warm-up (``graph``: replaying the step captured as a CUDA graph, a fresh capture
    each time).  What the stage prints is swallowed; the random states are restored."""
    stage = plan.stage
    with (DeviceGuard(plan.device), preserved_random_state(stage.uses_torch, plan.device),
          capture_prints()):
        ns = prepare_namespace(plan)
        width = 1 + sum(math.prod(tuple(p.shape)) for p in stage_parameters(stage, ns).values())
        estimate = _sample(plan, ns, graph, max(WARMUP_EPOCHS, 2))
        n_epochs = epochs_for(estimate, epochs, width)
        return n_epochs, [_sample(plan, ns, graph, n_epochs) for _ in range(repeats)]
