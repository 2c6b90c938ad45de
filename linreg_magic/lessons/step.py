"""Lesson ``step``: epoch 1 of a stage's own training code, every line with its numbers.

The stage's ``data_preparation`` and ``model_configuration`` run as in any run;
then its ``model_training`` runs for one epoch under a line tracer that notes,
after each line, which values it changed: the prediction, the error, the loss,
the gradients (the hand formulas' ``b_grad`` in numpy, what ``backward()`` put in
``.grad`` in torch) and the updated parameters.  Nothing is recomputed for the
view: these are the values the stage's code made.  For torch stages with one
``b`` and one ``w``, the hand formulas at the same start are shown beside them.
"""

from __future__ import annotations

import inspect
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Any

import numpy as np

from ..engine import affine_path, prepare_namespace, stage_parameters
from ..plan import Plan
from ..printed import capture_prints
from ..result import Result
from ..session import preserved_random_state
from ..stage import call_step
from ..tracker import Tracker
from ..views.code_lines import SourceLine, source_lines

__all__ = ["FirstStep", "StepLine", "first_step", "first_step_of", "shown_value"]

#: Tensors and arrays with more values than this are summarised (shape and first values).
SHOWN_IN_FULL = 4


@dataclass(frozen=True)
class StepLine:
    """A line of ``model_training`` with what epoch 1 did there: the values it changed
    (name, value as shown), what it printed, and how many times it ran."""

    line: SourceLine
    changes: tuple[tuple[str, str], ...] = ()
    printed: str = ""
    runs: int = 0


@dataclass(frozen=True)
class FirstStep:
    """Epoch 1 of one stage, traced."""

    stage: str
    device: str
    lr: float
    where: str
    start: tuple[tuple[str, str], ...]
    lines: tuple[StepLine, ...]
    loss: float
    hand: tuple[tuple[str, str], ...]

    def changed(self, name: str) -> list[str]:
        """Every value ``name`` took during the epoch, in order."""
        return [value for line in self.lines for key, value in line.changes if key == name]


def _number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}" if value == 0 or 1e-4 <= abs(value) < 1e6 else f"{value:.4g}"


def shown_value(value: Any) -> str | None:
    """A value as the step view shows it (None: not a value to show)."""
    if value is None:
        return "None"
    if isinstance(value, bool | int | float | np.floating | np.integer):
        return str(value)
    if isinstance(value, np.ndarray):
        if value.size <= SHOWN_IN_FULL:
            return repr(value)
        first = ", ".join(_number(float(v), 8) for v in value.ravel()[:3])
        return f"array of shape {value.shape}: [{first}, …]"
    if type(value).__module__.startswith("torch") and hasattr(value, "numel"):
        return _tensor_text(value)
    return None


def _tensor_text(value: Any) -> str:
    if value.numel() <= SHOWN_IN_FULL:
        return repr(value)
    first = ", ".join(_number(float(v), 4) for v in value.detach().reshape(-1)[:3].cpu())
    extras = [f"device='{value.device}'"] if value.device.type != "cpu" else []
    if value.grad_fn is not None:
        extras.append(f"grad_fn=<{type(value.grad_fn).__name__}>")
    return f"tensor of shape {tuple(value.shape)}: [{first}, …]" + "".join(f", {e}" for e in extras)


def _start_value(value: Any) -> str:
    """A parameter before the epoch: an nn.Parameter's numbers (not "Parameter containing:")."""
    if type(value).__name__ == "Parameter":
        value = value.detach()
    return shown_value(value) or repr(value)


def _snapshot(local_vars: Mapping[str, Any]) -> dict[str, str]:
    """What the view can show of a frame's locals: values, a model's parameters and
    every leaf tensor's ``.grad`` (a non-leaf's is never looked at: PyTorch warns)."""
    out: dict[str, str] = {}
    for name, value in local_vars.items():
        if name == "tracker":
            continue
        if hasattr(value, "named_parameters") and callable(value.named_parameters):
            for pname, param in value.named_parameters():
                out[f"{name}.{pname}"] = _tensor_text(param.detach())
                out[f"{name}.{pname}.grad"] = "None" if param.grad is None else _tensor_text(param.grad)
            continue
        shown = shown_value(value)
        if shown is None:
            continue
        out[name] = shown
        if getattr(value, "requires_grad", False) and getattr(value, "is_leaf", False):
            out[f"{name}.grad"] = "None" if value.grad is None else _tensor_text(value.grad)
    return out


class _LineTracer:
    """``sys.settrace`` for one function: after each line, which values changed."""

    def __init__(self, code: Any, printed: Any) -> None:
        self.code = code
        self.printed = printed
        self.changes: dict[int, dict[str, str]] = {}
        self.output: dict[int, str] = {}
        self.runs: dict[int, int] = {}
        self._line: int | None = None
        self._before: dict[str, str] = {}
        self._written = 0

    def calls(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "call" and frame.f_code is self.code:
            self._before = _snapshot(frame.f_locals)
            return self.lines
        return None

    def lines(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event not in ("line", "return"):
            return self.lines
        now = _snapshot(frame.f_locals)
        text = self.printed.text
        if self._line is not None:
            changed = {k: v for k, v in now.items() if self._before.get(k) != v}
            self.changes.setdefault(self._line, {}).update(changed)
            if len(text) > self._written:
                self.output[self._line] = self.output.get(self._line, "") + text[self._written:]
        self._written = len(text)
        self._before = now
        if event == "line":
            self._line = frame.f_lineno
            self.runs[frame.f_lineno] = self.runs.get(frame.f_lineno, 0) + 1
        return self.lines


def _function_lines(step: Any) -> tuple[tuple[SourceLine, ...], str]:
    lines, start = inspect.getsourcelines(step)
    classified = source_lines(textwrap.dedent("".join(lines)))  # the kinds; the text as in the file
    shifted = tuple(SourceLine(line.number + start - 1, lines[line.number - 1].rstrip("\n"), line.kind,
                               line.scope) for line in classified)
    return shifted, inspect.getsourcefile(step) or "<stage>"


def _hand_formulas(plan: Plan, ns: Mapping[str, Any], tracker: Tracker) -> tuple[tuple[str, str], ...]:
    """The numpy stage's formulas at the stage's own start, for one-feature torch stages."""
    data = plan.data
    if not plan.stage.uses_torch or data.n_features != 1 or plan.options.hidden:
        return ()
    rec = tracker.snapshot()
    intercepts, coefs = affine_path(plan.stage, ns, rec, 1)
    b, w, lr = float(intercepts[0]), float(coefs[0, 0]), plan.options.lr
    x, y = data.x_train, data.y_train
    error = b + w * x - y
    b_grad, w_grad = 2 * error.mean(), 2 * (x * error).mean()
    return (("loss = (error ** 2).mean()", _number(float((error ** 2).mean()), 4)),
            ("b_grad = 2 * error.mean()", _number(float(b_grad), 4)),
            ("w_grad = 2 * (x_train * error).mean()", _number(float(w_grad), 4)),
            ("b - lr * b_grad", _number(b - lr * float(b_grad), 4)),
            ("w - lr * w_grad", _number(w - lr * float(w_grad), 4)))


def first_step(plan: Plan) -> FirstStep:
    """Run epoch 1 of the plan's stage under the line tracer."""
    stage = plan.stage
    step = stage.model_training
    lines, where = _function_lines(step)
    with preserved_random_state(stage.uses_torch, plan.device), capture_prints() as printed:
        ns = prepare_namespace(plan)
        params = stage_parameters(stage, ns)
        start = tuple((name, _start_value(value)) for name, value in params.items())
        tracker = Tracker(1)
        tracker.start(params)
        ns.update(tracker=tracker, n_epochs=1)
        tracer = _LineTracer(step.__code__, printed)
        previous = sys.gettrace()
        sys.settrace(tracer.calls)
        try:
            call_step(step, ns)
        finally:
            sys.settrace(previous)
        hand = _hand_formulas(plan, ns, tracker)
    traced = tuple(StepLine(line, tuple(tracer.changes.get(line.number, {}).items()),
                            tracer.output.get(line.number, ""), tracer.runs.get(line.number, 0))
                   for line in lines)
    loss = tracker.snapshot().losses
    return FirstStep(stage.name, plan.device, plan.options.lr, where, start, traced,
                     float(loss[0]) if len(loss) else float("nan"), hand)


def first_step_of(result: Result) -> FirstStep:
    """Epoch 1 of the run behind ``result`` (its stage, options, device and data), traced:
    the step view of a finished run."""
    return first_step(Plan.make(result.options.replace(device=result.device), result.data))
