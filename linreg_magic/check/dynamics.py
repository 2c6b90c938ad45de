"""The reference dynamics from the student's own start, and how a trajectory compares.

The stage's own training code is run again from the parameters the student's loop
started with: their ``b`` and ``w``, or a copy of their model (any structure, any
parameter names) with the stage's optimizer rebuilt over it.  That is what their
code should have done, epoch by epoch; comparing the functions the two models
compute along the way (intercept and slopes) says whether it did, and from which
epoch on it did not.
"""

from __future__ import annotations

import contextlib
import copy
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine import affine_path, build_result, stage_parameters
from ..plan import Plan
from ..result import Result
from ..session import preserved_random_state
from ..stage import call_step
from ..tracker import Recording, Tracker
from .guard import quiet
from .probes import FirstEpochs, GradientProbe, OptimizerWatch
from .recording import Trajectory

__all__ = ["Features", "Replay", "Start", "function_path", "inference", "outputs", "parted", "replay",
           "stage_features", "step_factors"]


@dataclass(frozen=True)
class Start:
    """Where training starts: ``values`` of ``b`` and ``w``, or ``model`` (a copy)."""

    values: dict[str, np.ndarray]
    model: Any = None


@dataclass(frozen=True)
class Features:
    """What a run's code uses, of what the ladder teaches."""

    backward: bool = False  # autograd computes the gradients
    optimizer: bool = False  # an optimizer's step() updates the parameters
    loss_function: bool = False  # torch's MSE (nn.MSELoss or F.mse_loss)
    tensors: bool = False  # the parameters are torch tensors
    optimizer_settings: tuple[tuple[str, Any], ...] = ()  # (name, value) of the optimizer that stepped
    optimizer_kind: str = ""  # its class, e.g. "SGD"


@dataclass(frozen=True)
class Replay:
    """The stage's training from a start: its Result and its first gradients."""

    result: Result
    gradients: dict[str, np.ndarray]


@contextlib.contextmanager
def _quietly(plan: Plan) -> Iterator[None]:
    with preserved_random_state(plan.stage.uses_torch, plan.device), \
            quiet(), warnings.catch_warnings(), \
            np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def _namespace(plan: Plan, lr: float, epochs: int) -> dict[str, Any]:
    ns = plan.namespace()
    ns.update(lr=lr, n_epochs=epochs)
    ns.update(call_step(plan.stage.data_preparation, ns))
    ns.update(call_step(plan.stage.model_configuration, ns))
    return ns


def replay(plan: Plan, start: Start, *, lr: float, epochs: int) -> Replay | None:
    """The stage's own training from ``start`` with ``lr``, for ``epochs`` epochs (None:
    the start does not fit the stage's code)."""
    with _quietly(plan):
        ns = _namespace(plan, lr, epochs)
        try:
            if not _substitute(plan, ns, start):
                return None
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception:  # e.g. a model without parameters: no optimizer can be made
            return None
        tracker = Tracker(epochs)
        params = stage_parameters(plan.stage, ns)
        tracker.start(params)
        probe = GradientProbe(lambda: tracker.epoch + 1)
        probe.watch(params)
        ns["tracker"] = tracker
        began = time.perf_counter()
        try:
            ns.update(call_step(plan.stage.model_training, ns))
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception:
            return None
        finally:
            probe.remove()
        rec = tracker.snapshot()
        if plan.stage.returns == "model":
            ns["model"] = inference(ns["model"])
        try:
            result = build_result(plan, ns, rec, time.perf_counter() - began)
        except Exception:  # a model that cannot be evaluated as a function of x
            return None
    return Replay(result, probe.gradients())


def _substitute(plan: Plan, ns: dict[str, Any], start: Start) -> bool:
    """Put the start into the stage's namespace, the optimizer rebuilt over it."""
    old = stage_parameters(plan.stage, ns)
    if plan.stage.returns == "model":
        if start.model is None:
            return False
        ns["model"] = copy.deepcopy(start.model)
    else:
        for name in ("b", "w"):
            made = _like(ns[name], start.values.get(name))
            if made is None:
                return False
            ns[name] = made
    new = stage_parameters(plan.stage, ns)
    for key, value in list(ns.items()):
        if _is_optimizer(value):
            ns[key] = _rebuilt(value, old, new)
    return True


def _like(reference: Any, values: np.ndarray | None) -> Any:
    size = reference.numel() if hasattr(reference, "numel") else np.size(reference)
    if values is None or np.size(values) != size:
        return None
    if not hasattr(reference, "detach"):
        return np.array(values, dtype=np.asarray(reference).dtype).reshape(np.shape(reference))
    import torch

    made = torch.as_tensor(np.ascontiguousarray(values).reshape(tuple(reference.shape)),
                           dtype=reference.dtype).to(reference.device)
    return made.requires_grad_(reference.requires_grad)


def _is_optimizer(value: Any) -> bool:
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.optim.Optimizer)


def _rebuilt(optimizer: Any, old: dict[str, Any], new: dict[str, Any]) -> Any:
    by_id = {id(value): new.get(name) for name, value in old.items()}
    params = [by_id.get(id(p)) for g in optimizer.param_groups for p in g["params"]]
    if any(p is None for p in params) or len(old) != len(new):
        params = list(new.values())
    return type(optimizer)(params, **optimizer.defaults)


def stage_features(plan: Plan) -> Features:
    """What the stage's own code uses, seen in one epoch of it."""
    with _quietly(plan):
        ns = _namespace(plan, plan.options.lr, 1)
        params = stage_parameters(plan.stage, ns)
        tracker = Tracker(1)
        tracker.start(params)
        ns["tracker"] = tracker
        probe, steps, ops = GradientProbe(lambda: 1), OptimizerWatch(lambda: 1), FirstEpochs(None)
        probe.watch(params)
        try:
            if plan.stage.uses_torch:
                steps.install()
                ops.epoch(1)
            call_step(plan.stage.model_training, ns)
        finally:
            ops.close()
            probe.remove()
            steps.remove()
    record, _ = steps.stepping(params)
    return Features(backward=probe.total > 0, optimizer=record is not None,
                    loss_function=bool(ops.seen.mse_loss),
                    tensors=all(hasattr(v, "detach") for v in params.values()),
                    optimizer_settings=tuple(sorted(record.settings.items())) if record else (),
                    optimizer_kind=record.kind if record else "")


def function_path(plan: Plan, trajectory: Trajectory, model: Any) -> tuple[np.ndarray, np.ndarray]:
    """The effective intercept and slopes at every row of a student's trajectory (a model
    is evaluated as at inference: in evaluation mode, so dropout draws nothing)."""
    rec = Recording(trajectory.names, trajectory.shapes, np.empty(0), trajectory.path)
    return affine_path(plan.stage, {"model": inference(model)}, rec, plan.data.n_features)


def inference(model: Any) -> Any:
    """A copy of the model in evaluation mode (what it computes at inference)."""
    if model is None or not hasattr(model, "eval"):
        return model
    return copy.deepcopy(model).eval()


def outputs(model: Any, trajectory: Trajectory, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The model's predictions on ``x`` (float64, on the CPU) with the parameters of the
    trajectory's ``rows``: shape (len(rows), len(x))."""
    import torch
    from torch.func import functional_call, vmap

    path = trajectory.path[rows]
    params, offset = {}, 0
    for name, shape in zip(trajectory.names, trajectory.shapes):
        size = int(np.prod(shape)) if shape else 1
        params[name] = torch.from_numpy(np.ascontiguousarray(path[:, offset:offset + size]
                                                             .reshape(len(rows), *shape)))
        offset += size
    model = inference(model)
    buffers = {n: b.detach().cpu().double() for n, b in model.named_buffers()}
    inputs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))

    def evaluate(p: dict[str, Any]) -> Any:
        return functional_call(model, {**p, **buffers}, (inputs,))

    with torch.no_grad():
        return np.asarray(vmap(evaluate)(params).reshape(len(rows), len(x)).numpy(), dtype=np.float64)


def parted(mine: tuple[np.ndarray, np.ndarray], theirs: tuple[np.ndarray, np.ndarray],
           tolerance: float) -> int | None:
    """The first row where two function paths differ by more than ``tolerance`` (relative
    to the values' size), over the rows both have; None if they agree throughout."""
    rows = min(len(mine[0]), len(theirs[0]))
    a = np.column_stack([mine[0][:rows], np.reshape(mine[1][:rows], (rows, -1))])
    b = np.column_stack([theirs[0][:rows], np.reshape(theirs[1][:rows], (rows, -1))])
    with np.errstate(all="ignore"):
        same = np.abs(a - b) <= tolerance * (1 + np.abs(b))
        both_gone = ~np.isfinite(a) & ~np.isfinite(b)
    ok = np.all(same | both_gone, axis=1)
    bad = np.flatnonzero(~ok)
    return int(bad[0]) if len(bad) else None


def step_factors(trajectory: Trajectory, reference: Result, row: int = 1) -> dict[str, float | None]:
    """Each parameter's step in epoch ``row`` divided by the reference's (None: the
    reference did not move it, or the student's step is not a multiple of it)."""
    if trajectory.epochs < row or reference.epochs < row:
        return {}
    factors: dict[str, float | None] = {}
    start = 0
    for name, shape in zip(trajectory.names, trajectory.shapes):
        size = int(np.prod(shape)) if shape else 1
        mine = trajectory.path[row, start:start + size] - trajectory.path[row - 1, start:start + size]
        start += size
        theirs_path = reference.path.get(name)
        if theirs_path is None or theirs_path.size // len(theirs_path) != size:
            factors[name] = None
            continue
        flat = theirs_path.reshape(len(theirs_path), -1)
        theirs = flat[row] - flat[row - 1]
        factors[name] = _ratio(mine, theirs)
    return factors


def _ratio(mine: np.ndarray, theirs: np.ndarray) -> float | None:
    with np.errstate(all="ignore"):
        scale = float(theirs @ theirs)
        if not np.isfinite(scale) or scale == 0:
            return None
        k = float(mine @ theirs) / scale
        residual = float(np.linalg.norm(mine - k * theirs)) / np.sqrt(scale)
    return k if np.isfinite(k) and residual < 1e-3 * max(1.0, abs(k)) else None
