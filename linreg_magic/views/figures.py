"""The fit and the loss curves, drawn on matplotlib Axes."""

from __future__ import annotations

import base64
import hashlib
import io
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..result import Result

__all__ = ["CSS_DPI", "MAX_POINTS", "PIXEL_RATIO", "PNG_DPI", "RESULT_SIZE", "figure_bundle", "figure_png",
           "fit_label", "fit_title", "move_fit", "picture_bundle", "plot_fit", "plot_loss", "result_figure",
           "result_png"]

#: Scatter plots draw at most this many points per set (the data are never cut).
MAX_POINTS = 2000

#: CSS pixels per inch: a figure ``w`` inches wide is shown ``w * CSS_DPI`` pixels wide.
CSS_DPI = 96
#: Device pixels per CSS pixel of the magic's figures: drawn at twice the size they are
#: shown at, so that they are sharp on high-DPI screens (and the same size elsewhere).
PIXEL_RATIO = 2
#: The resolution the magic's PNGs are drawn at.
PNG_DPI = CSS_DPI * PIXEL_RATIO
#: The fit beside the loss curves, in inches.
RESULT_SIZE = (10.0, 3.8)

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
    """Indices of at most ``limit`` of ``n`` points, sorted, the same every time.

    Costs O(limit), not O(n): no permutation of all ``n`` indices is made.
    """
    if n <= limit:
        return np.arange(n)
    rs = np.random.RandomState(seed)
    if n < 50 * limit:
        return np.sort(rs.choice(n, size=limit, replace=False))
    picked = np.unique(rs.randint(0, n, size=limit + limit // 8))
    while len(picked) < limit:  # collisions are rare when n >> limit
        picked = np.unique(np.concatenate([picked, rs.randint(0, n, size=limit)]))
    return np.sort(rs.choice(picked, size=limit, replace=False))


def fit_label(b: float, w: float) -> str:
    """The fitted line's legend entry."""
    return f"fitted: y = {_short(b, 4)} + {_short(w, 4)}x"


def fit_title(result: Result, epoch: int | None) -> str:
    """The fit's title: the stage, the epoch drawn (if not the last) and how many points show."""
    data = result.data
    shown = sum(min(len(idx), MAX_POINTS) for idx in (data.train_idx, data.val_idx))
    title = f"{result.stage}: fit" + (f" after epoch {int(epoch)}" if epoch is not None else "")
    if shown < len(data.x):
        title += f" (showing {shown:,} of {len(data.x):,} points)"
    return title


def _path_row(result: Result, epoch: int | None) -> int:
    last = len(result.intercept_path) - 1
    return last if epoch is None else int(np.clip(epoch, 0, last))


def _scatter_points(result: Result, ax: Axes, b: float, w: np.ndarray) -> None:
    """Training and validation points (a sample of at most MAX_POINTS each)."""
    data = result.data
    for label, idx, color in (("train", data.train_idx, TRAIN_COLOR),
                              ("validation", data.val_idx, VAL_COLOR)):
        if not len(idx):
            continue
        keep = idx[sample(len(idx))]  # index the sample only: no copy of all the data
        x, y = data.x[keep], data.y[keep]
        if data.n_features == 1:
            ax.scatter(x[:, 0], y[:, 0], s=12, alpha=0.6, color=color, label=label, edgecolors="none")
        else:
            ax.scatter(y[:, 0], b + x @ w, s=12, alpha=0.6, color=color, label=label, edgecolors="none")


def _fit_lines(result: Result, ax: Axes, b: float, w: np.ndarray) -> None:
    """The true line and the fitted one (one feature), with readable limits for a diverged line."""
    data = result.data
    xs = np.array([float(data.x.min()), float(data.x.max())])
    if data.true_b is not None and data.true_w is not None:
        ax.plot(xs, data.true_b + data.true_w[0] * xs, "--", color=TRUE_COLOR, lw=1.2,
                label=f"true: y = {data.true_b:g} + {data.true_w[0]:g}x")
    with np.errstate(over="ignore", invalid="ignore"):
        fitted = b + w[0] * xs
    ax.plot(xs, drawable(fitted), color=FIT_COLOR, lw=2, gid="fit", label=fit_label(b, w[0]))
    y_lo, y_hi = float(data.y.min()), float(data.y.max())
    span = max(y_hi - y_lo, 1.0)
    if not np.all(np.isfinite(fitted)) or np.max(np.abs(fitted - y_lo)) > 100 * span:
        ax.set_ylim(y_lo - span, y_hi + span)  # a diverged line: keep the data readable
    ax.set_xlabel(data.feature_names[0])
    ax.set_ylabel(data.target_name)


def _hold_every_line(result: Result, ax: Axes) -> None:
    """Widen the y limits to hold the fitted line of every epoch (not a diverged one's)."""
    data = result.data
    xs = np.array([float(data.x.min()), float(data.x.max())])
    with np.errstate(over="ignore", invalid="ignore"):
        ends = result.intercept_path[:, None] + result.coef_path[:, :1] * xs[None, :]
    y_lo, y_hi = float(data.y.min()), float(data.y.max())
    span = max(y_hi - y_lo, 1.0)
    ends = ends[np.isfinite(ends) & (np.abs(ends - y_lo) <= 10 * span)]
    if len(ends):
        low, high = min(float(ends.min()), y_lo), max(float(ends.max()), y_hi)
        pad = 0.05 * (high - low)
        ax.set_ylim(low - pad, high + pad)


def plot_fit(result: Result, ax: Axes | None = None, epoch: int | None = None, *,
             every_epoch: bool = False) -> Axes:
    """Training and validation points, the true line and the fitted line.

    With more than one feature, predicted against actual ``y`` instead.
    ``epoch`` draws the line the model had after that epoch (default: the last);
    ``every_epoch`` sets the limits to hold the line of every epoch (for replaying).
    """
    ax = ax if ax is not None else _new_axes()
    data = result.data
    row = _path_row(result, epoch)
    b, w = float(result.intercept_path[row]), result.coef_path[row]
    _scatter_points(result, ax, b, w)
    if data.n_features == 1:
        _fit_lines(result, ax, b, w)
        if every_epoch:
            _hold_every_line(result, ax)
    else:
        lo, hi = float(data.y.min()), float(data.y.max())
        ax.plot([lo, hi], [lo, hi], "--", color=TRUE_COLOR, lw=1.2, label="perfect prediction")
        ax.set_xlabel("actual y")
        ax.set_ylabel("predicted y")
    ax.set_title(fit_title(result, None if epoch is None else row), fontsize=10)
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    ax.grid(alpha=0.25)
    return ax


def move_fit(ax: Axes, result: Result, epoch: int | None) -> list[Any]:
    """Put the fit drawn by :func:`plot_fit` at another epoch; the artists that moved.

    One feature: the fitted line, its legend entry and the title.  Several: the
    predicted points, and the title.
    """
    row = _path_row(result, epoch)
    b, w = float(result.intercept_path[row]), result.coef_path[row]
    ax.title.set_text(fit_title(result, None if epoch is None else row))
    moved: list[Any] = [ax.title]
    if result.data.n_features == 1:
        line = next(artist for artist in ax.lines if artist.get_gid() == "fit")
        with np.errstate(over="ignore", invalid="ignore"):
            line.set_ydata(drawable(b + w[0] * np.asarray(line.get_xdata(), dtype=float)))
        legend = ax.get_legend()
        for text in legend.get_texts() if legend is not None else ():
            if text.get_text() == line.get_label():
                text.set_text(fit_label(b, w[0]))
        line.set_label(fit_label(b, w[0]))
        return [*moved, line, *([legend] if legend is not None else [])]
    data = result.data
    for points, idx in zip(ax.collections, (i for i in (data.train_idx, data.val_idx) if len(i))):
        keep = idx[sample(len(idx))]
        points.set_offsets(np.column_stack([data.y[keep, 0], b + data.x[keep] @ w]))
        moved.append(points)
    return moved


def plot_loss(result: Result, ax: Axes | None = None) -> Axes:
    """Training and validation loss per epoch, on a log scale."""
    from matplotlib.ticker import LogLocator

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
        # minor ticks at 2 and 5 only: legible, and far cheaper to draw than all eight
        ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE")
    ax.set_title(f"{result.stage}: loss (final training MSE {_short(result.train_loss, 5)})", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.25, which="major")
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

    fig = Figure(figsize=RESULT_SIZE, layout="constrained")
    fit_ax, loss_ax = fig.subplots(1, 2)
    plot_fit(result, fit_ax)
    plot_loss(result, loss_ax)
    return fig


def figure_png(fig: Figure | Any, dpi: int = PNG_DPI) -> bytes:
    """The figure as PNG bytes (Agg), independent of the active backend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if fig.canvas is None or not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


Bundle = tuple[dict[str, str], dict[str, dict[str, int]]]


def picture_bundle(png: bytes, size: tuple[float, float], what: str) -> Bundle:
    """A PNG drawn at :data:`PNG_DPI` of a figure ``size`` inches large, as a mime bundle
    and its metadata: the width and height to show it at, in CSS pixels (what notebooks,
    JupyterLab and nbconvert's HTML read), so that its extra pixels make it sharp, not big."""
    width, height = (round(inches * CSS_DPI) for inches in size)
    return ({"image/png": base64.b64encode(png).decode("ascii"),
             "text/plain": f"[figure: {what}; shown as an image in a notebook]"},
            {"image/png": {"width": width, "height": height}})


def figure_bundle(fig: Figure | Any, what: str) -> Bundle:
    """The figure as a sharp PNG shown at its size (see :func:`picture_bundle`)."""
    width, height = fig.get_size_inches()
    return picture_bundle(figure_png(fig), (float(width), float(height)), what)


# -- drawing the result figure fast, again and again ---------------------------
_FIGURES: dict[tuple[Any, ...], Figure] = {}
_PNGS: dict[bytes, bytes] = {}
_PNG_CACHE_SIZE = 16


def _drawn_key(result: Result, dpi: float) -> bytes:
    """A digest of everything the result figure draws (and of the run's options)."""
    data = result.data
    digest = hashlib.blake2b(digest_size=20)
    digest.update(repr((result.stage, result.options, dpi, result.reference.train_loss, data,
                        data.true_b, data.true_w, getattr(data, "feature_names", None),
                        getattr(data, "target_name", None), getattr(data, "source", None))).encode())
    for idx in (data.train_idx, data.val_idx):
        keep = idx[sample(len(idx))]
        digest.update(np.ascontiguousarray(data.x[keep]).tobytes())
        digest.update(np.ascontiguousarray(data.y[keep]).tobytes())
    for array in (result.losses, result.val_losses, result.intercept_path[-1:], result.coef_path[-1:]):
        digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    if len(data.x):
        digest.update(np.array([data.x.min(), data.x.max(), data.y.min(), data.y.max()]).tobytes())
    return digest.digest()


def _layout_signature(result: Result) -> tuple[Any, ...]:
    """What decides the layout: the kind of fit plot, the axis labels, and the
    magnitudes that set how wide the tick labels are.  Results that share it can
    share a figure whose layout was worked out once."""
    data = result.data

    def magnitude(values: np.ndarray) -> tuple[int, int]:
        finite = np.abs(values[np.isfinite(values)]) if len(values) else values
        if not len(finite):
            return (0, 0)
        top, low = float(finite.max()), float(finite[finite > 0].min()) if (finite > 0).any() else 0.0
        return (int(np.floor(np.log10(top))) if top > 0 else 0,
                int(np.floor(np.log10(low))) if low > 0 else 0)

    losses = np.concatenate([result.losses, result.val_losses])
    return (data.n_features == 1, len(data.val_idx) > 0, getattr(data, "feature_names", None),
            getattr(data, "target_name", None), magnitude(np.asarray(data.y[:: max(1, len(data.y) // 4096)])),
            magnitude(losses), result.stopped is None)


def _redrawn_figure(result: Result) -> Figure:
    """:func:`result_figure`'s content on a kept figure: the axes are cleared and
    drawn again; the layout is worked out on the first draw only, then frozen."""
    signature = _layout_signature(result)
    fig = _FIGURES.get(signature)
    if fig is None:
        fig = result_figure(result)
        _FIGURES[signature] = fig
        while len(_FIGURES) > 8:
            del _FIGURES[next(iter(_FIGURES))]
        return fig
    for ax, draw in zip(fig.axes, (plot_fit, plot_loss)):
        remove_plotted(ax)
        draw(result, ax)
    return fig


def remove_plotted(ax: Axes) -> None:
    """Take what was plotted off ``ax`` but keep the axes, their ticks and layout
    (``cla()`` would rebuild every tick, which costs more than the drawing)."""
    for artist in (*ax.collections, *ax.lines, *ax.patches, *ax.texts, *ax.images):
        artist.remove()
    legend = ax.get_legend()
    if legend is not None:
        legend.remove()
    if ax.get_yscale() != "linear":
        ax.set_yscale("linear")
    ax.ignore_existing_data_limits = True  # the next artist sets the limits afresh
    ax.set_autoscale_on(True)


def result_png(result: Result, dpi: int = PNG_DPI) -> bytes:
    """The PNG of :func:`result_figure`, made as cheaply as possible.

    A picture whose drawn numbers have been encoded before is returned as it was
    (like the rendered graph of an unchanged model); otherwise a kept figure is
    redrawn (no new ``Figure``, no second layout pass).  Never touches pyplot.
    """
    key = _drawn_key(result, dpi)
    png = _PNGS.pop(key, None)
    if png is None:
        fig = _redrawn_figure(result)
        png = figure_png(fig, dpi)
        if fig.get_layout_engine() is not None:
            fig.set_layout_engine("none")  # keep the positions the first layout found
    _PNGS[key] = png  # most recently used last
    while len(_PNGS) > _PNG_CACHE_SIZE:
        del _PNGS[next(iter(_PNGS))]
    return png
