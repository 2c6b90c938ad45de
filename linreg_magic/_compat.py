"""Imports that need care across versions."""

from __future__ import annotations

import warnings
from typing import Any


def make_dot(*args: Any, **kwargs: Any) -> Any:
    """torchviz's ``make_dot``.

    torchviz 0.0.3 imports ``distutils``, which Python 3.12 removed; setuptools
    (a dependency on 3.12+) provides it again, so make sure its shim is active.
    """
    try:
        from torchviz import make_dot as _make_dot
    except ModuleNotFoundError as exc:
        if exc.name != "distutils":
            raise
        import setuptools  # noqa: F401  (installs the distutils shim)
        from torchviz import make_dot as _make_dot
    with warnings.catch_warnings():
        # torchviz compares torch versions with distutils' deprecated LooseVersion
        warnings.filterwarnings("ignore", "distutils Version classes are deprecated",
                                DeprecationWarning)
        return _make_dot(*args, **kwargs)
