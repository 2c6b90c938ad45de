"""The ``%linreg bench`` command: its arguments, every size on every device, the views.

Every check happens in :meth:`BenchSetup.read`, before anything is timed.  One
Ctrl-C stops the whole command; the timings that finished are kept, shown and
returned (so ``_`` and ``--store`` have them).
"""

from __future__ import annotations

import base64
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from IPython.display import display

from ..data import make_data
from ..device import Refusal, available_devices, check_device, describe
from ..errors import usage_error
from ..options import Options
from ..plan import Plan, check_stage_data, check_stage_options
from ..registry import get_stage
from ..result import Stop, StopKind
from ..stage import Stage
from ..views.bench import bench_html, bench_text, plot_bench
from ..views.figures import figure_png
from .result import BenchResult, BenchRow
from .timing import REPEATS, time_stage

__all__ = ["LIST_ARGUMENTS", "BenchSetup", "bench", "bench_command", "show_bench"]

#: bench's own arguments, lists in place of a run's one --n and one --device: the values
#: under these names (a comma list as typed, or a list already read), and the run's
#: option each stands in for where the line was parsed with the run's options alone.
LIST_ARGUMENTS = {"sizes": "n", "devices": "device"}
DEFAULT_SIZES = (100, 10_000, 1_000_000, 10_000_000)
DEFAULT_DEVICES = ("cpu", "cuda")
_RUN_ONLY = ("n", "device", "sizes", "devices", "epochs")  # read by bench, not passed on to the runs


def _given(values: Mapping[str, Any], name: str) -> tuple[Any, str]:
    """The raw value of bench's list ``name`` (``sizes``, ``devices``), and its flag as typed."""
    if values.get(name) is not None:
        return values[name], f"--{name}"
    run_option = LIST_ARGUMENTS[name]
    return values.get(run_option), f"--{run_option}"


def _words(raw: Any) -> list[str]:
    if isinstance(raw, str):
        return [w for w in raw.replace(" ", ",").split(",") if w]
    return [str(w) for w in raw]


def _sizes(raw: Any, flag: str) -> tuple[int, ...]:
    if raw is None:
        return DEFAULT_SIZES
    words = _words(raw)
    if not words:
        raise usage_error(f"bench {flag} needs at least one size", "valid sizes are whole numbers from 2, "
                          "separated by commas", f"Try {flag} 1e2,1e4,1e6")
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
                                        if v is not None and k not in _RUN_ONLY})
        sizes_given, sizes_flag = _given(values, "sizes")
        _check_data(options.data, sizes_flag)
        sizes = _sizes(sizes_given, sizes_flag)
        epochs = None if values.get("epochs") is None else Options(epochs=values["epochs"]).epochs
        if epochs == 1:
            raise usage_error("bench --epochs 1: a sample is timed from its first epoch to its last",
                              "valid values for bench are whole numbers from 2", "Try --epochs 10")
        stage = get_stage(options.stage)
        check_stage_options(stage, options)
        devices, notes = _devices(*_given(values, "devices"), stage)
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


def _check_data(source: str, sizes_flag: str) -> None:
    if source != "synthetic":
        raise usage_error(f"bench times the synthetic data made at each size {sizes_flag}; --data {source} "
                          "is one fixed data set", "the valid --data for bench is synthetic",
                          "Drop --data (time a run on your data with %linreg --data ... instead)")


def _devices(raw: Any, flag: str, stage: Stage) -> tuple[tuple[str, ...], tuple[str, ...]]:
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
                          ", ".join(available_devices(stage.uses_torch)), f"Try {flag} cpu")
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


def bench_command(rest: list[str], values: dict[str, Any]) -> BenchResult:
    """``%linreg bench [--sizes N,...] [--devices D,...] [--stage ...] [--epochs ...] [--cuda-graph]``."""
    if rest:
        flags = [_given(values, name)[1] for name in LIST_ARGUMENTS]
        raise usage_error(f"bench takes options only, got {' '.join(rest)!r}",
                          f"its options are {flags[0]} N[,N...], {flags[1]} D[,D...], --stage, --epochs, "
                          "--cuda-graph", f"Try %linreg bench {flags[0]} 1e2,1e4,1e6 {flags[1]} cpu,cuda")
    result = bench(values)
    show_bench(result)
    return result


def _figure(result: BenchResult) -> dict[str, str]:
    png = figure_png(plot_bench(result).figure)
    return {"image/png": base64.b64encode(png).decode("ascii"),
            "text/plain": f"[figure: {result.stage}, time per epoch against N; shown as an image "
                          "in a notebook]"}


def _table(result: BenchResult) -> dict[str, str]:
    return {"text/html": bench_html(result), "text/plain": bench_text(result)}


def show_bench(result: BenchResult) -> None:
    """The figure (PNG) and the table, with text fallbacks; a view that fails, or that a
    Ctrl-C stops, says so in one line and the other still shows."""
    views: list[tuple[str, Callable[[BenchResult], dict[str, str]]]] = [("table", _table)]
    if result.rows:
        views.insert(0, ("figure", _figure))
    for name, view in views:
        try:
            bundle = view(result)
        except Exception as exc:  # one broken view must not hide the other, nor the result
            bundle = {"text/plain": f"The {name} could not be drawn ({type(exc).__name__}: {exc})."}
        except KeyboardInterrupt:
            bundle = {"text/plain": f"The {name} was not drawn (interrupted)."}
        _publish(bundle)


def _publish(bundle: dict[str, str]) -> None:
    display(bundle, raw=True)  # type: ignore[no-untyped-call]
