"""Helpers shared by the benchmark scripts: timing, medians, tables.

Every benchmark times its baseline in the same process, interleaved with the
thing measured, and reports medians and their ratio: absolute numbers on a shared
2-core machine are noisy, ratios measured side by side much less so.
"""

from __future__ import annotations

import contextlib
import io
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def interleaved(timers: dict[str, Callable[[], float]], repeat: int,
                warmup: int = 1) -> dict[str, list[float]]:
    """Call each timer ``repeat`` times, in turn (a, b, a, b, ...); seconds per call.

    Each timer returns the seconds it measured itself (so that set-up stays out).
    """
    for _ in range(warmup):
        for timer in timers.values():
            timer()
    out: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(repeat):
        for name, timer in timers.items():
            out[name].append(timer())
    return out


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def clock(fn: Callable[[], Any]) -> float:
    """Seconds one call of ``fn`` took."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Swallow what the stages print (``state_dict()``)."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((" ".join(line.split(":", 1)[1].split()) for line in fh
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    gpu = (torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA GPU")
    return (f"{cpu}, {os.cpu_count()} cores; {gpu}; Python {platform.python_version()}, "
            f"torch {torch.__version__}")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table (also valid Markdown)."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def ms(seconds: float) -> float:
    return round(seconds * 1e3, 2)


def goal(ratio: float, limit: float) -> str:
    return "ok" if ratio <= limit else f"over {limit}"
