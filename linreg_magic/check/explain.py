"""An exception in the student's code, explained: what their code did to cause it,
on which line, and the change that fixes it.

The exception says what failed; the objects the body left (is ``b`` a leaf? does
it require grad?) and the lines that made them say why.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import fixes
from .reading import Source
from .running import Execution, StudentError
from .verdict import Edit, Finding, FindingKind, Severity

__all__ = ["explain_error"]

K = FindingKind
_DEVICE_MESSAGES = ("same device", "is not on the expected device", "Expected all tensors")


@dataclass(frozen=True)
class Failure:
    """The body's exception and what the rules look at: the message, the student's
    frames, what the body left, its source, and the names the stage reads."""

    exc: BaseException
    error: StudentError
    run: Execution
    source: Source
    names: tuple[str, ...]

    @property
    def message(self) -> str:
        return self.error.message

    def finding(self, kind: FindingKind, text: str, fix: str, line: int | None,
                edits: tuple[Edit, ...] = ()) -> list[Finding]:
        """The one mistake this failure is, quoting cell line ``line``."""
        return [Finding(kind, Severity.MISTAKE, text, fix, line, self.source.text(line).strip(), edits)]


def explain_error(run: Execution, source: Source, names: tuple[str, ...]) -> list[Finding]:
    """The findings behind the body's exception (the first one is the likeliest)."""
    exc, error = run.exception, run.error
    if exc is None or error is None:
        return []
    failure = Failure(exc, error, run, source, names)
    message = error.message
    for rule in _RULES:
        found = rule(failure)
        if found:
            return found
    where = f" at cell line {error.line}" if error.line else ""
    return [Finding(K.ERROR, Severity.MISTAKE, f"your code stopped with {error.kind}{where}: {message}",
                    "see the traceback above: the last line shown is where it stopped",
                    error.line, error.source)]


Rule = Callable[[Failure], list[Finding]]


def _in_place(f: Failure) -> list[Finding]:
    if "leaf Variable that requires grad is being used in an in-place operation" not in f.message:
        return []
    lines = [n.lineno for name in f.names for n in f.source.updates(name)
             if isinstance(n, ast.AugAssign) and not f.source.in_no_grad(n)]
    lines = sorted(set(lines)) or ([f.error.line] if f.error.line else [])
    return f.finding(K.IN_PLACE_LEAF, f"`{f.error.source}` updates a parameter in place outside "
                     "`with torch.no_grad():`, and autograd refuses to change a tensor it is tracking",
                     "put the update under `with torch.no_grad():` (or let optimizer.step() do it)",
                     f.error.line, fixes.wrap_no_grad(f.source, lines))


def _rebinding_lines(source: Source, names: tuple[str, ...]) -> list[tuple[str, ast.Assign]]:
    found = []
    for name in names:
        for node in source.updates(name):
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                    and isinstance(node.value, ast.BinOp):
                found.append((name, node))
    return found


def _rebinding(f: Failure) -> list[Finding]:
    grad_missing = "NoneType" in f.message and ("grad" in f.error.source or "zero_" in f.message)
    no_graph = "does not require grad and does not have a grad_fn" in f.message
    rebound = _rebinding_lines(f.source, f.names)
    if not rebound or not (grad_missing or no_graph or "can't optimize a non-leaf" in f.message):
        return []
    name, node = rebound[0]
    edits: list[Any] = []
    plain = [n for _, n in rebound if not f.source.in_no_grad(n)]
    for _, each in rebound:
        op = each.value.op if isinstance(each.value, ast.BinOp) else None
        sign = "-=" if isinstance(op, ast.Sub) else "+="
        right = f.source.segment(each.value.right) if isinstance(each.value, ast.BinOp) else ""
        target = each.targets[0].id if isinstance(each.targets[0], ast.Name) else name
        edits.extend(fixes.replace(f.source, each.lineno, f.source.segment(each), f"{target} {sign} {right}"))
    if plain:
        edits = [_nested(f.source, e, i == 0) for i, e in enumerate(edits)]
    what = ("a new tensor computed from the old one: a result of autograd, not a parameter, so "
            "its .grad stays None" if grad_missing else
            "a new tensor that does not require grad, so the next loss has no graph to go back through")
    return f.finding(K.REBINDING, f"`{f.source.text(node.lineno).strip()}` (cell line {node.lineno}) makes "
                     f"{name} {what}", f"update {name} in place: {name} -= ... under "
                     "`with torch.no_grad():`", node.lineno, tuple(edits))


def _nested(source: Source, edit: Edit, first: bool) -> Edit:
    indent = source.indent(edit.line)
    inner = indent + "    " + edit.new[0].strip()
    return Edit(edit.line, edit.old, ((indent + "with torch.no_grad():", inner) if first else (inner,)))


def _non_leaf(f: Failure) -> list[Finding]:
    final = f.run.final or {}
    copies = [n for n, v in final.items() if getattr(v, "requires_grad", False) and not v.is_leaf]
    grad_missing = "NoneType" in f.message and ("grad" in f.error.source or "zero_" in f.message)
    if not copies or not (grad_missing or "can't optimize a non-leaf" in f.message):
        return []
    made = [c for name in copies for n in f.source.assignments(name) for c in ast.walk(n)
            if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and c.func.attr in
            ("to", "double", "float", "cuda", "half")]
    call = made[0] if made else None
    edits: tuple[Any, ...] = ()
    for each in made:
        attr = each.func.attr if isinstance(each.func, ast.Attribute) else ""
        if attr == "to" and each.args:
            edits += fixes.add_keyword(f.source, each, "device", f.source.segment(each.args[0]))
        elif isinstance(each.func, ast.Attribute) and isinstance(each.func.value, ast.Call):
            inner = f.source.segment(each.func.value)
            edits += fixes.replace(f.source, each.lineno, f.source.segment(each), inner)
    line = call.lineno if call is not None else f.error.line
    what = " and ".join(copies) + (" is not a leaf tensor" if len(copies) == 1 else " are not leaf tensors")
    return f.finding(K.NON_LEAF, f"{what}, so .grad stays None: `{f.source.text(line).strip()}` makes a "
                     "copy of the tensor that requires grad, and autograd treats the copy as a result, "
                     "not a parameter", "create it where it is used: torch.randn(1, requires_grad=True, "
                     "dtype=torch.float, device=device)", line, edits)


def _second_backward(f: Failure) -> list[Finding]:
    if "backward through the graph a second time" not in f.message:
        return []
    calls = [c for c in f.source.calls("backward") if f.source.in_loop(c)]
    if len(calls) >= 2:
        second = calls[-1]
        return f.finding(K.SECOND_BACKWARD, f"loss.backward() is called twice in each epoch (cell lines "
                         f"{calls[0].lineno} and {second.lineno}); the first call frees the graph",
                         "call it once per epoch", second.lineno, fixes.delete(f.source, second.lineno))
    return f.finding(K.ERROR, "backward() went through a graph that an earlier backward() already "
                     "freed: the loss was computed once, outside the loop",
                     "compute yhat and the loss inside the loop, every epoch", f.error.line)


def _requires_no_grad(f: Failure) -> list[Finding]:
    if "does not require grad and does not have a grad_fn" not in f.message:
        return []
    final = f.run.final or {}
    plain = [n for n, v in final.items() if hasattr(v, "requires_grad") and not v.requires_grad]
    made = [c for name in plain for node in f.source.assignments(name) for c in [getattr(node, "value", None)]
            if isinstance(c, ast.Call) and _torch_tensor_call(c)
            and not any(k.arg == "requires_grad" for k in c.keywords)]
    edits = tuple(e for c in made for e in fixes.add_keyword(f.source, c, "requires_grad", "True"))
    line = made[0].lineno if made else f.error.line
    which = " and ".join(plain) or "the parameters"
    return f.finding(K.GRADIENT, f"loss.backward() has nothing to compute: {which} do not require "
                     "gradients, so the loss has no autograd graph", "create them with "
                     "requires_grad=True: torch.randn(1, requires_grad=True, dtype=torch.float, "
                     "device=device)", line, edits)


def _device(f: Failure) -> list[Finding]:
    if not any(m in f.message for m in _DEVICE_MESSAGES):
        return []
    return f.finding(K.DEVICE, f"`{f.error.source}` combines tensors on different devices",
                     "keep everything on `device`: x_train_tensor is there already; create parameters "
                     "with device=device and models with .to(device)", f.error.line)


def _no_return(f: Failure) -> list[Finding]:
    if not isinstance(f.exc, (TypeError, AttributeError)) or "NoneType" not in f.message:
        return []
    for forward in f.source.methods("forward"):
        if any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(forward)):
            continue
        last = forward.body[-1]
        edits = fixes.replace(f.source, last.lineno, f.source.text(last.lineno).strip(),
                              "return " + f.source.text(last.lineno).strip()) \
            if isinstance(last, ast.Expr) else ()
        return f.finding(K.FORWARD_RETURN, f"forward() (cell line {forward.lineno}) has no `return`, so "
                         "model(x) gives None and the loss cannot be computed",
                         "end forward with return ...", last.lineno, edits)
    return []


def _no_parameter(f: Failure) -> list[Finding]:
    if "empty parameter list" not in f.message:
        return []
    plain = [n for init in f.source.methods("__init__") for n in ast.walk(init) if isinstance(n, ast.Assign)
             and isinstance(n.targets[0], ast.Attribute) and _torch_tensor_call(n.value)]
    if not plain:
        return []
    edits = tuple(e for n in plain for e in fixes.wrap_parameter(f.source, n))
    attrs = ", ".join(f"self.{n.targets[0].attr}" for n in plain if isinstance(n.targets[0], ast.Attribute))
    return f.finding(K.NO_PARAMETER, f"the model has no parameters: {attrs} (cell line {plain[0].lineno}) "
                     "is a plain tensor attribute, which model.parameters() does not list",
                     "wrap it: self.b = nn.Parameter(torch.randn(...))", plain[0].lineno, edits)


def _torch_tensor_call(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
        node.func.attr in ("randn", "rand", "zeros", "ones", "tensor", "empty")


def _no_super(f: Failure) -> list[Finding]:
    if "before Module.__init__() call" not in f.message:
        return []
    for init in f.source.methods("__init__"):
        calls = [c for c in ast.walk(init) if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
                 and c.func.attr == "__init__"]
        if not calls:
            return f.finding(K.NO_SUPER_INIT, f"__init__ (cell line {init.lineno}) does not call "
                             "super().__init__(), so nn.Module cannot keep track of the layers and "
                             "parameters assigned to self", "call super().__init__() first in __init__",
                             init.lineno, fixes.insert_first(f.source, init, "super().__init__()"))
    return []


def _numpy_grad(f: Failure) -> list[Finding]:
    if "numpy() on Tensor that requires grad" not in f.message and "to numpy" not in f.message:
        return []
    new = ".detach().cpu().numpy()" if "to numpy" in f.message else ".detach().numpy()"
    old = ".cpu().numpy()" if ".cpu().numpy()" in f.error.source else ".numpy()"
    edits = fixes.replace(f.source, f.error.line, old, new)
    return f.finding(K.NUMPY_REQUIRES_GRAD, f"`{f.error.source}` turns a tensor that autograd tracks "
                     "(or one on a GPU) into a numpy array", f"detach it first: {new[1:]}", f.error.line,
                     edits)


def _numpy_data(f: Failure) -> list[Finding]:
    if "numpy.ndarray" not in f.message or "Tensor" not in f.message:
        return []
    edits = fixes.replace_all(f.source, f.error.line, fixes.TENSOR_NAMES, word=True)
    return f.finding(K.NUMPY_DATA, f"`{f.error.source}` mixes the numpy arrays x_train/y_train with "
                     "tensors", "use the tensors made from them: x_train_tensor and y_train_tensor",
                     f.error.line, edits)


def _name(f: Failure) -> list[Finding]:
    if not isinstance(f.exc, NameError):
        return []
    missing = getattr(f.exc, "name", None) or ""
    known = [n for n in f.run.scope if not n.startswith("__")]
    close = difflib.get_close_matches(missing, known, n=1, cutoff=0.6)
    edits = fixes.replace(f.source, f.error.line, missing, close[0], word=True) if close else ()
    fix = (f"did you mean {close[0]}?" if close else "your code runs in a fresh namespace: names from "
           "the notebook are not there, so define it in the cell (%linreg contract lists what is "
           "provided)")
    return f.finding(K.NAME, f"{f.message} (cell line {f.error.line})", fix, f.error.line, edits)


def _shape(f: Failure) -> list[Finding]:
    if "must match the size of tensor" not in f.message and "cannot be multiplied" not in f.message:
        return []
    widths = re.search(r"\((\d+)x(\d+) and (\d+)x(\d+)\)", f.message)
    edits: tuple[Any, ...] = ()
    fix = "keep every tensor of data shaped (N, 1), as x_train_tensor and y_train_tensor are"
    if widths and widths.group(2) != widths.group(3):
        features, takes = widths.group(2), widths.group(3)
        lines = f.source.lines_with(rf"Linear\(\s*{takes}\s*,")
        changes = {f"Linear({takes},": "Linear(n_features,", f"Linear({takes} ,": "Linear(n_features,"}
        edits = tuple(e for line in lines[:1] for e in fixes.replace_all(f.source, line, changes))
        fix = (f"the data have {features} features and the first layer takes {takes}: make it "
               "nn.Linear(n_features, ...)")
    return f.finding(K.SHAPE, f"`{f.error.source}` combines tensors whose shapes do not fit: {f.message}",
                     fix, f.error.line, edits)


_RULES: tuple[Rule, ...] = (_in_place, _second_backward, _no_return, _rebinding, _non_leaf,
                            _requires_no_grad, _device,
                            _no_parameter, _no_super, _numpy_grad, _numpy_data, _name, _shape)
