"""The ladder at once: every stage's numbers in one table and their fits in one figure."""

from __future__ import annotations

import html
import textwrap
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..lr import diverging_note
from ..result import BOOK
from ..text import duration
from .figures import TRAIN_COLOR, TRUE_COLOR, sample
from .tables import BOOK_DIGITS, _num

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..result import Result

__all__ = ["ComparedRuns", "Row", "compare_html", "compare_rows", "compare_text", "plot_compare", "run_note"]

_HEAD = ("stage", "device", "b", "w", "training MSE", "validation MSE", "training time", "note")


class Row(NamedTuple):
    """One line of the comparison table; ``None`` where a value does not apply.

    ``digits`` is how many decimals ``b`` and ``w`` are printed with: the book's own
    (8 for its numpy run, 4 for torch) on its rows, None for a run's (6, or e-notation
    for huge and tiny values)."""

    stage: str
    device: str
    b: float | None
    w: tuple[float, ...] | None
    train: float | None
    val: float | None
    seconds: float | None
    note: str | None
    digits: int | None = None


class ComparedRuns(list["Result"]):
    """The results of one ``%linreg compare``, in ladder order: a list of Results whose
    own repr is one line (the table and the figure above say the rest)."""

    def __init__(self, results: Iterable[Result] = ()) -> None:
        super().__init__(results)

    def __repr__(self) -> str:
        stopped = sum(1 for r in self if r.stopped)
        ended = f", {stopped} stopped early" if stopped else ""
        return (f"<{len(self)} compared run{'s' if len(self) != 1 else ''}: "
                f"{', '.join(r.stage for r in self)}{ended}; each item is a Result>")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def run_note(result: Result) -> str | None:
    """Why a run's numbers are not an answer: where it stopped (diverged, interrupted),
    or, for a run that reached its last epoch, a training loss that grew tenfold or more."""
    if result.stopped:
        return result.stopped.text
    if result.diverging:
        return diverging_note(result.epochs, result.options, result.data)
    return None


def compare_rows(results: Sequence[Result]) -> list[Row]:
    """One :class:`Row` per run, then the book's values and scikit-learn's closed form.

    Each row: (stage, device, b, w per feature, training MSE, validation MSE,
    training seconds, why the run is not an answer (see :func:`run_note`), the
    decimals the book prints).
    """
    rows: list[Row] = [
        Row(r.stage, r.device, r.intercept, tuple(float(v) for v in r.coef), r.train_loss, r.val_loss,
            r.seconds, run_note(r)) for r in results]
    if not results:
        return rows
    first = results[0]
    published = {r.book for r in results if r.book is not None}
    for kind, book in BOOK.items():
        if book in published:
            rows.append(Row(f"book ({kind})", "", book[0], (book[1],), None, None, None, None,
                            BOOK_DIGITS[kind]))
    ref = first.reference
    rows.append(Row("closed form (sklearn)", "cpu", ref.intercept, ref.coef, ref.train_loss, ref.val_loss,
                    None, None))
    return rows


def _short(note: str | None) -> str:
    """The first clause of a run's note, for its cell: ``diverged at epoch 19 (...)``."""
    return "" if note is None else note.split(": ")[0]


def _cells(row: Row) -> tuple[str, ...]:
    stage, device, b, w, train, val, seconds, note, digits = row

    def number(value: float | None) -> str:  # the book's rows as the book prints them
        return _num(value, 6) if digits is None or value is None else f"{value:.{digits}f}"

    return (stage, device, number(b), "" if w is None else ", ".join(number(v) for v in w),
            _num(train), _num(val),
            "" if seconds is None else duration(seconds),
            _short(note))


def _notes(rows: Sequence[Row]) -> list[str]:
    """Each run's note in full, once, after the stages it applies to."""
    by_note: dict[str, list[str]] = {}
    for row in rows:
        if row.note is not None:
            by_note.setdefault(row.note, []).append(row.stage)
    return [f"{', '.join(stages)}: {note}" for note, stages in by_note.items()]


def compare_text(results: Sequence[Result]) -> str:
    """The comparison table as aligned text, then each run's note (where it stopped)."""
    rows = compare_rows(results)
    body = [_cells(row) for row in rows]
    widths = [max(len(r[i]) for r in (_HEAD, *body)) for i in range(len(_HEAD))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in (_HEAD, *body)]
    return "\n".join(lines + _notes(rows))


def compare_html(results: Sequence[Result]) -> str:
    """The comparison table as HTML; reference rows in grey; each run's note under it."""
    n = len(results)
    rows = compare_rows(results)
    out = ["<table class='linreg-compare'><thead><tr>",
           *(f"<th>{h}</th>" for h in _HEAD), "</tr></thead><tbody>"]
    for i, row in enumerate(rows):
        style = "" if i < n else " style='color:#666;font-style:italic'"
        cells = _cells(row)
        out.append(f"<tr{style}><td><code>{html.escape(cells[0])}</code></td>" if i < n
                   else f"<tr{style}><td>{html.escape(cells[0])}</td>")
        out += [f"<td>{html.escape(c)}</td>" for c in cells[1:-1]]
        out.append(f"<td style='color:#b00'>{html.escape(cells[-1])}</td></tr>")
    out.append("</tbody></table>")
    out += [f"<p style='color:#b00;font-family:sans-serif;margin:2px 0'>{html.escape(note)}</p>"
            for note in _notes(rows)]
    return "".join(out)


#: Lines that leave the data's range by more than this many times its height are not drawn.
OFF_CHART = 1.0
#: Runs whose lines differ by at most this fraction of the data's height give "one answer".
SAME_ANSWER = 1e-3


def plot_compare(results: Sequence[Result], ax: Axes | None = None) -> Axes:
    """The training data and every stage's fitted line (one-feature data), or each
    stage's final training MSE beside the closed form's (several features).

    The axes stay on the data: a line that leaves the data's range far (a diverged
    run) is not drawn but named on the chart; the title says "one answer" only when
    every run finished and the lines coincide.
    """
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(7, 4.2), layout="constrained").add_subplot()
    if not results:
        return ax
    data = results[0].data
    if data.n_features != 1:
        return _plot_losses(results, ax)
    x, y = data.x_train, data.y_train
    keep = sample(len(x))
    ax.scatter(x[keep, 0], y[keep, 0], s=10, alpha=0.45, color=TRAIN_COLOR, edgecolors="none",
               label="training data")
    xs = np.array([float(data.x.min()), float(data.x.max())])
    ref = results[0].reference
    ref_ys = ref.intercept + ref.coef[0] * xs
    ax.plot(xs, ref_ys, color="black", lw=5, alpha=0.25, label="closed form (sklearn)")
    low = min(float(data.y.min()), float(ref_ys.min()))
    high = max(float(data.y.max()), float(ref_ys.max()))
    height = high - low if high > low else 1.0
    drawn, off_chart = _fit_lines(results, ax, xs, (low - OFF_CHART * height, high + OFF_CHART * height))
    ax.set_xlabel(data.feature_names[0])
    ax.set_ylabel(data.target_name)
    agree = (not off_chart and not any(run_note(r) for r in results)
             and all(np.abs(ys - drawn[0]).max() <= SAME_ANSWER * height for ys in drawn))
    title = _title(results, agree, len(off_chart))
    if len(keep) < len(x):
        title += f" (showing {len(keep):,} of {len(x):,} training points)"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    ax.grid(alpha=0.25)
    return ax


def _fit_lines(results: Sequence[Result], ax: Axes, xs: np.ndarray,
               window: tuple[float, float]) -> tuple[list[np.ndarray], list[str]]:
    """Each run's line over ``xs``, unless it leaves the ``window`` of y values: those
    are named on the chart instead.  Returns the lines drawn and the stages left out."""
    styles = ["-", "--", "-.", ":"]
    drawn: list[np.ndarray] = []
    off_chart: list[str] = []
    for i, r in enumerate(results):
        with np.errstate(over="ignore", invalid="ignore"):
            ys = r.intercept + r.coef[0] * xs
        if not np.isfinite(ys).all() or ys.min() < window[0] or ys.max() > window[1]:
            off_chart.append(r.stage)
            continue
        drawn.append(ys)
        ax.plot(xs, ys, styles[i % len(styles)], color=f"C{i % 10}", lw=1.6,
                label=f"{r.stage}: y = {_num(r.intercept, 4)} + {_num(float(r.coef[0]), 4)}x",
                gid=f"fit-{r.stage}")
    if off_chart:
        ax.text(0.99, 0.02, textwrap.fill(f"not drawn, off the chart: {', '.join(off_chart)} "
                                          "(see the table)", 70),
                transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color="#b00",
                gid="off-chart")
    return drawn, off_chart


def _runs(results: Sequence[Result]) -> str:
    return f"{len(results)} stages" if len(results) != 1 else f"the {results[0].stage} stage"


def _title(results: Sequence[Result], agree: bool, off_chart: int) -> str:
    n = len(results)
    runs = _runs(results)
    if agree:
        return f"{runs}, one answer" if n != 1 else runs
    stopped = sum(1 for r in results if r.stopped)
    problems = [f"{stopped} stopped early" if stopped else "",
                f"{off_chart} off the chart" if off_chart else ""]
    said = ", ".join(p for p in problems if p)
    return (f"{runs}, different answers" if n != 1 else runs) + (f": {said}" if said else "")


def _plot_losses(results: Sequence[Result], ax: Axes) -> Axes:
    """Each stage's final training MSE beside the closed form's (several features);
    a log scale when they span more than three decades (a diverged run)."""
    losses = np.array([r.train_loss for r in results], dtype=float)
    best = results[0].reference.train_loss
    ax.bar([r.stage for r in results], losses, color=TRAIN_COLOR)
    ax.axhline(best, color=TRUE_COLOR, ls=":", label="closed-form training MSE")
    finite = losses[np.isfinite(losses)]
    if best > 0 and len(finite) and (finite > 0).all() and finite.max() > 1e3 * min(best, finite.min()):
        ax.set_yscale("log")
        ax.set_ylim(min(best, finite.min()) / 3, finite.max() * 3)  # the closed form's line in view
    ax.set_ylabel("final training MSE")
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(f"{_runs(results)}: final training MSE", fontsize=10)
    return ax
