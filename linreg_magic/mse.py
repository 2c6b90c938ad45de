"""Mean squared error of an affine model, for many parameter values at once.

For ``yhat = b + x @ w`` the MSE is a quadratic in ``(b, w)``.  A few sums over
the data, made once, give the loss at every epoch of a path or every point of a
surface grid at a cost that does not grow with N.

The sums are taken on centred data and around a least-squares solution, so that
large-magnitude data (x near 1e9) lose nothing to cancellation: with
``xc = x - mean_x``, ``yc = y - mean_y``, ``w0`` a least-squares slope and
``r = yc - xc @ w0`` its residuals, for ``d = b + mean_x @ w - mean_y`` and
``dw = w - w0``::

    MSE(b, w) = d**2 + 2 d (offset_x @ w - offset_y)
                + dw' cov dw - 2 dw' grad + floor

where ``cov = xc'xc / n``, ``grad = xc'r / n`` (zero up to rounding),
``floor = r'r / n`` (the smallest MSE) and ``offset_* = mean(xc)``, ``mean(yc)``
(zero up to rounding).  Every term is exact algebra, none subtracts large numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

__all__ = ["QuadraticMSE"]

#: Rows per block when summing: the centred copies stay small at any N.
_BLOCK = 1 << 16


@dataclass(frozen=True)
class QuadraticMSE:
    mean_x: np.ndarray  # (F,)
    mean_y: float
    offset_x: np.ndarray  # (F,) mean of the centred x (rounding only)
    offset_y: float
    cov: np.ndarray  # (F, F)
    slopes: np.ndarray  # (F,) a least-squares w (the minimum-norm one)
    grad: np.ndarray  # (F,)
    floor: float  # the MSE of the least-squares line

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray) -> QuadraticMSE:
        """The MSE of data ``x`` (n, F), ``y`` (n, 1) as a quadratic form."""
        n = len(x)
        if n == 0:
            raise ValueError("no data")
        xs = np.asarray(x, dtype=np.float64).reshape(n, -1)
        yy = np.asarray(y, dtype=np.float64).reshape(-1)
        mean_x, mean_y = xs.mean(axis=0), float(yy.mean())
        features = xs.shape[1]
        cov, cross = np.zeros((features, features)), np.zeros(features)
        offset_x, offset_y = np.zeros(features), 0.0
        # einsum, not BLAS: on thin blocks BLAS's threads cost more than the sums
        for xc, yc in _centred_blocks(xs, yy, mean_x, mean_y):
            cov += np.einsum("ij,ik->jk", xc, xc)
            cross += np.einsum("i,ij->j", yc, xc)
            offset_x += xc.sum(axis=0)
            offset_y += float(yc.sum())
        cov, cross = cov / n, cross / n
        slopes = np.linalg.lstsq(cov, cross, rcond=None)[0] if features else np.zeros(0)
        grad, floor = np.zeros(features), 0.0
        for xc, yc in _centred_blocks(xs, yy, mean_x, mean_y):
            r = yc - np.einsum("ij,j->i", xc, slopes)
            grad += np.einsum("i,ij->j", r, xc)
            floor += float(np.einsum("i,i->", r, r))
        return cls(mean_x, mean_y, offset_x / n, offset_y / n, cov, slopes, grad / n, floor / n)

    @property
    def minimum(self) -> tuple[float, np.ndarray]:
        """A least-squares line ``(intercept, slopes)``: the one of minimum norm in
        the slopes when several lines fit equally well."""
        mean_x = self.mean_x + self.offset_x
        return float(self.mean_y + self.offset_y - mean_x @ self.slopes), self.slopes.copy()

    @property
    def gram(self) -> np.ndarray:
        """``A'A / n`` for ``A = [1, x]``: half the MSE's Hessian in ``(b, w)``."""
        m, o = self.mean_x, self.offset_x
        out = np.empty((len(m) + 1, len(m) + 1))
        out[0, 0], out[0, 1:], out[1:, 0] = 1.0, m + o, m + o
        out[1:, 1:] = self.cov + np.outer(m, o) + np.outer(o, m) + np.outer(m, m)
        return out

    def __call__(self, intercept: np.ndarray | float, coef: np.ndarray) -> np.ndarray:
        """MSE at intercept(s) ``(...)`` and slopes ``(..., F)``; broadcasts."""
        b = np.asarray(intercept, dtype=np.float64)
        w = np.asarray(coef, dtype=np.float64)
        d = b + w @ self.mean_x - self.mean_y
        dw = w - self.slopes
        value = (d * d + 2 * d * (w @ self.offset_x - self.offset_y)
                 + np.einsum("...i,ij,...j->...", dw, self.cov, dw) - 2 * dw @ self.grad
                 + self.floor)
        return np.maximum(value, 0.0)


def _centred_blocks(xs: np.ndarray, yy: np.ndarray, mean_x: np.ndarray,
                    mean_y: float) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The centred data, a block of rows at a time (no centred copy of all of it)."""
    for i in range(0, len(xs), _BLOCK):
        yield xs[i:i + _BLOCK] - mean_x, yy[i:i + _BLOCK] - mean_y
