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

__all__ = ["NORMAL_EQUATIONS_FROM", "book_values", "reference"]

_REFERENCES: dict[bytes, Reference] = {}
#: From this many training points on, the closed form comes from the normal equations.
NORMAL_EQUATIONS_FROM = 1_000_000


def _data_fingerprint(data: Dataset) -> bytes:
    """Identifies a data set cheaply: shapes, sums, and a strided sample of the values."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(repr((data.name, data.x.shape, data.y.shape, len(data.train_idx),
                        float(data.x.sum()), float(data.y.sum()))).encode())
    for array in (data.x, data.y, data.train_idx):
        step = max(1, len(array) // 4096)
        digest.update(np.ascontiguousarray(array[::step]).tobytes())
    return digest.digest()


def reference(data: Dataset) -> Reference:
    """scikit-learn's closed-form answer on the training data (worked out once per data set)."""
    key = _data_fingerprint(data)
    found = _REFERENCES.get(key)
    if found is None:
        found = _REFERENCES[key] = _reference(data)
        while len(_REFERENCES) > 8:
            del _REFERENCES[next(iter(_REFERENCES))]
    return found


def _reference(data: Dataset) -> Reference:
    from sklearn.linear_model import LinearRegression

    x_train, y_train = data.x_train, data.y_train  # fresh copies: sklearn may centre them in place
    train_mse = QuadraticMSE.of(x_train, y_train)
    if len(x_train) >= NORMAL_EQUATIONS_FROM:
        # the same least-squares answer, from the (F+1)x(F+1) normal equations in
        # float64, without the several copies of the data sklearn's solver makes
        theta = np.linalg.solve(train_mse.gram, train_mse.moment)
        intercept, coef = float(theta[0]), tuple(float(v) for v in theta[1:])
    else:
        fit = LinearRegression(copy_X=False).fit(x_train, y_train)
        intercept = float(np.ravel(fit.intercept_)[0])
        coef = tuple(float(v) for v in np.ravel(fit.coef_))
    del x_train, y_train
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


