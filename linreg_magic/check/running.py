"""Running a student's cell body: in a fresh namespace, recorded, observed, contained.

Errors in the body come back as a :class:`StudentError` with the cell's line numbers
(the ``%%linreg`` line is line 1); they never propagate.  Ctrl-C stops the body and
keeps what was recorded.  The session is left as it was (:func:`~linreg_magic.session.guarded`:
random states, torch's modes, cwd, stdout, matplotlib, ...); the figures the body drew
are kept to show, as a cell's own figures are shown.
"""

from __future__ import annotations

import builtins
import time
import traceback
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine import Diverged, prepare_namespace, synchronize
from ..plan import Plan
from ..result import Stop, StopKind
from ..session import Guard, guarded
from ..stage import call_step
from .contract import body_imports, body_tools
from .instrument import EXIT, ITERATE, LOOP, RETURN, SHOW, Instrumented
from .probes import FirstEpochs, GradientProbe, OpsSeen, OptimizerWatch
from .recording import LoopRecorder, Trajectory, watched

__all__ = ["Execution", "StudentError", "execute", "student_error"]

#: The teaching functions a body may paste whole from the code view; they are called
#: in this order when the body defines them and does not call them itself.
STEP_NAMES = ("data_preparation", "model_configuration", "model_training")


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

    @property
    def source(self) -> str:
        return self.frames[-1][2] if self.frames else ""


class BodyReturn(Exception):
    """A ``return`` at the body's top level (a stage's loop pasted from the code view)."""

    def __init__(self, value: Any = None) -> None:
        super().__init__()
        self.value = value


@dataclass
class Execution:
    """What running the body did and left behind."""

    scope: dict[str, Any]
    provided: dict[str, Any]
    trajectory: Trajectory | None = None
    error: StudentError | None = None
    exception: BaseException | None = None
    stopped: Stop | None = None
    seconds: float = 0.0
    probe: GradientProbe | None = None
    steps: OptimizerWatch | None = None
    ops: OpsSeen = field(default_factory=OpsSeen)
    warnings: tuple[str, ...] = ()
    recorder: LoopRecorder | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)
    guard: Guard | None = None  # the session's guard: it holds the figures the body drew

    @property
    def final(self) -> dict[str, Any] | None:
        """The parameters the body left, by name."""
        if self.recorder is None:
            return None
        return watched(self.recorder.returns, self.scope, self.recorder.aliases)


def _show(value: Any) -> None:
    """A body's last expression, shown as a cell shows it."""
    if value is not None:
        from IPython.display import display

        display(value)


def _scope(plan: Plan, ns: dict[str, Any], recorder: LoopRecorder | None) -> dict[str, Any]:
    scope: dict[str, Any] = {"__name__": "__linreg_cell__", "__builtins__": builtins,
                             **body_imports(plan.stage), **ns, **body_tools(plan.stage, plan.options.epochs),
                             RETURN: BodyReturn, SHOW: _show}
    scope[LOOP] = recorder
    return scope


def execute(plan: Plan, body: Instrumented, filename: str, uncalled: list[str],
            aliases: Mapping[str, str] | None = None) -> Execution:
    """Run the instrumented body for ``plan``'s stage (see the module's docstring).

    ``uncalled`` are the functions the body defines at its top level and never calls:
    pasted teaching functions among them (``model_training`` ...) are called."""
    stage = plan.stage
    with guarded(device=plan.device, uses_torch=stage.uses_torch, watch_matplotlib=True) as guard, \
            warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        ns = prepare_namespace(plan)
        scope = _scope(plan, ns, None)
        recorder = LoopRecorder(stage.returns, scope, limit=4 * plan.options.epochs + 4096, aliases=aliases)
        scope[LOOP], scope[ITERATE] = recorder, recorder.iterate
        run = Execution(scope, dict(ns), recorder=recorder, guard=guard)
        _observe(run, recorder, filename, stage.uses_torch)
        recorder.snapshot()
        began = time.perf_counter()
        _run(run, body, filename, [n for n in STEP_NAMES if n in uncalled], plan)
        recorder.snapshot(EXIT)
        synchronize(plan.device)
        run.seconds = time.perf_counter() - began
        run.trajectory = recorder.trajectory()
        run.warnings = tuple(dict.fromkeys(str(w.message).split(". ")[0] for w in caught))
    if run.error is not None:
        guard.close_figures()  # a failed body's half-drawn figures are not shown
    return run


def _observe(run: Execution, recorder: LoopRecorder, filename: str, uses_torch: bool) -> None:
    """Attach the gradient probe, the optimizer watch and the first epochs' watch."""
    if not uses_torch:
        return
    epoch = lambda: recorder.epoch  # noqa: E731
    run.probe, run.steps = GradientProbe(epoch), OptimizerWatch(epoch)
    first = FirstEpochs(filename)
    run.ops = first.seen
    probe = run.probe

    def started(n: int) -> None:
        probe.watch(watched(recorder.returns, run.scope, recorder.aliases))
        first.epoch(n)

    recorder.listeners.append(started)
    run.probe.watch(watched(recorder.returns, run.scope, recorder.aliases))
    run.steps.install()
    run.closers.extend((first.close, probe.remove, run.steps.remove))


def _run(run: Execution, body: Instrumented, filename: str, steps: list[str], plan: Plan) -> None:
    try:
        try:
            exec(body.code, run.scope)
        except BodyReturn as returned:
            if isinstance(returned.value, Mapping):
                run.scope.update(returned.value)
        for name in steps:
            if callable(run.scope.get(name)):
                run.scope.update(call_step(run.scope[name], run.scope))
    except KeyboardInterrupt:
        done = run.recorder.epoch if run.recorder else 0
        run.stopped = Stop.interrupted(done, plan.options.epochs)
    except Diverged as exc:
        run.stopped = Stop(StopKind.DIVERGED, exc.epoch, f"diverged at epoch {exc.epoch}")
    except BaseException as exc:  # sys.exit(), GeneratorExit...: they end the cell, not the kernel
        run.exception, run.error = exc, student_error(exc, filename)
        run.stopped = Stop(StopKind.FAILED, run.recorder.epoch if run.recorder else 0,
                           f"your code stopped with {run.error.kind}")
    finally:
        for close in run.closers:
            close()
        if run.stopped is not None and run.recorder is not None:
            run.recorder.stopped()


def student_error(exc: BaseException, filename: str) -> StudentError:
    """The exception with only the frames of the student's cell."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [(f.lineno or 0, f.name, (f.line or "").strip()) for f in frames if f.filename == filename]
    hidden = sum(1 for f in frames if f.filename != filename) - 1  # our exec() frame
    exc.__traceback__ = None
    return StudentError(type(exc).__name__, _message(exc), tuple(mine), max(hidden, 0))


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # an exception whose __str__ fails
        return f"<{type(exc).__name__} whose message could not be read>"
