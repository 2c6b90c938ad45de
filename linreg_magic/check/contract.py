"""The contract of a cell body: what it is given and what it must leave behind.

A ``%%linreg`` cell body runs in a fresh namespace prepared as the stage's reference
has it just before its training code (the stage's ``data_preparation`` and
``model_configuration`` have run), with ``torch``, ``nn``, ``optim``, ``np``,
``make_dot`` and ``tracker`` there too.  Afterwards the stage reads the result the
stage's training leaves (``b`` and ``w``, or ``model``), and ``loss`` for the graph.
Nothing else is asked: every epoch of the body's training loop is recorded for it.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import types
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine import prepare_namespace, stage_parameters
from ..options import Options
from ..plan import Plan
from ..session import guarded
from ..stage import Stage, call_step
from ..tracker import Tracker
from ..views.student import drawn_make_dot
from .guard import quiet

__all__ = ["BODY_IMPORTS", "Contract", "body_imports", "contract", "describe_value", "result_names"]

#: What every cell body can use without importing it: name -> module.
BODY_IMPORTS = {"torch": "torch", "nn": "torch.nn", "optim": "torch.optim", "np": "numpy"}

RECORDED = ("every epoch of your training loop: its parameters at each iteration, whatever they "
            "are called inside it (no losses list or tracker.log needed)")


@dataclass(frozen=True)
class Contract:
    """What a stage's cell body is given and what it must leave behind."""

    stage: str
    title: str
    provided: tuple[tuple[str, str], ...]  # (name, what it is)
    reference_uses: tuple[str, ...]  # the names the reference's training code takes
    expected: tuple[tuple[str, str], ...]
    optional: tuple[tuple[str, str], ...]
    recorded: str = RECORDED


def contract(options: Options) -> Contract:
    """The contract of ``options.stage``, read from the stage's own steps: what its
    preparation and configuration make, what its training takes and returns."""
    plan = Plan.make(options)
    stage = plan.stage
    with guarded(device=plan.device, uses_torch=stage.uses_torch), quiet():
        ns = prepare_namespace(plan)
        given = {**body_imports(stage), **ns, **body_tools(stage, options.epochs)}
        provided = tuple((name, describe_value(name, given[name], options)) for name in given)
        tracker = Tracker(1)  # one epoch tells what the training code leaves behind
        tracker.start(stage_parameters(stage, ns))
        made = call_step(stage.model_training, {**ns, "n_epochs": 1, "tracker": tracker})
    uses = tuple(n for n in inspect.signature(stage.model_training).parameters if n != "tracker")
    required = result_names(stage)
    expected = tuple((name, _expected_text(stage, name)) for name in required)
    optional = [(name, _optional_text(name)) for name in made if name not in required]
    if "loss" not in made and stage.uses_torch:
        optional.append(("loss", _optional_text("loss")))
    return Contract(stage.name, stage.title, provided, uses, expected, tuple(optional))


def result_names(stage: Stage) -> tuple[str, ...]:
    """The names the stage reads after the training code."""
    return ("b", "w") if stage.returns == "bw" else ("model",)


def _expected_text(stage: Stage, name: str) -> str:
    if name == "model":
        return "the trained nn.Module (the model provided, or one you build)"
    what = "intercept" if name == "b" else "slope"
    kind = "tensor" if stage.uses_torch else "numpy array"
    return f"the learned {what}: a {kind} shaped like the {name} provided, after training"


def _optional_text(name: str) -> str:
    if name == "loss":
        return "the last epoch's loss tensor: its autograd graph is drawn (make_dot)"
    return "kept by the reference's training code"


def body_imports(stage: Stage) -> dict[str, Any]:
    """The modules a body can use without importing them."""
    wanted = BODY_IMPORTS if stage.uses_torch else {"np": "numpy"}
    return {name: importlib.import_module(module) for name, module in wanted.items()}


class BodyTracker:
    """``tracker`` in a cell body: a stage's loop pasted from the code view calls
    ``tracker.log(loss, ...)``; the body is recorded anyway, so this keeps only the
    last loss (for the graph view) and counts the calls."""

    def __init__(self, n_epochs: int) -> None:
        self.n_epochs = n_epochs
        self.epoch = 0
        self.last_loss: Any = None

    def log(self, loss: Any, model: Any = None, **params: Any) -> None:
        """Accepted as a stage's ``tracker.log``; the loop is recorded without it."""
        self.last_loss = loss
        self.epoch += 1


def body_tools(stage: Stage, epochs: int) -> dict[str, Any]:
    """``tracker`` (as the code view's loop uses it), for torch stages ``make_dot``, and
    the model classes the stage's code defines (``ManualLinearRegression``, ...)."""
    tools: dict[str, Any] = {"tracker": BodyTracker(epochs)}
    if stage.uses_torch:
        tools["make_dot"] = drawn_make_dot
    tools.update(stage_classes(stage))
    return tools


def stage_classes(stage: Stage) -> dict[str, type]:
    """The classes the stage's teaching code defines, by name (its model classes)."""
    module = inspect.getmodule(stage.model_training)
    found = [obj for obj in vars(module).values()
             if isinstance(obj, type) and obj.__module__ == module.__name__] if module is not None else []
    found += [obj for obj in stage.source_objects if isinstance(obj, type)]
    return {cls.__name__: cls for cls in found if cls.__name__ != "Stage"}


def describe_value(name: str, value: Any, options: Options) -> str:
    """A short description of one provided value (its type, shape, device)."""
    described = _describe_kind(name, value)
    if described is None and "torch" in sys.modules:
        described = _describe_torch(name, value)
    if described is not None:
        return described
    if name == "device":
        return f"{value!r} (the device chosen by --device {options.device})"
    if name == "n_hidden" and not value:
        return "0 (no hidden layer)"
    return repr(value)


def _describe_kind(name: str, value: Any) -> str | None:
    if isinstance(value, types.ModuleType):
        return f"import {value.__name__}" + (f" as {name}" if name != value.__name__ else "")
    if isinstance(value, np.ndarray):
        return f"numpy {value.dtype} array of shape {tuple(value.shape)}"
    if isinstance(value, BodyTracker):
        return "tracker.log(loss, ...) as in the code view: accepted, not needed"
    if name == "make_dot":
        return "torchviz's make_dot: make_dot(loss) draws a tensor's autograd graph"
    if isinstance(value, type):
        return f"class {value.__name__}, as the stage's code defines it"
    return None


def _describe_torch(name: str, value: Any) -> str | None:
    import torch

    if isinstance(value, torch.Tensor):
        grad = ", requires_grad=True" if value.requires_grad else ""
        return (f"tensor {str(value.dtype).replace('torch.', '')} of shape "
                f"{tuple(value.shape)} on the device{grad}")
    if isinstance(value, torch.nn.Module) and not list(value.children()) and name == "loss_fn":
        return f"{value!r}"
    if isinstance(value, torch.nn.Module):
        n = sum(p.numel() for p in value.parameters())
        return f"{type(value).__name__} (nn.Module, {n} parameters) on the device"
    if isinstance(value, torch.optim.Optimizer):
        return (f"{type(value).__name__} optimizer over the parameters above, "
                f"lr={value.param_groups[0]['lr']:g}")
    return None
