"""The learning rate and the stability of gradient descent, in one place.

The MSE of an affine model has the constant Hessian ``H = 2 A'A / n`` (``A`` is the
data with a column of ones).  Batch gradient descent on it converges for
``lr < 2 / lambda_max(H) = 1 / lambda_max(A'A / n)``: :func:`largest_stable_lr`.
Every piece of advice about the learning rate (a run that diverged, the data note,
compare, a student's verdict) is worded here, so that the product says it one way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .mse import QuadraticMSE

if TYPE_CHECKING:
    from .data import Dataset

__all__ = ["divergence_note", "largest_stable_lr", "lr_advice", "safe_lr"]


def largest_stable_lr(data: Dataset) -> float:
    """Above this learning rate, gradient descent on this data's MSE diverges."""
    gram = QuadraticMSE.of(data.x_train, data.y_train).gram
    return float(1.0 / np.linalg.eigvalsh(gram)[-1])


def safe_lr(data: Dataset) -> float:
    """A round learning rate comfortably below :func:`largest_stable_lr`."""
    return round_below(0.8 * largest_stable_lr(data))


def round_below(limit: float) -> float:
    """The largest of 5, 2, 1 times a power of ten that is not above ``limit``."""
    exponent = int(np.floor(np.log10(limit)))
    for mantissa in (5, 2, 1):
        if mantissa * 10.0 ** exponent <= limit:
            return float(f"{mantissa * 10.0 ** exponent:.1g}")
    return float(f"{10.0 ** (exponent - 1):.1g}")


def lr_advice(lr: float, data: Dataset, *, linear: bool = True) -> str:
    """Why ``lr`` is too large for this data, and which one works.

    ``linear`` is False for a model with a hidden layer: its loss is not the
    quadratic MSE, so the linear model's limit is only a guide there.
    """
    limit = largest_stable_lr(data)
    if lr >= limit:
        return (f"lr={lr:g} is above {limit:.3g}, the largest stable learning rate for this data "
                f"(2/lambda_max of the MSE's Hessian 2A'A/n); try --lr {safe_lr(data):g}")
    if linear:
        return (f"lr={lr:g} is below {limit:.3g}, the largest stable learning rate for this data, "
                f"so this linear model should not diverge; try --lr {round_below(lr / 10):g}")
    return (f"lr={lr:g} is below the linear model's limit {limit:.3g}, but a hidden layer changes "
            f"the loss surface; try --lr {round_below(lr / 10):g}")


def divergence_note(epoch: int, value: float, lr: float, data: Dataset, what: str = "the loss",
                    *, linear: bool = True) -> str:
    """Says where a run blew up and which learning rate would work."""
    return f"diverged at epoch {epoch} ({what} became {value}): {lr_advice(lr, data, linear=linear)}"
