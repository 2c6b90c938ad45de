"""What the student's trajectory says: where it left the reference dynamics from its own
start, and why.

The first step decides most cases.  Each parameter's step divided by the reference's
step from the same point is a factor: 1 is gradient descent, -1 climbs the
gradient, N (the number of training points) is a sum where a mean was meant, 2 with
two backward passes per epoch is a doubled gradient, anything else uniform is
another learning rate (the body's own ``lr``, an optimizer's ``lr=``, a factor in
the update).  A run whose first step agrees and a later one does not has
accumulating gradients, or another optimizer.  What the code observably did (its
backward passes, its optimizer, the shapes it combined) names the cause; the
source only finds the line.
"""

from __future__ import annotations

import ast
import re

import numpy as np

from ..lr import divergence_note
from ..text import count
from . import fixes
from .dynamics import step_factors
from .evidence import Evidence
from .scaling import SAME, answer_gap, close, reaches, scaled
from .verdict import Edit, Finding, FindingKind, Severity

__all__ = ["trajectory_findings"]

K = FindingKind


def trajectory_findings(ev: Evidence) -> list[Finding]:
    """Findings from the student's trajectory against the reference dynamics."""
    student, traj = ev.student, ev.trajectory
    if student is None or traj is None:
        return []
    if traj.epochs == 0 or not np.any(traj.path != traj.path[0]):
        return _no_training(ev)
    if traj.loop is None and ev.plan.options.epochs > 1:
        return [ev.mistake(K.NO_TRAINING, "your code has no loop that trains the "
                           "parameters: it changed them once", "train in a loop: for epoch in "
                           "range(n_epochs): forward pass, loss, gradients, update", None)]
    if ev.expected is None:
        return _unreplayed(ev)
    if ev.parted_at is None:
        return _epochs(ev) + _diverged_alike(ev)
    found = _optimizer_settings(ev)
    if not found:
        found = _first_step(ev) if ev.parted_at == 1 else _later(ev, ev.parted_at)
    if found and found[0].kind in (K.OWN_LR, K.STEP_FACTOR):
        found += _epochs(ev)  # own settings: the epochs too, if the body sets its own
    return found


def _names(ev: Evidence) -> tuple[str, ...]:
    return ("b", "w") if ev.plan.stage.returns == "bw" else ("model",)


# -- no training at all --------------------------------------------------------------
def _no_training(ev: Evidence) -> list[Finding]:
    steps = ev.run.steps
    record, ours = steps.stepping(ev.run.final) if steps is not None else (None, False)
    if record is not None and not ours:
        return [_optimizer_params(ev, record.kind)]
    backward = ev.run.probe is not None and ev.run.probe.total > 0
    what = ("loss.backward() filled the gradients, but nothing updated the parameters with them"
            if backward else "nothing in your code changed them")
    return [ev.mistake(K.NO_TRAINING, f"your code did not change the parameters the "
                       f"stage reads ({', '.join(_names(ev))}): {what}",
                       "update them once per epoch: with torch.no_grad(): b -= lr * b.grad (or "
                       "optimizer.step())" if ev.plan.stage.uses_torch else
                       "update them once per epoch: b = b - lr * b_grad", None)]


def _optimizer_params(ev: Evidence, kind: str) -> Finding:
    names = _names(ev)
    made = [n for name in names for n in ev.source.assignments(name) if not ev.source.in_loop(n)]
    line = made[-1].lineno if made else None
    params = "[b, w]" if names == ("b", "w") else "model.parameters()"
    statement = f"optimizer = optim.{kind}({params}, lr=lr)"
    edits = fixes.insert_after(ev.source, line, statement, ev.source.indent(line)) if line else ()
    theirs = ("the b and w provided, not the ones" if names == ("b", "w") else
              "the model provided, not the one")
    return ev.mistake(K.OPTIMIZER_PARAMS, f"optimizer.step() ran, but the optimizer "
                      f"updates {theirs} your code made"
                      + (f" (cell line {line})" if line else ""),
                      f"make the optimizer for yours: {statement}", line, edits)


# -- the same dynamics, other settings -------------------------------------------------
def _epochs(ev: Evidence) -> list[Finding]:
    ran, wanted = ev.epochs, ev.plan.options.epochs
    if ran == wanted or ev.run.stopped is not None:
        return []
    line, edits, how = _epochs_source(ev)
    severity = Severity.NOTE if ran > wanted and reaches(ev) else Severity.MISTAKE
    if ran < wanted and reaches(ev):
        severity = Severity.NOTE
    text = (f"your loop ran {count(ran, 'epoch')}{how}, the stage's --epochs is {wanted:,}: every epoch "
            "follows gradient descent")
    reach = "and ends at the answer" if severity is Severity.NOTE else "but ends farther from the answer"
    found = ev.note if severity is Severity.NOTE else ev.mistake
    return [found(K.EPOCHS, f"{text}, {reach}", f"loop over range(n_epochs) (n_epochs is {wanted:,}, from "
                  "--epochs)", line, edits)]


def _epochs_source(ev: Evidence) -> tuple[int | None, tuple[Edit, ...], str]:
    own = ev.source.constant("n_epochs")
    if own is not None:
        return own[0], fixes.delete(ev.source, own[0]), f" (n_epochs = {own[1]:g} on cell line {own[0]})"
    for node in ev.source.nodes():
        if isinstance(node, ast.For) and isinstance(node.iter, ast.Call) and \
                isinstance(node.iter.func, ast.Name) and node.iter.func.id == "range" and \
                len(node.iter.args) == 1:
            arg = ev.source.segment(node.iter.args[0])
            if arg != "n_epochs":
                edits = fixes.replace(ev.source, node.lineno, f"range({arg})", "range(n_epochs)")
                return node.lineno, edits, f" (range({arg}) on cell line {node.lineno})"
    return None, (), ""


def _diverged_alike(ev: Evidence) -> list[Finding]:
    """The code does what the reference does, and the options' lr diverges for both."""
    stopped = ev.run.stopped
    expected = ev.expected.result if ev.expected is not None else None
    blew_up = (stopped is not None and stopped.kind.value == "diverged") or (
        ev.student is not None and not np.all(np.isfinite(ev.student.losses)))
    if not blew_up or expected is None:
        return []
    epoch = stopped.epoch if stopped is not None else ev.epochs
    note = divergence_note(epoch, float("inf"), ev.plan.options, ev.plan.data)
    return [ev.note(K.DIVERGED, "your code follows the reference exactly, and with "
                       f"--lr {ev.plan.options.lr:g} gradient descent {note}", "use the learning rate "
                       "the advice gives", None)]


# -- the first step --------------------------------------------------------------------
def _first_step(ev: Evidence) -> list[Finding]:
    assert ev.expected is not None and ev.trajectory is not None
    factors = step_factors(ev.trajectory, ev.expected.result)
    known = [k for k in factors.values() if k is not None]
    if factors and len(known) == len(factors) and all(close(k, known[0], SAME) for k in known):
        k = float(np.mean(known))
        if close(k, -1.0):
            return [_flipped(ev, list(factors))]
        if abs(k) > 1e-9:
            return scaled(ev, k)
    flipped = [n for n, k in factors.items() if k is not None and close(k, -1.0)]
    if flipped:
        return [_flipped(ev, flipped)]
    if factors and all(k is not None and abs(k) < 1e-9 for k in factors.values()):
        return [_late_step(ev)]
    return _gradient(ev, factors)


def _late_step(ev: Evidence) -> Finding:
    """Nothing moved in epoch 1, and later steps lag: the update runs before backward()."""
    loop = [c for c in ev.source.calls("backward") if ev.source.in_loop(c)]
    steps = [c for c in ev.source.calls("step") if ev.source.in_loop(c)]
    zeros = [c for c in ev.source.calls("zero_grad") if ev.source.in_loop(c)]
    edits: tuple[Edit, ...] = ()
    if len(loop) == 1 and len(steps) == 1 and steps[0].lineno < loop[0].lineno:
        moved = [steps[0].lineno] + [z.lineno for z in zeros if steps[0].lineno < z.lineno < loop[0].lineno]
        back = loop[0].lineno
        indent = ev.source.indent(back)
        after = (ev.source.text(back), *(indent + ev.source.text(m).strip() for m in moved))
        edits = (*(e for line in moved for e in fixes.delete(ev.source, line)),
                 Edit(back, ev.source.text(back), after))
    line = steps[0].lineno if steps else None
    return ev.mistake(K.DYNAMICS, "in epoch 1 your parameters did not move, and every "
                      "later step uses the gradients of the epoch before: the update runs before "
                      "loss.backward() has computed this epoch's gradients", "update after "
                      "loss.backward(): forward pass, loss, backward, step, zero_grad", line, edits)


def _flipped(ev: Evidence, params: list[str]) -> Finding:
    names = _names(ev) if ev.plan.stage.returns == "bw" else ()
    lines = [n for name in names for n in ev.source.updates(name) if name in params or len(params) > 1]
    edits: list[Edit] = []
    for node in lines:
        if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
            edits.extend(fixes.replace(ev.source, node.lineno, "+=", "-="))
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.BinOp) and \
                isinstance(node.value.op, ast.Add):
            edits.extend(fixes.replace(ev.source, node.lineno, " + ", " - "))
    if not lines:
        edits.extend(_maximize_edits(ev))
    line = lines[0].lineno if lines else (edits[0].line if edits else None)
    which = " and ".join(params) if ev.plan.stage.returns == "bw" else "the parameters"
    return ev.mistake(K.FLIPPED_SIGN, f"{which} moved along the gradient, uphill: the "
                      "loss grows every epoch" + (f" (cell line {line})" if line else ""),
                      "gradient descent subtracts the gradient: b = b - lr * b_grad (b -= lr * b.grad)",
                      line, tuple(edits))


def _maximize_edits(ev: Evidence) -> tuple[Edit, ...]:
    for line in ev.source.lines_with(r"maximize\s*=\s*True"):
        return fixes.replace_all(ev.source, line, {", maximize=True": "", "maximize=True, ": "",
                                                   "maximize=True": ""})
    return ()


# -- another direction -------------------------------------------------------------------
def _gradient(ev: Evidence, factors: dict[str, float | None]) -> list[Finding]:
    ops = ev.run.ops
    if ops.broadcasts:
        return [_shape(ev)]
    if ops.numpy_operands and ev.plan.stage.uses_torch:
        where = ops.numpy_operands[0]
        tensors = fixes.replace_all(ev.source, where, fixes.TENSOR_NAMES, word=True)
        return [ev.mistake(K.NUMPY_DATA, f"cell line {where} computes with the numpy "
                           "arrays x_train/y_train", "use x_train_tensor and y_train_tensor", where,
                           tensors)]
    frozen = [n for n, k in factors.items() if k is not None and abs(k) < 1e-9]
    if frozen:
        moved = [n for n in factors if n not in frozen]
        bw = ev.plan.stage.returns == "bw"
        updates = [u for name in moved for u in ev.source.updates(name)] if bw else []
        line = updates[-1].end_lineno if updates else None
        edits: tuple[Edit, ...] = ()
        if updates and updates[-1].lineno == line and len(frozen) == 1 and len(moved) == 1:
            mirrored = re.sub(rf"\b{moved[0]}(_grad\b|\b)", rf"{frozen[0]}\1", ev.source.text(line).strip())
            edits = fixes.insert_after(ev.source, line, mirrored, ev.source.indent(line))
        verb = "never changes" if len(frozen) == 1 else "never change"
        return [ev.mistake(K.NO_TRAINING, f"{' and '.join(frozen)} {verb}: your "
                           f"loop updates {' and '.join(moved)} only", f"update {frozen[0]} as well",
                           line, edits)]
    return [ev.mistake(K.GRADIENT, "your first step differs from gradient descent on the "
                       "mean squared error: the gradients point another way",
                       "check the forward pass (yhat = b + w * x_train_tensor), the loss (the mean of "
                       "the squared errors) and the gradient formulas", None)]


def _shape(ev: Evidence) -> Finding:
    line, _, shapes, joined = ev.run.ops.broadcasts[0]
    makers = ev.source.lines_with(r"\.squeeze\(\)|\.view\(-1\)|\.flatten\(\)|\.ravel\(\)|reshape\(-1\)")
    edits: list[Edit] = []
    for maker in makers:
        edits.extend(fixes.replace_all(ev.source, maker, {".squeeze()": "", ".view(-1)": "",
                                                          ".flatten()": "", ".ravel()": "",
                                                          ".reshape(-1)": ""}))
    shown = " and ".join(str(s) for s in shapes)
    where = f" (made on cell line {makers[0]})" if makers else ""
    return ev.mistake(K.SHAPE, f"cell line {line} combines shapes {shown}, which "
                      f"broadcast into {joined}: every prediction is compared with every target{where}",
                      "keep predictions and targets shaped (N, 1), as x_train_tensor and y_train_tensor "
                      "are", line, tuple(edits))


# -- later epochs ---------------------------------------------------------------------------
def _later(ev: Evidence, epoch: int) -> list[Finding]:
    probe = ev.run.probe
    accumulated = probe.accumulated() if probe is not None else None
    if accumulated is not None:
        return [_no_zero_grad(ev, accumulated)]
    same = "your epoch 1 follows" if epoch == 2 else f"your first {count(epoch - 1, 'epoch')} follow"
    return [ev.mistake(K.DYNAMICS, f"{same} the reference; "
                       f"from epoch {epoch} on your steps differ from gradient descent's",
                       "make every epoch the same: forward pass, loss, gradients, one update", None)]


def _optimizer_settings(ev: Evidence) -> list[Finding]:
    """The student's optimizer is another one than the stage's (Adam for SGD, momentum,
    weight decay, ...): that is why the steps differ."""
    mine, theirs = ev.features, ev.stage_features
    if not (mine.optimizer and theirs.optimizer):
        return []
    settings, stage = dict(mine.optimizer_settings), dict(theirs.optimizer_settings)
    changed = {k: v for k, v in settings.items() if k in stage and stage[k] != v and k != "lr"}
    if not changed and mine.optimizer_kind == theirs.optimizer_kind:
        return []
    what = ", ".join(f"{k}={v}" for k, v in changed.items())
    kind, stage_kind = mine.optimizer_kind, theirs.optimizer_kind
    swap = {f"optim.{kind}(": f"optim.{stage_kind}("} if kind != stage_kind else {}
    if swap:
        what = f"{kind}" + (f" with {what}" if what else "") + f" (the stage's is {stage_kind})"
    lines = ev.source.lines_with("|".join([rf"{k}\s*=" for k in changed] + [rf"{kind}\("]))
    changes = {**swap, **{f", {k}={v}": "" for k, v in changed.items()},
               **{f", {k}={float(v):g}": "" for k, v in changed.items()}}
    edits = tuple(e for line in lines[:1] for e in fixes.replace_all(ev.source, line, changes))
    arrives = reaches(ev)
    ending = "and it reaches the answer" if arrives else "and it ends farther from the answer"
    found = ev.note if arrives else ev.mistake
    return [found(K.OPTIMIZER_SETTINGS, f"your optimizer uses {what}: its steps differ from the stage's "
                  f"plain gradient descent from epoch {ev.parted_at}, {ending}", "use the stage's "
                  "optimizer: optim.SGD(..., lr=lr) with nothing else", lines[0] if lines else None, edits)]


def _no_zero_grad(ev: Evidence, accumulated: tuple[str, np.ndarray, np.ndarray]) -> Finding:
    name, raw, held = accumulated
    statements = _zero_statements(ev)
    line, indent = _after_update(ev)
    text = ev.source.text(line)
    edits = (Edit(line, text, (text, *(indent + s for s in statements))),) if line and text else ()
    return ev.mistake(K.NO_ZERO_GRAD, f"the gradients accumulate: in epoch 2 "
                      f"{name}.grad held {_short(held)} while that epoch's gradient was {_short(raw)}; "
                      "backward() adds to .grad", f"zero the gradients after every update: "
                      f"{'; '.join(statements)}", line, edits)


def _after_update(ev: Evidence) -> tuple[int | None, str]:
    """Where zeroing the gradients goes: after ``optimizer.step()`` (wherever it is), else
    after the training loop's last statement."""
    steps = [c for c in ev.source.calls("step") if isinstance(c.func, ast.Attribute)]
    if len(steps) == 1 and steps[0].lineno == steps[0].end_lineno:
        return steps[0].lineno, ev.source.indent(steps[0].lineno)
    site = next((s for s in ev.loops if ev.trajectory and s.id == ev.trajectory.loop), None)
    if site is None or site.comprehension:
        return None, ""
    return site.end_line, " " * site.body_indent


def _zero_statements(ev: Evidence) -> tuple[str, ...]:
    steps = [c for c in ev.source.calls("step") if isinstance(c.func, ast.Attribute)]
    if steps and isinstance(steps[0].func, ast.Attribute):
        return (f"{ev.source.segment(steps[0].func.value)}.zero_grad()",)
    if ev.plan.stage.returns == "model":
        return ("model.zero_grad()",)
    return ("b.grad.zero_()", "w.grad.zero_()")


def _short(values: np.ndarray) -> str:
    flat = np.ravel(values)
    return ", ".join(f"{v:.4g}" for v in flat[:3]) + (", …" if flat.size > 3 else "")


def _unreplayed(ev: Evidence) -> list[Finding]:
    """No replay from the student's start: compare where it ended with the answer."""
    mine, _ = answer_gap(ev)
    if np.isfinite(mine) and mine < 1e-3:
        return []
    return [ev.mistake(K.DYNAMICS, "your parameters do not fit the stage's code (their "
                       "shapes differ), and they end away from the answer",
                       "shape b and w as the ones provided (see %linreg contract)", None)]

