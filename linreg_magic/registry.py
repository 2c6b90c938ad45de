"""Where stages come from: one table of built-ins, the ``linreg_magic.stages``
entry points, and stages registered from a notebook, merged in one place.

The built-ins are declared as entry points in ``pyproject.toml`` too, so they go
through the same door as a third-party plugin; the table below keeps a source
checkout working when the package metadata is not installed.  Names are known
without importing anything heavy; a stage's module (which imports torch) is
imported only when the stage is asked for.
"""

from __future__ import annotations

import functools
import importlib
import warnings
from collections.abc import Callable
from importlib.metadata import entry_points
from types import MappingProxyType

from .errors import usage_error
from .stage import Stage, contract_problem

__all__ = ["BUILTIN_STAGES", "ENTRY_POINT_GROUP", "available_stages", "get_stage", "ladder",
           "previous_stage", "refresh", "register_stage", "unregister_stage"]

ENTRY_POINT_GROUP = "linreg_magic.stages"

#: The built-in ladder, in order: name -> "module:attribute".
BUILTIN_STAGES = MappingProxyType({
    "numpy": "linreg_magic.stages.numpy_gd:STAGE",
    "tensors": "linreg_magic.stages.tensors:STAGE",
    "autograd": "linreg_magic.stages.autograd:STAGE",
    "optimizer": "linreg_magic.stages.optimizer:STAGE",
    "loss": "linreg_magic.stages.loss:STAGE",
    "module": "linreg_magic.stages.module:STAGE",
    "nested": "linreg_magic.stages.nested:STAGE",
    "sequential": "linreg_magic.stages.sequential:STAGE",
})

_registered: dict[str, Stage] = {}


def _load_target(target: str) -> object:
    module_name, _, attr = target.partition(":")
    obj: object = importlib.import_module(module_name)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


@functools.lru_cache(maxsize=1)
def _sources() -> dict[str, Callable[[], object]]:
    """Every known stage name and how to load it, built-ins first (cached)."""
    found: dict[str, Callable[[], object]] = {
        name: functools.partial(_load_target, target) for name, target in BUILTIN_STAGES.items()
    }
    plugins = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
    for ep in plugins:
        if ep.name in BUILTIN_STAGES and ep.value == BUILTIN_STAGES[ep.name]:
            continue  # the built-in, declared through the same group
        if ep.name in BUILTIN_STAGES:
            warnings.warn(f"linreg_magic: plugin stage {ep.name!r} ({ep.value}) is ignored: "
                          "a built-in stage has that name", stacklevel=2)
            continue
        found[ep.name] = ep.load
    return found


def available_stages() -> list[str]:
    """Names of every stage: the ladder's built-ins in order, then plugins, then
    stages registered in this session. Imports no stage."""
    names = list(_sources())
    names += [name for name in _registered if name not in names]
    return names


def _load(name: str) -> Stage | None:
    if name in _registered:
        return _registered[name]
    loader = _sources().get(name)
    if loader is None:
        return None
    try:
        stage = loader()
    except Exception as exc:  # a broken plugin must not take the others down
        warnings.warn(f"linreg_magic: stage {name!r} failed to load: {type(exc).__name__}: {exc}",
                      stacklevel=3)
        return None
    if not isinstance(stage, Stage):
        warnings.warn(f"linreg_magic: entry point {name!r} is not a linreg_magic.Stage", stacklevel=3)
        return None
    problem = contract_problem(stage)
    if problem:
        warnings.warn(f"linreg_magic: stage {name!r} is not loaded: {problem}", stacklevel=3)
        return None
    return stage


@functools.cache
def _load_cached(name: str) -> Stage | None:
    return _load(name)


def get_stage(name: str) -> Stage:
    """The stage called ``name``; a one-line UsageError if there is none."""
    stage = _registered.get(name) or _load_cached(name)
    if stage is None:
        names = available_stages()
        if name in names:
            raise usage_error(f"Stage {name!r} could not be loaded (see the warning above)",
                              "working stages are " + ", ".join(n for n in names if n != name),
                              "Reinstall the package that provides it, or pick another --stage")
        raise usage_error(f"Unknown stage {name!r}", "valid stages are " + ", ".join(names),
                          "See %linreg list")
    return stage


def ladder() -> list[Stage]:
    """Every stage that loads, in ladder order."""
    stages = []
    for name in available_stages():
        stage = _registered.get(name) or _load_cached(name)
        if stage is not None:
            stages.append(stage)
    return sorted(stages, key=lambda s: s.order)


def previous_stage(name: str) -> Stage | None:
    """The stage before ``name`` in the ladder, or None for the first."""
    stages = ladder()
    names = [s.name for s in stages]
    index = names.index(name) if name in names else -1
    return stages[index - 1] if index > 0 else None


def register_stage(stage: Stage, *, replace: bool = False) -> Stage:
    """Add a stage defined in a notebook (or anywhere) to the ladder.

    Registering a name that exists raises ``ValueError`` unless ``replace=True``
    (which may replace an earlier registered stage, never a built-in).
    """
    if not isinstance(stage, Stage):
        raise TypeError(f"register_stage() takes a linreg_magic.Stage, not {type(stage).__name__}")
    if stage.name in BUILTIN_STAGES:
        raise ValueError(f"{stage.name!r} is a built-in stage; pick another name")
    problem = contract_problem(stage)
    if problem:
        raise ValueError(f"stage {stage.name!r} cannot be registered: {problem}")
    exists = stage.name in _registered or stage.name in _sources()
    if exists and not (replace and stage.name in _registered):
        raise ValueError(f"a stage called {stage.name!r} exists; pass replace=True to replace it")
    _registered[stage.name] = stage
    return stage


def unregister_stage(name: str) -> None:
    """Remove a stage added with :func:`register_stage`."""
    _registered.pop(name, None)


def refresh() -> None:
    """Look at the installed entry points again (after ``pip install`` of a plugin
    in a running kernel)."""
    _sources.cache_clear()
    _load_cached.cache_clear()
