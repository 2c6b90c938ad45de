"""One-line notes that explain a run's numbers: where the data came from, what
scaling did to them, and whether gradient descent got to the answer.

Advice is only given when it can help: ``--scale standard`` only for features it
can scale (not a constant one), more epochs only when the run is still settling
(not at a learning rate on the stability limit, where it oscillates for ever),
and distances are measured against the data's spread, never as a percentage of
a closed-form value that may be 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..lr import lr_advice, safe_lr
from ..mse import QuadraticMSE
from ..text import count

if TYPE_CHECKING:
    from ..data import Dataset
    from ..result import Result

__all__ = ["data_note"]

#: A line whose predictions are this far from the closed form's (as a share of y's
#: standard deviation) is "not there yet".
CLOSE_ENOUGH = 0.01


def _vector(values: np.ndarray, digits: int = 4) -> str:
    values = np.ravel(values)
    if values.size == 1:
        return f"{values[0]:.{digits}g}"
    return "[" + ", ".join(f"{v:.{digits}g}" for v in values) + "]"


def data_note(result: Result, advice: bool = True) -> str:
    """Sentences under the parameter table ("" when there is nothing to add): where the
    data came from and how they were scaled, then (``advice``) how far training got."""
    data = result.data
    parts = []
    if data.name != "synthetic":
        parts.append(f"Data: {data.source}; {len(data.train_idx)} rows for training, "
                     f"{len(data.val_idx)} for validation.")
    if data.x_mean is not None and data.x_std is not None:
        parts.append(_scaling_note(result))
    if not advice or result.checked or result.stopped:
        # a student's run has its verdict, a stopped run its header line: no advice here
        return " ".join(parts)
    learned = np.array([result.intercept, *result.coef])
    if not np.isfinite(learned).all():
        scale = "; --scale standard helps too" if _can_scale(data) else ""
        linear = not result.options.hidden
        parts.append(f"Diverged: {lr_advice(result.options.lr, data, linear=linear)}{scale}.")
    elif result.diverging:
        linear = not result.options.hidden
        parts.append(f"Diverging: the training loss grew from {result.losses[0]:.3g} to "
                     f"{result.losses[-1]:.3g} over {count(result.epochs, 'epoch')}; "
                     f"{lr_advice(result.options.lr, data, linear=linear)}.")
    else:
        parts.append(_progress_note(result))
    return " ".join(p for p in parts if p)


def _scaling_note(result: Result) -> str:
    data = result.data
    assert data.x_mean is not None and data.x_std is not None
    b0, w0 = data.unscaled(result.intercept, result.coef)
    name = data.feature_names[0] if data.n_features == 1 else "x"
    return (f"Scaling: {name} was standardized with the training set's mean {_vector(data.x_mean)} "
            f"and standard deviation {_vector(data.x_std)}, so b and w above are for the "
            f"standardized feature (w is the change in y per standard deviation, b is y at the "
            f"mean). In the original units: b = {b0:.4f}, w = {_vector(w0, 6)} (w / std, and "
            f"b - w·mean / std). Standardizing gives every direction of the loss surface a "
            f"similar curvature, so one learning rate suits b and w alike.")


def _can_scale(data: Dataset) -> bool:
    """Whether ``--scale standard`` would help: unscaled, and no feature is constant
    on the training set (standardizing refuses those)."""
    return not data.scaled and bool((data.x_train.std(axis=0) > 0).all())


def line_gap(result: Result) -> tuple[float, str]:
    """How far the learned line's predictions on the training x are from the closed
    form's: the root-mean-square difference, as a share of y's standard deviation
    when y varies (else in y's units), and that distance in words."""
    data, ref = result.data, result.reference
    x = data.x_train
    learned = result.intercept + x @ result.coef
    closed = ref.intercept + x @ np.asarray(ref.coef)
    rms = float(np.sqrt(np.mean((learned - closed) ** 2)))
    spread = float(data.y_train.std())
    if spread > 0:
        share = rms / spread
        words = f"{share:.0%} of" if share < 10 else f"{share:.3g} times"
        return share, f"{words} y's standard deviation"
    return rms, f"{rms:.3g} (in y's units)"


def _progress_note(result: Result) -> str:
    gap, distance = line_gap(result)
    if gap <= CLOSE_ENOUGH:
        return ""
    ref = result.reference
    learned = f"b = {result.intercept:.4g}, w = {_vector(result.coef)}"
    closed = f"b = {ref.intercept:.4g}, w = {_vector(np.asarray(ref.coef))}"
    return (f"Not there yet: after {count(result.epochs, 'epoch')} the line's predictions are "
            f"{distance} away from the closed-form line's ({learned}; the closed form has "
            f"{closed}). {_settling_advice(result, gap)}")


def _settling_advice(result: Result, gap: float) -> str:
    """What would get the run there, from how gradient descent on this MSE settles:
    each direction of the loss surface shrinks by ``|1 - 2 lr lambda|`` per epoch
    (``lambda`` an eigenvalue of ``A'A / n``)."""
    data, lr, epochs = result.data, result.options.lr, result.epochs
    if result.options.hidden:  # not the quadratic MSE: only a guide
        return "Try more --epochs" + (" or --scale standard." if _can_scale(data) else ".")
    curvatures = np.linalg.eigvalsh(QuadraticMSE.of(data.x_train, data.y_train).gram)
    seen = curvatures[curvatures > curvatures[-1] * 1e-12]  # flat directions move nothing
    factors = np.abs(1 - 2 * lr * seen)
    slowest = float(factors.max())
    if slowest > 1 + 1e-9:
        return f"More epochs would make it worse: {lr_advice(lr, data)}."
    if slowest >= 1 - 1e-9:
        return (f"At lr={lr:g} the steepest direction of the loss surface flips sign every "
                f"epoch without shrinking (lr is on the stability limit), so more epochs cannot "
                f"help; try --lr {safe_lr(data):g}.")
    more = max(1, int(np.ceil(np.log(CLOSE_ENOUGH / gap) / np.log(max(slowest, 1e-300)))))
    if factors.argmax() == len(factors) - 1 and 2 * lr * seen[-1] > 1:
        return (f"At lr={lr:g} the steepest direction oscillates and settles slowly (about "
                f"{more:,} more epochs); a smaller --lr such as {safe_lr(data):g} settles faster.")
    faster = ([f"a larger --lr (up to {safe_lr(data):g})"] if lr < safe_lr(data) else []) + \
        (["--scale standard"] if _can_scale(data) else [])
    tail = f" Or try {' or '.join(faster)}, which settle faster." if faster else ""
    return (f"The flattest direction of the loss surface shrinks by a factor {slowest:.4g} per "
            f"epoch: about {more:,} more epochs would get there (--epochs {epochs + more:,})."
            + tail)
