"""Keeping the session as it was around a student's body: torch's grad mode and
default dtype, matplotlib's settings and figures, and nothing printed by the
reference runs the check makes."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["MatplotlibState", "quiet", "torch_modes"]


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """What the stage's own code prints (a reference run) is not shown."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


@contextlib.contextmanager
def torch_modes(uses_torch: bool) -> Iterator[None]:
    """Restore torch's grad mode and default dtype, which a cell body may change."""
    if not uses_torch and "torch" not in sys.modules:
        yield
        return
    import torch

    grad, dtype = torch.is_grad_enabled(), torch.get_default_dtype()
    try:
        yield
    finally:
        torch.set_grad_enabled(grad)
        torch.set_default_dtype(dtype)


@dataclass(frozen=True)
class MatplotlibState:
    """rcParams and the open pyplot figures, to put back after a failed run."""

    rc: dict[str, Any]
    figures: frozenset[int]

    @classmethod
    def save(cls) -> MatplotlibState:
        import matplotlib

        figures: frozenset[int] = frozenset()
        if "matplotlib.pyplot" in sys.modules:
            figures = frozenset(sys.modules["matplotlib.pyplot"].get_fignums())
        rc: Any = matplotlib.rcParams
        return cls(dict(rc.copy()), figures)

    def restore(self) -> None:
        import matplotlib

        rc: Any = matplotlib.rcParams
        dict.update(rc, self.rc)  # as matplotlib's rc_context does, without re-validating
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            for number in pyplot.get_fignums():
                if number not in self.figures:
                    pyplot.close(number)
