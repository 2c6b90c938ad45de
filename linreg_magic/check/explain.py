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
from typing import Any

from . import fixes
from .reading import Source
from .running import Execution, StudentError
from .verdict import Finding, FindingKind, Severity

__all__ = ["explain_error"]

K = FindingKind
_DEVICE_MESSAGES = ("same device", "is not on the expected device", "Expected all tensors")


def explain_error(run: Execution, source: Source, names: tuple[str, ...]) -> list[Finding]:
    """The findings behind the body's exception (the first one is the likeliest)."""
    exc, error = run.exception, run.error
    if exc is None or error is None:
        return []
    message = error.message
    for rule in _RULES:
        found = rule(exc, message, error, run, source, names)
        if found:
            return found
    where = f" at cell line {error.line}" if error.line else ""
    return [Finding(K.ERROR, Severity.MISTAKE, f"your code stopped with {error.kind}{where}: {message}",
                    "see the traceback above: the last line shown is where it stopped",
                    error.line, error.source)]


def _finding(kind: FindingKind, text: str, fix: str, line: int | None, source: Source,
             edits: tuple[Any, ...] = ()) -> list[Finding]:
    return [Finding(kind, Severity.MISTAKE, text, fix, line, source.text(line).strip(), tuple(edits))]


Rule = Callable[[BaseException, str, StudentError, Execution, Source, tuple[str, ...]], list[Finding]]


def _in_place(exc: BaseException, message: str, error: StudentError, run: Execution, source: Source,
              names: tuple[str, ...]) -> list[Finding]:
    if "leaf Variable that requires grad is being used in an in-place operation" not in message:
        return []
    lines = [n.lineno for name in names for n in source.updates(name)
             if isinstance(n, ast.AugAssign) and not source.in_no_grad(n)]
    lines = sorted(set(lines)) or ([error.line] if error.line else [])
    return _finding(K.IN_PLACE_LEAF, f"`{error.source}` updates a parameter in place outside "
                    "`with torch.no_grad():`, and autograd refuses to change a tensor it is tracking",
                    "put the update under `with torch.no_grad():` (or let optimizer.step() do it)",
                    error.line, source, fixes.wrap_no_grad(source, lines))


def _rebinding_lines(source: Source, names: tuple[str, ...]) -> list[tuple[str, ast.Assign]]:
    found = []
    for name in names:
        for node in source.updates(name):
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                    and isinstance(node.value, ast.BinOp):
                found.append((name, node))
    return found


def _rebinding(exc: BaseException, message: str, error: StudentError, run: Execution, source: Source,
               names: tuple[str, ...]) -> list[Finding]:
    grad_missing = "NoneType" in message and ("grad" in error.source or "zero_" in message)
    no_graph = "does not require grad and does not have a grad_fn" in message
    rebound = _rebinding_lines(source, names)
    if not rebound or not (grad_missing or no_graph or "can't optimize a non-leaf" in message):
        return []
    name, node = rebound[0]
    edits: list[Any] = []
    plain = [n for _, n in rebound if not source.in_no_grad(n)]
    for _, each in rebound:
        op = each.value.op if isinstance(each.value, ast.BinOp) else None
        sign = "-=" if isinstance(op, ast.Sub) else "+="
        right = source.segment(each.value.right) if isinstance(each.value, ast.BinOp) else ""
        target = each.targets[0].id if isinstance(each.targets[0], ast.Name) else name
        edits.extend(fixes.replace(source, each.lineno, source.segment(each), f"{target} {sign} {right}"))
    if plain:
        edits = [_nested(source, e, i == 0) for i, e in enumerate(edits)]
    what = ("a new tensor computed from the old one: a result of autograd, not a parameter, so "
            "its .grad stays None" if grad_missing else
            "a new tensor that does not require grad, so the next loss has no graph to go back through")
    return _finding(K.REBINDING, f"`{source.text(node.lineno).strip()}` (cell line {node.lineno}) makes "
                    f"{name} {what}", f"update {name} in place: {name} -= ... under "
                    "`with torch.no_grad():`", node.lineno, source, tuple(edits))


def _nested(source: Source, edit: Any, first: bool) -> Any:
    from .verdict import Edit

    indent = source.indent(edit.line)
    inner = indent + "    " + edit.new[0].strip()
    return Edit(edit.line, edit.old, ((indent + "with torch.no_grad():", inner) if first else (inner,)))


def _non_leaf(exc: BaseException, message: str, error: StudentError, run: Execution, source: Source,
              names: tuple[str, ...]) -> list[Finding]:
    final = run.final or {}
    copies = [n for n, v in final.items() if getattr(v, "requires_grad", False) and not v.is_leaf]
    grad_missing = "NoneType" in message and ("grad" in error.source or "zero_" in message)
    if not copies or not (grad_missing or "can't optimize a non-leaf" in message):
        return []
    made = [c for name in copies for n in source.assignments(name) for c in ast.walk(n)
            if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and c.func.attr in
            ("to", "double", "float", "cuda", "half")]
    call = made[0] if made else None
    edits: tuple[Any, ...] = ()
    for each in made:
        attr = each.func.attr if isinstance(each.func, ast.Attribute) else ""
        if attr == "to" and each.args:
            edits += fixes.add_keyword(source, each, "device", source.segment(each.args[0]))
        elif isinstance(each.func, ast.Attribute) and isinstance(each.func.value, ast.Call):
            edits += fixes.replace(source, each.lineno, source.segment(each), source.segment(each.func.value))
    line = call.lineno if call is not None else error.line
    what = " and ".join(copies) + (" is not a leaf tensor" if len(copies) == 1 else " are not leaf tensors")
    return _finding(K.NON_LEAF, f"{what}, so .grad stays None: `{source.text(line).strip()}` makes a "
                    "copy of the tensor that requires grad, and autograd treats the copy as a result, "
                    "not a parameter", "create it where it is used: torch.randn(1, requires_grad=True, "
                    "dtype=torch.float, device=device)", line, source, edits)


def _second_backward(exc: BaseException, message: str, error: StudentError, run: Execution,
                     source: Source, names: tuple[str, ...]) -> list[Finding]:
    if "backward through the graph a second time" not in message:
        return []
    calls = [c for c in source.calls("backward") if source.in_loop(c)]
    if len(calls) >= 2:
        second = calls[-1]
        return _finding(K.SECOND_BACKWARD, f"loss.backward() is called twice in each epoch (cell lines "
                        f"{calls[0].lineno} and {second.lineno}); the first call frees the graph",
                        "call it once per epoch", second.lineno, source, fixes.delete(source, second.lineno))
    return _finding(K.ERROR, "backward() went through a graph that an earlier backward() already "
                    "freed: the loss was computed once, outside the loop",
                    "compute yhat and the loss inside the loop, every epoch", error.line, source)


def _requires_no_grad(exc: BaseException, message: str, error: StudentError, run: Execution,
                      source: Source, names: tuple[str, ...]) -> list[Finding]:
    if "does not require grad and does not have a grad_fn" not in message:
        return []
    final = run.final or {}
    plain = [n for n, v in final.items() if hasattr(v, "requires_grad") and not v.requires_grad]
    made = [c for name in plain for node in source.assignments(name) for c in [getattr(node, "value", None)]
            if isinstance(c, ast.Call) and _torch_tensor_call(c)
            and not any(k.arg == "requires_grad" for k in c.keywords)]
    edits = tuple(e for c in made for e in fixes.add_keyword(source, c, "requires_grad", "True"))
    line = made[0].lineno if made else error.line
    which = " and ".join(plain) or "the parameters"
    return _finding(K.GRADIENT, f"loss.backward() has nothing to compute: {which} do not require "
                    "gradients, so the loss has no autograd graph", "create them with "
                    "requires_grad=True: torch.randn(1, requires_grad=True, dtype=torch.float, "
                    "device=device)", line, source, edits)


def _device(exc: BaseException, message: str, error: StudentError, run: Execution, source: Source,
            names: tuple[str, ...]) -> list[Finding]:
    if not any(m in message for m in _DEVICE_MESSAGES):
        return []
    return _finding(K.DEVICE, f"`{error.source}` combines tensors on different devices",
                    "keep everything on `device`: x_train_tensor is there already; create parameters "
                    "with device=device and models with .to(device)", error.line, source)


def _no_return(exc: BaseException, message: str, error: StudentError, run: Execution, source: Source,
               names: tuple[str, ...]) -> list[Finding]:
    if not isinstance(exc, (TypeError, AttributeError)) or "NoneType" not in message:
        return []
    for forward in source.methods("forward"):
        if any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(forward)):
            continue
        last = forward.body[-1]
        edits = fixes.replace(source, last.lineno, source.text(last.lineno).strip(),
                              "return " + source.text(last.lineno).strip()) \
            if isinstance(last, ast.Expr) else ()
        return _finding(K.FORWARD_RETURN, f"forward() (cell line {forward.lineno}) has no `return`, so "
                        "model(x) gives None and the loss cannot be computed",
                        "end forward with return ...", last.lineno, source, edits)
    return []


def _no_parameter(exc: BaseException, message: str, error: StudentError, run: Execution, source: Source,
                  names: tuple[str, ...]) -> list[Finding]:
    if "empty parameter list" not in message:
        return []
    plain = [n for init in source.methods("__init__") for n in ast.walk(init) if isinstance(n, ast.Assign)
             and isinstance(n.targets[0], ast.Attribute) and _torch_tensor_call(n.value)]
    if not plain:
        return []
    edits = tuple(e for n in plain for e in fixes.wrap_parameter(source, n))
    attrs = ", ".join(f"self.{n.targets[0].attr}" for n in plain if isinstance(n.targets[0], ast.Attribute))
    return _finding(K.NO_PARAMETER, f"the model has no parameters: {attrs} (cell line {plain[0].lineno}) "
                    "is a plain tensor attribute, which model.parameters() does not list",
                    "wrap it: self.b = nn.Parameter(torch.randn(...))", plain[0].lineno, source, edits)


def _torch_tensor_call(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
        node.func.attr in ("randn", "rand", "zeros", "ones", "tensor", "empty")


def _no_super(exc: BaseException, message: str, error: StudentError, run: Execution, source: Source,
              names: tuple[str, ...]) -> list[Finding]:
    if "before Module.__init__() call" not in message:
        return []
    for init in source.methods("__init__"):
        calls = [c for c in ast.walk(init) if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
                 and c.func.attr == "__init__"]
        if not calls:
            return _finding(K.NO_SUPER_INIT, f"__init__ (cell line {init.lineno}) does not call "
                            "super().__init__(), so nn.Module cannot keep track of the layers and "
                            "parameters assigned to self", "call super().__init__() first in __init__",
                            init.lineno, source, fixes.insert_first(source, init, "super().__init__()"))
    return []


def _numpy_grad(exc: BaseException, message: str, error: StudentError, run: Execution, source: Source,
                names: tuple[str, ...]) -> list[Finding]:
    if "numpy() on Tensor that requires grad" not in message and "to numpy" not in message:
        return []
    new = ".detach().cpu().numpy()" if "to numpy" in message else ".detach().numpy()"
    old = ".cpu().numpy()" if ".cpu().numpy()" in error.source else ".numpy()"
    return _finding(K.NUMPY_REQUIRES_GRAD, f"`{error.source}` turns a tensor that autograd tracks "
                    "(or one on a GPU) into a numpy array", f"detach it first: {new[1:]}", error.line,
                    source, fixes.replace(source, error.line, old, new))


def _numpy_data(exc: BaseException, message: str, error: StudentError, run: Execution, source: Source,
                names: tuple[str, ...]) -> list[Finding]:
    if "numpy.ndarray" not in message or "Tensor" not in message:
        return []
    edits = fixes.replace_all(source, error.line, {"x_train": "x_train_tensor", "y_train": "y_train_tensor"},
                              word=True)
    return _finding(K.NUMPY_DATA, f"`{error.source}` mixes the numpy arrays x_train/y_train with "
                    "tensors", "use the tensors made from them: x_train_tensor and y_train_tensor",
                    error.line, source, edits)


def _name(exc: BaseException, message: str, error: StudentError, run: Execution, source: Source,
          names: tuple[str, ...]) -> list[Finding]:
    if not isinstance(exc, NameError):
        return []
    missing = getattr(exc, "name", None) or ""
    known = [n for n in run.scope if not n.startswith("__")]
    close = difflib.get_close_matches(missing, known, n=1, cutoff=0.6)
    edits = fixes.replace(source, error.line, missing, close[0], word=True) if close else ()
    fix = (f"did you mean {close[0]}?" if close else "your code runs in a fresh namespace: names from "
           "the notebook are not there, so define it in the cell (%linreg contract lists what is "
           "provided)")
    return _finding(K.NAME, f"{message} (cell line {error.line})", fix, error.line, source, edits)


def _shape(exc: BaseException, message: str, error: StudentError, run: Execution, source: Source,
           names: tuple[str, ...]) -> list[Finding]:
    if "must match the size of tensor" not in message and "cannot be multiplied" not in message:
        return []
    widths = re.search(r"\((\d+)x(\d+) and (\d+)x(\d+)\)", message)
    edits: tuple[Any, ...] = ()
    fix = "keep every tensor of data shaped (N, 1), as x_train_tensor and y_train_tensor are"
    if widths and widths.group(2) != widths.group(3):
        features, takes = widths.group(2), widths.group(3)
        lines = source.lines_with(rf"Linear\(\s*{takes}\s*,")
        changes = {f"Linear({takes},": "Linear(n_features,", f"Linear({takes} ,": "Linear(n_features,"}
        edits = tuple(e for line in lines[:1] for e in fixes.replace_all(source, line, changes))
        fix = (f"the data have {features} features and the first layer takes {takes}: make it "
               "nn.Linear(n_features, ...)")
    return _finding(K.SHAPE, f"`{error.source}` combines tensors whose shapes do not fit: {message}",
                    fix, error.line, source, edits)


_RULES: tuple[Rule, ...] = (_in_place, _second_backward, _no_return, _rebinding, _non_leaf,
                            _requires_no_grad, _device,
                            _no_parameter, _no_super, _numpy_grad, _numpy_data, _name, _shape)
