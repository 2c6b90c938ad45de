"""Shared fixtures: a real IPython shell with the extension loaded."""

from __future__ import annotations

import os
from collections.abc import Iterator

import matplotlib
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
