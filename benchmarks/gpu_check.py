"""Every CUDA path, checked and timed in one run on a machine with a GPU.

Made for one call on a lent GPU machine (see ../shared/gpu/README.md): here,
``../shared/gpu/fetch-wheels.sh pytest pluggy iniconfig packaging setuptools``;
there, one command with ``carry: [".whl"]``::

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \\
      --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD PATH=/tmp/site/bin:$PATH; \\
      python3 benchmarks/gpu_check.py

It runs, through the real ``%%linreg`` magic in an ``InteractiveShell``:

1. every torch stage on the CPU and on CUDA: the learned b, w must agree (1e-3);
2. every torch stage on CUDA eager and with ``--cuda-graph``: losses and path
   within 1e-5, the gain printed in the header, and the goal of 1000 epochs at
   N=80 under 30 ms;
3. ``%linreg bench --cuda-graph`` across N = 1e2..1e7 on cpu and cuda: eager and
   graph time per epoch at each N, and the crossover; goal: the replayed graph
   faster than eager CUDA at N = 100;
4. the engine-overhead benchmark on CUDA (engine / bare loop, goal <= 1.10);
5. the GPU tests of the suite, if pytest is installed (the CUDA promises: no host
   sync in any stage's epochs, the tensors' device, ``cuda:N``, stateful
   optimizers and the worker-thread capture under ``--cuda-graph``);

and prints a short table of the timings last (also written to $OUT/gpu_check.json
when $OUT is set), then every goal missed.  It exits 0 when every goal is met, 1
when one is missed, 2 where there is no GPU.  About 3-5 minutes on an H100.
``--smoke`` runs the same plumbing on the CPU (cpu in place of cuda, no graph, no
speed goals), to check the script itself.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import _common
from _common import table

from linreg_magic.views.bench import bench_text

SUMMARY: list[list[Any]] = []
FAILURES: list[str] = []
#: ``--smoke``: run the script's plumbing on the CPU (cpu for cuda, no CUDA graph), no checks of speed.
SMOKE = "--smoke" in sys.argv
GPU = "cpu" if SMOKE else "cuda"
GRAPH = "" if SMOKE else " --cuda-graph"


def section(title: str, body: Callable[[], None]) -> None:
    print(f"\n## {title}", flush=True)
    start = time.perf_counter()
    try:
        body()
    except Exception:  # keep going: one broken part must not hide the others
        FAILURES.append(title)
        traceback.print_exc()
    print(f"({time.perf_counter() - start:.1f} s)", flush=True)


def check(ok: bool, what: str) -> None:
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        FAILURES.append(what)


def shell() -> Any:
    from cell import shell as make_shell

    return make_shell()


def cell(ip: Any, args: str) -> tuple[Any, Any]:
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        result = ip.run_cell_magic("linreg", args, "# the stage's own code\n")
    return result, captured


def stages() -> list[str]:
    from linreg_magic.registry import ladder

    return [s.name for s in ladder() if s.uses_torch]


def cpu_and_cuda_agree(ip: Any) -> None:
    for name in stages():
        cpu, _ = cell(ip, f"--stage {name} --device cpu")
        cuda, _ = cell(ip, f"--stage {name} --device {GPU}")
        diff = max(abs(cpu.b - cuda.b), abs(cpu.w - cuda.w))
        check(diff < 1e-3 and cuda.device.startswith(GPU),
              f"{name}: cuda b={cuda.b:.4f} w={cuda.w:.4f} vs cpu b={cpu.b:.4f} w={cpu.w:.4f} "
              f"(|diff| {diff:.1e}); cuda {cuda.seconds * 1e3:.0f} ms, cpu {cpu.seconds * 1e3:.0f} ms")
        SUMMARY.append([name, "cuda eager vs cpu", round(cuda.seconds * 1e3, 1),
                        round(cpu.seconds * 1e3, 1), round(cuda.seconds / cpu.seconds, 2)])


def eager_against_graph(ip: Any) -> None:
    import numpy as np

    for name in stages():
        cell(ip, f"--stage {name} --device {GPU}{GRAPH} --epochs 50")  # warm
        eager, _ = cell(ip, f"--stage {name} --device {GPU}")
        graph, captured = cell(ip, f"--stage {name} --device {GPU}{GRAPH}")
        header = captured.outputs[0].data["text/plain"]
        loss_diff = float(np.max(np.abs(graph.losses - eager.losses)))
        path_diff = float(max(np.max(np.abs(graph.intercept_path - eager.intercept_path)),
                              np.max(np.abs(graph.coef_path - eager.coef_path))))
        check(loss_diff <= 1e-5 and path_diff <= 1e-5 and (SMOKE or "CUDA graph: " in header),
              f"{name}: graph {graph.seconds * 1e3:.1f} ms vs eager {eager.seconds * 1e3:.1f} ms; "
              f"max |loss diff| {loss_diff:.1e}, |path diff| {path_diff:.1e}; "
              f"header: {header.splitlines()[-1]}")
        SUMMARY.append([name, "cuda graph vs eager", round(graph.seconds * 1e3, 2),
                        round(eager.seconds * 1e3, 1), round(graph.seconds / eager.seconds, 3)])
    best = min(cell(ip, f"--stage module --device {GPU}{GRAPH}")[0].seconds for _ in range(3))
    check(SMOKE or best < 0.030,
          f"module, 1000 epochs at N=80 with --cuda-graph: {best * 1e3:.1f} ms (goal < 30 ms)")


def sizes(ip: Any) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        sizes = "1e2,1e4" if SMOKE else "1e2,1e4,1e6,1e7"
        result = ip.run_line_magic("linreg",
                                   f"bench --sizes {sizes} --devices cpu,{GPU} --stage module{GRAPH}")
    print(bench_text(result))
    timed = len(result.rows) == len(sizes.split(",")) * len(result.devices())
    check(result.stopped is None and timed, f"bench timed {len(result.rows)} rows: every size on "
                                            f"{', '.join(result.devices())}")
    per = {(r.n, r.device): r.seconds_per_epoch for r in result.rows}
    gpu = "cpu" if SMOKE else next(d for d in result.devices() if d.startswith(GPU))
    for n in sorted({r.n for r in result.rows}):
        graph = per.get((n, f"{gpu} graph"), float("nan"))
        SUMMARY.append([f"module N={n:,}", "us/epoch graph | eager | cpu", round(graph * 1e6, 1),
                        round(per[(n, gpu)] * 1e6, 1), round(per[(n, "cpu")] * 1e6, 1)])
    if not SMOKE:
        graph, eager = per.get((100, f"{gpu} graph"), float("inf")), per[(100, gpu)]
        check(graph < eager, f"bench at N=100: graph {graph * 1e6:.1f} us per epoch < eager "
                             f"{eager * 1e6:.1f} us")
    cross = result.crossover()
    SUMMARY.append(["module", "eager crossover N", "", "", f"{cross:,.0f}" if cross else "none"])


def overhead() -> None:
    import overhead as overhead_bench

    rows = overhead_bench.main(["--repeat", "2", "--stages", "module"] if SMOKE else ["--repeat", "5"])
    for row in rows:
        if str(row[1]).startswith(GPU):
            SUMMARY.append([row[0], "engine / bare loop (cuda)", row[5], row[4], row[6]])
            check(SMOKE or row[6] <= overhead_bench.GOAL,
                  f"{row[0]} on {row[1]}: engine / bare loop {row[6]} (goal <= {overhead_bench.GOAL})")


def gpu_tests() -> None:
    try:
        import pytest  # noqa: F401
    except ImportError:
        print("pytest is not installed here: GPU tests not run (add pytest pluggy iniconfig packaging "
              "to fetch-wheels.sh)")
        return
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/test_cuda_graph.py", "tests/test_devices.py", "tests/test_bench.py",
                           "tests/test_stages.py", "tests/test_tracker.py"], cwd=_common.ROOT, check=False)
    check(done.returncode == 0, f"pytest GPU-capable tests exit {done.returncode}")


def main() -> int:
    import torch

    print(f"# gpu_check ({_common.machine()})", flush=True)
    if not torch.cuda.is_available() and not SMOKE:
        print("no CUDA GPU here: nothing to check")
        return 2
    ip = shell()
    section("1. every torch stage on cpu and cuda agrees", lambda: cpu_and_cuda_agree(ip))
    section("2. eager against --cuda-graph", lambda: eager_against_graph(ip))
    section("3. time per epoch against N: %linreg bench --cuda-graph", lambda: sizes(ip))
    section("4. engine overhead", overhead)
    if not SMOKE:
        section("5. GPU tests", gpu_tests)
    device = "smoke run on the CPU" if SMOKE else torch.cuda.get_device_name(0)
    print(f"\n# summary ({device})")
    print(table(["what", "measure", "this (ms or us)", "baseline", "ratio / value"], SUMMARY))
    print("FAILURES: " + ("; ".join(FAILURES) if FAILURES else "none"))
    out = os.environ.get("OUT")
    if out:
        with open(os.path.join(out, "gpu_check.json"), "w", encoding="utf-8") as fh:
            json.dump({"device": device, "summary": SUMMARY, "failures": FAILURES},
                      fh, indent=1, default=str)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
