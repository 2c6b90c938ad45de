"""One-line notes that explain a run's numbers: where the data came from, what
scaling did to them, and whether gradient descent got to the answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..lr import lr_advice

if TYPE_CHECKING:
    from ..result import Result

__all__ = ["data_note"]


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
        b0, w0 = data.unscaled(result.intercept, result.coef)
        name = data.feature_names[0] if data.n_features == 1 else "x"
        parts.append(
            f"Scaling: {name} was standardized with the training set's mean {_vector(data.x_mean)} "
            f"and standard deviation {_vector(data.x_std)}, so b and w above are for the "
            f"standardized feature (w is the change in y per standard deviation, b is y at the "
            f"mean). In the original units: b = {b0:.4f}, w = {_vector(w0, 6)} (w / std, and "
            f"b - w·mean / std). Standardizing gives every direction of the loss surface a "
            f"similar curvature, so one learning rate suits b and w alike.")
    if not advice or result.checked or result.stopped:
        # a student's run has its verdict, a stopped run its header line: no advice here
        return " ".join(parts)
    ref = np.array([result.reference.intercept, *result.reference.coef])
    learned = np.array([result.intercept, *result.coef])
    if not np.isfinite(learned).all():
        parts.append(f"Diverged: {lr_advice(result.options.lr, data, linear=not result.options.hidden)}.")
    elif result.diverging:
        linear = not result.options.hidden
        parts.append(f"Diverging: the training loss grew from {result.losses[0]:.3g} to "
                     f"{result.losses[-1]:.3g} over {result.epochs:,} epochs; "
                     f"{lr_advice(result.options.lr, data, linear=linear)}.")
    else:
        gap = float(np.max(np.abs(learned - ref) / np.maximum(np.abs(ref), 1e-3)))
        if gap > 0.01:
            spread = data.x_train.std(axis=0)
            hint = ("--scale standard, or more --epochs" if not data.scaled else "more --epochs "
                    "or a larger --lr")
            parts.append(f"Not there yet: the learned parameters are up to {gap:.0%} away from the "
                         f"closed-form answer after {result.epochs:,} epochs. Features with spread "
                         f"(standard deviation) {_vector(spread)} make the slope learn at a pace "
                         f"set by that spread; try {hint}.")
    return " ".join(parts)
