"""Every place in the package that refuses input is reached by a case that ends in
exactly one UsageError line.

The sites are found in the source by :mod:`refusals` (every statement that builds a
``usage_error`` or a kind's ``Refused`` and raises or returns it, in every module but
the stages' teaching files), and the cases below and those of ``test_data_refusals``
run under its line tracer: a new refusal without a case fails
:func:`test_every_refusal_in_the_package_is_reached_by_a_case`, and turning one into
another exception type fails the case that reaches it.  A site only some machines
reach (a CUDA GPU, no MPS) is listed in :data:`ON_SOME_MACHINES` with the reason.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output
from refusals import Site, lines_run, package_sites, reached
from test_data_refusals import _cases as _data_cases

from linreg_magic import registry
from linreg_magic.bench.command import bench
from linreg_magic.cuda_graph import StartingPoint, check_optimizers
from linreg_magic.device import DeviceGuard
from linreg_magic.options import Options, spec_for
from linreg_magic.plan import Plan
from linreg_magic.views.diff import stage_diff
from linreg_magic.widgets.presets import FORMAT, Preset
from linreg_magic.widgets.widget import LinregWidget

HAS_CUDA = torch.cuda.is_available()
HAS_MPS = torch.backends.mps.is_available()
#: Sites that only some machines reach: a text the site (or the line above it) holds ->
#: the case that reaches it where the machine allows (see :data:`CASE_NEEDS`).
ON_SOME_MACHINES = {
    "Use --device cuda:0{last}": "a cuda:N past the last GPU",
    'reason = f"CUDA is not available': "a GPU where CUDA is missing",
    "reason = \"Apple's MPS backend is not available here\"": "MPS where it is missing",
}


def _line(ip: Any, line: str, body: str | None = None) -> Callable[[], object]:
    if body is None:
        return lambda: ip.run_line_magic("linreg", line)
    return lambda: ip.run_cell_magic("linreg", line, body)


def _cases(ip: Any) -> dict[str, Callable[[], object]]:
    """What users (and Python callers) do wrong, one case per kind of refusal."""
    lines = {
        # the line itself
        "an unclosed quote": "--lr '0.1",
        "a flag without its value": "--seed",
        "an unknown flag": "--colour red",
        # option kinds
        "a number out of range": "--epochs 0",
        "a number above its range": "--epochs 2000000",
        "a number that is not finite": "--lr inf",
        "a whole number that is not a number": "--epochs ten",
        "a number that is not a number": "--lr fast",
        "a name that is not a Python name": "--store 1abc",
        "a name that is IPython's": "--store In",
        "a word that is not a choice": "--live sometimes",
        "an unknown stage": "--stage modul",
        "an unknown device": "--device gpu",
        "a switch given another word": "--cuda-graph=maybe",
        "an empty list": "--true-w ,",
        # combinations of options
        "user data without --y": "--data user --x xs",
        "--x with the synthetic data": "--x xs",
        "--n with other data": "--data diabetes --n 50",
        "a split that leaves one training point": "--n 2",
        "a split that leaves an empty validation set": "--n 10 --val-split 1e-8",
        "a parameter path too large": "--stage sequential --features 100 --hidden 4096 --epochs 1000000",
        "data too large": "--stage sequential --features 100 --n 100000000",
        "slopes that do not match the features": "--true-w 1,2",
        # commands
        "an unknown command": "run",
        "a command's option written as a word": "diff module side-by-side",
        "a run's option a command takes in another form": "bench --n 100",
        "a command's option without its command": "--sizes 100",
        "--store on a command that makes nothing": "list --store r",
        "--store over the user's own object": "--store taken",
        "list with words": "list extra",
        "code without a stage": "code",
        "diff with three stages": "diff numpy loss module",
        "compare of stages none of which can run": "compare numpy module --hidden 5",
        "contract with two stages": "contract numpy autograd",
        "contract named twice": "contract numpy --stage module",
    }
    cases = {name: _line(ip, line) for name, line in lines.items()}
    cases["a command with a cell body"] = _line(ip, "list", "x = 1\n")
    cases["None for an option with a default"] = lambda: Options().replace(lr=None)
    cases["an unknown option from Python"] = lambda: Options().replace(colour="red")
    cases["an unknown option in a mapping"] = lambda: Options.from_mapping({"colour": "red"})
    cases["True for a whole number"] = lambda: spec_for("epochs").parse(True)
    cases["True for a number"] = lambda: spec_for("lr").parse(True)
    return cases



def _others(ip: Any, folder: Path) -> dict[str, Callable[[], object]]:
    """The rest of the package: plans, devices, CUDA graphs, bench, lessons, diffs, the widget."""
    lines = {
        "--features on a one-feature stage": "--stage module --features 2",
        "--cuda-graph on a numpy stage": "--stage numpy --cuda-graph",
        "--cuda-graph on the CPU": "--stage module --cuda-graph --device cpu",
        "a numpy stage on a GPU": "--stage numpy --device cuda",
        "bench --epochs 1": "bench --epochs 1",
        "bench on other data": "bench --data diabetes",
        "bench on no device that exists": "bench --devices cuda:99",
        "bench with words": "bench extra",
        "an unknown lesson": "lesson nope",
        "two lessons": "lesson data step",
        "the data lesson on other data": "lesson data --data diabetes",
        "two preset files": "widget a.json b.json",
    }
    cases = {name: _line(ip, line) for name, line in lines.items()}
    two_columns = np.random.RandomState(0).rand(10, 2)
    cases |= {
        "several features for a one-feature stage": lambda: Plan.make(
            Options(data="user", x="a", y="b", stage="numpy"),
            namespace={"a": two_columns, "b": two_columns[:, 0]}),
        "--data user outside IPython": _without_a_shell(lambda: Plan.make(Options(data="user", x="a",
                                                                                  y="b"))),
        "an unknown stage from Python": lambda: registry.get_stage("modul"),
        "bench with no size": lambda: bench({"sizes": []}),
        "the first stage diffed with the one before it": lambda: stage_diff("numpy"),
        "a plugin stage that fails to load": _broken_plugin(ip),
        "a widget with no tabs": lambda: LinregWidget(tabs=[]),
        "a widget's tabs that are not names": lambda: LinregWidget(tabs=5),
        "a widget's unknown tab": lambda: LinregWidget(tabs=["nope"]),
        "an unreadable optimizer's state for a CUDA graph": _state_that_cannot_restart,
        "out of memory on a GPU": lambda: _device_refuses("cuda:0", torch.cuda.OutOfMemoryError(
            "CUDA out of memory. Tried to allocate 2.00 GiB")),
        "a GPU another process holds": lambda: _device_refuses("cuda:0", RuntimeError(
            "CUDA error: CUDA-capable device(s) is/are busy or unavailable")),
    }
    p = torch.nn.Parameter(torch.zeros(1))
    cases["Adam without capturable under --cuda-graph"] = lambda: check_optimizers(
        "module", [torch.optim.Adam([p], capturable=False)])
    cases["SGD with dampening under --cuda-graph"] = lambda: check_optimizers(
        "module", [torch.optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.5)])
    return cases | _preset_cases(folder) | _machine_cases(ip)


def _preset_cases(folder: Path) -> dict[str, Callable[[], object]]:
    def read_latin1() -> object:
        (folder / "latin1.json").write_bytes('{"format": "caf\u00e9"}'.encode("latin-1"))
        return Preset.read(folder / "latin1.json")

    return {
        "a preset that is not a preset": lambda: Preset.from_dict([]),
        "a preset newer than this version": lambda: Preset.from_dict({"format": FORMAT, "version": 99}),
        "a preset's field of the wrong type": lambda: Preset.from_dict({"format": FORMAT, "tab": 3}),
        "a preset that is not JSON": lambda: Preset.from_json("{"),
        "a preset nested too deeply": lambda: Preset.from_json("[" * 200_000),
        "a preset file that is not there": lambda: Preset.read(folder / "missing.json"),
        "a preset file that is not UTF-8": read_latin1,
        "a preset written to a folder": lambda: Preset(Options()).write(folder),
        "a preset path that is not text": lambda: Preset.read(5),  # type: ignore[arg-type]
    }


#: Cases only some machines can run: name -> (whether this one can, why not).
CASE_NEEDS: dict[str, tuple[bool, str]] = {
    "a GPU where CUDA is missing": (not HAS_CUDA, "CUDA is available here"),
    "MPS where it is missing": (not HAS_MPS, "MPS is available here"),
    "a cuda:N past the last GPU": (HAS_CUDA, "needs a CUDA GPU: this machine's torch sees none"),
}


def _machine_cases(ip: Any) -> dict[str, Callable[[], object]]:
    past_last = f"cuda:{torch.cuda.device_count()}"
    return {"a GPU where CUDA is missing": _line(ip, "--device cuda"),
            "MPS where it is missing": _line(ip, "--device mps"),
            "a cuda:N past the last GPU": _line(ip, f"--device {past_last} --epochs 2")}


def _without_a_shell(call: Callable[[], object]) -> Callable[[], object]:
    """``call`` as a plain Python process runs it: with no IPython shell (put back after)."""
    def run() -> object:
        from IPython.core.interactiveshell import InteractiveShell

        shell = InteractiveShell._instance if InteractiveShell.initialized() else None
        InteractiveShell.clear_instance()
        try:
            return call()
        finally:
            for cls in type(shell).__mro__ if shell is not None else ():
                if isinstance(cls, type) and issubclass(cls, InteractiveShell):
                    cls._instance = shell
    return run


def _broken_plugin(ip: Any) -> Callable[[], object]:
    """An installed plugin stage (a dist-info on sys.path) whose module fails to import."""
    def run() -> object:
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, "broken_stage.py").write_text("raise ImportError('needs a missing package')\n")
            info = Path(folder, "broken_stage-0.1.dist-info")
            info.mkdir()
            (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-stage\nVersion: 0.1\n")
            (info / "entry_points.txt").write_text("[linreg_magic.stages]\nbroken = broken_stage:STAGE\n")
            sys.path.insert(0, folder)
            registry.refresh()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # the load's own warning
                    return ip.run_line_magic("linreg", "--stage broken --device cpu")
            finally:
                sys.path.remove(folder)
                sys.modules.pop("broken_stage", None)
                registry.refresh()
    return run


def _state_that_cannot_restart() -> None:
    """Rprop's step sizes start at its lr, not at zero: a replay cannot start them afresh."""
    p = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Rprop([p])
    start = StartingPoint({"w": p}, [optimizer])
    p.grad = torch.ones(1)
    optimizer.step()
    start.restore("module")


def _device_refuses(device: str, error: BaseException) -> None:
    """The error a device raises inside a run, as the run's guard meets it."""
    with DeviceGuard(device):
        raise error


def _all_cases(ip: Any, folder: Path) -> dict[str, Callable[[], object]]:
    return _cases(ip) | _others(ip, folder)


@pytest.fixture
def shell(ip, tmp_path):  # type: ignore[no-untyped-def]
    ip.user_ns.update(xs=[1.0, 2.0, 3.0], taken={"mine": 1})
    yield ip
    for name in ("xs", "taken"):
        ip.user_ns.pop(name, None)


_NAMES = list(_all_cases(None, Path()))


@pytest.mark.parametrize("name", _NAMES)
def test_each_case_is_exactly_one_usage_error_line(shell, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    can, why = CASE_NEEDS.get(name, (True, ""))
    if not can:
        pytest.skip(why)
    with pytest.raises(UsageError) as caught, capture_output() as captured:
        _all_cases(shell, tmp_path)[name]()
    assert type(caught.value) is UsageError, name
    message = str(caught.value)
    assert "\n" not in message and message.count(". ") >= 2, message
    assert not any("image/png" in o.data for o in captured.outputs)


def _marker(site: Site) -> str | None:
    """The key of :data:`ON_SOME_MACHINES` that names ``site``, if any."""
    above = Path(site.file).read_text(encoding="utf-8").splitlines()[site.line - 2]
    return next((marker for marker in ON_SOME_MACHINES if marker in site.text or marker in above), None)


def test_every_refusal_in_the_package_is_reached_by_a_case(shell, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sites = [site for site in package_sites() if _marker(site) is None]
    assert len(sites) > 100
    assert {Path(site.file).parent.name for site in sites} >= {"widgets", "bench", "lessons", "views"}
    seen: set[tuple[str, int]] = set()
    for name, call in (_all_cases(shell, tmp_path) | _data_cases()).items():
        if CASE_NEEDS.get(name, (True, ""))[0]:
            lines, raised = lines_run(call)
            assert type(raised) is UsageError, (name, raised)
            seen |= lines
    missing = sorted(site.where() for site in sites if not reached(site, seen))
    assert not missing, f"refusals no case reaches: {missing}"


@pytest.mark.parametrize("marker", list(ON_SOME_MACHINES))
def test_a_refusal_only_some_machines_reach_is_reached_where_they_do(shell, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                     marker: str) -> None:
    sites = [site for site in package_sites() if _marker(site) == marker]
    assert len(sites) == 1, (marker, [site.where() for site in sites])
    name = ON_SOME_MACHINES[marker]
    can, why = CASE_NEEDS[name]
    if not can:
        pytest.skip(f"{sites[0].where()}: {why}")
    lines, raised = lines_run(_all_cases(shell, tmp_path)[name])
    assert type(raised) is UsageError, (name, raised)
    assert reached(sites[0], lines), sites[0].where()
