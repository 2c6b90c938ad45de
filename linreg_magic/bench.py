"""``%linreg bench``: time one stage across data sizes and devices.

    %linreg bench --sizes 1e2,1e4,1e6,1e7 --devices cpu,cuda --stage module

For each size N the book's data is made once; on each device the stage's own
code prepares it, warms up (first kernels, allocator, caches), then trains a few
epochs with the real tracker, between two device synchronisations, a few times.
The table and the log-log figure show the time per epoch against N, with the
size from which the GPU is faster marked when both CPU and GPU were timed: the
device lesson (a GPU pays off only once there is enough work per launch).
The data are the book's synthetic line (``--data`` other than synthetic has one
fixed size), and the stage takes the same checks of its options as a run.

Large N are timed over few epochs so a run stays bounded; ``--epochs`` sets
the number of epochs timed for every size instead.  With ``--cuda-graph``, each
CUDA device gets a second series: the step captured once and replayed.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .options import Options, option_specs, usage_error

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["BenchResult", "BenchRow", "bench", "bench_command", "crossover", "plot_bench", "show_bench"]

DEFAULT_SIZES = (100, 10_000, 1_000_000, 10_000_000)
#: Epochs timed per size: about this many data points processed in all (N * epochs) ...
WORK_PER_SIZE = 20_000_000
#: ... within these bounds.
MIN_EPOCHS, MAX_EPOCHS = 3, 200
WARMUP_EPOCHS = 3
REPEATS = 3


@dataclass(frozen=True)
class BenchRow:
    n: int
    device: str
    epochs: int
    seconds_per_epoch: float  # median over the repeats
    runs: tuple[float, ...]  # seconds per epoch of each repeat


@dataclass
class BenchResult:
    """Time per epoch of one stage, by size and device."""

    stage: str
    rows: list[BenchRow]
    skipped: list[str] = field(default_factory=list)
    device_names: dict[str, str] = field(default_factory=dict)

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

    def text(self) -> str:
        head = ("N", "device", "epochs timed", "time per epoch", "vs cpu")
        cpu = {r.n: r.seconds_per_epoch for r in self.rows if r.device == "cpu"}
        body = []
        for r in sorted(self.rows, key=lambda r: (r.n, r.device)):
            rel = (f"{cpu[r.n] / r.seconds_per_epoch:.2f}x faster" if r.device != "cpu" and r.n in cpu
                   else "")
            body.append((f"{r.n:,}", r.device, str(r.epochs), _duration(r.seconds_per_epoch), rel))
        widths = [max(len(row[i]) for row in (head, *body)) for i in range(len(head))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in (head, *body)]
        cross = self.crossover()
        if cross is not None:
            lines.append(f"the GPU is faster from N ~ {cross:,.0f}")
        elif len(self.devices()) > 1:
            lines.append("no crossover in the sizes timed")
        lines.extend(self.skipped)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"BenchResult(stage={self.stage!r}, devices={self.devices()}, sizes={len(self.rows)})"


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


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


def epochs_for(n: int, asked: int | None) -> int:
    """Epochs to time at size ``n``: the asked number, or a bounded amount of work."""
    if asked is not None:
        return asked
    return max(MIN_EPOCHS, min(MAX_EPOCHS, WORK_PER_SIZE // max(n, 1)))


def time_stage(options: Options, device: str, data: Any, epochs: int,
               repeats: int = REPEATS, cuda_graph: bool = False) -> list[float]:
    """Seconds per epoch of the stage's training loop, ``repeats`` times, after a warm-up
    (``cuda_graph``: replaying the step captured as a CUDA graph, a fresh capture each time)."""
    from .engine import prepare_namespace, stage_parameters, synchronize
    from .plan import Plan
    from .registry import get_stage
    from .session import preserved_random_state
    from .stage import call_step
    from .tracker import Tracker

    stage = get_stage(options.stage)
    with preserved_random_state(stage.uses_torch, device), contextlib.redirect_stdout(io.StringIO()):
        ns = prepare_namespace(Plan(stage, options.replace(epochs=epochs), device, data))

        def train(n_epochs: int) -> float:
            tracker = Tracker(n_epochs)
            params = stage_parameters(stage, ns)
            tracker.start(params)
            if cuda_graph:
                from .cuda_graph import train_with_cuda_graph

                return train_with_cuda_graph(stage, ns, tracker, params, n_epochs)[0]
            synchronize(device)
            start = time.perf_counter()
            call_step(stage.model_training, {**ns, "n_epochs": n_epochs, "tracker": tracker})
            synchronize(device)
            return time.perf_counter() - start

        train(min(WARMUP_EPOCHS, epochs))
        return [train(epochs) / epochs for _ in range(repeats)]


def _sizes(raw: Any) -> list[int]:
    spec = next(s for s in option_specs() if s.name == "n")
    if raw is None:
        return list(DEFAULT_SIZES)
    words = [w for w in str(raw).replace(" ", ",").split(",") if w] if isinstance(raw, str) else list(raw)
    if not words:
        raise usage_error("--sizes needs at least one size", spec.valid_text(), "Try --sizes 1e2,1e4,1e6")
    return sorted({int(spec.parse(w)) for w in words})


def _devices(raw: Any, uses_torch: bool, stage: str) -> tuple[list[str], list[str]]:
    """The devices that exist among those asked, and a note for each that does not."""
    from IPython.core.error import UsageError

    from .device import available_devices, resolve_device

    asked = ["cpu", "cuda"] if raw is None else list(raw)  # --devices, read by the command table
    found: list[str] = []
    notes: list[str] = []
    for word in asked:
        name = Options(device=word).device  # checks the spelling (one UsageError line)
        try:
            device = resolve_device(name, uses_torch, stage)
        except UsageError as exc:
            notes.append(f"skipped {name}: {str(exc).split('. ')[0].removeprefix(f'--device {name}: ')}")
            continue
        if device not in found:
            found.append(device)
    if not found:
        raise usage_error(f"None of the devices asked ({', '.join(asked)}) can run the {stage} stage here",
                          "available devices here are " + ", ".join(available_devices(uses_torch)),
                          "Try --devices cpu")
    return found, notes


def bench(values: dict[str, Any]) -> BenchResult:
    """Time the stage in ``values`` for each size and device asked (raw option values)."""
    from .data import make_data
    from .device import describe
    from .plan import check_stage_data, check_stage_options
    from .registry import get_stage

    data_spec = next(s for s in option_specs() if s.name == "data")
    source = None if values.get("data") is None else data_spec.parse(values["data"])  # spelling first
    if source is not None and source != "synthetic":
        raise usage_error(f"bench times the synthetic data made at each size --sizes; --data {source} "
                          "is one fixed data set", "the valid --data for bench is synthetic",
                          "Drop --data (time a run on your data with %linreg --data ... instead)")
    sizes = _sizes(values.get("sizes"))  # --sizes, read by the command table
    base = {k: v for k, v in values.items() if v is not None and k not in ("sizes", "devices", "epochs")}
    options = Options.from_mapping(base)
    asked_epochs = None if values.get("epochs") is None else Options(epochs=values["epochs"]).epochs
    stage = get_stage(options.stage)
    check_stage_options(stage, options)
    devices, notes = _devices(values.get("devices"), stage.uses_torch, stage.name)
    result = BenchResult(stage.name, [], notes, {d: describe(d) for d in devices})
    graphed = [d for d in devices if d.startswith("cuda")] if options.cuda_graph else []
    if options.cuda_graph and not graphed:
        why = f"the {stage.name} stage is numpy" if not stage.uses_torch else "it needs a CUDA GPU"
        result.skipped.append(f"no CUDA graph series: {why}")
    for device in graphed:
        result.device_names[f"{device} graph"] = f"{describe(device)}, CUDA graph"
    for n in sizes:
        sized = options.replace(n=n, cuda_graph=False)
        data = make_data(sized)
        check_stage_data(stage, data)
        epochs = epochs_for(n, asked_epochs)
        series = [(d, d, False) for d in devices] + [(f"{d} graph", d, True) for d in graphed]
        for label, device, graph in series:
            runs = time_stage(sized.replace(device=device), device, data, epochs, cuda_graph=graph)
            result.rows.append(BenchRow(n, label, epochs, sorted(runs)[len(runs) // 2], tuple(runs)))
        del data
    return result


def plot_bench(result: BenchResult, ax: Axes | None = None) -> Axes:
    """Time per epoch against N, log-log, one line per device, crossover marked."""
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(6, 4), layout="constrained").add_subplot()
    for device in result.devices():
        sizes, seconds = result.series(device)
        ax.loglog(sizes, [s * 1e6 for s in seconds], "o-", label=result.device_names.get(device, device))
    cross = result.crossover()
    if cross is not None:
        ax.axvline(cross, color="#555555", ls="--", lw=1)
        ax.annotate(f"GPU faster from N ~ {cross:,.0f}", (cross, 0.95), xycoords=("data", "axes fraction"),
                    ha="right", va="top", fontsize=8, rotation=90)
    ax.set_xlabel("N (data points)")
    ax.set_ylabel("time per epoch (us)")
    ax.set_title(f"{result.stage}: time per epoch against N", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.25, which="major")
    return ax


def bench_command(rest: list[str], values: dict[str, Any]) -> BenchResult:
    """``%linreg bench [--sizes ...] [--devices ...] [--stage ...] [--epochs ...] [--cuda-graph]``."""
    if rest:
        raise usage_error(f"bench takes options only, got {' '.join(rest)!r}",
                          "its options are --sizes N[,N...], --devices D[,D...], --stage, --epochs, "
                          "--cuda-graph",
                          "Try %linreg bench --sizes 1e2,1e4,1e6 --devices cpu,cuda")
    result = bench(values)
    show_bench(result)
    return result


def show_bench(result: BenchResult) -> None:
    """The figure (PNG) and the table, with text fallbacks."""
    import base64
    import html

    from IPython.display import display

    from .views.figures import figure_png

    png = figure_png(plot_bench(result).figure)
    display({"image/png": base64.b64encode(png).decode("ascii"),
             "text/plain": f"[figure: {result.stage}, time per epoch against N; shown as an image "
                           "in a notebook]"}, raw=True)
    text = result.text()
    display({"text/html": f"<pre>{html.escape(text)}</pre>", "text/plain": text}, raw=True)
