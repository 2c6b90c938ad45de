"""The learning rate and the stability of gradient descent, in one place.

The MSE of an affine model has the constant Hessian ``H = 2 A'A / n`` (``A`` is the
data with a column of ones).  Batch gradient descent on it converges for
``lr < 2 / lambda_max(H) = 1 / lambda_max(A'A / n)``: :func:`largest_stable_lr`.

Every piece of advice about the learning rate (a run that diverged, the data note,
compare, a student's verdict) is worded here, so that the product says it one way.
Advice names the thing that sets the learning rate (:class:`LrSource`): the
``--lr`` option, or a line of a student's own code; it never suggests changing
``--lr`` when something else decides the learning rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .mse import QuadraticMSE

if TYPE_CHECKING:
    from .data import Dataset
    from .options import Options

__all__ = ["OPTION", "LrSource", "divergence_note", "diverging_note", "largest_stable_lr", "lr_advice",
           "round_below", "safe_lr", "stable"]


@dataclass(frozen=True)
class LrSource:
    """What sets a run's learning rate, for advice that names it.

    ``name`` names the learning rate as the advice's subject, e.g. "your lr = 1.5
    (cell line 3)" (empty for the ``--lr`` option: "lr=2"); ``change`` is the advice,
    with ``{lr}`` where the learning rate to use goes.
    """

    name: str
    change: str

    def advise(self, lr: float) -> str:
        return self.change.format(lr=f"{lr:g}")


#: The ``--lr`` option (or ``lr=`` of the Python API).
OPTION = LrSource("", "try --lr {lr}")


def largest_stable_lr(data: Dataset) -> float:
    """Above this learning rate, gradient descent on this data's MSE diverges."""
    gram = QuadraticMSE.of(data.x_train, data.y_train).gram
    return float(1.0 / np.linalg.eigvalsh(gram)[-1])


def stable(lr: float, data: Dataset) -> bool:
    """Whether gradient descent with ``lr`` converges on this data's MSE (a linear model)."""
    return 0 < lr < largest_stable_lr(data)


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


def lr_advice(lr: float, data: Dataset, *, linear: bool = True, source: LrSource = OPTION) -> str:
    """Why ``lr`` is too large for this data, and which one works.

    ``linear`` is False for a model with a hidden layer: its loss is not the
    quadratic MSE, so the linear model's limit is only a guide there.  Below the
    limit a linear model does not diverge through its learning rate, so no smaller
    one is suggested: that advice could not help.
    """
    limit = largest_stable_lr(data)
    named = source.name or f"lr={lr:g}"
    if lr >= limit:
        return (f"{named} is above {limit:.3g}, the largest stable learning rate for this data "
                f"(2/lambda_max of the MSE's Hessian 2A'A/n); {source.advise(safe_lr(data))}")
    if linear:
        return (f"{named} is below {limit:.3g}, the largest stable learning rate for this data, "
                "so the learning rate alone does not make this linear model diverge")
    return (f"{named} is below the linear model's limit {limit:.3g}, but a hidden layer makes the "
            f"loss surface steeper than the linear model's; {source.advise(round_below(lr / 10))}")


def diverging_note(epoch: int, options: Options, data: Dataset) -> str:
    """Says that a run of these options that finished was still moving away from the
    answer, and why."""
    return (f"still diverging at epoch {epoch}: the training loss grew over the run; "
            f"{lr_advice(options.lr, data, linear=not options.hidden)}")


def divergence_note(epoch: int, value: float, options: Options, data: Dataset, *,
                    source: LrSource = OPTION) -> str:
    """Says where a run of these options blew up (its loss became ``value``) and which
    learning rate would work (a hidden layer makes the linear model's limit a guide)."""
    advice = lr_advice(options.lr, data, linear=not options.hidden, source=source)
    where = f" at epoch {epoch}" if epoch else ""
    return f"diverged{where} (the loss became {value:g}): {advice}"
