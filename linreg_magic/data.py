"""The data a run trains on: the book's synthetic line, made reproducibly.

``np.random.seed(42)``, ``x = rand(N, 1)``, ``epsilon = .1 * randn(N, 1)``,
``y = true_b + true_w * x + epsilon``, then a shuffled split, first 80% for
training.  A private ``RandomState`` draws the same numbers as the book's global
seed without touching the user's global numpy state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .options import Options, split_sizes

__all__ = ["Dataset", "make_data"]


@dataclass(frozen=True, repr=False)
class Dataset:
    """Features ``x`` (N, F) and targets ``y`` (N, 1), split into train and validation."""

    name: str
    x: np.ndarray
    y: np.ndarray
    train_idx: np.ndarray
    val_idx: np.ndarray
    true_b: float | None
    true_w: tuple[float, ...] | None

    @property
    def x_train(self) -> np.ndarray:
        return self.x[self.train_idx]

    @property
    def y_train(self) -> np.ndarray:
        return self.y[self.train_idx]

    @property
    def x_val(self) -> np.ndarray:
        return self.x[self.val_idx]

    @property
    def y_val(self) -> np.ndarray:
        return self.y[self.val_idx]

    @property
    def n_features(self) -> int:
        return int(self.x.shape[1])

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, n={len(self.x)}, features={self.n_features}, "
                f"train={len(self.train_idx)}, val={len(self.val_idx)})")


def make_data(options: Options) -> Dataset:
    """The book's synthetic data for these options (exactly the book's with defaults)."""
    rs = np.random.RandomState(options.seed)
    n, features = options.n, options.features
    true_w = np.asarray(options.slopes, dtype=np.float64)
    x = rs.rand(n, features)
    epsilon = options.noise * rs.randn(n, 1)
    y = options.true_b + (x * true_w).sum(axis=1, keepdims=True) + epsilon
    # Shuffles the indices; uses the first 80% (by default) for training
    idx = np.arange(n)
    rs.shuffle(idx)
    n_train, _ = split_sizes(n, options.val_split)
    return Dataset(
        name="synthetic",
        x=x,
        y=y,
        train_idx=idx[:n_train],
        val_idx=idx[n_train:],
        true_b=float(options.true_b),
        true_w=tuple(float(v) for v in true_w),
    )
