"""Everything a verdict is drawn from, gathered once after the body ran: the student's
run as a Result (from the recorded trajectory), the stage's own run, the reference
dynamics from the student's start, what the stage's code uses and what the body's
code used."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine import build_result, run_plan, stage_parameters
from ..mse import QuadraticMSE
from ..plan import Plan
from ..result import Result
from ..tracker import Recording, host_array
from .dynamics import (
    Features,
    Replay,
    Start,
    function_path,
    inference,
    outputs,
    parted,
    replay,
    stage_features,
)
from .guard import quiet
from .instrument import LoopSite
from .probes import GradientProbe
from .reading import Source
from .recording import Trajectory
from .running import Execution
from .verdict import Edit, Finding, FindingKind, Severity

__all__ = ["Evidence", "gather", "reference_run"]

#: Nodes of a loss's autograd graph above which it is not drawn (it grew every epoch).
GRAPH_LIMIT = 400
#: A replay runs at most this many epochs (a body may set its own, much larger n_epochs).
MAX_REPLAY = 20_000


@dataclass
class Evidence:
    """What the verdict is drawn from (see the module's docstring)."""

    plan: Plan
    source: Source
    run: Execution
    reference: Replay  # the stage's own run, from its own start
    loops: tuple[LoopSite, ...] = ()
    student: Result | None = None
    expected: Replay | None = None  # the stage's code from the student's start
    parted_at: int | None = None
    tolerance: float = 1e-4
    features: Features = field(default_factory=Features)
    stage_features: Features = field(default_factory=Features)
    graph_nodes: int = 0
    unreadable: Finding | None = None  # what the stage reads after the body is missing or unusable
    not_linear: float = 0.0  # how far the model's predictions are from an affine map (0: affine)

    @property
    def trajectory(self) -> Trajectory | None:
        return self.run.trajectory

    def mistake(self, kind: FindingKind, text: str, fix: str, line: int | None = None,
                edits: tuple[Edit, ...] = ()) -> Finding:
        """A mistake on cell line ``line`` (its source is quoted), fixed by ``edits``."""
        return self._quoting(Finding(kind, Severity.MISTAKE, text, fix, line, "", edits))

    def note(self, kind: FindingKind, text: str, fix: str, line: int | None = None,
             edits: tuple[Edit, ...] = ()) -> Finding:
        """A note: right numbers, reached another way than the stage's."""
        return self._quoting(Finding(kind, Severity.NOTE, text, fix, line, "", edits))

    def hint(self, kind: FindingKind, text: str, fix: str, line: int | None = None,
             edits: tuple[Edit, ...] = ()) -> Finding:
        """A hint: worth knowing, whatever the level."""
        return self._quoting(Finding(kind, Severity.HINT, text, fix, line, "", edits))

    def _quoting(self, finding: Finding) -> Finding:
        return dataclasses.replace(finding, source=self.source.text(finding.line).strip())

    @property
    def epochs(self) -> int:
        return self.trajectory.iterations if self.trajectory is not None else 0


def reference_run(plan: Plan) -> Replay:
    """The stage's own code on the plan, with its first gradients recorded."""
    probes: list[GradientProbe] = []

    def attach(ns: dict[str, Any]) -> None:
        if plan.stage.uses_torch and not plan.options.cuda_graph:  # no hooks inside a captured graph
            probe = GradientProbe(lambda: ns["tracker"].epoch + 1)
            probe.watch(stage_parameters(plan.stage, ns))
            probes.append(probe)

    with quiet():
        result = run_plan(plan, prepared=attach)
    for probe in probes:
        probe.remove()
    return Replay(result, probes[0].gradients() if probes else {})


def gather(plan: Plan, source: Source, run: Execution, reference: Replay,
           loops: tuple[LoopSite, ...] = ()) -> Evidence:
    """Compare the body's run with the reference dynamics from its own start."""
    evidence = Evidence(plan, source, run, reference, loops)
    evidence.stage_features = stage_features(plan)
    evidence.features = _features(run)
    trajectory = run.trajectory
    evidence.unreadable = unreadable(plan, run.scope)
    if trajectory is None or evidence.unreadable is not None:
        evidence.unreadable = evidence.unreadable or evidence.mistake(
            K.MISSING_RESULT, "your code left nothing the stage can read", CONTRACT)
        return evidence
    model = trajectory.model if trajectory.model is not None else run.scope.get("model")
    try:
        student = student_result(plan, run, trajectory, model, evidence)
    except Exception as exc:  # a model that cannot be evaluated as a function of x
        evidence.unreadable = evidence.mistake(
            K.MISSING_RESULT, f"your model could not be evaluated as a function of x "
            f"({type(exc).__name__}: {str(exc)[:160]})", "make forward(x) return the prediction for x")
        return evidence
    evidence.student = student
    evidence.expected = _expected(plan, trajectory, model, reference, run.provided.get("model"))
    evidence.tolerance = 1e-6 if trajectory_is_float64(run) and not plan.stage.uses_torch else 1e-4
    if evidence.expected is not None:
        mine = (student.intercept_path, student.coef_path)
        theirs = (evidence.expected.result.intercept_path, evidence.expected.result.coef_path)
        evidence.parted_at = parted(mine, theirs, evidence.tolerance)
    return evidence


CONTRACT = "see %linreg contract for what the stage reads after your code"
K = FindingKind


def unreadable(plan: Plan, scope: dict[str, Any]) -> Finding | None:
    """Why the stage cannot read the body's result (None: it can)."""
    if plan.stage.returns == "model":
        return _unreadable_model(scope.get("model"))
    missing = [n for n in ("b", "w") if n not in scope]
    if missing:
        return Finding(K.MISSING_RESULT, Severity.MISTAKE, f"your code must leave {' and '.join(missing)} "
                       "(the learned parameters)", CONTRACT)
    for name, size in (("b", 1), ("w", plan.data.n_features)):
        try:
            values = host_array(scope[name])
        except (TypeError, ValueError, RuntimeError):
            return Finding(K.MISSING_RESULT, Severity.MISTAKE, f"`{name}` should be a tensor or array of "
                           f"numbers, not {type(scope[name]).__name__}", CONTRACT)
        if values.size != size:
            return Finding(K.MISSING_RESULT, Severity.MISTAKE, f"`{name}` should hold {size} number(s); it "
                           f"has shape {values.shape}", CONTRACT)
    return None


def _unreadable_model(model: Any) -> Finding | None:
    if not hasattr(model, "parameters"):
        what = "" if model is None else f" (it is a {type(model).__name__})"
        return Finding(K.MISSING_RESULT, Severity.MISTAKE, "your code must leave the trained nn.Module "
                       f"in a variable called `model`{what}", CONTRACT)
    if not list(model.parameters()):
        return Finding(K.NO_PARAMETER, Severity.MISTAKE, f"your model ({type(model).__name__}) has no "
                       "parameters: there is nothing to train", "give it layers with parameters, e.g. "
                       "nn.Linear(1, 1), or nn.Parameter attributes")
    return None


def trajectory_is_float64(run: Execution) -> bool:
    final = run.final or {}
    return all(str(getattr(v, "dtype", "float64")) in ("float64", "torch.float64") for v in final.values())


def _features(run: Execution) -> Features:
    final = run.final or {}
    optimizer, ours = run.steps.stepping(final) if run.steps is not None else (None, False)
    return Features(backward=run.probe is not None and run.probe.total > 0,
                    optimizer=optimizer is not None and ours,
                    loss_function=bool(run.ops.mse_loss),
                    tensors=bool(final) and all(hasattr(v, "detach") for v in final.values()),
                    optimizer_settings=tuple(sorted(optimizer.settings.items())) if optimizer else (),
                    optimizer_kind=optimizer.kind if optimizer else "")


def start_of(plan: Plan, trajectory: Trajectory, model: Any) -> Start:
    """Where the body's training loop started."""
    values: dict[str, np.ndarray] = {}
    offset = 0
    for name, shape in zip(trajectory.names, trajectory.shapes):
        size = int(np.prod(shape)) if shape else 1
        values[name] = trajectory.path[0, offset:offset + size]
        offset += size
    if plan.stage.returns == "model" and model is not None:
        model = _at_start(model, trajectory, values)
    return Start(values, model)


def _at_start(model: Any, trajectory: Trajectory, values: dict[str, np.ndarray]) -> Any:
    """A copy of the model with the start's parameter values."""
    import torch

    made = copy.deepcopy(model)
    with torch.no_grad():
        for name, param in made.named_parameters():
            if name in values and values[name].size == param.numel():
                param.copy_(torch.as_tensor(values[name].reshape(param.shape), dtype=param.dtype))
    return made


def _expected(plan: Plan, trajectory: Trajectory, model: Any, reference: Replay,
              provided: Any) -> Replay | None:
    """The stage's code from the student's start: the reference run itself when the
    student started where it did, with the same kind of model, for as many epochs."""
    start = start_of(plan, trajectory, model)
    epochs = min(max(trajectory.iterations, plan.options.epochs), MAX_REPLAY)
    same_model = plan.stage.returns != "model" or (model is not None and type(model) is type(provided))
    if epochs <= plan.options.epochs and same_model and _same_start(start, reference.result):
        return reference
    return replay(plan, start, lr=plan.options.lr, epochs=epochs)


def _same_start(start: Start, reference: Result) -> bool:
    if list(start.values) != list(reference.initial):
        return False
    return all(np.array_equal(np.ravel(value), np.ravel(reference.initial[name]))
               for name, value in start.values.items())


def student_result(plan: Plan, run: Execution, trajectory: Trajectory, model: Any,
                   evidence: Evidence) -> Result:
    """The body's run as a Result: its trajectory, the MSE at every epoch, its graph."""
    rec = Recording(trajectory.names, trajectory.shapes, np.empty(0), trajectory.path)
    intercepts, coefs = function_path(plan, trajectory, model)
    with np.errstate(all="ignore"):
        losses = QuadraticMSE.of(plan.data.x_train, plan.data.y_train)(intercepts[:-1], coefs[:-1])
    if plan.stage.returns == "model" and model is not None:
        evidence.not_linear, exact = _exact_losses(plan, trajectory, model, intercepts, coefs)
        losses = exact if exact is not None else losses
    rec = Recording(rec.names, rec.shapes, np.asarray(losses, dtype=np.float64), rec.path)
    graph, note = _graph(run, evidence)
    ns = {"model": inference(model)} if plan.stage.returns == "model" else {}
    return build_result(plan, ns, rec, run.seconds).replace(
        autograd=graph, stopped=run.stopped, checked=True,
        graph_note=plan.stage.graph_note if note is None else note)


def _exact_losses(plan: Plan, trajectory: Trajectory, model: Any, intercepts: np.ndarray,
                  coefs: np.ndarray) -> tuple[float, np.ndarray | None]:
    """How far the model is from the affine map read off it (at the last epoch, on the
    training inputs); for a model that is not affine, its real MSE at every epoch."""
    data = plan.data
    x, y = data.x_train[:256], data.y_train[:256, 0]
    try:
        last = outputs(model, trajectory, np.array([len(trajectory.path) - 1]), x)[0]
    except Exception:
        return 0.0, None
    with np.errstate(all="ignore"):
        gap = float(np.max(np.abs(last - (intercepts[-1] + x @ coefs[-1]))) / (1 + np.max(np.abs(y))))
    if not np.isfinite(gap) or gap < 1e-6 or trajectory.epochs == 0:
        return 0.0, None
    rows = np.arange(trajectory.epochs)
    every = outputs(model, trajectory, rows, data.x_train) if len(rows) * len(data.x_train) <= 4e6 else None
    if every is None:
        return gap, None
    with np.errstate(all="ignore"):
        return gap, np.mean((every - data.y_train[:, 0]) ** 2, axis=1)


def _graph(run: Execution, evidence: Evidence) -> tuple[dict[str, Any] | None, str | None]:
    """The last loss and the parameters for the graph view, unless the graph is huge."""
    loss = run.scope.get("loss")
    tracker = run.scope.get("tracker")
    if getattr(loss, "grad_fn", None) is None and tracker is not None:
        loss = getattr(tracker, "last_loss", None)
    stage = evidence.plan.stage
    if getattr(loss, "grad_fn", None) is None:
        if stage.graph_note:  # the stage itself has no graph (numpy, hand-written gradients)
            return None, stage.graph_note
        if hasattr(loss, "requires_grad"):
            return None, "your loss does not require gradients, so autograd recorded no graph for it"
        return None, ("your code left no `loss` tensor with an autograd graph (name the last "
                      "epoch's loss `loss` to see its graph)")
    evidence.graph_nodes = graph_size(loss)
    if evidence.graph_nodes > GRAPH_LIMIT:
        return None, (f"not drawn: the loss's graph has more than {GRAPH_LIMIT} nodes, because it "
                      "reaches back through every epoch's update")
    params = {n: p for n, p in (run.final or {}).items() if hasattr(p, "requires_grad")}
    return {"loss": loss, "params": params}, None


def graph_size(tensor: Any, limit: int = GRAPH_LIMIT + 1) -> int:
    """The number of nodes of a tensor's autograd graph, counted up to ``limit``."""
    seen: set[int] = set()
    todo = [tensor.grad_fn]
    while todo and len(seen) < limit:
        node = todo.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        todo.extend(child for child, _ in getattr(node, "next_functions", ()))
    return len(seen)
