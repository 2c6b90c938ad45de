"""What a stage is: a named step of the ladder and its teaching code.

This docstring and ``docs/plugins.md`` are the plugin contract, version
:data:`CONTRACT_VERSION`.  A stage (built-in or plugin) is a :class:`Stage`
holding three ordinary functions, the book's three parts:

``data_preparation``
    turns the numpy data into what the stage trains on (tensors on the device).
``model_configuration``
    creates the parameters or the model, the optimizer and the loss function.
``model_training``
    the loop; it calls ``tracker.log(loss, ...)`` once per epoch, after the
    epoch's update, so the engine can record the loss and the parameter path
    without a host sync (the recording contract, below).

Each function takes, by name, what it needs from the run's namespace (``x_train``,
``y_train``, ``x_val``, ``y_val``, ``device``, ``lr``, ``n_epochs``, ``seed``,
``n_features``, ``n_hidden``, ``tracker`` and whatever an earlier function
returned) and returns a dict of the names it made.  After training, the stage's
result is read from the namespace: ``b`` and ``w`` for the stages before
``module``, ``model`` from ``module`` on (``returns``).

Recording (what ``model_training`` must call for its epochs to be recorded):
``tracker.log(loss, model)`` for a stage that returns a model, or
``tracker.log(loss, b=b, w=w)`` for one that returns ``b`` and ``w``, once per
epoch; ``loss`` is that epoch's loss (a tensor or a float).  Under
``--cuda-graph`` the loop runs one epoch per call (``n_epochs=1``) and the
epoch ends at ``tracker.log``: whatever an epoch carries to the next must live
in what ``model_configuration`` made (the parameters, the optimizer's state).

A plugin may declare the contract it was written for with
``Stage(..., contract_version=1)``; the registry refuses (with a warning) a stage
written for a contract this version of linreg_magic does not speak.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["CONTRACT_VERSION", "SUPPORTED_CONTRACTS", "Stage", "StepFunction", "call_step",
           "contract_problem"]

#: The plugin contract described above and in docs/plugins.md.  It changes (and this
#: number grows) when a stage written for the old one would no longer work.
CONTRACT_VERSION = 1
#: The contract versions a stage may declare and still load.
SUPPORTED_CONTRACTS = frozenset({1})

StepFunction = Callable[..., dict[str, Any]]

_NAME = re.compile(r"^[A-Za-z][\w-]*$")


def _nothing() -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Stage:
    """One stage of the ladder.

    ``order`` places it in the ladder (the built-ins use 10, 20, ... 80; a plugin
    picks a number between or after them).  ``uses_torch`` is False only for the
    numpy stage, which runs on the CPU.  ``returns`` says whether training leaves
    ``b`` and ``w`` (``"bw"``) or an ``nn.Module`` called ``model`` (``"model"``).
    ``multi_feature`` says whether the stage accepts ``--features`` above 1 and
    ``--hidden``.  ``contract_version``, if given, is the plugin contract the stage
    was written for (see :data:`CONTRACT_VERSION`).
    """

    name: str
    title: str
    summary: str
    model_training: StepFunction
    model_configuration: StepFunction = _nothing
    data_preparation: StepFunction = _nothing
    order: float = 1000.0
    uses_torch: bool = True
    returns: Literal["bw", "model"] = "model"
    multi_feature: bool = False
    graph_note: str = ""
    source_objects: tuple[Any, ...] = field(default=())
    contract_version: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"a stage's name is a word such as 'momentum' (it follows --stage), "
                             f"not {self.name!r}")
        if self.returns not in ("bw", "model"):
            raise ValueError(f"Stage(returns=...) is 'bw' or 'model', not {self.returns!r}")
        for step in self.steps():
            if not callable(step):
                raise TypeError(f"stage {self.name!r}: {step!r} is not a function")

    def steps(self) -> tuple[StepFunction, ...]:
        return (self.data_preparation, self.model_configuration, self.model_training)

    def source(self) -> str:
        """The teaching code as it runs: the stage's module, or its functions."""
        module = inspect.getmodule(self.model_training)
        if module is not None and getattr(module, "__file__", None) and module.__name__ != "__main__":
            return inspect.getsource(module)
        parts = []
        for obj in (*self.source_objects, *self.steps()):
            if obj is _nothing:
                continue
            try:
                parts.append(inspect.getsource(obj))
            except (OSError, TypeError):
                parts.append(f"# source of {getattr(obj, '__name__', obj)!s} is not available\n")
        return "\n\n".join(parts)


def contract_problem(stage: Stage) -> str:
    """Why ``stage`` cannot load under this contract ("" when it can)."""
    declared = stage.contract_version
    if declared is None or declared in SUPPORTED_CONTRACTS:
        return ""
    return (f"it was written for plugin contract {declared}, and this linreg_magic speaks "
            f"{', '.join(map(str, sorted(SUPPORTED_CONTRACTS)))} (see docs/plugins.md): "
            f"{'upgrade linreg_magic' if declared > CONTRACT_VERSION else 'upgrade the plugin'}")


def call_step(step: Callable[..., Any], ns: Mapping[str, Any]) -> dict[str, Any]:
    """Call a teaching function with the names it asks for from the namespace, and
    return the dict of names it made."""
    wanted = _parameter_names(step)
    missing = [name for name in wanted if name not in ns]
    if missing:
        raise TypeError(f"{step.__qualname__}() needs {', '.join(map(repr, missing))}, "
                        f"which no earlier step provides (known: {', '.join(sorted(ns))})")
    out = step(**{name: ns[name] for name in wanted})
    if out is None:
        return {}
    if not isinstance(out, Mapping):
        raise TypeError(f"{step.__qualname__}() must return a dict of the names it made, "
                        f"not {type(out).__name__}")
    return dict(out)


@functools.lru_cache(maxsize=256)
def _parameter_names(step: Callable[..., Any]) -> tuple[str, ...]:
    return tuple(
        name for name, p in inspect.signature(step).parameters.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    )
