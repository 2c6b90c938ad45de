"""The loss surface: training MSE over a (b, w) grid, with the path training took.

The book's chapter-0 figure, for the actual run.  The MSE at every grid point
comes from :class:`~linreg_magic.mse.QuadraticMSE`, so drawing costs the same
at any N.  The grid encloses the whole path; a run that diverges is drawn until
it leaves a window a few times wider than its start's distance from the answer,
and the title says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..mse import QuadraticMSE
from ..text import count

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..result import Result

__all__ = ["GRID", "MAX_PATH_POINTS", "move_surface", "path_rows", "plot_surface", "surface_window"]

#: Grid points per axis of the contour plot.
GRID = 161
#: The path is drawn through at most this many epochs (every early one, fewer later).
MAX_PATH_POINTS = 4000
#: A diverging path is followed until it is this many times farther from the answer than its start.
WINDOW = 10.0

PATH_COLOR = "#d62728"


def path_rows(epochs: int, limit: int = MAX_PATH_POINTS) -> np.ndarray:
    """Rows 0..epochs of the path to draw: all of them, or every early one and fewer later."""
    if epochs + 1 <= limit:
        return np.arange(epochs + 1)
    rows = np.unique(np.round(np.geomspace(1, epochs, limit - 1)).astype(np.int64))
    return np.concatenate([[0], rows])


def _one_feature(result: Result) -> None:
    features = result.coef_path.shape[1]
    if features != 1:
        raise ValueError(f"the loss surface is drawn over (b, w) for one-feature models; this run "
                         f"has {features} features")


def surface_window(result: Result) -> tuple[tuple[float, float], tuple[float, float], int | None]:
    """The (b, w) limits of the plot, and the epoch a diverging path leaves them (or None)."""
    _one_feature(result)
    answer = np.array([result.reference.intercept, result.reference.coef[0]])
    path = np.column_stack([result.intercept_path, result.coef_path[:, 0]])
    start = path[0]
    reach = max(float(np.max(np.abs(start - answer))) if np.isfinite(start).all() else 0.0, 0.5)
    bound = WINDOW * reach
    far = ~np.isfinite(path).all(axis=1) | (np.abs(path - answer) > bound).any(axis=1)
    leaves = int(np.argmax(far)) if far.any() else None
    inside = path[: leaves if leaves is not None else len(path)]
    inside = inside[np.isfinite(inside).all(axis=1)]
    lo = np.minimum(inside.min(axis=0), answer) if len(inside) else answer - reach
    hi = np.maximum(inside.max(axis=0), answer) if len(inside) else answer + reach
    if leaves is not None:  # the whole window, which the path's last point drawn lies beyond
        lo, hi = answer - bound, answer + bound
    else:
        pad = np.maximum((hi - lo) * 0.12, 0.05 * reach)
        lo, hi = lo - pad, hi + pad
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1])), leaves


def _grid(result: Result, window: tuple[tuple[float, float], tuple[float, float]]) -> tuple[np.ndarray, ...]:
    """The (b, w) grid over the window, with the closed-form answer on it, and the MSE there."""
    data, ref = result.data, result.reference
    (b_lo, b_hi), (w_lo, w_hi) = window
    # the answer is a grid point, so the grid's minimum is exactly the closed-form one
    bs = np.unique(np.append(np.linspace(b_lo, b_hi, GRID), ref.intercept))
    ws = np.unique(np.append(np.linspace(w_lo, w_hi, GRID), ref.coef[0]))
    bb, ww = np.meshgrid(bs, ws)
    return bb, ww, QuadraticMSE.of(data.x_train, data.y_train)(bb, ww[..., None])


def _contours(ax: Axes, result: Result, window: tuple[tuple[float, float], tuple[float, float]]) -> None:
    """Filled contours of the MSE on log-spaced levels, and their colour bar."""
    from matplotlib.colors import LogNorm

    bb, ww, zz = _grid(result, window)
    z_min, z_max = float(zz.min()), float(zz.max())
    floor = max(z_min, z_max * 1e-9, np.finfo(np.float64).tiny)
    levels = np.geomspace(floor, z_max, 24) if z_max > floor else np.array([floor, floor * 2])
    # the lowest band holds the minimum; a perfect fit (noise-free data) has MSE 0,
    # which a log scale cannot show, so it sits at the smallest positive level
    levels[0] = min(levels[0], max(z_min, np.finfo(np.float64).tiny))
    contours = ax.contourf(bb, ww, np.maximum(zz, levels[0]), levels=levels, cmap="viridis_r",
                           norm=LogNorm(vmin=max(levels[0], floor), vmax=levels[-1]), alpha=0.9)
    contours.set_gid("loss-surface")
    ax.figure.colorbar(contours, ax=ax, label="training MSE", format="%.3g")


def _path(ax: Axes, result: Result, leaves: int | None) -> None:
    """The path through the epochs drawn, the start, and the end unless it left the plot."""
    rows = path_rows(result.epochs)
    if leaves is not None:
        rows = rows[rows <= leaves]
    path_b, path_w = result.intercept_path[rows], result.coef_path[rows, 0]
    ax.plot(path_b, path_w, "-", color=PATH_COLOR, lw=1.3, marker="." if len(rows) <= 60 else None,
            ms=4, gid="path", label="path")
    ax.plot([result.intercept_path[0]], [result.coef_path[0, 0]], "o", color="white", mec="black",
            ms=8, gid="start", label=f"start ({result.intercept_path[0]:.3f}, "
                                     f"{result.coef_path[0, 0]:.3f})")
    if leaves is None:
        ax.plot([result.intercept], [result.coef[0]], "s", color=PATH_COLOR, mec="black", ms=6,
                gid="end", label=f"after {count(result.epochs, 'epoch')}")


def _epoch_row(result: Result, epoch: int) -> int:
    return int(np.clip(epoch, 0, result.epochs))


def plot_surface(result: Result, ax: Axes | None = None, epoch: int | None = None) -> Axes:
    """Filled contours of the training MSE over (b, w), the path, start and minimum.

    The path's points are the run's effective intercept and slope after each
    epoch (``result.intercept_path``, ``result.coef_path``).  ``epoch`` marks
    where the parameters were after that epoch.  Raises ``ValueError`` for a
    model with more than one feature.
    """
    _one_feature(result)
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(5.2, 5), layout="constrained").add_subplot()
    ref = result.reference
    (b_lo, b_hi), (w_lo, w_hi), leaves = surface_window(result)
    _contours(ax, result, ((b_lo, b_hi), (w_lo, w_hi)))
    _path(ax, result, leaves)
    ax.plot([ref.intercept], [ref.coef[0]], "*", color="gold", mec="black", ms=14, gid="minimum",
            label=f"closed-form minimum ({ref.intercept:.4f}, {ref.coef[0]:.4f})")
    if epoch is not None:
        row = _epoch_row(result, epoch)
        ax.plot([result.intercept_path[row]], [result.coef_path[row, 0]], "o", color="#ff7f0e",
                mec="black", ms=9, gid="epoch", label=f"epoch {row:,}")
    ax.set_xlim(b_lo, b_hi)
    ax.set_ylim(w_lo, w_hi)
    ax.set_xlabel("b (intercept)")
    ax.set_ylabel("w (slope)")
    title = f"{result.stage}: loss surface and path (lr={result.options.lr:g})"
    if leaves is not None:
        title += f"\ndiverging: the path leaves the plot at epoch {leaves:,}"
    ax.set_title(title, fontsize=10)
    wide = ax.figure.get_figure(root=True).get_figwidth() >= 5  # two columns of legend fit below
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2 if wide else 1,
              frameon=False)
    return ax


def move_surface(ax: Axes, result: Result, epoch: int | None) -> list[Any]:
    """Put the epoch marker of a :func:`plot_surface` drawn with an ``epoch`` at another
    epoch (None: the last); the artists that moved (the marker and the legend)."""
    row = _epoch_row(result, result.epochs if epoch is None else epoch)
    marker = next(line for line in ax.lines if line.get_gid() == "epoch")
    old, new = marker.get_label(), f"epoch {row:,}"
    marker.set_data([result.intercept_path[row]], [result.coef_path[row, 0]])
    marker.set_label(new)
    legend = ax.get_legend()
    if legend is None:
        return [marker]
    for text in legend.get_texts():
        if text.get_text() == old:
            text.set_text(new)
    return [marker, legend]
