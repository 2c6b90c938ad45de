"""The user's namespace (the notebook's variables) and the names IPython keeps there.

Light: imports only IPython's ``get_ipython``.
"""

from __future__ import annotations

from typing import Any

from IPython import get_ipython

__all__ = ["SHELL_NAMES", "user_namespace"]

#: Names IPython itself puts in the user namespace (its input and output history and
#: its own functions); names starting with ``_`` are IPython's too (``_``, ``_i3``).
SHELL_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit"})


def user_namespace() -> dict[str, Any] | None:
    """The running IPython's user namespace, or None outside IPython."""
    shell = get_ipython()
    return None if shell is None else shell.user_ns
