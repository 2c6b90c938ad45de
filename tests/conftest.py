"""Shared fixtures: a real IPython shell with the extension loaded, and a check
around every test that the session's global state is as the test found it."""

from __future__ import annotations

import builtins
import os
import random
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import matplotlib
import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

os.environ.setdefault("MPLBACKEND", "Agg")
matplotlib.use("Agg")



class _TestShell(InteractiveShell):
    """A real InteractiveShell that tolerates %matplotlib (no GUI here)."""

    def enable_gui(self, gui=None):  # type: ignore[no-untyped-def]
        return None


@pytest.fixture(scope="session")
def _session_shell() -> InteractiveShell:
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    return _TestShell.instance(config=config)


@pytest.fixture
def ip(_session_shell: InteractiveShell) -> Iterator[InteractiveShell]:
    """The shell with ``%load_ext linreg_magic`` done; unloaded afterwards."""
    shell = _session_shell
    shell.run_line_magic("load_ext", "linreg_magic")
    try:
        yield shell
    finally:
        shell.run_line_magic("unload_ext", "linreg_magic")


@pytest.fixture
def run_cell_outputs(ip: InteractiveShell):  # type: ignore[no-untyped-def]
    """Run ``%%linreg ARGS`` and return (result, captured outputs)."""

    def _run(args: str, body: str = "# the stage's own code\n"):  # type: ignore[no-untyped-def]
        with capture_output() as captured:
            result = ip.run_cell_magic("linreg", args, body)
        return result, captured

    return _run


# -- the session is left as it was ---------------------------------------------------
# Written here, apart from linreg_magic.session, so that the suite checks the
# product's guard instead of trusting it.

#: Names IPython itself keeps in the user namespace (history and output caching).
_SHELL_NAMES = re.compile(r"^(_+|_[iho]+|_i+\d*|_\d+|In|Out|_dh|exit|quit|get_ipython)$")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if hasattr(a, "shape") or hasattr(b, "shape"):
        return type(a) is type(b) and bool(np.array_equal(np.asarray(a), np.asarray(b)))
    return bool(a == b)


def _python_state() -> dict[str, Callable[[], Any]]:
    return {
        "random": random.getstate,
        "numpy.random": np.random.get_state,
        "numpy.errstate": np.geterr,
        "numpy.printoptions": np.get_printoptions,
        "warnings.filters": lambda: list(warnings.filters),
        "sys.stdout": lambda: id(sys.stdout),
        "sys.stderr": lambda: id(sys.stderr),
        "recursion limit": sys.getrecursionlimit,
        "cwd": os.getcwd,
        "os.environ": lambda: {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"},
        "builtins": lambda: sorted((k, id(v)) for k, v in vars(builtins).items()),
    }


def _torch_state() -> dict[str, Callable[[], Any]]:
    import torch

    state: dict[str, Callable[[], Any]] = {
        "torch.random": torch.random.get_rng_state,
        "torch.initial_seed": torch.initial_seed,
        "torch.default_dtype": torch.get_default_dtype,
        "torch.grad_mode": torch.is_grad_enabled,
        "torch.inference_mode": torch.is_inference_mode_enabled,
        "torch.anomaly_mode": torch.is_anomaly_enabled,
        "torch.deterministic": torch.are_deterministic_algorithms_enabled,
        "torch.num_threads": torch.get_num_threads,
        "torch.printoptions": lambda: dict(vars(torch._tensor_str.PRINT_OPTS)),
    }
    if torch.cuda.is_initialized():
        state["torch.cuda.random"] = torch.cuda.get_rng_state_all
    return state


def _matplotlib_state() -> dict[str, Callable[[], Any]]:
    rc: Any = matplotlib.rcParams
    state: dict[str, Callable[[], Any]] = {
        "matplotlib.backend": lambda: dict.__getitem__(rc, "backend"),
        "matplotlib.rcParams": lambda: dict(dict.items(rc)),
    }
    if "matplotlib.pyplot" in sys.modules:
        state["pyplot figures"] = sys.modules["matplotlib.pyplot"].get_fignums
    return state


def _user_names(shell: InteractiveShell) -> dict[str, int]:
    return {k: id(v) for k, v in shell.user_ns.items() if not _SHELL_NAMES.match(k)}


def session_state(shell: InteractiveShell) -> dict[str, Any]:
    """Every piece of global state a run could leave changed, read now."""
    readers = {**_python_state(), **_matplotlib_state()}
    if "torch" in sys.modules:
        readers.update(_torch_state())
    state = {name: read() for name, read in readers.items()}
    state["user namespace"] = _user_names(shell)
    return state


def changed_state(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The names of the pieces that differ (a piece that appeared is not a change:
    torch imported by the test)."""
    return [name for name, value in before.items()
            if name in after and not _same(value, after[name])]


#: What libraries set when first imported (torch.jit's and scikit-learn's warning
#: filters, scikit-learn's OpenMP variables).
_IMPORT_TIME = {"warnings.filters", "os.environ"}
#: Names a ``changes_session`` mark may give for several pieces at once.
_GROUPS = {"random": ("random", "numpy.random", "torch.random", "torch.initial_seed",
                      "torch.cuda.random")}


def _exempt(request: pytest.FixtureRequest) -> set[str] | None:
    """The pieces the test changes on purpose (None: all of them)."""
    marker = request.node.get_closest_marker("changes_session")
    if marker is None:
        return set()
    if not marker.args:
        return None
    return {piece for name in marker.args for piece in _GROUPS.get(name, (name,))}


@pytest.fixture(autouse=True)
def session_left_as_it_was(request: pytest.FixtureRequest,
                           _session_shell: InteractiveShell) -> Iterator[None]:
    """Fails the test that leaves the session's global state changed (random
    generators, torch's modes, streams, cwd, environment, builtins, matplotlib,
    the user namespace, ...).  ``@pytest.mark.changes_session("random", ...)``
    names what a test changes on purpose (seeding the generators itself, say)."""
    exempt = _exempt(request)
    if exempt is None:
        yield
        return
    before, modules = session_state(_session_shell), set(sys.modules)
    yield
    if set(sys.modules) - modules:
        exempt |= _IMPORT_TIME  # a library imported for the first time set them, not the test
    changed = [name for name in changed_state(before, session_state(_session_shell))
               if name not in exempt]
    if changed:
        pytest.fail(f"the test left the session changed: {', '.join(changed)}", pytrace=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "changes_session(*pieces): the test changes these pieces "
                                       "of the session's state on purpose ('random' for every "
                                       "generator; none named: all), so session_left_as_it_was "
                                       "does not check them")
