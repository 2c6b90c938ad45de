"""The instructor widget at lecture speed, against the training time measured in the same run.

Rows (each compared with what training itself took in the same process):

- slider -> new figure: a control changed until the open tab's figure and the
  numbers are new, minus the run's training time (goal <= 150 ms);
- scrubber: one epoch step until the open tab's new picture (goal <= 50 ms per frame);
- live view: a long run with the live view (as ``--live auto`` shows it in a notebook)
  against the same run without (goal <= 1.10);
- first cell: ``%load_ext`` and a first ``%%linreg --stage module`` cell in a fresh
  process, against ``import torch`` alone in a fresh process (goal <= torch + 0.5 s);
- ``%load_ext linreg_magic`` in a fresh process (goal < 100 ms).

    .venv/bin/python benchmarks/widget.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

import _common
from _common import median, quiet, table

FIRST_CELL = r'''
import json, sys, time
start = time.perf_counter()
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from traitlets.config import Config
class S(InteractiveShell):
    def enable_gui(self, gui=None):
        return None
c = Config(); c.HistoryManager.hist_file = ":memory:"
ip = S.instance(config=c)
shell = time.perf_counter()
with capture_output():
    ip.run_line_magic("load_ext", "linreg_magic")
    ip.run_cell_magic("linreg", "--stage module --device cpu", "# the stage's own code\n")
done = time.perf_counter()
print(json.dumps({"cell": done - shell, "sklearn": "sklearn" in sys.modules}))
'''

TORCH = "import time; t = time.perf_counter(); import torch; print(time.perf_counter() - t)"


def _fresh(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=_common.ROOT)
    return out.stdout.strip().splitlines()[-1]


def first_cell(repeat: int) -> tuple[float, float, bool]:
    """Median seconds of torch's import and of the first cell, each in fresh processes, interleaved."""
    torch_s, cell_s, sklearn = [], [], False
    for _ in range(repeat):
        torch_s.append(float(_fresh(TORCH)))
        measured = json.loads(_fresh(FIRST_CELL))
        cell_s.append(measured["cell"])
        sklearn = sklearn or measured["sklearn"]
    return median(torch_s), median(cell_s), sklearn


def slider_and_scrubber(repeat: int) -> tuple[list[float], list[float], list[float]]:
    """(seconds beyond training per slider change, training seconds, seconds per scrub frame)."""
    from linreg_magic import LinregWidget

    with quiet():
        w = LinregWidget(stage="module", device="cpu")
        extra, training, frames = [], [], []
        lrs = [0.05, 0.07, 0.2, 0.3, 0.15, 0.03, 0.5, 0.02, 0.1, 0.04, 0.25][: repeat + 1]
        for lr in lrs:
            start = time.perf_counter()
            w.controls["lr"].value = lr
            assert w.wait(120) and w.result is not None and w.result.options.lr == lr
            extra.append(time.perf_counter() - start - w.result.seconds)
            training.append(w.result.seconds)
            for epoch in (10, 50, 200, 600):
                start = time.perf_counter()
                w.epoch = epoch
                assert w.wait(60)
                frames.append(time.perf_counter() - start)
    return extra[1:], training[1:], frames[4:]  # the first of each draws for the first time


def live_overhead(repeat: int) -> tuple[float, float, float, int]:
    """(plain training s, live training s, best live / best plain, frames): a long run, with
    and without the live view, interleaved."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from linreg_magic.engine import run_options
    from linreg_magic.live import LiveView
    from linreg_magic.options import Options

    InteractiveShell.instance()  # display handles need a shell
    options = Options(stage="module", device="cpu", epochs=60_000)
    plain, live, frames = [], [], 0
    for _ in range(repeat):
        with quiet():
            plain.append(run_options(options).seconds)
            view = LiveView(terminal=False)
            with capture_output():
                result = run_options(options, live=view)
                view.close(result.epochs, result.seconds)
        live.append(result.seconds)
        frames = view.frames
    return median(plain), median(live), min(live) / min(plain), frames


def main(argv: list[str] | None = None) -> list[list[Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    from cell import LOAD_GOAL_MS, load_ext_cost

    extra, training, frames = slider_and_scrubber(args.repeat)
    plain, live, best, n_frames = live_overhead(max(3, args.repeat // 2))
    torch_s, cell_s, sklearn = first_cell(max(2, args.repeat // 3))
    load, heavy = load_ext_cost(max(3, args.repeat // 2))
    rows = [
        ["slider -> new figure, beyond training (ms)", round(median(extra) * 1e3, 1),
         f"training {median(training) * 1e3:.0f} ms", "<= 150", _ok(median(extra) * 1e3 <= 150)],
        ["scrubber, per frame (ms)", round(median(frames) * 1e3, 1), f"{len(frames)} frames", "<= 50",
         _ok(median(frames) * 1e3 <= 50)],
        ["live view / training (ratio of medians)", round(live / plain, 3),
         f"{plain:.2f} s plain, {n_frames} frames; best/best {best:.3f}", "<= 1.10",
         _ok(live / plain <= 1.10)],
        ["first cell - import torch (s)", round(cell_s - torch_s, 2),
         f"torch {torch_s:.2f} s, cell {cell_s:.2f} s" + ("; sklearn imported" if sklearn else ""),
         "<= 0.5", _ok(cell_s - torch_s <= 0.5)],
        ["%load_ext linreg_magic (ms)", round(load * 1e3, 1), "heavy: " + (", ".join(heavy) or "none"),
         f"< {LOAD_GOAL_MS:.0f}", _ok(load * 1e3 < LOAD_GOAL_MS)],
    ]
    print(f"# the instructor widget ({_common.machine()}); medians")
    print(table(["what", "measured", "against", "goal", ""], rows))
    return rows


def _ok(passed: bool) -> str:
    return "ok" if passed else "over"


if __name__ == "__main__":
    main()
