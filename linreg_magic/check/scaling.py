"""Every step a multiple of the reference's: which cause it has.

A factor N (the number of training points) is a sum where a mean was meant; 2 with
two backward passes per epoch is a doubled gradient; 0.5 with hand-written
gradients is a lost 2 of the derivative; any other factor is another learning
rate: the body's own ``lr``, an optimizer's ``lr=``, a factor in the update.
"""

from __future__ import annotations

import ast

import numpy as np

from ..lr import LrSource, lr_advice, safe_lr, stable
from . import fixes
from .dynamics import parted, replay
from .evidence import MAX_REPLAY, Evidence, start_of
from .verdict import Edit, Finding, FindingKind, Severity

__all__ = ["SAME", "answer_gap", "close", "reaches", "scaled"]

K = FindingKind
#: Two factors are the same when they differ by less than this (relative).
SAME = 0.02


def close(a: float, b: float, rel: float = SAME) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-12)


def answer_gap(ev: Evidence) -> tuple[float, float]:
    """How far the student's end and the reference dynamics' end are from the answer."""
    ref = ev.student.reference if ev.student is not None else None
    answer = np.array([ref.intercept, *ref.coef]) if ref is not None else np.zeros(1)
    mine = np.array([ev.student.intercept, *ev.student.coef]) if ev.student is not None else answer
    expected = ev.expected.result if ev.expected is not None else None
    theirs = np.array([expected.intercept, *expected.coef]) if expected is not None else answer
    with np.errstate(all="ignore"):
        return float(np.max(np.abs(mine - answer))), float(np.max(np.abs(theirs - answer)))


def reaches(ev: Evidence) -> bool:
    """Whether the student's run ends at least as near the answer as the reference does.

    With a hidden layer the answer is reached by many parameter values and the paths
    wander more, so there a training loss as low (within half again) counts too."""
    mine, theirs = answer_gap(ev)
    if not np.isfinite(mine):
        return False
    if mine <= theirs + ev.tolerance * 10:
        return True
    expected = ev.expected.result if ev.expected is not None else None
    if ev.student is None or expected is None or not ev.plan.options.hidden:
        return False
    return bool(ev.student.train_loss <= 1.5 * expected.train_loss + 1e-12)


def scaled(ev: Evidence, k: float) -> list[Finding]:
    lr, n = ev.plan.options.lr, len(ev.plan.data.train_idx)
    probe = ev.run.probe
    passes = probe.per_epoch() if probe is not None else 0
    grad_k = _gradient_factor(ev)
    if passes >= 2 and close(k, float(passes)):
        return [_second_backward(ev, passes)]
    if (grad_k is not None and close(grad_k, float(n))) or (grad_k is None and close(k, float(n))):
        return [_loss_sum(ev, n)]
    if grad_k is None and close(k, 0.5):
        halved = _half_gradients(ev)
        if halved is not None:
            return [halved]
    return [_own_lr(ev, k * lr, k)]


def _half_gradients(ev: Evidence) -> Finding | None:
    """Hand-written gradients without the 2 of d(error**2)/d(error) = 2 * error."""
    lines = [n for n in ev.source.nodes() if isinstance(n, ast.Assign) and len(n.targets) == 1 and
             isinstance(n.targets[0], ast.Name) and "grad" in n.targets[0].id and ev.source.in_loop(n)
             and not ev.source.segment(n.value).replace(" ", "").startswith("2*")]
    if not lines:
        return None
    edits = tuple(e for n in lines for e in fixes.replace(ev.source, n.lineno, ev.source.segment(n.value),
                                                          f"2 * {ev.source.segment(n.value)}"))
    return ev.mistake(K.GRADIENT, "your gradients are half the mean squared error's "
                      f"(cell line {lines[0].lineno}): the derivative of error ** 2 is 2 * error",
                      "put the 2 back: b_grad = 2 * error.mean(), w_grad = 2 * (x_train * error).mean()",
                      lines[0].lineno, edits)


def _gradient_factor(ev: Evidence) -> float | None:
    probe, expected = ev.run.probe, ev.expected
    if probe is None or expected is None:
        return None
    mine, theirs = probe.gradients(), expected.gradients
    ratios = []
    for name, g in mine.items():
        ref = theirs.get(name)
        if ref is not None and ref.size == g.size and float(ref.ravel() @ ref.ravel()) > 0:
            ratios.append(float(g.ravel() @ ref.ravel()) / float(ref.ravel() @ ref.ravel()))
    return float(np.mean(ratios)) if ratios else None


def _second_backward(ev: Evidence, passes: int) -> Finding:
    calls = [c for c in ev.source.calls("backward") if ev.source.in_loop(c)]
    if len(calls) < 2:  # the epoch's step may be a function the loop calls
        calls = ev.source.calls("backward")
    line = calls[-1].lineno if len(calls) >= 2 else None
    edits = fixes.delete(ev.source, line) if line else ()
    lines = ", ".join(str(c.lineno) for c in calls)
    return ev.mistake(K.SECOND_BACKWARD, f"backward() ran {passes} times every epoch"
                      + (f" (cell lines {lines})" if lines else "") + f": .grad adds them up, so each "
                      f"step is {passes} times the gradient's", "call loss.backward() once per epoch",
                      line, edits)


def _loss_sum(ev: Evidence, n: int) -> Finding:
    lines = ev.source.lines_with(r"\.sum\(\)(?!\s*/)|np\.sum\(|reduction\s*=\s*['\"]sum['\"]")
    edits: list[Edit] = []
    for line in lines:
        edits.extend(fixes.replace_all(ev.source, line, {".sum()": ".mean()", "np.sum(": "np.mean(",
                                                         "'sum'": "'mean'", '"sum"': '"mean"'}))
    first = lines[0] if lines else None
    return ev.mistake(K.LOSS_SUM, f"your gradients are {n} times the mean squared "
                      f"error's ({n} is the number of training points): the loss (or the gradient) sums "
                      "the squared errors instead of averaging them"
                      + (f" (cell line {first})" if first else ""),
                      "take the mean: (error ** 2).mean(), or nn.MSELoss(reduction='mean')", first,
                      tuple(edits))


def _own_lr(ev: Evidence, effective: float, k: float) -> Finding:
    """Every step is ``k`` times the reference's: the code's own learning rate."""
    line, edits, named = _lr_source(ev, effective)
    data, option = ev.plan.data, ev.plan.options.lr
    arrives = _follows(ev, effective) and reaches(ev)
    severity = Severity.NOTE if arrives else Severity.MISTAKE
    subject = f"your {named}" if named else f"the learning rate your steps imply, {effective:.3g},"
    fix = (f"delete cell line {line} so that the lr provided (--lr {option:g}) applies"
           if edits and not edits[0].new else f"change cell line {line} as shown" if edits else
           f"make each step lr times the gradient (lr = {option:g}, from --lr)")
    if not stable(effective, data) and not ev.plan.options.hidden:
        source = LrSource(subject, "use {lr} or less" if named else "check the update")
        text = f"your steps are {k:.3g} times the reference's: {lr_advice(effective, data, source=source)}"
    else:
        how = "reaches the answer" if arrives else "does not get as near the answer as the reference"
        text = (f"your steps are {k:.3g} times the reference's: gradient descent with lr={effective:.3g}"
                f"{', from ' + named if named else ''}, where the stage's --lr is {option:g}; it {how}")
    found = ev.note if severity is Severity.NOTE else ev.mistake
    return found(K.OWN_LR if named else K.STEP_FACTOR, text, fix, line, edits)


def _lr_source(ev: Evidence, effective: float) -> tuple[int | None, tuple[Edit, ...], str]:
    """Where the code's own learning rate comes from: its line, the fix, and its name."""
    option = ev.plan.options.lr
    keep = option if stable(option, ev.plan.data) else safe_lr(ev.plan.data)
    for call in ev.source.nodes():
        if isinstance(call, ast.Call) and call.func and any(k.arg == "lr" for k in call.keywords):
            value = next(k.value for k in call.keywords if k.arg == "lr")
            text = ev.source.segment(value)
            if text != "lr" and call.lineno == call.end_lineno:
                edits = fixes.replace(ev.source, call.lineno, f"lr={text}", "lr=lr")
                return call.lineno, edits, f"lr={text} on cell line {call.lineno}"
    own = ev.source.constant("lr")
    if own is not None and close(own[1], effective, 0.05):
        line = own[0]
        edits = (fixes.delete(ev.source, line) if keep == option else
                 fixes.replace(ev.source, line, ev.source.segment(ev.source.statement(line).value),  # type: ignore[union-attr]
                               f"{keep:g}"))
        return line, edits, f"lr = {own[1]:g} on cell line {line}"
    return None, (), ""


def _follows(ev: Evidence, lr: float) -> bool:
    """Whether the student's trajectory is the stage's code with learning rate ``lr``."""
    if ev.trajectory is None or ev.student is None:
        return False
    model = ev.trajectory.model if ev.trajectory.model is not None else ev.run.scope.get("model")
    start = start_of(ev.plan, ev.trajectory, model)
    other = replay(ev.plan, start, lr=lr, epochs=min(max(ev.epochs, 1), MAX_REPLAY))
    if other is None:
        return False
    return parted((ev.student.intercept_path, ev.student.coef_path),
                  (other.result.intercept_path, other.result.coef_path), ev.tolerance * 10) is None
