"""Large N on the CPU: peak memory against the size of the data, run time, and
how long the views take, each size in a fresh process.

Peak memory is the growth of the process's peak resident set during one engine
run, after a small warm-up run (``VmHWM`` from ``/proc/self/status``, reset
through ``/proc/self/clear_refs`` first; ``ru_maxrss`` elsewhere, which a child
process inherits from a large parent); "data" is the book's ``x`` and ``y`` (float64).  The views row
times the fit and loss picture (``result_png``, drawn on a warm figure, first
drawing for that result) and the fit axes alone (``plot_fit``).

    .venv/bin/python benchmarks/memory.py [--n 1e5,1e6,1e7] [--epochs 5] [--stage module]

Goals: peak memory a small multiple of the data; views under a few hundred ms.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

import _common
from _common import table

CHILD = r'''
import contextlib, io, json, resource, sys, time
from linreg_magic.engine import run
from linreg_magic.views import plot_fit
from linreg_magic.views.figures import result_png

n, epochs, stage = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with contextlib.redirect_stdout(io.StringIO()):
    result_png(run(stage=stage, device="cpu", epochs=2, n=100))  # imports, first figure
def status_kb(field):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))

try:  # start the high-water mark afresh (Linux); ru_maxrss would carry the parent's peak
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    peak_of = lambda: status_kb("VmHWM")
except OSError:
    peak_of = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
base = status_kb("VmRSS")
start = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    result = run(stage=stage, device="cpu", epochs=epochs, n=n)
total = time.perf_counter() - start
peak = peak_of()
start = time.perf_counter()
result_png(result)
png = time.perf_counter() - start
start = time.perf_counter()
plot_fit(result)
fit = time.perf_counter() - start
print(json.dumps({"data": result.data.x.nbytes + result.data.y.nbytes, "peak": (peak - base) * 1024,
                  "total": total, "train": result.seconds, "png": png, "fit": fit}))
'''


def measure(n: int, epochs: int, stage: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(epochs), stage], capture_output=True,
                         text=True, check=True, cwd=_common.ROOT)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> list[list[Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", default="1e5,1e6,1e7")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--stage", default="module")
    args = parser.parse_args(argv)
    rows = []
    mb = 2 ** 20
    for n in [int(float(v)) for v in args.n.split(",")]:
        m = measure(n, args.epochs, args.stage)
        rows.append([f"{n:,}", round(m["data"] / mb, 1), round(m["peak"] / mb, 1),
                     round(m["peak"] / m["data"], 2), round(m["total"], 2), round(m["train"], 3),
                     round(m["png"] * 1e3, 1), round(m["fit"] * 1e3, 1)])
    print(f"# large N on the CPU, {args.stage} stage, {args.epochs} epochs, one fresh process per N "
          f"({_common.machine()})")
    print("# peak = growth of the peak RSS (VmHWM) during the run; multiple = peak / data (x and y, float64)")
    print(table(["N", "data MB", "peak MB", "multiple", "run s", "training s", "fit+loss png ms",
                 "plot_fit ms"], rows))
    return rows


if __name__ == "__main__":
    main()
