"""linreg_magic: the linear-regression lesson as an IPython magic.

``%load_ext linreg_magic`` adds ``%%linreg`` / ``%linreg``.  Importing this
package, or loading the extension, imports neither torch nor matplotlib: the
engine and the views load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "LinregWidget",
    "Options",
    "Result",
    "Stage",
    "__version__",
    "available_stages",
    "get_stage",
    "ladder",
    "load_ipython_extension",
    "register_stage",
    "run",
    "unload_ipython_extension",
    "unregister_stage",
]

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from .engine import run
    from .options import Options
    from .registry import available_stages, get_stage, ladder, register_stage, unregister_stage
    from .result import Result
    from .stage import Stage
    from .widgets import LinregWidget

_LAZY = {
    "LinregWidget": "widgets",
    "run": "engine",
    "Options": "options",
    "Result": "result",
    "Stage": "stage",
    "available_stages": "registry",
    "get_stage": "registry",
    "ladder": "registry",
    "register_stage": "registry",
    "unregister_stage": "registry",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'linreg_magic' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """``%load_ext linreg_magic``: register the ``%linreg`` / ``%%linreg`` magics."""
    from .magic import LinregMagics

    ipython.register_magics(LinregMagics)


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """``%unload_ext linreg_magic``: remove exactly what loading added."""
    from .magic import LinregMagics

    manager = ipython.magics_manager
    for kind in ("line", "cell"):
        manager.magics[kind].pop("linreg", None)
    manager.registry.pop(LinregMagics.__name__, None)
