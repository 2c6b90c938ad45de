"""Mean squared error of an affine model, for many parameter values at once.

For ``yhat = b + x @ w`` the MSE is a quadratic form in ``theta = [b, w]``:
``theta' G theta - 2 theta' h + c`` with ``G = A'A/n``, ``h = A'y/n``,
``c = y'y/n`` and ``A = [1, x]``.  Three small sums over the data, made once,
give the loss at every epoch of a path or every point of a surface grid at a
cost that does not grow with N.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["QuadraticMSE"]


@dataclass(frozen=True)
class QuadraticMSE:
    gram: np.ndarray  # (F + 1, F + 1)
    moment: np.ndarray  # (F + 1,)
    energy: float

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray) -> QuadraticMSE:
        """The MSE of data ``x`` (n, F), ``y`` (n, 1) as a quadratic form."""
        n = len(x)
        if n == 0:
            raise ValueError("no data")
        # A'A and A'y for A = [1, x], by blocks: no (n, F + 1) copy of the data
        xs = np.asarray(x, dtype=np.float64).reshape(n, -1)
        yy = np.asarray(y, dtype=np.float64).reshape(-1)
        sx = xs.sum(axis=0)
        gram = np.empty((xs.shape[1] + 1, xs.shape[1] + 1))
        gram[0, 0], gram[0, 1:], gram[1:, 0], gram[1:, 1:] = n, sx, sx, xs.T @ xs
        moment = np.concatenate([[yy.sum()], yy @ xs])
        return cls(gram / n, moment / n, float(yy @ yy / n))

    def __call__(self, intercept: np.ndarray | float, coef: np.ndarray) -> np.ndarray:
        """MSE at intercept(s) ``(...)`` and slopes ``(..., F)``; broadcasts."""
        b = np.asarray(intercept, dtype=np.float64)
        w = np.asarray(coef, dtype=np.float64)
        theta = np.concatenate([b[..., None], w], axis=-1)
        quad = np.einsum("...i,ij,...j->...", theta, self.gram, theta)
        value = quad - 2 * theta @ self.moment + self.energy
        return np.maximum(value, 0.0)
