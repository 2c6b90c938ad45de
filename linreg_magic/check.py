"""A student's own code for a stage, run and checked against the reference.

The ``%%linreg`` cell body is the student's code.  It runs in a fresh namespace
prepared as the stage's reference has it just before its training code (the
stage's ``data_preparation`` and ``model_configuration`` have run), with
``torch``, ``nn``, ``optim`` and ``np`` imported.  Afterwards the stage reads
the student's result from that namespace (``b`` and ``w``, or ``model``), an
optional ``losses`` list, and ``loss`` for the autograd graph.

The check compares the end point (and, where autograd computes them, the first
epoch's gradients) with the reference run on the same data, seed and device,
and names the most likely mistake when they differ.  Nothing is written into the
user's namespace; the global random states, torch's grad mode and default dtype
are restored after every run, and matplotlib's state after a failed one.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import itertools
import linecache
import sys
import time
import traceback
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import CodeType
from typing import Any

import numpy as np

from .data import Dataset
from .engine import (
    Diverged,
    build_result,
    prepare_namespace,
    run_plan,
    stage_parameters,
    synchronize,
)
from .lr import divergence_note
from .options import Options
from .plan import Plan
from .result import Result, Stop, StopKind
from .session import preserved_random_state
from .stage import Stage, call_step
from .tracker import Recording, Tracker

__all__ = ["Contract", "StudentError", "StudentRun", "Verdict", "contract", "run_student"]

#: What every cell body can use without importing it: name -> module.
BODY_IMPORTS = {"torch": "torch", "nn": "torch.nn", "optim": "torch.optim", "np": "numpy"}

_SETTINGS = ("x_train", "y_train", "x_val", "y_val", "device", "lr", "n_epochs", "seed",
             "n_features", "n_hidden")


# -- the contract ----------------------------------------------------------------

@dataclass(frozen=True)
class Contract:
    """What a stage's cell body is given and what it must leave behind."""

    stage: str
    title: str
    provided: tuple[tuple[str, str], ...]  # (name, what it is)
    reference_uses: tuple[str, ...]  # the names the reference's training code takes
    expected: tuple[tuple[str, str], ...]
    optional: tuple[tuple[str, str], ...]

    def text(self) -> str:
        width = max(len(n) for n, _ in (*self.provided, *self.expected, *self.optional))
        def rows(items: tuple[tuple[str, str], ...]) -> list[str]:
            return [f"  {name.ljust(width)}  {what}" for name, what in items]
        return "\n".join([
            f"%%linreg --stage {self.stage}: your code for '{self.title}'",
            "Provided (a fresh namespace, as the reference has it before its training loop):",
            *rows(self.provided),
            "The reference's training code uses: " + ", ".join(self.reference_uses),
            "Expected after your code:",
            *rows(self.expected),
            "Optional:",
            *rows(self.optional),
        ])

    def html(self) -> str:
        import html

        def table(items: tuple[tuple[str, str], ...]) -> str:
            body = "".join(f"<tr><td><code>{html.escape(n)}</code></td><td>{html.escape(w)}</td></tr>"
                           for n, w in items)
            return f"<table class='linreg-contract'><tbody>{body}</tbody></table>"
        uses = ", ".join(f"<code>{html.escape(n)}</code>" for n in self.reference_uses)
        return (f"<div><b>%%linreg --stage {html.escape(self.stage)}</b>: your code for "
                f"<i>{html.escape(self.title)}</i>"
                f"<p>Provided (a fresh namespace, as the reference has it before its training "
                f"loop):</p>{table(self.provided)}<p>The reference's training code uses: {uses}</p>"
                f"<p>Expected after your code:</p>{table(self.expected)}"
                f"<p>Optional:</p>{table(self.optional)}</div>")


def contract(options: Options) -> Contract:
    """The contract of ``options.stage``, read from the stage's own steps: what its
    preparation and configuration make, what its training takes and returns."""
    plan = Plan.make(options)
    stage = plan.stage
    with preserved_random_state(stage.uses_torch, plan.device), _quiet(), _torch_modes(stage):
        ns = prepare_namespace(plan)
        given = {**body_imports(stage), **ns}
        provided = tuple((name, describe_value(name, given[name], options)) for name in given)
        tracker = Tracker(1)  # one epoch tells what the training code leaves behind
        tracker.start(stage_parameters(stage, ns))
        made = call_step(stage.model_training, {**ns, "n_epochs": 1, "tracker": tracker})
    uses = tuple(n for n in _step_names(stage.model_training) if n != "tracker")
    required = result_names(stage)
    expected = tuple((name, _expected_text(stage, name)) for name in required)
    optional = [(name, _optional_text(stage, name)) for name in made if name not in required]
    if "loss" not in made and stage.uses_torch:
        optional.append(("loss", _optional_text(stage, "loss")))
    optional.append(("losses", "a list of each epoch's loss (numbers or 1-element tensors): it is "
                               "plotted"))
    return Contract(stage.name, stage.title, provided, uses, expected, tuple(optional))


def result_names(stage: Stage) -> tuple[str, ...]:
    """The names the stage reads after the training code."""
    return ("b", "w") if stage.returns == "bw" else ("model",)


def _step_names(step: Any) -> tuple[str, ...]:
    import inspect

    return tuple(inspect.signature(step).parameters)


def _expected_text(stage: Stage, name: str) -> str:
    if name == "model":
        return "the trained nn.Module (the model provided, or one you build)"
    what = "intercept" if name == "b" else "slope"
    kind = "tensor" if stage.uses_torch else "numpy array"
    return f"the learned {what}: a {kind} shaped like the {name} provided, after training"


def _optional_text(stage: Stage, name: str) -> str:
    if name == "loss":
        return "the last epoch's loss tensor: its autograd graph is drawn (make_dot)"
    return "kept by the reference's training code"


def body_imports(stage: Stage) -> dict[str, Any]:
    import importlib

    wanted = BODY_IMPORTS if stage.uses_torch else {"np": "numpy"}
    return {name: importlib.import_module(module) for name, module in wanted.items()}


def describe_value(name: str, value: Any, options: Options) -> str:
    """A short description of one provided value (its type, shape, device)."""
    import types

    if isinstance(value, types.ModuleType):
        return f"import {value.__name__}" + (f" as {name}" if name != value.__name__ else "")
    if isinstance(value, np.ndarray):
        return f"numpy {value.dtype} array of shape {tuple(value.shape)}"
    if "torch" in sys.modules:
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
    if name == "device":
        return f"{value!r} (the device chosen by --device {options.device})"
    if name == "n_hidden" and not value:
        return "0 (no hidden layer)"
    return repr(value)


# -- running the student's code ---------------------------------------------------

@dataclass(frozen=True)
class StudentError:
    """An exception in the student's code, with only their own frames."""

    kind: str
    message: str
    frames: tuple[tuple[int, str, str], ...]  # (cell line, function, source line)
    hidden: int = 0

    @property
    def line(self) -> int | None:
        return self.frames[-1][0] if self.frames else None

    def text(self) -> str:
        lines = ["Traceback (your code, most recent call last):"]
        for lineno, name, source in self.frames:
            lines.append(f"  Cell line {lineno}, in {name}")
            if source:
                lines.append(f"    {source}")
        if self.hidden:
            lines.append(f"  ({self.hidden} frame(s) inside torch/numpy not shown)")
        lines.append(f"{self.kind}: {self.message}" if self.message else self.kind)
        return "\n".join(lines)


@dataclass(frozen=True)
class Comparison:
    name: str
    yours: np.ndarray
    reference: np.ndarray
    tolerance: float

    @property
    def ok(self) -> bool:
        return bool(self.yours.shape == self.reference.shape and np.all(np.isfinite(self.yours))
                    and np.allclose(self.yours, self.reference, rtol=self.tolerance,
                                    atol=self.tolerance))

    @property
    def difference(self) -> float:
        if self.yours.shape != self.reference.shape:
            return float("nan")
        with np.errstate(over="ignore", invalid="ignore"):
            return float(np.max(np.abs(self.yours - self.reference)))


@dataclass(frozen=True)
class Verdict:
    """Right or not, the numbers behind it, the likely mistakes and hints."""

    ok: bool
    summary: str
    comparisons: tuple[Comparison, ...] = ()
    mistakes: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [("✔ " if self.ok else "✘ ") + self.summary]
        if self.comparisons:
            rows = [("", "yours", "reference", "max diff", "")]
            rows += [(c.name, _values(c.yours), _values(c.reference), f"{c.difference:.2g}",
                      f"{'ok' if c.ok else 'DIFFERS'} (tol {c.tolerance:g})") for c in self.comparisons]
            widths = [max(len(r[i]) for r in rows) for i in range(5)]
            for row in rows:
                cells = [row[0].ljust(widths[0])] + [v.rjust(w) for v, w in zip(row[1:4], widths[1:4])]
                lines.append(("  " + "  ".join(cells) + "  " + row[4]).rstrip())
        lines += [f"Likely mistake: {m}" for m in self.mistakes[:1]]
        lines += [f"Also possible: {m}" for m in self.mistakes[1:]]
        lines += [f"Hint: {h}" for h in self.hints]
        return "\n".join(lines)


def _values(a: np.ndarray) -> str:
    flat = np.ravel(a)
    text = ", ".join(f"{v:.6g}" for v in flat[:3]) + (", …" if flat.size > 3 else "")
    return f"[{text}]" if flat.size != 1 else text


@dataclass
class StudentRun:
    """A checked student run: their Result (None if their code failed), the verdict,
    and the reference run it was compared with (None if their code could not compile)."""

    stage: str
    result: Result | None
    reference: Result | None
    verdict: Verdict
    error: StudentError | None = None
    stopped: Stop | None = None
    warnings: tuple[str, ...] = field(default=())


_counter = itertools.count(1)


def run_student(options: Options, body: str, *, magic_line: str = "",
                namespace: Mapping[str, Any] | None = None) -> StudentRun:
    """Run ``body`` as the student's code for ``options.stage`` and check it.

    Every option is checked (stage, device, combinations) before anything runs.
    Errors in the body come back as a :class:`StudentError` with the cell's line
    numbers (the ``%%linreg`` line is line 1); they never propagate.  ``namespace``
    is where ``--data user`` finds ``--x`` and ``--y``.
    """
    plan = Plan.make(options, namespace=namespace)
    stage, data = plan.stage, plan.data
    filename = f"<linreg cell {next(_counter)}>"
    code, syntax_error = compile_body(body, filename, magic_line)
    findings = Findings.of(body)
    if code is None or syntax_error is not None:
        error = syntax_error or StudentError("SyntaxError", "", ())
        where = f" at cell line {error.line}" if error.line else ""
        verdict = Verdict(False, f"Your code did not run: {error.kind}{where}",
                          mistakes=(error.message,))
        return StudentRun(stage.name, None, None, verdict, error=error)
    reference, reference_grads = _reference_run(plan)
    if reference.stopped and reference.stopped.kind is StopKind.INTERRUPTED:
        verdict = Verdict(False, f"Interrupted while the reference ran ({reference.stopped}); "
                                 "your code did not run")
        return StudentRun(stage.name, None, reference, verdict, stopped=reference.stopped)
    import matplotlib

    saved = MatplotlibState.save(matplotlib)
    outcome = _execute(plan, code, filename)
    if outcome.error is not None:
        saved.restore()
    verdict = judge(stage, options, data, outcome, reference, reference_grads, findings)
    return StudentRun(stage.name, outcome.result, reference, verdict, outcome.error, outcome.stopped,
                      outcome.warnings)


def compile_body(body: str, filename: str, magic_line: str = "") -> tuple[CodeType | None,
                                                                          StudentError | None]:
    """The body compiled with cell line numbers (the magic's line is line 1)."""
    lines = [f"%%linreg {magic_line}".rstrip() + "\n", *body.splitlines(True)]
    linecache.cache[filename] = (sum(map(len, lines)), None, lines, filename)
    try:  # a blank first line, so that every line number (messages too) is the cell's
        return compile("\n" + body, filename, "exec"), None
    except SyntaxError as exc:
        lineno = exc.lineno or 0
        frames = ((lineno, "<cell>", lines[lineno - 1].strip()),) if 1 < lineno <= len(lines) else ()
        return None, StudentError(type(exc).__name__, exc.msg, frames)
    except ValueError as exc:  # e.g. a NUL character pasted into the cell
        return None, StudentError("SyntaxError", str(exc), ())


@dataclass
class _Outcome:
    result: Result | None = None
    error: StudentError | None = None
    exception: BaseException | None = None
    stopped: Stop | None = None
    diverged_at: int | None = None
    problems: list[str] = field(default_factory=list)
    grads: dict[str, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    namespace_facts: dict[str, Any] = field(default_factory=dict)


def _execute(plan: Plan, code: CodeType, filename: str) -> _Outcome:
    stage, options, device, data = plan.stage, plan.options, plan.device, plan.data
    out = _Outcome()
    interrupted = False
    with preserved_random_state(stage.uses_torch, device), _torch_modes(stage), \
            warnings.catch_warnings(record=True) as caught, np.errstate(over="ignore", invalid="ignore"):
        warnings.simplefilter("always")
        ns = prepare_namespace(plan)
        params = stage_parameters(stage, ns)
        initial = {name: _host(value) for name, value in params.items()}
        probe = GradientProbe(params) if stage.uses_torch else None
        scope: dict[str, Any] = {"__name__": "__linreg_cell__", "__builtins__": builtins,
                                 **body_imports(stage), **ns}
        start = time.perf_counter()
        try:
            exec(code, scope)
        except KeyboardInterrupt:
            interrupted = True
        except Diverged as exc:
            out.diverged_at = exc.epoch
            out.stopped = Stop(StopKind.DIVERGED, exc.epoch, divergence_note(
                exc.epoch, exc.value, options.lr, data, what="a gradient"))
        except (Exception, SystemExit) as exc:  # sys.exit() in a cell ends the cell, not the kernel
            out.exception = exc
            out.error = student_error(exc, filename)
        finally:
            if probe is not None:
                probe.remove()
        synchronize(device)
        seconds = time.perf_counter() - start
        out.warnings = tuple(dict.fromkeys(str(w.message).split(". ")[0] for w in caught))
        if probe is not None:
            out.grads = probe.records
        losses, loss_problem = _read_losses(scope.get("losses"))
        if loss_problem:
            out.problems.append(loss_problem)
        if interrupted:
            done = len(losses) if len(losses) else (probe.calls if probe is not None else 0)
            out.stopped = Stop.interrupted(done, options.epochs)
        out.namespace_facts = _facts(stage, scope, params)
        if out.error is None:
            out.result = _student_result(plan, scope, initial, losses, seconds, out)
    scope.clear()
    return out


def _reference_run(plan: Plan) -> tuple[Result, dict[str, list[tuple[np.ndarray, np.ndarray]]]]:
    """The stage's own code on the same options, with its first gradients recorded."""
    probes: list[GradientProbe] = []

    def attach(ns: dict[str, Any]) -> None:
        if plan.stage.uses_torch:
            probes.append(GradientProbe(stage_parameters(plan.stage, ns)))

    with _quiet():
        reference = run_plan(plan, prepared=attach)
    grads = probes[0].records if probes else {}
    for probe in probes:
        probe.remove()
    return reference, grads


class GradientProbe:
    """Watches the first backward passes of each parameter: the gradient that
    pass computed and what ``.grad`` holds after it (more, when gradients
    accumulate).  A non-finite gradient stops the run (:class:`Diverged`)."""

    def __init__(self, params: Mapping[str, Any], keep: int = 2, check_every: int = 16) -> None:
        import torch

        self.calls = 0
        self.records: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        self._raw: dict[str, np.ndarray] = {}
        self._keep, self._check_every = keep, check_every
        self._handles: list[Any] = []
        watched = {n: p for n, p in params.items()
                   if isinstance(p, torch.Tensor) and p.requires_grad and p.is_leaf}
        self._first = next(iter(watched), None)
        for name, p in watched.items():
            self._handles.append(p.register_hook(self._on_grad(name)))
            self._handles.append(p.register_post_accumulate_grad_hook(self._on_accumulated(name)))

    def _on_grad(self, name: str) -> Any:
        def hook(grad: Any) -> None:
            import torch

            if name == self._first:
                self.calls += 1
            n = self.calls
            if n <= self._keep:
                self._raw[name] = _host(grad)
            if n <= 2 or n % self._check_every == 0:
                finite = torch.isfinite(grad)
                if not bool(finite.all()):
                    raise Diverged(n, float(grad.reshape(-1)[~finite.reshape(-1)][0]))
        return hook

    def _on_accumulated(self, name: str) -> Any:
        def hook(param: Any) -> None:
            seen = self.records.setdefault(name, [])
            if len(seen) < self._keep and name in self._raw:
                seen.append((self._raw.pop(name), _host(param.grad)))
        return hook

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


def _host(value: Any) -> np.ndarray:
    """A float64 numpy copy of a tensor, array or number."""
    if hasattr(value, "detach"):
        value = value.detach().double().cpu().numpy()
    return np.array(value, dtype=np.float64)


def _read_losses(value: Any) -> tuple[np.ndarray, str | None]:
    if value is None:
        return np.empty(0), None
    try:
        items = list(value)
        return np.array([float(v) for v in items], dtype=np.float64), None
    except (TypeError, ValueError, RuntimeError):
        return np.empty(0), ("`losses` should be a list of numbers (e.g. losses.append(loss.item())); "
                             f"it is a {type(value).__name__}, so it is not plotted")


def _facts(stage: Stage, scope: Mapping[str, Any], provided: Mapping[str, Any]) -> dict[str, Any]:
    """What the diagnosis needs to know about the student's names."""
    facts: dict[str, Any] = {}
    if "torch" not in sys.modules:
        return facts
    import torch

    losses = scope.get("losses")
    if isinstance(losses, list) and losses and isinstance(losses[-1], torch.Tensor) \
            and losses[-1].grad_fn is not None:
        facts["losses_keep_graphs"] = True
    for name in result_names(stage):
        value = scope.get(name)
        if isinstance(value, torch.Tensor):
            facts.setdefault("non_leaf", [])
            if value.requires_grad and not value.is_leaf:
                facts["non_leaf"].append(name)
            given = provided.get(name)
            # trained in place from autograd on: another object means new parameters
            if isinstance(given, torch.Tensor) and given.requires_grad and value is not given:
                facts.setdefault("replaced", []).append(name)
        if name == "model" and isinstance(value, torch.nn.Module):
            given_ids = {id(p) for p in provided.values()}
            if any(id(p) not in given_ids for p in value.parameters()):
                facts.setdefault("replaced", []).append(name)
    return facts


def _student_result(plan: Plan, scope: Mapping[str, Any], initial: Mapping[str, np.ndarray],
                    losses: np.ndarray, seconds: float, out: _Outcome) -> Result | None:
    stage, data = plan.stage, plan.data
    params, problem = _read_params(stage, scope, data)
    if params is None:
        out.problems.append(problem or "")
        return None
    finals = {name: _host(value) for name, value in params.items()}
    names = tuple(finals)
    starts = [initial.get(n) for n in names]
    if all(s is not None and s.size == finals[n].size for s, n in zip(starts, names)):
        first = np.concatenate([np.ravel(s) for s in starts if s is not None])
    else:
        first = np.concatenate([np.ravel(v) for v in finals.values()])
    last = np.concatenate([np.ravel(v) for v in finals.values()])
    shapes = tuple(tuple(v.shape) for v in finals.values())
    rec = Recording(names, shapes, losses, np.stack([first, last]))
    graph = _graph_inputs(scope.get("loss"), params)
    ns = {"model": scope["model"]} if stage.returns == "model" else {}
    graph_note = None
    if graph is None:
        graph_note = (stage.graph_note if stage.graph_note and (
                      not stage.uses_torch or (stage.returns != "model" and "loss" not in scope))
                      else
                      "your code left no `loss` tensor with an autograd graph (name the last "
                      "epoch's loss `loss` to see its graph)")
    try:
        return build_result(plan, ns, rec, seconds, autograd=graph, stopped=out.stopped,
                            checked=True, graph_note=graph_note)
    except Exception as exc:  # a model that cannot be evaluated as a function of x
        out.problems.append(f"your model could not be evaluated on x ({type(exc).__name__}: {exc}); "
                            "does forward return its prediction?")
        return None


def _read_params(stage: Stage, scope: Mapping[str, Any],
                 data: Dataset) -> tuple[dict[str, Any] | None, str | None]:
    if stage.returns == "model":
        model = scope.get("model")
        if model is None or not hasattr(model, "named_parameters"):
            return None, ("your code must leave the trained nn.Module in a variable called `model`"
                          + ("" if model is None else f" (it is a {type(model).__name__})"))
        return dict(model.named_parameters()), None
    missing = [n for n in ("b", "w") if n not in scope]
    if missing:
        return None, f"your code must leave {' and '.join(missing)} (the learned parameters)"
    sizes = {"b": 1, "w": data.n_features}
    for name, size in sizes.items():
        try:
            value = _host(scope[name])
        except (TypeError, ValueError, RuntimeError):
            return None, f"`{name}` should be a tensor or array of numbers, not {type(scope[name]).__name__}"
        if value.size != size:
            return None, f"`{name}` should hold {size} number(s), it has shape {value.shape}"
    return {"b": scope["b"], "w": scope["w"]}, None


def _graph_inputs(loss: Any, params: Mapping[str, Any]) -> dict[str, Any] | None:
    if getattr(loss, "grad_fn", None) is None:
        return None
    named = {n: p for n, p in params.items() if hasattr(p, "requires_grad")}
    return {"loss": loss, "params": named}


def student_error(exc: BaseException, filename: str) -> StudentError:
    """The exception with only the frames of the student's cell."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [(f.lineno or 0, f.name, (f.line or "").strip()) for f in frames if f.filename == filename]
    hidden = sum(1 for f in frames if f.filename != filename) - 1  # our exec() frame
    exc.__traceback__ = None
    return StudentError(type(exc).__name__, str(exc), tuple(mine), max(hidden, 0))


# -- static facts from the code ------------------------------------------------

@dataclass(frozen=True)
class Findings:
    """What the body's source says (lines are cell lines: the body's first is 2)."""

    forward_calls: tuple[int, ...] = ()
    forward_without_return: tuple[int, ...] = ()
    to_after_requires_grad: tuple[int, ...] = ()
    fixed_epochs: tuple[int, ...] = ()  # for ... in range(100)
    backward: bool = False
    zero_grad: bool = False

    @classmethod
    def of(cls, body: str) -> Findings:
        try:
            tree = ast.parse("\n" + body)  # cell line numbers: the %%linreg line is line 1
        except (SyntaxError, ValueError):
            return cls()
        calls, no_return, to_after, fixed = [], [], [], []
        backward = zero = False
        for node in ast.walk(tree):
            if isinstance(node, ast.For) and _fixed_range(node.iter):
                fixed.append(node.lineno)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                attr, target = node.func.attr, node.func.value
                if attr == "forward" and not _is_super(target):
                    calls.append(node.lineno)
                elif attr == "to" and _requires_grad_call(target):
                    to_after.append(node.lineno)
                elif attr == "backward":
                    backward = True
                elif attr in ("zero_grad", "zero_"):
                    zero = True
            elif isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Attribute) and t.attr == "grad" for t in node.targets):
                zero = True  # b.grad = None
            elif isinstance(node, ast.FunctionDef) and node.name == "forward" and not any(
                    isinstance(n, ast.Return) and n.value is not None for n in ast.walk(node)):
                no_return.append(node.lineno)
        return cls(tuple(sorted(calls)), tuple(no_return), tuple(sorted(to_after)),
                   tuple(sorted(fixed)), backward, zero)


def _fixed_range(node: ast.expr) -> bool:
    """``range(100)``: a loop whose length ignores ``n_epochs``."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"
            and len(node.args) == 1 and isinstance(node.args[0], ast.Constant))


def _is_super(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"


def _requires_grad_call(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and any(
        k.arg == "requires_grad" and isinstance(k.value, ast.Constant) and k.value.value is True
        for k in node.keywords)


# -- the verdict ---------------------------------------------------------------

def tolerance(stage: Stage) -> float:
    """How close "the same" is: float64 numpy agrees to rounding; float32 torch,
    whose sums may run in another order, to about 1e-4 after 1000 epochs."""
    return 1e-6 if not stage.uses_torch else 1e-4


def judge(stage: Stage, options: Options, data: Dataset, out: _Outcome, reference: Result,
          reference_grads: Mapping[str, list[tuple[np.ndarray, np.ndarray]]],
          findings: Findings) -> Verdict:
    """Compare the student's run with the reference and name the likely mistakes."""
    mistakes: list[str] = []
    non_leaf = out.namespace_facts.get("non_leaf")
    if non_leaf:
        mistakes.append(_non_leaf(non_leaf, findings))
    if out.exception is not None:
        mistakes += [m for m in explain_error(out.exception, findings, out.error)
                     if not (non_leaf and "leaf" in m)]
    mistakes += _accumulation(out.grads)
    result = out.result
    comparisons: list[Comparison] = []
    tol = tolerance(stage)
    reference_diverged = reference.stopped is not None and reference.stopped.kind is StopKind.DIVERGED
    interrupted = out.stopped is not None and out.stopped.kind is StopKind.INTERRUPTED
    if result is not None:
        if not reference_diverged:
            comparisons.append(Comparison("b (intercept)", np.asarray(result.intercept),
                                          np.asarray(reference.intercept), tol))
            comparisons.append(Comparison("w (slope)" if data.n_features == 1 else "w (slopes)",
                                          np.asarray(result.coef), np.asarray(reference.coef), tol))
        comparisons += _first_gradients(out.grads, reference_grads)
        diverged = _divergence(out, result, options, data)
        if diverged:
            mistakes.insert(0, diverged)
        unchanged = np.allclose(result.intercept_path[0], result.intercept_path[-1]) and np.allclose(
            result.coef_path[0], result.coef_path[-1])
        if unchanged and not diverged and not interrupted:
            mistakes.append("your code did not change the parameters: update b and w (or call "
                            "optimizer.step()) in the loop, and keep the names b, w / model")
    elif out.diverged_at is not None and out.stopped:
        mistakes.insert(0, out.stopped.text)
    if reference_diverged and not any(m.startswith("diverged") for m in mistakes):
        mistakes.append(f"with these options the reference run {reference.stopped}")
    ok = (bool(comparisons) and all(c.ok for c in comparisons) and not mistakes
          and out.error is None and not interrupted)
    if not ok and result is not None and not mistakes and not interrupted:
        mistakes += _explain_numbers(comparisons, findings, out, options.epochs)
    hints: list[str] = []
    if result is None and out.error is None:
        mistakes[:0] = out.problems
    else:
        hints += out.problems
    hints += _hints(stage, findings, out, mistakes)
    summary = _summary(ok, stage, out, comparisons, tol, reference_diverged)
    return Verdict(ok, summary, tuple(comparisons), tuple(dict.fromkeys(mistakes)),
                   tuple(dict.fromkeys(hints)))


def _summary(ok: bool, stage: Stage, out: _Outcome, comparisons: list[Comparison], tol: float,
             reference_diverged: bool) -> str:
    subject, agree, differ = (("model", "matches", "differs") if stage.returns == "model"
                              else ("b and w", "match", "differ"))
    if ok:
        return (f"Correct: your {subject} {agree} the reference run (same data, seed and device) "
                f"within {tol:g}")
    if out.error is not None:
        line = f" at cell line {out.error.line}" if out.error.line else ""
        return f"Your code stopped with {out.error.kind}{line}"
    if out.stopped is not None and out.stopped.kind is StopKind.INTERRUPTED:
        return f"Your run was {out.stopped}: the views show where it stopped"
    if reference_diverged:
        return "This learning rate makes gradient descent diverge, for the reference run too"
    if not comparisons:
        return "Your code ran, but the stage could not read its result"
    return f"Not yet: your {subject} {differ} from the reference run (same data, seed and device)"


def _first_gradients(student: Mapping[str, list[tuple[np.ndarray, np.ndarray]]],
                     reference: Mapping[str, list[tuple[np.ndarray, np.ndarray]]]) -> list[Comparison]:
    rows = []
    for name, records in reference.items():
        mine = student.get(name)
        if records and mine:
            rows.append(Comparison(f"{name}.grad, epoch 1", mine[0][0], records[0][0], 1e-4))
    return rows


def _accumulation(grads: Mapping[str, list[tuple[np.ndarray, np.ndarray]]]) -> list[str]:
    for name, records in grads.items():
        if len(records) >= 2:
            raw, held = records[1]
            if raw.shape == held.shape and not np.allclose(raw, held, rtol=1e-5, atol=1e-7):
                return [f"the gradients accumulate: in epoch 2 {name}.grad held {_values(held)} while "
                        f"that epoch's gradient was {_values(raw)}. backward() adds to .grad, so zero "
                        "it after every update: optimizer.zero_grad() (or b.grad.zero_() and "
                        "w.grad.zero_())"]
    return []


def _non_leaf(names: list[str], findings: Findings) -> str:
    where = (f" (line {', '.join(map(str, findings.to_after_requires_grad))})"
             if findings.to_after_requires_grad else "")
    what = "is not a leaf tensor" if len(names) == 1 else "are not leaf tensors"
    return (f"{' and '.join(names)} {what}, so "
            f".grad stays None{where}: torch.randn(1, requires_grad=True).to(device) makes a copy "
            "that autograd treats as a result, not a parameter. Create it on the device: "
            "torch.randn(1, requires_grad=True, dtype=torch.float, device=device)")


def _divergence(out: _Outcome, result: Result, options: Options, data: Dataset) -> str | None:
    losses = result.losses
    bad = np.flatnonzero(~np.isfinite(losses))
    if len(bad) and (out.diverged_at is None or bad[0] + 1 <= out.diverged_at):
        return divergence_note(int(bad[0]) + 1, float(losses[bad[0]]), options.lr, data)
    if out.diverged_at is not None and out.stopped:
        return out.stopped.text
    final = np.concatenate([[result.intercept], np.ravel(result.coef)])
    if not np.all(np.isfinite(final)) or np.max(np.abs(final)) > 1e6:
        note = divergence_note(0, float(np.max(np.abs(final))), options.lr, data, what="a parameter")
        return note.replace(" at epoch 0", "")
    return None


_DEVICE_MESSAGES = ("same device", "is not on the expected device", "Expected all tensors")


def explain_error(exc: BaseException, findings: Findings, error: StudentError | None) -> list[str]:
    """The most likely mistakes behind an exception in the student's code."""
    message = str(exc)
    line = (error.frames[-1][2] if error and error.frames else "")
    found: list[str] = []
    if "leaf Variable that requires grad is being used in an in-place operation" in message:
        found.append("an in-place update of a parameter outside `with torch.no_grad():`"
                     + (f" ({line})" if line else "") + ". autograd records every operation on a "
                     "tensor that requires grad and refuses to change a leaf in place: put the "
                     "update under `with torch.no_grad():` (or use optimizer.step())")
    if "can't optimize a non-leaf Tensor" in message:
        found.append(_non_leaf(["a parameter"], findings))
    if any(m in message for m in _DEVICE_MESSAGES):
        found.append("the data and the model are on different devices: keep everything on "
                     "`device` (x_train_tensor is there already; create parameters with "
                     "device=device, and models with .to(device))")
    if isinstance(exc, (TypeError, AttributeError)) and "NoneType" in message:
        if findings.forward_without_return:
            found.append(f"forward() (cell line {findings.forward_without_return[0]}) has no `return`, "
                         "so model(x) gives None and the loss cannot be computed: end forward with "
                         "return ...")
        if ".grad" in line or "grad" in message:
            found.append(_non_leaf(["b or w"], findings)
                         + " (or loss.backward() was not called before the update)")
    if "does not require grad and does not have a grad_fn" in message:
        found.append("the loss does not require gradients: create b and w with requires_grad=True "
                     "(or use the ones provided), and compute the loss outside torch.no_grad()")
    if "backward through the graph a second time" in message:
        found.append("the graph was used twice: compute yhat and the loss inside the loop, every epoch")
    if isinstance(exc, NameError):
        found.append(f"{message}: the names provided are listed by %linreg contract (e.g. "
                     "x_train_tensor, lr, n_epochs)")
    return found


def _explain_numbers(comparisons: list[Comparison], findings: Findings, out: _Outcome,
                     epochs: int) -> list[str]:
    """Why the end point differs when the code ran: most likely first."""
    found = []
    grads = [c for c in comparisons if ".grad" in c.name]
    if grads and not all(c.ok for c in grads):
        found.append("your first gradients differ from the reference's: check the forward pass "
                     "(yhat = b + w * x_train_tensor) and the loss (the mean of the squared errors)")
    if findings.backward and not findings.zero_grad:
        found.append("your code never zeroes the gradients, so they accumulate: call "
                     "optimizer.zero_grad() (or b.grad.zero_() and w.grad.zero_()) after each update")
    ran = out.result.epochs if out.result is not None else 0
    if ran and ran != epochs:
        found.append(f"your loop ran {ran} epochs (your losses list has {ran} entries), the "
                     f"reference {epochs}: loop over range(n_epochs)")
    elif findings.fixed_epochs:
        found.append(f"cell line {findings.fixed_epochs[0]} loops a fixed number of times: use "
                     "range(n_epochs), so that it trains as long as the reference")
    if "replaced" in out.namespace_facts:
        found.append("you created new parameters instead of training the ones provided: a different "
                     "start gives a different end point after the same epochs (use the b, w or "
                     "model provided, or torch.manual_seed(seed) first)")
    if not found:
        agree = " although the first epoch's gradients agree" if grads else ""
        found.append(f"the end point differs{agree}: train for n_epochs epochs with the learning "
                     "rate lr (both provided), one update per epoch, and check the gradient formulas "
                     "and the update (b - lr * b_grad)")
    return found


def _hints(stage: Stage, findings: Findings, out: _Outcome, mistakes: list[str]) -> list[str]:
    hints = []
    if findings.forward_calls:
        lines = ", ".join(map(str, findings.forward_calls))
        hints.append(f"cell line {lines} calls .forward(x): call model(x) instead. Calling the "
                     "module runs PyTorch's hooks around forward; .forward(x) skips them")
    if findings.to_after_requires_grad and not any("leaf" in m for m in mistakes):
        hints.append(f"cell line {findings.to_after_requires_grad[0]}: .to(device) after "
                     "requires_grad=True works on the CPU only because .to('cpu') returns the same "
                     "tensor; on a GPU it makes a non-leaf copy whose .grad stays None. Pass "
                     "device=device to torch.randn instead")
    if out.namespace_facts.get("losses_keep_graphs"):
        hints.append("`losses` holds loss tensors with their graphs: append loss.item() to keep "
                     "only the number")
    hints += [f"warning from your code: {w}" for w in out.warnings]
    return hints


# -- keeping the session as it was ---------------------------------------------

@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with contextlib.redirect_stdout(io.StringIO()):
        yield


@contextlib.contextmanager
def _torch_modes(stage: Stage) -> Iterator[None]:
    """Restore torch's grad mode and default dtype, which a cell body may change."""
    if not stage.uses_torch and "torch" not in sys.modules:
        yield
        return
    import torch

    grad, dtype = torch.is_grad_enabled(), torch.get_default_dtype()
    try:
        yield
    finally:
        torch.set_grad_enabled(grad)
        torch.set_default_dtype(dtype)


@dataclass(frozen=True)
class MatplotlibState:
    """rcParams and the open pyplot figures, to put back after a failed run."""

    rc: dict[str, Any]
    figures: frozenset[int]

    @classmethod
    def save(cls, matplotlib: Any) -> MatplotlibState:
        figures: frozenset[int] = frozenset()
        if "matplotlib.pyplot" in sys.modules:
            figures = frozenset(sys.modules["matplotlib.pyplot"].get_fignums())
        return cls(dict(matplotlib.rcParams.copy()), figures)

    def restore(self) -> None:
        import matplotlib

        rc: Any = matplotlib.rcParams
        dict.update(rc, self.rc)  # as matplotlib's rc_context does, without re-validating
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            for number in pyplot.get_fignums():
                if number not in self.figures:
                    pyplot.close(number)
