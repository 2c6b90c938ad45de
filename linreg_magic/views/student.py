"""A student's run beside the reference's: the same views as any run (drawn by
:func:`plot_loss`, :func:`plot_surface`, :func:`plot_fit`), with the reference
dynamics from the student's own start drawn over them and the epoch where the two
part marked.  And ``make_dot`` for cell bodies, drawn with the package's renderer."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np

from .._compat import make_dot
from .figures import drawable, plot_fit, plot_loss
from .graph import render_graph
from .surface import path_rows, plot_surface

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..check import StudentRun

__all__ = ["drawn_make_dot", "plot_student_fit", "plot_student_loss", "plot_student_surface",
           "student_figure"]

REFERENCE_COLOR = "#222222"
PARTED_COLOR = "#8e44ad"


def _label(run: StudentRun) -> str:
    started_apart = run.expected is not run.reference and run.expected is not None and \
        run.reference is not None and not np.allclose(run.expected.intercept_path[:1],
                                                      run.reference.intercept_path[:1])
    return "reference from your start" if started_apart else "reference"


def plot_student_loss(run: StudentRun, ax: Axes | None = None) -> Axes:
    """The student's loss curve (from their recorded trajectory), the reference's beside
    it, and the epoch where their trajectory left the reference's."""
    assert run.result is not None
    ax = plot_loss(run.result, ax)
    for text in ax.texts:  # every loop of a body is recorded: none to ask for
        if "losses" in text.get_text():
            text.set_text("no epoch of your loop finished")
    expected = run.expected
    if expected is not None and len(expected.losses):
        ax.plot(np.arange(1, expected.epochs + 1), drawable(expected.losses), "--", color=REFERENCE_COLOR,
                lw=1.1, label=_label(run), gid="reference-loss")
    parted = run.verdict.parted_at
    if parted is not None:
        ax.axvline(parted, color=PARTED_COLOR, lw=1.2, ls="-.", gid="parted",
                   label=f"leaves the reference at epoch {parted}")
    ax.legend(fontsize=8, loc="upper right", framealpha=0.85)
    return ax


def plot_student_surface(run: StudentRun, ax: Axes | None = None) -> Axes:
    """The loss surface with the student's path and the reference's from their start
    (one-feature models; raises ``ValueError`` otherwise, as :func:`plot_surface`)."""
    assert run.result is not None
    if ax is None:  # a fixed layout: no layout pass on every drawing
        from matplotlib.figure import Figure

        fig = Figure(figsize=(5.2, 5.4))
        fig.subplots_adjust(left=0.14, right=0.97, top=0.93, bottom=0.25)
        ax = fig.add_subplot()
    ax = plot_surface(run.result, ax)
    expected = run.expected
    if expected is not None:
        rows = path_rows(expected.epochs)
        ax.plot(expected.intercept_path[rows], expected.coef_path[rows, 0], "--", color=REFERENCE_COLOR,
                lw=1.3, gid="reference-path", label=_label(run))
    parted = run.verdict.parted_at
    result = run.result
    if parted is not None and parted <= result.epochs:
        ax.plot([result.intercept_path[parted]], [result.coef_path[parted, 0]], "D", color=PARTED_COLOR,
                mec="black", ms=7, gid="parted", label=f"leaves the reference at epoch {parted}")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    return ax


def plot_student_fit(run: StudentRun, ax: Axes | None = None) -> Axes:
    """The student's fit, with the reference's line (or, for several features, the
    reference's predictions against the actual values) beside it."""
    assert run.result is not None
    ax = plot_fit(run.result, ax)
    expected = run.expected
    if expected is None:
        return ax
    data = expected.data
    if data.n_features == 1:
        xs = np.array([float(data.x.min()), float(data.x.max())])
        with np.errstate(all="ignore"):
            ys = expected.intercept + expected.coef[0] * xs
        ax.plot(xs, drawable(ys), "--", color=REFERENCE_COLOR, lw=1.2, gid="reference-fit",
                label=f"{_label(run)}: y = {expected.intercept:.4f} + {expected.coef[0]:.4f}x")
    else:
        idx = data.train_idx[: 2000]
        with np.errstate(all="ignore"):
            predicted = expected.intercept + data.x[idx] @ expected.coef
        ax.scatter(data.y[idx, 0], drawable(predicted), s=14, facecolors="none",
                   edgecolors=REFERENCE_COLOR, lw=0.6, gid="reference-fit", label=_label(run))
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    return ax


def student_figure(run: StudentRun, fit: bool = True, loss: bool = True) -> Figure:
    """The fit and the loss curves of a student's run beside the reference's."""
    from matplotlib.figure import Figure

    panels = [p for p, wanted in ((plot_student_fit, fit), (plot_student_loss, loss)) if wanted]
    fig = Figure(figsize=(5 * len(panels), 3.8))
    fig.subplots_adjust(left=0.08 * 2 / len(panels), right=0.98, top=0.92, bottom=0.13, wspace=0.22)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for draw, ax in zip(panels, axes):
        draw(run, ax)
    return fig


@functools.cache
def _drawn_graph_class() -> type:
    from graphviz import Digraph

    class DrawnGraph(Digraph):  # type: ignore[misc]
        """A torchviz graph that a notebook shows with the package's renderer."""

        def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **_: Any) -> dict[str, str]:
            rendered = render_graph(self)
            if rendered.svg is not None:
                return {"image/svg+xml": rendered.svg,
                        "text/plain": f"[autograd graph: {len(rendered.node_labels)} nodes]"}
            return {"text/plain": f"{rendered.not_drawn}\n{rendered.source}"}

    return DrawnGraph


def drawn_make_dot(*args: Any, **kwargs: Any) -> Any:
    """torchviz's ``make_dot`` for cell bodies: the graph shows as SVG in a notebook
    without a system Graphviz (as the graph view does)."""
    dot = make_dot(*args, **kwargs)
    dot.node_attr["fontname"] = "Courier"
    dot.__class__ = _drawn_graph_class()
    return dot
