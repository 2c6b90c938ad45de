"""Lesson ``data``: the book's synthetic data and its train/validation split.

Each function is one cell: its docstring says what it shows, its body is the code
that runs (see :mod:`linreg_magic.lessons.notebook`).  The numbers come from the
options (--n, --seed, --true-b, --true-w, --noise, --val-split); with the defaults
they are the book's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from linreg_magic.errors import usage_error
from linreg_magic.options import split_sizes


def generating_the_data(true_b: float, true_w: float, N: int, seed: int, noise: float) -> None:
    """Points around the line y = b + w x: x uniform in [0, 1), plus Gaussian noise.

    np.random.seed(seed) makes the same numbers every time, the book's with seed 42."""
    # Data Generation
    np.random.seed(seed)
    x = np.random.rand(N, 1)
    epsilon = (noise * np.random.randn(N, 1))
    y = true_b + true_w * x + epsilon
    print(x[:3].ravel(), y[:3].ravel())


def the_train_validation_split(N: int, n_train: int, x: np.ndarray, y: np.ndarray) -> None:
    """Shuffle the indices; the first n_train train the model, the rest validate it.

    The shuffle goes on from the seeded generator of the cell above."""
    # Shuffles the indices
    idx = np.arange(N)
    np.random.shuffle(idx)

    # Uses first n_train random indices for train
    train_idx = idx[:n_train]
    # Uses the remaining indices for validation
    val_idx = idx[n_train:]

    # Generates train and validation sets
    x_train, y_train = x[train_idx], y[train_idx]
    x_val, y_val = x[val_idx], y[val_idx]
    print(train_idx[:10])
    print(x_train.shape, x_val.shape)


def every_run_trains_on_these(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray,
                              y_val: np.ndarray, run_data: Any) -> None:
    """These are the very arrays a %linreg run with the same options trains and
    validates on (run_data is that run's data)."""
    print(np.array_equal(x_train, run_data.x_train), np.array_equal(y_train, run_data.y_train))
    print(np.array_equal(x_val, run_data.x_val), np.array_equal(y_val, run_data.y_val))


def given(plan: Any) -> dict[str, Any]:
    """The lesson starts from the options' numbers (the book's by default)."""
    options = plan.options
    if options.data != "synthetic" or options.features != 1:
        raise usage_error(f"the data lesson shows the book's synthetic data with one feature, not "
                          f"--data {options.data} with --features {options.features}",
                          "its options are --n, --seed, --true-b, --true-w, --noise and --val-split",
                          "Try %linreg lesson data --n 100 --seed 42")
    n_train, _ = split_sizes(options.n, options.val_split)
    return {"true_b": options.true_b, "true_w": options.slopes[0], "N": options.n, "seed": options.seed,
            "noise": options.noise, "n_train": n_train, "run_data": plan.data}


def describe(name: str, value: Any) -> str:
    if name == "run_data":
        return repr(value)
    if name == "n_train":
        return f"{value} (the first {value} of N shuffled points train)"
    return repr(value)


CELLS = (generating_the_data, the_train_validation_split, every_run_trains_on_these)
