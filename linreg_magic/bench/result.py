"""What ``bench`` measured: time per epoch of one stage, by size and series."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..result import Stop

__all__ = ["BenchResult", "BenchRow", "crossover"]


@dataclass(frozen=True)
class BenchRow:
    """One size on one series (a device, or ``"cuda:0 graph"`` for its replayed CUDA graph)."""

    n: int
    device: str
    epochs: int  # epochs timed per sample
    seconds_per_epoch: float  # median over the samples
    runs: tuple[float, ...]  # seconds per epoch of each sample


@dataclass(frozen=True)
class BenchResult:
    """Time per epoch of one stage, by size and series; ``skipped`` says which devices
    asked for could not be timed, ``stopped`` how a Ctrl-C ended it early."""

    stage: str
    rows: tuple[BenchRow, ...]
    skipped: tuple[str, ...] = ()
    device_names: Mapping[str, str] = field(default_factory=dict)
    stopped: Stop | None = None

    def devices(self) -> list[str]:
        return list(dict.fromkeys(row.device for row in self.rows))

    def series(self, device: str) -> tuple[list[int], list[float]]:
        rows = sorted((r for r in self.rows if r.device == device), key=lambda r: r.n)
        return [r.n for r in rows], [r.seconds_per_epoch for r in rows]

    def crossover(self) -> float | None:
        """The N from which the first GPU beats the CPU (see :func:`crossover`)."""
        devices = self.devices()
        gpu = next((d for d in devices if d != "cpu"), None)
        if "cpu" not in devices or gpu is None:
            return None
        return crossover(self.series("cpu"), self.series(gpu))

    def __repr__(self) -> str:
        stopped = f", stopped={self.stopped.text!r}" if self.stopped else ""
        return (f"BenchResult(stage={self.stage!r}, devices={self.devices()}, "
                f"timings={len(self.rows)}{stopped})")


def crossover(cpu: tuple[Sequence[int], Sequence[float]],
              gpu: tuple[Sequence[int], Sequence[float]]) -> float | None:
    """The smallest N at which the GPU's time per epoch drops below the CPU's,
    interpolated in log-log between the sizes measured on both; None if never
    (or if the GPU is already faster at the smallest size)."""
    times_cpu = dict(zip(*cpu))
    times_gpu = dict(zip(*gpu))
    sizes = sorted(set(times_cpu) & set(times_gpu))
    ratio = [math.log(times_gpu[n] / times_cpu[n]) for n in sizes]  # > 0: the CPU is faster
    for i in range(1, len(sizes)):
        if ratio[i - 1] > 0 >= ratio[i]:
            lo, hi = math.log(sizes[i - 1]), math.log(sizes[i])
            t = ratio[i - 1] / (ratio[i - 1] - ratio[i])
            return math.exp(lo + t * (hi - lo))
    return None
