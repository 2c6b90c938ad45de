"""Time per epoch against N on every device here: ``%linreg bench``'s engine.

Each device's time per epoch is shown against its own time at the smallest N
(how the cost grows with the data) and, where a GPU exists, the CPU's time
against the GPU's at each N (where the GPU pays off).

    .venv/bin/python benchmarks/sizes.py [--n 1e2,1e4,1e6,1e7] [--stage module] [--repeat 3]
"""

from __future__ import annotations

import argparse
from typing import Any

import _common
from _common import table

from linreg_magic.bench import bench


def main(argv: list[str] | None = None) -> list[list[Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", default="1e2,1e4,1e6,1e7")
    parser.add_argument("--stage", default="module")
    parser.add_argument("--devices", default="cpu,cuda")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    result = bench({"sizes": args.n, "devices": args.devices, "stage": args.stage}, repeats=args.repeat)
    rows = []
    for device in result.devices():
        sizes, seconds = result.series(device)
        cpu = dict(zip(*result.series("cpu"))) if "cpu" in result.devices() else {}
        for n, s in zip(sizes, seconds):
            row = next(r for r in result.rows if r.device == device and r.n == n)
            rows.append([f"{n:,}", device, row.epochs, round(s * 1e6, 1), round(s / seconds[0], 2),
                         round(cpu[n] / s, 2) if device != "cpu" and n in cpu else ""])
    print(f"# time per epoch, {args.stage} stage, median of {args.repeat} after a warm-up "
          f"({_common.machine()})")
    print(table(["N", "device", "epochs timed", "us per epoch", "vs smallest N", "cpu / this"], rows))
    cross = result.crossover()
    print(f"# crossover: the GPU is faster from N ~ {cross:,.0f}" if cross else
          "# crossover: none measured (" + ("; ".join(result.skipped) or "no GPU faster") + ")")
    return rows


if __name__ == "__main__":
    main()
