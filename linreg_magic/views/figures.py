"""The fit and the loss curves, drawn on matplotlib Axes."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..result import Result

__all__ = ["MAX_POINTS", "figure_png", "plot_fit", "plot_loss", "result_figure"]

#: Scatter plots draw at most this many points per set (the data are never cut).
MAX_POINTS = 2000

TRAIN_COLOR = "#1f77b4"
VAL_COLOR = "#ff7f0e"
FIT_COLOR = "#d62728"
TRUE_COLOR = "#555555"


def _short(value: float, digits: int) -> str:
    """Fixed-point for ordinary numbers; a diverged run's huge ones in e-notation."""
    return f"{value:.{digits}f}" if abs(value) < 1e6 else f"{value:.3g}"


def _new_axes() -> Axes:
    from matplotlib.figure import Figure

    return Figure(figsize=(5, 3.6), layout="constrained").add_subplot()


def sample(n: int, limit: int = MAX_POINTS, seed: int = 0) -> np.ndarray:
    """Indices of at most ``limit`` of ``n`` points, the same every time."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.RandomState(seed).choice(n, size=limit, replace=False))


def plot_fit(result: Result, ax: Axes | None = None, epoch: int | None = None) -> Axes:
    """Training and validation points, the true line and the fitted line.

    With more than one feature, predicted against actual ``y`` instead.
    ``epoch`` draws the line the model had after that epoch (default: the last).
    """
    ax = ax if ax is not None else _new_axes()
    data = result.data
    row = len(result.intercept_path) - 1 if epoch is None else int(epoch)
    b, w = result.intercept_path[row], result.coef_path[row]
    shown = 0
    for label, x, y, color in (("train", data.x_train, data.y_train, TRAIN_COLOR),
                               ("validation", data.x_val, data.y_val, VAL_COLOR)):
        if not len(x):
            continue
        keep = sample(len(x))
        shown += len(keep)
        if data.n_features == 1:
            ax.scatter(x[keep, 0], y[keep, 0], s=12, alpha=0.6, color=color, label=label,
                       edgecolors="none")
        else:
            yhat = b + x[keep] @ w
            ax.scatter(y[keep, 0], yhat, s=12, alpha=0.6, color=color, label=label,
                       edgecolors="none")
    if data.n_features == 1:
        lo, hi = float(data.x.min()), float(data.x.max())
        xs = np.array([lo, hi])
        if data.true_b is not None and data.true_w is not None:
            ax.plot(xs, data.true_b + data.true_w[0] * xs, "--", color=TRUE_COLOR, lw=1.2,
                    label=f"true: y = {data.true_b:g} + {data.true_w[0]:g}x")
        with np.errstate(over="ignore", invalid="ignore"):
            fitted = b + w[0] * xs
        ax.plot(xs, drawable(fitted), color=FIT_COLOR, lw=2,
                label=f"fitted: y = {_short(b, 4)} + {_short(w[0], 4)}x")
        y_lo, y_hi = float(data.y.min()), float(data.y.max())
        span = max(y_hi - y_lo, 1.0)
        if not np.all(np.isfinite(fitted)) or np.max(np.abs(fitted - y_lo)) > 100 * span:
            ax.set_ylim(y_lo - span, y_hi + span)  # a diverged line: keep the data readable
        ax.set_xlabel(data.feature_names[0])
        ax.set_ylabel(data.target_name)
    else:
        lo, hi = float(data.y.min()), float(data.y.max())
        ax.plot([lo, hi], [lo, hi], "--", color=TRUE_COLOR, lw=1.2, label="perfect prediction")
        ax.set_xlabel("actual y")
        ax.set_ylabel("predicted y")
    total = len(data.x)
    title = f"{result.stage}: fit" + (f" after epoch {row}" if epoch is not None else "")
    if shown < total:
        title += f" (showing {shown:,} of {total:,} points)"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    ax.grid(alpha=0.25)
    return ax


def plot_loss(result: Result, ax: Axes | None = None) -> Axes:
    """Training and validation loss per epoch, on a log scale."""
    ax = ax if ax is not None else _new_axes()
    if len(result.losses):
        ax.plot(np.arange(1, result.epochs + 1), drawable(result.losses), color=TRAIN_COLOR,
                lw=1.6, label="training loss")
    else:
        ax.text(0.5, 0.5, "no losses were recorded\n(append each epoch's loss to a list "
                "called losses to see them here)", transform=ax.transAxes, ha="center",
                va="center", fontsize=9, color=TRUE_COLOR)
    if len(result.val_losses):
        ax.plot(np.arange(1, len(result.val_losses) + 1), drawable(result.val_losses), color=VAL_COLOR,
                lw=1.6, label="validation loss")
    ref = result.reference.train_loss
    ax.axhline(ref, color=TRUE_COLOR, lw=1, ls=":", label=f"closed-form training MSE {ref:.5f}")
    finite = drawable(np.concatenate([result.losses, result.val_losses]))
    finite = finite[np.isfinite(finite) & (finite > 0)]
    if len(finite):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE")
    ax.set_title(f"{result.stage}: loss (final training MSE {_short(result.train_loss, 5)})", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.25, which="both")
    return ax


#: Losses above this (a run that diverged) are left out of the plot: the axis stays readable.
LARGEST_DRAWN_LOSS = 1e30


def drawable(values: np.ndarray) -> np.ndarray:
    """The values with inf, NaN and anything above :data:`LARGEST_DRAWN_LOSS` as NaN (a gap)."""
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        keep = np.isfinite(values) & (np.abs(values) <= LARGEST_DRAWN_LOSS)
    return np.where(keep, values, np.nan)


def result_figure(result: Result) -> Figure:
    """One figure: the fit beside the loss curves."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.8), layout="constrained")
    fit_ax, loss_ax = fig.subplots(1, 2)
    plot_fit(result, fit_ax)
    plot_loss(result, loss_ax)
    return fig


def figure_png(fig: Figure | Any, dpi: int = 100) -> bytes:
    """The figure as PNG bytes (Agg), independent of the active backend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if fig.canvas is None or not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
