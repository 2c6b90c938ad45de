"""``bench``'s views: time per epoch against N (log-log), and the table."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from ..text import text_table

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..bench.result import BenchResult

__all__ = ["bench_html", "bench_rows", "bench_text", "plot_bench"]

HEAD = ("N", "device", "epochs timed", "time per epoch", "vs cpu")


def plot_bench(result: BenchResult, ax: Axes | None = None) -> Axes:
    """Time per epoch against N, log-log, one line per series, the crossover marked."""
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
    if result.rows:
        ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.25, which="major")
    return ax


def duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def bench_rows(result: BenchResult) -> list[tuple[str, ...]]:
    """The table's rows under :data:`HEAD`, by size then series."""
    cpu = {r.n: r.seconds_per_epoch for r in result.rows if r.device == "cpu"}
    rows: list[tuple[str, ...]] = []
    for r in sorted(result.rows, key=lambda r: (r.n, r.device)):
        speed = cpu[r.n] / r.seconds_per_epoch if r.device != "cpu" and r.n in cpu else None
        against = ("" if speed is None else f"{speed:.2f}x faster" if speed >= 1
                   else f"{1 / speed:.2f}x slower")
        rows.append((f"{r.n:,}", r.device, str(r.epochs), duration(r.seconds_per_epoch), against))
    return rows


def bench_text(result: BenchResult) -> str:
    """The table as aligned text, then the crossover, the skipped devices and how it stopped."""
    lines = [text_table([HEAD, *bench_rows(result)])]
    cross = result.crossover()
    if cross is not None:
        lines.append(f"the GPU is faster from N ~ {cross:,.0f}")
    elif len(result.devices()) > 1:
        lines.append("no crossover in the sizes timed")
    lines.extend(result.skipped)
    if result.stopped is not None:
        lines.append(result.stopped.text)
    return "\n".join(lines)


def bench_html(result: BenchResult) -> str:
    return f"<pre>{html.escape(bench_text(result))}</pre>"
