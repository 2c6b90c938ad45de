"""The ``%linreg bench`` command: its arguments, every size on every device, the views.

Every check happens in :meth:`BenchSetup.read`, before anything is timed.  One
Ctrl-C stops the whole command; the timings that finished are kept, shown and
returned (so ``_`` and ``--store`` have them).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..command_table import Made
from ..data import make_data
from ..device import Refusal, available_devices, check_device, describe
from ..display import publish, publish_picture, show_each
from ..errors import usage_error
from ..options import Options
from ..plan import Plan, check_stage_data, check_stage_options
from ..registry import get_stage
from ..result import Stop, StopKind
from ..stage import Stage
from ..views.bench import bench_html, bench_text, plot_bench
from ..views.figures import Bundle, figure_bundle
from .result import BenchResult, BenchRow
from .timing import REPEATS, time_stage

__all__ = ["BenchSetup", "bench", "bench_command", "run_bench", "show_bench"]

DEFAULT_SIZES = (100, 10_000, 1_000_000, 10_000_000)
DEFAULT_DEVICES = ("cpu", "cuda")
#: bench's own lists (the command table's --sizes and --devices) and what bench reads
#: itself: none of them is passed on to the runs.
_BENCH_ONLY = ("sizes", "devices", "epochs")


def _words(raw: Any) -> list[str]:
    if isinstance(raw, str):
        return [w for w in raw.replace(" ", ",").split(",") if w]
    return [str(w) for w in raw]


def _sizes(raw: Any) -> tuple[int, ...]:
    if raw is None:
        return DEFAULT_SIZES
    words = _words(raw)
    if not words:
        raise usage_error("bench --sizes needs at least one size", "valid sizes are whole numbers from 2, "
                          "separated by commas", "Try --sizes 1e2,1e4,1e6")
    return tuple(sorted({Options.from_mapping({"n": w}).n for w in words}))  # each checked as a run's --n


@dataclass(frozen=True)
class BenchSetup:
    """What one ``bench`` times: the stage, the options every run shares, the sizes, the
    devices that exist among those asked (and a note for each that does not), the CUDA
    devices that get a graph series, and the epochs asked per sample (None: sized by time)."""

    stage: Stage
    options: Options
    sizes: tuple[int, ...]
    devices: tuple[str, ...]
    graphed: tuple[str, ...]
    notes: tuple[str, ...]
    epochs: int | None

    @classmethod
    def read(cls, values: Mapping[str, Any]) -> BenchSetup:
        """Check the raw option values (as the magic parsed them): one UsageError line each."""
        options = Options.from_mapping({k: v for k, v in values.items()
                                        if v is not None and k not in _BENCH_ONLY})
        _check_data(options.data)
        sizes = _sizes(values.get("sizes"))
        epochs = None if values.get("epochs") is None else Options(epochs=values["epochs"]).epochs
        if epochs == 1:
            raise usage_error("bench --epochs 1: a sample is timed from its first epoch to its last",
                              "valid values for bench are whole numbers from 2", "Try --epochs 10")
        stage = get_stage(options.stage)
        check_stage_options(stage, options)
        devices, notes = _devices(values.get("devices"), stage)
        graphed = tuple(d for d in devices if d.startswith("cuda")) if options.cuda_graph else ()
        if options.cuda_graph and not graphed:
            why = f"the {stage.name} stage is numpy" if not stage.uses_torch else "it needs a CUDA GPU"
            notes = (*notes, f"no CUDA graph series: {why}")
        return cls(stage, options.replace(cuda_graph=False), sizes, devices, graphed, notes, epochs)

    def series(self) -> list[tuple[str, str, bool]]:
        """(label, device, replayed as a CUDA graph) of every series, in table order."""
        return [(d, d, False) for d in self.devices] + [(f"{d} graph", d, True) for d in self.graphed]

    def device_names(self) -> dict[str, str]:
        names = {d: describe(d) for d in self.devices}
        names.update({f"{d} graph": f"{describe(d)}, CUDA graph" for d in self.graphed})
        return names


def _check_data(source: str) -> None:
    if source != "synthetic":
        raise usage_error(f"bench times the synthetic data made at each size --sizes; --data {source} "
                          "is one fixed data set", "the valid --data for bench is synthetic",
                          "Drop --data (time a run on your data with %linreg --data ... instead)")


def _devices(raw: Any, stage: Stage) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The devices that exist among those asked, and a note for each that does not."""
    asked = list(DEFAULT_DEVICES) if raw is None else _words(raw)
    found: list[str] = []
    notes: list[str] = []
    for word in asked:
        name = Options(device=word).device  # checks the spelling (one UsageError line)
        device = check_device(name, stage.uses_torch, stage.name)
        if isinstance(device, Refusal):
            notes.append(f"skipped {name}: {device.reason}")
        elif device not in found:
            found.append(device)
    if not found:
        raise usage_error(f"None of the devices asked ({', '.join(asked)}) can run the {stage.name} "
                          "stage here", "available devices here are " +
                          ", ".join(available_devices(stage.uses_torch)), "Try --devices cpu")
    return tuple(found), tuple(notes)


def _time_size(setup: BenchSetup, n: int, repeats: int, rows: list[BenchRow]) -> None:
    """Every series at size ``n``, each row added to ``rows`` as soon as it is timed."""
    sized = setup.options.replace(n=n)
    data = make_data(sized)
    check_stage_data(setup.stage, data)
    for label, device, graph in setup.series():
        plan = Plan(setup.stage, sized.replace(device=device, cuda_graph=graph), device, data)
        epochs, runs = time_stage(plan, graph=graph, epochs=setup.epochs, repeats=repeats)
        rows.append(BenchRow(n, label, epochs, statistics.median(runs), tuple(runs)))


def run_bench(setup: BenchSetup, repeats: int = REPEATS) -> BenchResult:
    """Time every size on every series; a Ctrl-C keeps the timings that finished."""
    rows: list[BenchRow] = []
    stopped = None
    try:
        for n in setup.sizes:
            _time_size(setup, n, repeats, rows)
    except KeyboardInterrupt:
        total = len(setup.sizes) * len(setup.series())
        stopped = Stop(StopKind.INTERRUPTED, 0, f"stopped after {len(rows)} of {total} timings "
                                                "(interrupted); the table shows those that finished")
    return BenchResult(setup.stage.name, tuple(rows), setup.notes, setup.device_names(), stopped)


def bench(values: Mapping[str, Any], *, repeats: int = REPEATS) -> BenchResult:
    """Time the stage in ``values`` for each size and device asked (raw option values)."""
    return run_bench(BenchSetup.read(values), repeats)


def bench_command(rest: list[str], values: dict[str, Any]) -> Made:
    """``%linreg bench [--sizes N,...] [--devices D,...] [--stage ...] [--epochs ...] [--cuda-graph]``:
    the timings, kept (``_``, ``--store``) before the figure and the table are drawn."""
    if rest:
        raise usage_error(f"bench takes options only, got {' '.join(rest)!r}",
                          "its options are --sizes N[,N...], --devices D[,D...], --stage, --epochs, "
                          "--cuda-graph", "Try %linreg bench --sizes 1e2,1e4,1e6 --devices cpu,cuda")
    result = bench(values)
    return Made(result, lambda: show_bench(result))


def _figure(result: BenchResult) -> Bundle:
    return figure_bundle(plot_bench(result).figure, f"{result.stage}, time per epoch against N")


def _table(result: BenchResult) -> dict[str, str]:
    return {"text/html": bench_html(result), "text/plain": bench_text(result)}


def show_bench(result: BenchResult) -> None:
    """The figure (PNG) and the table, with text fallbacks; a view that fails, or that a
    Ctrl-C stops, says so in one line (the timings are kept before anything is drawn)."""
    views: list[tuple[str, Callable[[], None]]] = [("the table", lambda: publish(_table(result)))]
    if result.rows:
        views.insert(0, ("the figure", lambda: publish_picture(_figure(result))))
    show_each(views)



