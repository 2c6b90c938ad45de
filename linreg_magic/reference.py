"""The answer gradient descent should reach: the closed-form least squares fit on
the training data (worked out once per data set), and the book's published values
for the book's own run."""

from __future__ import annotations

import hashlib

import numpy as np

from .data import Dataset
from .mse import QuadraticMSE
from .options import Options, default_true_w
from .registry import BUILTIN_STAGES
from .result import BOOK, Reference
from .stage import Stage

__all__ = ["NORMAL_EQUATIONS_FROM", "book_values", "least_squares", "reference"]

_REFERENCES: dict[bytes, Reference] = {}
#: From this many training points on, the closed form comes from the normal equations.
NORMAL_EQUATIONS_FROM = 1_000_000


def _data_fingerprint(data: Dataset) -> bytes:
    """Identifies a data set by all of its values: a hash of every byte of x, y and
    the split (SHA-256, most of a gigabyte a second)."""
    digest = hashlib.sha256()  # the fastest of hashlib here (SHA extensions)
    digest.update(repr((data.name, data.x.shape, data.y.shape, data.x.dtype.str,
                        len(data.train_idx), len(data.val_idx))).encode())
    for array in (data.x, data.y, data.train_idx, data.val_idx):
        digest.update(np.ascontiguousarray(array).data)
    return digest.digest()


def reference(data: Dataset) -> Reference:
    """The closed-form least-squares answer on the training data (worked out once per
    data set), as scikit-learn's ``LinearRegression`` gives it."""
    key = _data_fingerprint(data)
    found = _REFERENCES.get(key)
    if found is None:
        found = _REFERENCES[key] = _reference(data)
        while len(_REFERENCES) > 8:
            del _REFERENCES[next(iter(_REFERENCES))]
    return found


def least_squares(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """The least-squares line through ``x`` (n, F), ``y`` (n, 1) in float64, as
    scikit-learn's ``LinearRegression`` computes it: the data centred, then LAPACK's
    least squares (``gelsd``; the minimum-norm slopes when several fit equally well),
    and the intercept from the means.  From :data:`NORMAL_EQUATIONS_FROM` rows on, the
    centred normal equations give the same line without a copy of the data."""
    if len(x) >= NORMAL_EQUATIONS_FROM:
        return QuadraticMSE.of(x, y).minimum
    xs = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    yy = np.asarray(y, dtype=np.float64).reshape(-1)
    mean_x, mean_y = xs.mean(axis=0), yy.mean()
    coef = np.linalg.lstsq(xs - mean_x, yy - mean_y, rcond=None)[0]
    return float(mean_y - mean_x @ coef), coef


def _reference(data: Dataset) -> Reference:
    train_mse = QuadraticMSE.of(data.x_train, data.y_train)
    intercept, slopes = least_squares(data.x_train, data.y_train)
    coef = tuple(float(v) for v in slopes)
    train = float(train_mse(intercept, np.asarray(coef)))
    val = (float(QuadraticMSE.of(data.x_val, data.y_val)(intercept, np.asarray(coef)))
           if len(data.val_idx) else None)
    return Reference(intercept, coef, train, val)


_BOOK_OPTIONS = {"epochs", "lr", "n", "noise", "true_b", "true_w", "seed", "val_split",
                 "features", "hidden", "scale"}


def book_values(stage: Stage, options: Options, data: Dataset) -> tuple[float, float] | None:
    """The book's published (b, w) when this run is the book's run (a built-in stage
    on the book's data and settings)."""
    changed = set(options.changed())
    if options.slopes == default_true_w(1):
        changed.discard("true_w")  # --true-w 2 is the book's slope, given explicitly
    if changed & _BOOK_OPTIONS or data.name != "synthetic" or stage.name not in BUILTIN_STAGES:
        return None
    return BOOK["torch" if stage.uses_torch else "numpy"]


