"""Notes and hints: right numbers reached another way than the stage teaches, and
things worth knowing that do not change the numbers here."""

from __future__ import annotations

import ast
import inspect
from typing import Any

import numpy as np

from . import fixes
from .evidence import GRAPH_LIMIT, Evidence
from .verdict import Finding, FindingKind

__all__ = ["hints", "stage_notes"]

K = FindingKind


def stage_notes(ev: Evidence) -> list[Finding]:
    """Right numbers, reached another way than the stage teaches or with a model that is
    not a line (notes: the level is at best "correct, with a note")."""
    found = _taught(ev)
    if ev.graph_nodes > GRAPH_LIMIT:
        found.append(_graph_grows(ev))
    if ev.not_linear:
        found.append(ev.note(K.NOT_LINEAR, "your model is not a linear function of x "
                                f"(its predictions are up to {ev.not_linear:.2g} away from any straight "
                                "line, relative to y): this lesson fits a line, and the reference's layers "
                                "are all linear", "use only nn.Linear layers, with nothing between them",
                                None))
    if ev.run.ops.numpy_operands and ev.plan.stage.uses_torch:
        line = ev.run.ops.numpy_operands[0]
        edits = fixes.replace_all(ev.source, line, fixes.TENSOR_NAMES, word=True)
        found.append(ev.note(K.NUMPY_DATA, f"cell line {line} computes with the numpy "
                                "array x_train (or y_train): torch copies it into a float64 tensor on the "
                                "CPU every time, and on a GPU it fails", "use x_train_tensor and "
                                "y_train_tensor, the tensors on the device", line, edits))
    return found


def _taught(ev: Evidence) -> list[Finding]:
    """What the stage's own code uses and the student's does not."""
    theirs, mine = ev.stage_features, ev.features
    found: list[Finding] = []
    if theirs.tensors and not mine.tensors:
        found.append(ev.note(K.STAGE, "your code computes with numpy arrays; this stage "
                                "is about torch tensors on the device", "use the tensors provided: "
                                "x_train_tensor, y_train_tensor, and b and w as tensors", None))
    elif theirs.backward and not mine.backward:
        line = _first(ev, r"\w*grad\w*\s*=(?!=)")
        found.append(ev.note(K.STAGE, "your code writes the gradients by hand"
                                + _on(line) + "; this stage is about loss.backward(), which computes them "
                                "for you", "call loss.backward() and use b.grad and w.grad", line))
    if theirs.optimizer and not mine.optimizer and mine.tensors:
        line = _update_line(ev)
        found.append(ev.note(K.STAGE, "your code updates the parameters by hand"
                                + _on(line) + "; this stage is about optimizer.step() and "
                                "optimizer.zero_grad()", "let the optimizer provided update them: "
                                "optimizer.step(), then optimizer.zero_grad()", line))
    if theirs.loss_function and not mine.loss_function and mine.tensors:
        line = _first(ev, r"\*\*\s*2|\.pow\(2\)")
        found.append(ev.note(K.STAGE, "your code computes the mean squared error by hand"
                                + _on(line) + "; this stage is about nn.MSELoss", "use the loss function "
                                "provided: loss = loss_fn(yhat, y_train_tensor)", line))
    return found


def _on(line: int | None) -> str:
    return f" (cell line {line})" if line else ""


def _first(ev: Evidence, pattern: str) -> int | None:
    lines = [n for n in ev.source.lines_with(pattern) if _in_loop(ev, n)]
    return lines[0] if lines else None


def _in_loop(ev: Evidence, line: int) -> bool:
    node = ev.source.statement(line)
    return node is not None and ev.source.in_loop(node)


def _update_line(ev: Evidence) -> int | None:
    names = ("b", "w") if ev.plan.stage.returns == "bw" else ()
    lines = [n.lineno for name in names for n in ev.source.updates(name)]
    return min(lines) if lines else _first(ev, r"\.data\s*[-+]?=|-=")


def _graph_grows(ev: Evidence) -> Finding:
    names = ("b", "w") if ev.plan.stage.returns == "bw" else ()
    updates = sorted({n.lineno for name in names for n in ev.source.updates(name)
                      if not ev.source.in_no_grad(n)})
    edits = fixes.wrap_no_grad(ev.source, updates) if _consecutive(updates) else ()
    return ev.note(K.GRAPH_GROWS, "your parameters require gradients, so every update "
                      "becomes part of autograd's graph: by the last epoch the loss's graph reaches back "
                      "through every epoch (memory and time grow with the epochs)",
                      "update them under `with torch.no_grad():` (in the tensors stage, create them "
                      "without requires_grad=True)", updates[0] if updates else None, edits)


def _consecutive(lines: list[int]) -> bool:
    return bool(lines) and lines == list(range(lines[0], lines[0] + len(lines)))


def hints(ev: Evidence) -> list[Finding]:
    """Worth knowing, whatever the level."""
    found = _forward_calls(ev) + _to_device(ev) + _modes(ev) + _start(ev)
    losses = ev.run.scope.get("losses")
    if isinstance(losses, list) and losses and getattr(losses[-1], "grad_fn", None) is not None:
        found.append(ev.hint(K.LOSSES_GRAPH, "`losses` holds each epoch's loss tensor "
                                "with its whole graph", "append loss.item() to keep only the number",
                                None))
    for warning in ev.run.warnings:
        if not warning.startswith("__array_wrap__"):
            found.append(ev.hint(K.WARNING, f"warning from your code: {warning}", "",
                                    None))
    return found


def _forward_calls(ev: Evidence) -> list[Finding]:
    lines = [c.lineno for c in ev.source.calls("forward")
             if not (isinstance(c.func, ast.Attribute) and isinstance(c.func.value, ast.Call))]
    if not lines:
        return []
    edits = tuple(e for line in lines for e in fixes.replace(ev.source, line, ".forward(", "("))
    return [ev.hint(K.FORWARD_CALL, f"cell line {', '.join(map(str, lines))} calls "
                       ".forward(x)", "call model(x) instead: calling the module runs PyTorch's hooks "
                       "around forward; .forward(x) skips them", lines[0], edits)]


def _to_device(ev: Evidence) -> list[Finding]:
    found = []
    for call in ev.source.calls("to"):
        inner = call.func.value if isinstance(call.func, ast.Attribute) else None
        if isinstance(inner, ast.Call) and any(k.arg == "requires_grad" for k in inner.keywords) \
                and call.args:
            edits = fixes.add_keyword(ev.source, call, "device", ev.source.segment(call.args[0]))
            found.append(ev.hint(K.TO_DEVICE, f"cell line {call.lineno}: .to(device) "
                                    "after requires_grad=True works on the CPU only because .to('cpu') "
                                    "returns the same tensor; on a GPU it makes a copy whose .grad stays "
                                    "None", "pass device=device to torch.randn instead", call.lineno,
                                    edits))
            break
    return found


def _modes(ev: Evidence) -> list[Finding]:
    model: Any = ev.run.scope.get("model")
    if ev.plan.stage.returns != "model" or not hasattr(model, "training"):
        return []
    if not model.training:
        line = next((c.lineno for c in ev.source.calls("eval")), None)
        return [ev.hint(K.EVAL_MODE, "your model was in evaluation mode (model.eval()) "
                           "while it trained: for these layers it makes no difference, but dropout and "
                           "batch norm behave differently", "call model.train() at the start of every "
                           "epoch", line)]
    try:
        teaches = ".train()" in inspect.getsource(ev.plan.stage.model_training)
    except (OSError, TypeError):
        teaches = False
    if teaches and ev.loops and not ev.source.calls("train"):
        return [ev.hint(K.TRAIN_MODE, "your loop never calls model.train(): it makes no "
                           "difference for these layers, but the book's loop starts every epoch with it",
                           "call model.train() at the start of every epoch", None)]
    return []


def _start(ev: Evidence) -> list[Finding]:
    traj, student = ev.trajectory, ev.student
    reference = ev.reference.result
    if traj is None or student is None or not len(reference.intercept_path):
        return []
    mine = np.array([student.intercept_path[0], *np.ravel(student.coef_path[0])])
    theirs = np.array([reference.intercept_path[0], *np.ravel(reference.coef_path[0])])
    if mine.shape == theirs.shape and np.allclose(mine, theirs, rtol=1e-6, atol=1e-7):
        return []
    return [ev.hint(K.START, "your code starts from other parameters than the stage's "
                       f"(b={mine[0]:.4g}, w={_vector(mine[1:])} against b={theirs[0]:.4g}, "
                       f"w={_vector(theirs[1:])}); it is compared with gradient descent from its own start",
                       "", None)]


def _vector(values: np.ndarray) -> str:
    return f"{values[0]:.4g}" if values.size == 1 else "[" + ", ".join(f"{v:.3g}" for v in values[:3]) + \
        (", …]" if values.size > 3 else "]")
