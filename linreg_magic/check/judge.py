"""The verdict, put together from the evidence: the findings (mistakes first), the
level they give, a one-line summary and the numbers behind it."""

from __future__ import annotations

import numpy as np

from ..result import StopKind
from ..text import count
from .contract import result_names
from .diagnose import trajectory_findings
from .evidence import Evidence
from .explain import explain_error
from .hints import hints, stage_notes
from .verdict import Comparison, Finding, FindingKind, Level, Severity, Verdict, level_of

__all__ = ["judge", "not_run"]

K = FindingKind

#: What each kind of mistake or note is, in a few words (the summary line says it).
TITLES = {
    K.SYNTAX: "your code is not valid Python",
    K.ERROR: "your code stopped with an error",
    K.NAME: "your code uses a name it does not have",
    K.MISSING_RESULT: "your code did not leave what the stage reads",
    K.NO_TRAINING: "your code did not train the parameters",
    K.OPTIMIZER_PARAMS: "the optimizer updates other tensors than yours",
    K.FLIPPED_SIGN: "your update climbs the gradient instead of descending it",
    K.LOSS_SUM: "your loss sums the squared errors instead of averaging them",
    K.SECOND_BACKWARD: "backward() runs twice every epoch",
    K.OWN_LR: "your code uses its own learning rate",
    K.OPTIMIZER_SETTINGS: "your optimizer is not the stage's plain gradient descent",
    K.STEP_FACTOR: "your steps are a multiple of gradient descent's",
    K.NO_ZERO_GRAD: "the gradients accumulate: they are never zeroed",
    K.REBINDING: "your update makes a new tensor instead of updating the parameter",
    K.IN_PLACE_LEAF: "your update changes a parameter in place outside torch.no_grad()",
    K.NON_LEAF: "your parameters are copies, not leaf tensors",
    K.DEVICE: "your tensors are on different devices",
    K.FORWARD_RETURN: "forward() does not return the prediction",
    K.NO_PARAMETER: "your model has no parameters to train",
    K.NO_SUPER_INIT: "your model does not call super().__init__()",
    K.NUMPY_REQUIRES_GRAD: ".numpy() on a tensor that autograd tracks",
    K.NUMPY_DATA: "your code mixes the numpy data with tensors",
    K.SHAPE: "shapes (N,) and (N, 1) broadcast into an N x N table",
    K.GRADIENT: "your gradients differ from the mean squared error's",
    K.EPOCHS: "your loop runs another number of epochs",
    K.DIVERGED: "this learning rate makes gradient descent diverge, for the reference too",
    K.DYNAMICS: "your training leaves the reference's path",
    K.STAGE: "right numbers, but not the way this stage teaches",
    K.GRAPH_GROWS: "the loss's graph grows every epoch",
    K.NOT_LINEAR: "your model is not a straight line",
    K.INTERRUPTED: "your run was interrupted",
}


def judge(ev: Evidence) -> Verdict:
    """The verdict on the body's run."""
    findings = explain_error(ev.run, ev.source, result_names(ev.plan.stage))
    stopped = ev.run.stopped
    if stopped is not None and stopped.kind is StopKind.INTERRUPTED:
        findings.append(Finding(K.INTERRUPTED, Severity.MISTAKE, f"your run was {stopped.text}: the views "
                                "show where it stopped", "run the cell again and let it finish"))
    if ev.run.error is None and ev.unreadable is not None:
        findings.append(ev.unreadable)
    if ev.run.error is None and not findings:
        findings += trajectory_findings(ev)
    if not any(f.severity is Severity.MISTAKE for f in findings):
        findings += stage_notes(ev)
    findings += hints(ev)
    ordered = tuple(sorted(_unique(findings), key=lambda f: list(Severity).index(f.severity)))
    level = level_of(ordered)
    return Verdict(level, _summary(level, ordered, ev), ordered, _numbers(ev), ev.parted_at)


def _unique(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[FindingKind, str]] = set()
    out = []
    for f in findings:
        if (f.kind, f.text) not in seen:
            seen.add((f.kind, f.text))
            out.append(f)
    return out


def _summary(level: Level, findings: tuple[Finding, ...], ev: Evidence) -> str:
    if level is Level.NOT_YET:
        first = next(f for f in findings if f.severity is Severity.MISTAKE)
        if first.kind is K.INTERRUPTED:
            return first.text[0].upper() + first.text[1:]
        return f"Not yet: {TITLES.get(first.kind, first.text)}"
    if level is Level.NOTE:
        first = next(f for f in findings if f.severity is Severity.NOTE)
        return f"Correct, with a note: {TITLES.get(first.kind, first.text)}"
    start = " from your own start" if any(f.kind is K.START for f in findings) else ""
    return (f"Correct: your code does what the reference does{start}, epoch by epoch "
            f"({count(ev.epochs, 'epoch')}, within {ev.tolerance:g})")


def _numbers(ev: Evidence) -> tuple[Comparison, ...]:
    student = ev.student
    expected = ev.expected.result if ev.expected is not None else None
    if student is None or expected is None:
        return ()
    rows: list[Comparison] = []
    if ev.run.error is None:
        tol = ev.tolerance
        slopes = "w (slope)" if student.coef.size == 1 else "w (slopes)"
        rows += [Comparison("b (intercept)", (student.intercept,), (expected.intercept,),
                            _near(student.intercept, expected.intercept, tol)),
                 Comparison(slopes, tuple(student.coef), tuple(expected.coef),
                            _near(student.coef, expected.coef, tol)),
                 Comparison("epochs", (float(ev.epochs),), (float(ev.plan.options.epochs),),
                            ev.epochs == ev.plan.options.epochs)]
    return (*rows, *_parting_row(ev), *_gradient_rows(ev))


def _parting_row(ev: Evidence) -> list[Comparison]:
    """Where the two trajectories part: b and w after that epoch, yours and the reference's."""
    epoch, student = ev.parted_at, ev.student
    expected = ev.expected.result if ev.expected is not None else None
    if epoch is None or student is None or expected is None or epoch >= len(expected.intercept_path):
        return []
    mine = (float(student.intercept_path[epoch]), *np.ravel(student.coef_path[epoch]))
    theirs = (float(expected.intercept_path[epoch]), *np.ravel(expected.coef_path[epoch]))
    return [Comparison(f"b, w after epoch {epoch}", tuple(mine), tuple(theirs), False)]


def _gradient_rows(ev: Evidence) -> list[Comparison]:
    """Epoch 1's gradients beside the reference's (models with at most two parameter tensors)."""
    mine = ev.run.probe.gradients() if ev.run.probe is not None else {}
    theirs = ev.expected.gradients if ev.expected is not None else {}
    if len(mine) > 2:
        return []
    return [Comparison(f"{name}.grad, epoch 1", tuple(np.ravel(mine[name])), tuple(np.ravel(ref)),
                       _near(mine[name], ref, 1e-4))
            for name, ref in theirs.items() if name in mine and mine[name].size == ref.size]


def _near(a: object, b: object, tolerance: float) -> bool:
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(all="ignore"):
        return bool(x.shape == y.shape and np.all(np.abs(x - y) <= tolerance * (1 + np.abs(y))))


def not_run(kind: FindingKind, text: str, fix: str, line: int | None = None, source: str = "") -> Verdict:
    """The verdict on a body that did not run (a syntax error, Ctrl-C during the reference)."""
    finding = Finding(kind, Severity.MISTAKE, text, fix, line, source)
    return Verdict(Level.NOT_YET, f"Not yet: {TITLES.get(kind, text)}", (finding,))
