"""The ladder at once: every stage's numbers in one table and their fits in one figure."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..result import Result

__all__ = ["compare_html", "compare_rows", "compare_text", "plot_compare"]

_HEAD = ("stage", "device", "b", "w", "training MSE", "validation MSE", "training time")

Row = tuple[str, str, float | None, tuple[float, ...] | None, float | None, float | None, float | None]


def compare_rows(results: Sequence[Result]) -> list[Row]:
    """One row per run, then the book's values and scikit-learn's closed form.

    Each row: (stage, device, b, w per feature, training MSE, validation MSE,
    training seconds); ``None`` where a value does not apply.
    """
    rows: list[Row] = [
        (r.stage, r.device, r.intercept, tuple(float(v) for v in r.coef), r.train_loss, r.val_loss,
         r.seconds) for r in results]
    if not results:
        return rows
    first = results[0]
    from ..result import BOOK

    published = {r.book for r in results if r.book is not None}
    for kind, book in BOOK.items():
        if book in published:
            rows.append((f"book ({kind})", "", book[0], (book[1],), None, None, None))
    ref = first.reference
    rows.append(("closed form (sklearn)", "cpu", ref.intercept, ref.coef, ref.train_loss, ref.val_loss,
                 None))
    return rows


def _cells(row: Row) -> tuple[str, ...]:
    stage, device, b, w, train, val, seconds = row
    return (stage, device, "" if b is None else f"{b:.6f}",
            "" if w is None else ", ".join(f"{v:.6f}" for v in w),
            "" if train is None else f"{train:.8f}", "" if val is None else f"{val:.8f}",
            "" if seconds is None else (f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"))


def compare_text(results: Sequence[Result]) -> str:
    """The comparison table as aligned text."""
    body = [_cells(row) for row in compare_rows(results)]
    widths = [max(len(r[i]) for r in (_HEAD, *body)) for i in range(len(_HEAD))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in (_HEAD, *body))


def compare_html(results: Sequence[Result]) -> str:
    """The comparison table as HTML; reference rows in grey."""
    n = len(results)
    out = ["<table class='linreg-compare'><thead><tr>",
           *(f"<th>{h}</th>" for h in _HEAD), "</tr></thead><tbody>"]
    for i, row in enumerate(compare_rows(results)):
        style = "" if i < n else " style='color:#666;font-style:italic'"
        cells = _cells(row)
        out.append(f"<tr{style}><td><code>{html.escape(cells[0])}</code></td>" if i < n
                   else f"<tr{style}><td>{html.escape(cells[0])}</td>")
        out += [f"<td>{html.escape(c)}</td>" for c in cells[1:]]
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def plot_compare(results: Sequence[Result], ax: Axes | None = None) -> Axes:
    """The training data and every stage's fitted line (one-feature data), or each
    stage's final training MSE beside the closed form's (several features)."""
    from .figures import TRAIN_COLOR, TRUE_COLOR, sample

    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(7, 4.2), layout="constrained").add_subplot()
    if not results:
        return ax
    data = results[0].data
    if data.n_features != 1:
        names = [r.stage for r in results]
        ax.bar(names, [r.train_loss for r in results], color=TRAIN_COLOR)
        ax.axhline(results[0].reference.train_loss, color=TRUE_COLOR, ls=":",
                   label="closed-form training MSE")
        ax.set_ylabel("final training MSE")
        ax.legend(fontsize=8, frameon=False)
        ax.set_title(f"{len(results)} stages: final training MSE", fontsize=10)
        return ax
    x, y = data.x_train, data.y_train
    keep = sample(len(x))
    ax.scatter(x[keep, 0], y[keep, 0], s=10, alpha=0.45, color=TRAIN_COLOR, edgecolors="none",
               label="training data")
    xs = np.array([float(data.x.min()), float(data.x.max())])
    ref = results[0].reference
    ax.plot(xs, ref.intercept + ref.coef[0] * xs, color="black", lw=5, alpha=0.25,
            label="closed form (sklearn)")
    colors = [f"C{i % 10}" for i in range(len(results))]
    styles = ["-", "--", "-.", ":"]
    for i, (r, color) in enumerate(zip(results, colors)):
        ax.plot(xs, r.intercept + r.coef[0] * xs, styles[i % len(styles)], color=color, lw=1.6,
                label=f"{r.stage}: y = {r.intercept:.4f} + {r.coef[0]:.4f}x", gid=f"fit-{r.stage}")
    ax.set_xlabel(data.feature_names[0])
    ax.set_ylabel(data.target_name)
    title = f"{len(results)} stages, one answer"
    if len(keep) < len(x):
        title += f" (showing {len(keep):,} of {len(x):,} training points)"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    ax.grid(alpha=0.25)
    return ax
