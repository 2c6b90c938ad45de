"""The engine: ``run(options) -> Result``.

data -> device -> the stage's three steps -> record -> result.  It knows nothing
of display.  Every run is :func:`~linreg_magic.session.guarded`: the session's
global state (random generators, torch's modes, streams, cwd, environment, ...)
is as it was afterwards, failed, interrupted or not.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .data import Dataset, make_data
from .device import DeviceGuard, describe
from .errors import UsageError, usage_error
from .lr import divergence_note
from .mse import QuadraticMSE
from .options import Options
from .plan import Plan, check_stage_data, check_stage_options
from .printed import capture_prints, uncaptured
from .reference import book_values, reference
from .registry import ladder
from .result import Result, Stop, StopKind
from .session import guarded
from .stage import Stage, call_step
from .tracker import Recording, Tracker

__all__ = ["Diverged", "LiveFrame", "model_parameters", "run", "run_each", "run_ladder", "run_options",
           "run_plan", "train_prepared"]


class Diverged(ArithmeticError):
    """A run's loss (or a gradient) became inf or NaN; ``epoch`` is 1-based."""

    def __init__(self, epoch: int, value: float) -> None:
        super().__init__(f"a value became {value} at epoch {epoch}")
        self.epoch = epoch
        self.value = value


def run(options: Options | str | None = None, /, *,
        progress: Callable[[Tracker], None] | None = None, **values: Any) -> Result:
    """Run one stage and return its :class:`Result`.

    ``linreg_magic.run(stage="module", device="cpu", epochs=1000)`` or
    ``linreg_magic.run("module", epochs=1000)``; keywords are the options (see
    :class:`Options`), or pass an ``Options`` object.
    """
    if isinstance(options, str):
        if "stage" in values:
            raise TypeError("run() got the stage twice: as its first argument and as stage=")
        options, values = None, {**values, "stage": options}
    if options is not None and not isinstance(options, Options):
        raise TypeError(f"run() takes a stage name or an Options object first, not "
                        f"{type(options).__name__}; pass options as keywords, e.g. run(epochs=100)")
    if options is None:
        options = Options.from_mapping(values)
    elif values:
        options = options.replace(**values)
    return run_options(options, progress=progress)


@dataclass(frozen=True)
class LiveFrame:
    """Where a run stands, for a live view: the losses so far and the current line."""

    stage: str
    epoch: int
    n_epochs: int
    seconds: float
    losses: np.ndarray
    intercept: float
    coef: np.ndarray
    data: Dataset


def run_options(options: Options, *, progress: Callable[[Tracker], None] | None = None,
                data: Dataset | None = None, live: Callable[[LiveFrame], None] | None = None,
                prepared: Callable[[dict[str, Any]], None] | None = None) -> Result:
    """Run one stage. ``data`` replaces the data the options describe (e.g. the
    user's arrays); see :func:`run_plan` for the callbacks."""
    return run_plan(Plan.make(options, data), progress=progress, live=live, prepared=prepared)


def run_plan(plan: Plan, *, progress: Callable[[Tracker], None] | None = None,
             live: Callable[[LiveFrame], None] | None = None,
             prepared: Callable[[dict[str, Any]], None] | None = None) -> Result:
    """Train the plan's stage and record it.  ``live`` is called with a
    :class:`LiveFrame` whenever the tracker reports progress (a few times a second,
    never per epoch) and, if it has a ``ready(seconds) -> bool`` method, that method
    says whether a frame is wanted; ``prepared(namespace)``, if given, is called just
    before training.  What the stage's code prints is kept in ``Result.printed``."""
    # the guard inside the capture: sys.stdout is then the capture's router, which
    # stays while another thread (the widget's worker) still captures
    with DeviceGuard(plan.device), capture_prints() as printed, \
            guarded(device=plan.device, uses_torch=plan.stage.uses_torch) as guard:
        result = _train(plan, progress, live, prepared, guard.mark)
    return result.replace(printed=printed.text) if printed.text else result


def run_ladder(options: Options, *, data: Dataset | None = None,
               stages: list[str] | None = None) -> list[Result]:
    """Every stage (or those named) on the same data, device and options, in ladder order.

    Stages that cannot take the data (several features) or the options (``--hidden``)
    are left out.  Numpy stages run on the CPU and without ``--cuda-graph``.  Every
    stage's options are checked before the first one trains.

    Ctrl-C stops the whole ladder: the stages that finished are returned, followed
    by the interrupted one (its ``stopped`` is an INTERRUPTED :class:`Stop`).  A
    Ctrl-C that lands before the interrupted stage has parameters (while it makes
    its tensors) leaves only the finished ones, or re-raises if none finished.
    """
    return run_each(ladder_plans(options, data, stages))


def run_each(plans: list[Plan]) -> list[Result]:
    """Run the plans in order, as :func:`run_ladder` does: a Ctrl-C stops them all and
    the finished results come back, the interrupted one last."""
    results: list[Result] = []
    for plan in plans:
        try:
            result = run_plan(plan)
        except KeyboardInterrupt:
            if not results:
                raise
            break
        results.append(result)
        if result.stopped is not None and result.stopped.kind is StopKind.INTERRUPTED:
            break
    return results


def ladder_plans(options: Options, data: Dataset | None = None,
                 stages: list[str] | None = None) -> list[Plan]:
    """The plans of :func:`run_ladder`, every one checked, none run."""
    if data is None:
        data = make_data(options)
    plans: list[Plan] = []
    for stage in ladder():
        if stages is not None and stage.name not in stages:
            continue
        try:
            check_stage_options(stage, options)
            check_stage_data(stage, data)
        except UsageError:
            continue
        stage_options = (options.replace(stage=stage.name) if stage.uses_torch else
                         options.replace(stage=stage.name, device="cpu", cuda_graph=False))
        plans.append(Plan.make(stage_options, data))
    return plans


def prepare_namespace(plan: Plan) -> dict[str, Any]:
    """The run namespace as the stage's training code finds it: data, settings,
    and what ``data_preparation`` and ``model_configuration`` made."""
    ns = plan.namespace()
    ns.update(call_step(plan.stage.data_preparation, ns))
    ns.update(call_step(plan.stage.model_configuration, ns))
    return ns


def _train(plan: Plan, progress: Callable[[Tracker], None] | None,
           live: Callable[[LiveFrame], None] | None = None,
           prepared: Callable[[dict[str, Any]], None] | None = None,
           made: Callable[[], None] = lambda: None) -> Result:
    ns = prepare_namespace(plan)
    made()  # what the stage's set-up changed (its seed): see session.Guard.mark
    return train_prepared(plan, ns, progress=progress, live=live, prepared=prepared)


def train_prepared(plan: Plan, ns: dict[str, Any], *, progress: Callable[[Tracker], None] | None = None,
                   live: Callable[[LiveFrame], None] | None = None,
                   prepared: Callable[[dict[str, Any]], None] | None = None) -> Result:
    """Train a plan from the namespace :func:`prepare_namespace` made (where the random
    draws happen), touching no process-wide state: a background thread may call it."""
    stage, options = plan.stage, plan.options
    if live is not None:
        progress = _with_live_frames(progress, live, plan, ns, lambda: start)
    tracker = Tracker(options.epochs, progress=uncaptured(_stop_when_diverged(progress)))
    params = stage_parameters(stage, ns)
    tracker.start(params)
    ns["tracker"] = tracker
    if prepared is not None:
        uncaptured(prepared)(ns)
    stopped: Stop | None = None
    notes: tuple[str, ...] = ()
    replayed: float | None = None  # with --cuda-graph: the replays alone
    start = time.perf_counter()
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            if options.cuda_graph:
                replayed, notes = _train_with_cuda_graph(stage, ns, tracker, params, options.epochs)
            else:
                ns.update(call_step(stage.model_training, ns))
    except KeyboardInterrupt:
        stopped = Stop.interrupted(tracker.epoch, options.epochs)
    except Diverged:
        pass  # the recording says where
    synchronize(plan.device)
    seconds = time.perf_counter() - start if replayed is None else replayed
    rec = tracker.snapshot()
    bad = np.flatnonzero(~np.isfinite(rec.losses))
    if len(bad):
        epoch = int(bad[0]) + 1
        stopped = Stop(StopKind.DIVERGED, epoch,
                       divergence_note(epoch, float(rec.losses[bad[0]]), options, plan.data))
        rec = Recording(rec.names, rec.shapes, rec.losses[:epoch - 1], rec.path[:epoch])
    return build_result(plan, ns, rec, seconds).replace(autograd=graph_inputs(stage, ns, tracker),
                                                        stopped=stopped, notes=notes)


def _train_with_cuda_graph(stage: Stage, ns: dict[str, Any], tracker: Tracker,
                           params: dict[str, Any], epochs: int) -> tuple[float, tuple[str, ...]]:
    from .cuda_graph import train_with_cuda_graph

    seconds, eager, prepared = train_with_cuda_graph(stage, ns, tracker, params, epochs)
    per_epoch = seconds / epochs
    note = (f"CUDA graph: {per_epoch * 1e6:.1f} us per epoch replayed, {eager * 1e6:.1f} us eager "
            f"({eager / per_epoch:.1f}x faster); warm-up and capture {prepared * 1e3:.0f} ms")
    return seconds, (note,)


def _stop_when_diverged(progress: Callable[[Tracker], None] | None) -> Callable[[Tracker], None]:
    """The progress callback, after a look at the last loss: an inf or NaN stops the
    run (one host sync, a few times a second, never every epoch)."""

    def check(tracker: Tracker) -> None:
        loss = tracker.last_loss
        if loss is not None:
            value = float(loss.detach() if hasattr(loss, "detach") else loss)
            if not np.isfinite(value):
                raise Diverged(tracker.epoch, value)
        if progress is not None:
            progress(tracker)

    return check


def _with_live_frames(progress: Callable[[Tracker], None] | None, live: Callable[[LiveFrame], None],
                      plan: Plan, ns: Mapping[str, Any],
                      started: Callable[[], float]) -> Callable[[Tracker], None]:
    ready = getattr(live, "ready", None)
    stage, data = plan.stage, plan.data

    def report(tracker: Tracker) -> None:
        if progress is not None:
            progress(tracker)
        if ready is not None and not ready(time.perf_counter() - started()):
            return  # a snapshot copies everything so far: only make frames that will be drawn
        rec = tracker.snapshot()
        last = Recording(rec.names, rec.shapes, rec.losses[-1:], rec.path[-1:])
        intercepts, coefs = affine_path(stage, ns, last, data.n_features)
        live(LiveFrame(stage.name, rec.epochs, tracker.n_epochs, time.perf_counter() - started(),
                       rec.losses, float(intercepts[0]), np.asarray(coefs[0]), data))

    return report


def stage_parameters(stage: Stage, ns: Mapping[str, Any]) -> dict[str, Any]:
    """The live parameter objects, by name, that the stage trains."""
    if stage.returns == "bw":
        missing = [name for name in ("b", "w") if name not in ns]
        if missing:
            raise RuntimeError(f"stage {stage.name!r} did not provide {', '.join(missing)}")
        return {"b": ns["b"], "w": ns["w"]}
    model = ns.get("model")
    if model is None or not hasattr(model, "named_parameters"):
        raise RuntimeError(f"stage {stage.name!r} did not provide an nn.Module called 'model'")
    return model_parameters(model)


def model_parameters(model: Any) -> dict[str, Any]:
    """A model's named parameters; one UsageError line for a model with none
    (``nn.Identity()``, an empty ``nn.Sequential()``): there is nothing to learn."""
    params = dict(model.named_parameters())
    if not params:
        raise usage_error(f"`model` ({type(model).__name__}) has no parameters, so there is "
                          "nothing to learn", "a linear regression model holds a slope and an "
                          "intercept, e.g. nn.Linear(n_features, 1)",
                          "Build the model with parameters, e.g. model = nn.Linear(1, 1)")
    return params


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize(device)
    elif device == "mps":
        import torch

        torch.mps.synchronize()


def graph_inputs(stage: Stage, ns: Mapping[str, Any], tracker: Tracker) -> dict[str, Any] | None:
    """The last loss and the named parameters, for drawing the autograd graph."""
    loss = tracker.last_loss
    if loss is None or getattr(loss, "grad_fn", None) is None:
        return None
    return {"loss": loss, "params": stage_parameters(stage, ns)}


def build_result(plan: Plan, ns: Mapping[str, Any], rec: Recording, seconds: float) -> Result:
    """Turn a recording into a Result: effective line, validation loss, reference (how the
    run ended, its graph and its notes are the caller's to add with ``replace``)."""
    stage, data = plan.stage, plan.data
    intercepts, coefs = affine_path(stage, ns, rec, data.n_features)
    per_epoch = len(rec.path) == rec.epochs + 1  # else a path with only its ends
    with np.errstate(over="ignore", invalid="ignore"):
        val_losses = (QuadraticMSE.of(data.x_val, data.y_val)(intercepts[:-1], coefs[:-1])
                      if len(data.val_idx) and per_epoch else np.empty(0))
    return Result(
        stage=stage.name,
        options=plan.options,
        device=plan.device,
        device_name=describe(plan.device),
        seconds=seconds,
        losses=rec.losses,
        val_losses=val_losses,
        params=rec.params_at(-1),
        initial=rec.params_at(0),
        path=rec.param_paths(),
        intercept_path=intercepts,
        coef_path=coefs,
        data=data,
        reference=reference(data),
        book=book_values(stage, plan.options, data),
        graph_note=stage.graph_note,
    )


def affine_path(stage: Stage, ns: Mapping[str, Any], rec: Recording,
                n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """The model's effective intercept and slopes after every epoch.

    For ``b``/``w`` stages they are the parameters; for a module, the model is
    evaluated (in float64, on the CPU, all epochs at once) at ``x = 0`` and at
    each unit vector, which reads off any affine map, stacked layers included.
    """
    rows = len(rec.path)
    if stage.returns == "bw":
        paths = rec.param_paths()
        return paths["b"].reshape(rows), paths["w"].reshape(rows, -1)
    import torch
    from torch.func import functional_call, vmap

    model = ns["model"]
    probes = torch.cat([torch.zeros(1, n_features), torch.eye(n_features)]).double()
    path = {name: torch.from_numpy(np.ascontiguousarray(value))
            for name, value in rec.param_paths().items()}
    buffers = {name: b.detach().cpu().double() for name, b in model.named_buffers()}

    def evaluate(params: dict[str, Any]) -> Any:
        return functional_call(model, {**params, **buffers}, (probes,))

    with torch.no_grad():
        out = vmap(evaluate)(path)
    if tuple(out.shape[1:]) not in ((n_features + 1, 1), (n_features + 1,)):
        raise usage_error(f"`model` maps {n_features + 1} rows of {n_features} feature(s) to shape "
                          f"{tuple(out.shape[1:])}", "a regression model returns one prediction "
                          "per row, shape (N, 1)", f"End the model with a layer that has one output, "
                          f"e.g. nn.Linear({n_features}, 1)")
    out = out.reshape(rows, n_features + 1).numpy()
    intercepts = out[:, 0].copy()
    return intercepts, out[:, 1:] - intercepts[:, None]


