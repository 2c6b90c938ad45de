"""How much the live view slows training: the same run with and without it.

Prints the ratio of training times (live / plain) for a few stages; the live
view renders a frame at most every 0.2 s from a snapshot, so the ratio should
stay close to 1.  Run: .venv/bin/python benchmarks/live_overhead.py
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from IPython.utils.capture import capture_output

from linreg_magic.engine import run_options
from linreg_magic.live import LiveView
from linreg_magic.options import Options


def main() -> None:
    import matplotlib.figure  # noqa: F401  (a notebook has it loaded; do not time the import)
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.instance()  # display handles need a shell

    print(f"{'stage':<12}{'epochs':>8}{'plain s':>10}{'live s':>10}{'frames':>8}{'ratio':>8}")
    for stage, epochs in (("numpy", 60_000), ("autograd", 20_000), ("module", 15_000)):
        options = Options(stage=stage, device="cpu", epochs=epochs)
        plain, live, frames = float("inf"), float("inf"), 0
        for _ in range(3):  # interleaved, best of three: the machine may be busy
            plain = min(plain, run_options(options).seconds)
            view = LiveView(delay=0.0)
            with capture_output():
                result = run_options(options, live=view)
                view.close(result.epochs, result.seconds)
            if result.seconds < live:
                live, frames = result.seconds, view.frames
        print(f"{stage:<12}{epochs:>8}{plain:>10.3f}{live:>10.3f}{frames:>8}{live / plain:>8.2f}")


if __name__ == "__main__":
    main()
