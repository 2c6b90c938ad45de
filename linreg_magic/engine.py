"""The engine: ``run(options) -> Result``.

data -> device -> the stage's three steps -> record -> result.  It knows nothing
of display.  The user's global random states (``random``, numpy, torch) are
restored after every run, failed or not.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import random
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .data import Dataset, make_data
from .device import describe, resolve_device
from .mse import QuadraticMSE
from .options import Options, default_true_w, usage_error
from .registry import get_stage, ladder
from .result import BOOK, Reference, Result
from .stage import Stage
from .tracker import Recording, Tracker

__all__ = ["Diverged", "LiveFrame", "run", "run_ladder", "run_options", "run_student"]


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


def check_stage_options(stage: Stage, options: Options) -> None:
    """Options that the stage cannot honour, as one UsageError."""
    if not stage.multi_feature and (options.features != 1 or options.hidden):
        flag = "--features" if options.features != 1 else "--hidden"
        raise usage_error(
            f"{flag} applies to stages that build their model from the data's shape; "
            f"the {stage.name} stage has one feature and no hidden layer",
            "valid stages for it are " + ", ".join(_multi_feature_stages()),
            f"Use --stage sequential, or drop {flag}",
        )


def _multi_feature_stages() -> list[str]:
    return [s.name for s in ladder() if s.multi_feature]


def check_stage_data(stage: Stage, data: Dataset) -> None:
    """Data with more features than the stage's model takes, as one UsageError."""
    if data.n_features != 1 and not stage.multi_feature:
        raise usage_error(
            f"The data have {data.n_features} features; the {stage.name} stage fits one",
            "valid stages for several features are " + ", ".join(_multi_feature_stages()),
            "Use --stage sequential, or pass one column as --x",
        )


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
    user's arrays); ``live`` is called with a :class:`LiveFrame` whenever the
    tracker reports progress (a few times a second, never per epoch) and, if it
    has a ``ready(seconds) -> bool`` method, that method says so;
    ``prepared(namespace)``, if given, is called just before training."""
    stage, device = resolve_run(options)
    if options.cuda_graph:
        from .cuda_graph import check_cuda_graph

        check_cuda_graph(stage, device)
    data = make_data(options) if data is None else data
    check_stage_data(stage, data)
    with preserved_random_state(stage.uses_torch, device):
        return _train(stage, options, device, data, progress, live, prepared)


def run_ladder(options: Options, *, data: Dataset | None = None,
               stages: list[str] | None = None) -> list[Result]:
    """Every stage (or those named) on the same data, device and options, in ladder order.

    Stages that cannot take the data (several features) or the options (``--hidden``)
    are left out.  Numpy stages run on the CPU and without ``--cuda-graph``.  Every
    stage's options are checked before the first one trains.
    """
    from IPython.core.error import UsageError

    data = make_data(options) if data is None else data
    planned: list[Options] = []
    for stage in ladder():
        if stages is not None and stage.name not in stages:
            continue
        try:
            check_stage_options(stage, options)
            check_stage_data(stage, data)
        except UsageError:
            continue
        planned.append(options.replace(stage=stage.name) if stage.uses_torch else
                       options.replace(stage=stage.name, device="cpu", cuda_graph=False))
    for stage_options in planned:
        stage, device = resolve_run(stage_options)
        if stage_options.cuda_graph:
            from .cuda_graph import check_cuda_graph

            check_cuda_graph(stage, device)
    return [run_options(stage_options, data=data) for stage_options in planned]


def run_student(options: Options, body: str, **how: Any) -> Any:
    """Run a student's own code for a stage and check it (see :mod:`linreg_magic.check`)."""
    from .check import run_student as _run_student

    return _run_student(options, body, **how)


def resolve_run(options: Options) -> tuple[Stage, str]:
    """The stage and the concrete device, after every check that needs no data."""
    stage = get_stage(options.stage)
    check_stage_options(stage, options)
    return stage, resolve_device(options.device, stage.uses_torch, stage.name)


def prepare_namespace(stage: Stage, options: Options, device: str, data: Dataset) -> dict[str, Any]:
    """The run namespace as the stage's training code finds it: data, settings,
    and what ``data_preparation`` and ``model_configuration`` made."""
    ns: dict[str, Any] = {
        "x_train": data.x_train, "y_train": data.y_train,
        "x_val": data.x_val, "y_val": data.y_val,
        "device": device, "lr": options.lr, "n_epochs": options.epochs,
        "seed": options.seed, "n_features": data.n_features, "n_hidden": options.hidden,
    }
    ns.update(call_step(stage.data_preparation, ns))
    ns.update(call_step(stage.model_configuration, ns))
    return ns


def _train(stage: Stage, options: Options, device: str, data: Dataset,
           progress: Callable[[Tracker], None] | None,
           live: Callable[[LiveFrame], None] | None = None,
           prepared: Callable[[dict[str, Any]], None] | None = None) -> Result:
    ns = prepare_namespace(stage, options, device, data)
    if live is not None:
        progress = _with_live_frames(progress, live, stage, ns, data, lambda: start)
    tracker = Tracker(options.epochs, progress=_stop_when_diverged(progress))
    params = stage_parameters(stage, ns)
    tracker.start(params)
    ns["tracker"] = tracker
    if prepared is not None:
        prepared(ns)
    stopped: str | None = None
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
        stopped = f"stopped at epoch {tracker.epoch} of {options.epochs} (interrupted)"
    except Diverged:
        pass  # the recording says where
    synchronize(device)
    seconds = time.perf_counter() - start if replayed is None else replayed
    rec = tracker.snapshot()
    bad = np.flatnonzero(~np.isfinite(rec.losses))
    if len(bad):
        epoch = int(bad[0]) + 1
        stopped = divergence_note(epoch, float(rec.losses[bad[0]]), options.lr, data)
        rec = Recording(rec.names, rec.shapes, rec.losses[:epoch - 1], rec.path[:epoch])
    result = build_result(stage, options, device, data, ns, rec, seconds,
                          autograd=graph_inputs(stage, ns, tracker), stopped=stopped)
    result.notes = notes
    return result


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


def largest_stable_lr(data: Dataset) -> float:
    """Above this learning rate, gradient descent on this data's MSE diverges.

    The MSE of an affine model has the constant Hessian ``H = 2 A'A / n``; batch
    gradient descent converges for ``lr < 2 / lambda_max(H) = 1 / lambda_max(A'A / n)``.
    """
    gram = QuadraticMSE.of(data.x_train, data.y_train).gram
    return float(1.0 / np.linalg.eigvalsh(gram)[-1])


def safe_lr(data: Dataset) -> float:
    """A round learning rate comfortably below :func:`largest_stable_lr`."""
    limit = 0.8 * largest_stable_lr(data)
    exponent = int(np.floor(np.log10(limit)))
    for mantissa in (5, 2, 1):
        if mantissa * 10.0 ** exponent <= limit:
            return float(f"{mantissa * 10.0 ** exponent:.1g}")
    return float(f"{10.0 ** (exponent - 1):.1g}")


def divergence_note(epoch: int, value: float, lr: float, data: Dataset, what: str = "the loss") -> str:
    """Says where a run blew up and which learning rate would work."""
    limit = largest_stable_lr(data)
    why = (f"lr={lr:g} is above {limit:.3g}, the largest stable learning rate for this data "
           f"(2/lambda_max of the MSE's Hessian 2A'A/n)" if lr >= limit
           else f"lr={lr:g} is below the linear model's limit {limit:.3g}, but too large for this model")
    suggestion = safe_lr(data) if lr >= limit else float(f"{lr / 10:.1g}")
    return f"diverged at epoch {epoch} ({what} became {value}): {why}; try --lr {suggestion:g}"


def _with_live_frames(progress: Callable[[Tracker], None] | None, live: Callable[[LiveFrame], None],
                      stage: Stage, ns: Mapping[str, Any], data: Dataset,
                      started: Callable[[], float]) -> Callable[[Tracker], None]:
    ready = getattr(live, "ready", None)

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
    return dict(model.named_parameters())


def call_step(step: Callable[..., Any], ns: Mapping[str, Any]) -> dict[str, Any]:
    """Call a teaching function with the names it asks for from the namespace."""
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


def build_result(stage: Stage, options: Options, device: str, data: Dataset,
                 ns: Mapping[str, Any], rec: Recording, seconds: float,
                 autograd: dict[str, Any] | None = None, stopped: str | None = None) -> Result:
    """Turn a recording into a Result: effective line, validation loss, reference."""
    intercepts, coefs = affine_path(stage, ns, rec, data.n_features)
    per_epoch = len(rec.path) == rec.epochs + 1  # else a path with only its ends
    with np.errstate(over="ignore", invalid="ignore"):
        val_losses = (QuadraticMSE.of(data.x_val, data.y_val)(intercepts[:-1], coefs[:-1])
                      if len(data.val_idx) and per_epoch else np.empty(0))
    return Result(
        stage=stage.name,
        options=options,
        device=device,
        device_name=describe(device),
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
        book=book_values(stage, options, data),
        graph_note=stage.graph_note,
        stopped=stopped,
        autograd=autograd,
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
        out = vmap(evaluate)(path).reshape(rows, n_features + 1).numpy()
    intercepts = out[:, 0].copy()
    return intercepts, out[:, 1:] - intercepts[:, None]


_REFERENCES: dict[bytes, Reference] = {}
#: From this many training points on, the closed form comes from the normal equations.
NORMAL_EQUATIONS_FROM = 1_000_000


def _data_fingerprint(data: Dataset) -> bytes:
    """Identifies a data set cheaply: shapes, sums, and a strided sample of the values."""
    import hashlib

    digest = hashlib.blake2b(digest_size=20)
    digest.update(repr((data.name, data.x.shape, data.y.shape, len(data.train_idx),
                        float(data.x.sum()), float(data.y.sum()))).encode())
    for array in (data.x, data.y, data.train_idx):
        step = max(1, len(array) // 4096)
        digest.update(np.ascontiguousarray(array[::step]).tobytes())
    return digest.digest()


def reference(data: Dataset) -> Reference:
    """scikit-learn's closed-form answer on the training data (worked out once per data set)."""
    key = _data_fingerprint(data)
    found = _REFERENCES.get(key)
    if found is None:
        found = _REFERENCES[key] = _reference(data)
        while len(_REFERENCES) > 8:
            del _REFERENCES[next(iter(_REFERENCES))]
    return found


def _reference(data: Dataset) -> Reference:
    from sklearn.linear_model import LinearRegression

    x_train, y_train = data.x_train, data.y_train  # fresh copies: sklearn may centre them in place
    train_mse = QuadraticMSE.of(x_train, y_train)
    if len(x_train) >= NORMAL_EQUATIONS_FROM:
        # the same least-squares answer, from the (F+1)x(F+1) normal equations in
        # float64, without the several copies of the data sklearn's solver makes
        theta = np.linalg.solve(train_mse.gram, train_mse.moment)
        intercept, coef = float(theta[0]), tuple(float(v) for v in theta[1:])
    else:
        fit = LinearRegression(copy_X=False).fit(x_train, y_train)
        intercept = float(np.ravel(fit.intercept_)[0])
        coef = tuple(float(v) for v in np.ravel(fit.coef_))
    del x_train, y_train
    train = float(train_mse(intercept, np.asarray(coef)))
    val = (float(QuadraticMSE.of(data.x_val, data.y_val)(intercept, np.asarray(coef)))
           if len(data.val_idx) else None)
    return Reference(intercept, coef, train, val)


_BOOK_OPTIONS = {"epochs", "lr", "n", "noise", "true_b", "true_w", "seed", "val_split",
                 "features", "hidden", "scale"}


def book_values(stage: Stage, options: Options, data: Dataset) -> tuple[float, float] | None:
    """The book's published (b, w) when this run is the book's run (a built-in stage
    on the book's data and settings)."""
    from .registry import BUILTIN_STAGES

    changed = set(options.changed())
    if options.slopes == default_true_w(1):
        changed.discard("true_w")  # --true-w 2 is the book's slope, given explicitly
    if changed & _BOOK_OPTIONS or data.name != "synthetic" or stage.name not in BUILTIN_STAGES:
        return None
    return BOOK["torch" if stage.uses_torch else "numpy"]


@contextlib.contextmanager
def preserved_random_state(uses_torch: bool, device: str = "cpu") -> Iterator[None]:
    """Restore ``random``, numpy's and torch's global generators afterwards."""
    py_state = random.getstate()
    np_state = np.random.get_state()
    torch_states: tuple[Any, Any, int] | None = None
    if uses_torch or "torch" in sys.modules:
        import torch

        if device.startswith("cuda"):
            torch.cuda.init()  # so that the state saved is the one the user would draw from
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
        torch_states = (torch.random.get_rng_state(), cuda, torch.initial_seed())
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        if torch_states is not None:
            import torch

            torch.random.set_rng_state(torch_states[0])
            if torch_states[1] is not None:
                torch.cuda.set_rng_state_all(torch_states[1])
            elif torch.cuda.is_available() and not torch.cuda.is_initialized():
                # A stage's torch.manual_seed(seed) also queues that seed for CUDA's first
                # use; queue the user's own seed again (what their manual_seed queued, or
                # torch's default) rather than start CUDA on a CPU run.
                torch.cuda.manual_seed_all(torch_states[2])
