"""The header line and the table of learned parameters, as HTML and as text."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from ..lessons import lessons_for
from ..registry import get_stage
from ..result import StopKind
from ..text import count, duration

if TYPE_CHECKING:
    from ..result import Result

__all__ = ["BOOK_DIGITS", "header_html", "header_text", "lesson_commands", "params_html", "params_rows",
           "params_text", "printed_html", "printed_text"]


def _epochs(result: Result) -> str:
    """How many epochs ran, in plain words: ``1 epoch``, ``1,000 epochs``."""
    return count(result.epochs, "epoch") if result.epochs else "no epoch ran"


def _stop(result: Result) -> str:
    """How an early stop happened, in plain words (empty for a run that finished):
    ``your code stopped with RuntimeError before its first epoch``; ``1 epoch, then your
    code stopped with ValueError``; ``diverged at epoch 30 ...`` (a stop that names its epoch)."""
    stop = result.stopped
    if stop is None:
        return ""
    if stop.kind in (StopKind.INTERRUPTED, StopKind.DIVERGED):
        return stop.text
    if not result.epochs:
        return f"{stop.text} before its first epoch"
    return f"{_epochs(result)}, then {stop.text}"


def _learned_label(result: Result) -> str:
    """The parameter table's column of the run's values: what it learned, or, for code that
    stopped with an error, where it stopped (its starting values if no epoch ran)."""
    if result.stopped is not None and result.stopped.kind is StopKind.FAILED:
        return "where your code stopped"
    return "learned"


def lesson_commands(stage: str) -> list[str]:
    """The ``%linreg lesson`` commands for what a student meets at ``stage``."""
    return [f"%linreg lesson step --stage {stage}" if entry.name == "step" else f"%linreg lesson {entry.name}"
            for entry in lessons_for(stage)]


def header_text(result: Result) -> str:
    """``module · cpu (…) · 1,000 epochs · 71 ms training`` (or, for a run that stopped
    early, how it stopped), the run's notes, and the lessons that go with the stage."""
    parts = [result.stage, result.device_name, *([] if result.stopped else [_epochs(result)]),
             f"{duration(result.seconds)} training", *([_stop(result)] if result.stopped else [])]
    return (" · ".join(parts) + "".join(f"\n{note}" for note in result.notes)
            + f"\nlessons: {', '.join(lesson_commands(result.stage))}")


def header_html(result: Result) -> str:
    stage = get_stage(result.stage)
    cells = [f"<b>{html.escape(result.stage)}</b>", html.escape(result.device_name),
             *([] if result.stopped else [_epochs(result)]), f"{duration(result.seconds)} training"]
    if result.stopped:
        cells.append(f"<span style='color:#b00'>{html.escape(_stop(result))}</span>")
    return (f"<div class='linreg-header' style='font-family:sans-serif'>"
            f"{' &middot; '.join(cells)}<br><span style='color:#666'>"
            f"{html.escape(stage.summary)}</span>"
            + "".join(f"<br><span>{html.escape(note)}</span>" for note in result.notes)
            + "<br><span class='linreg-lessons' style='color:#666;font-size:90%'>lessons: "
            + " &middot; ".join(f"<code>{html.escape(c)}</code>" for c in lesson_commands(result.stage))
            + "</span></div>")


def params_rows(result: Result) -> list[tuple[str, float, float | None, float, float | None]]:
    """(name, learned, true, closed form, book) for the intercept and each slope."""
    data, ref = result.data, result.reference
    book = result.book
    rows: list[tuple[str, float, float | None, float, float | None]] = [
        ("b (intercept)", result.intercept, data.true_b, ref.intercept, book[0] if book else None)]
    for i, value in enumerate(result.coef):
        name = "w (slope)" if len(result.coef) == 1 else f"w{i + 1}"
        rows.append((name, float(value), data.true_w[i] if data.true_w else None, ref.coef[i],
                     book[1] if book and len(result.coef) == 1 else None))
    return rows


def _num(value: float | None, digits: int = 8) -> str:
    """Fixed point, or e-notation for huge values (a diverged run), tiny ones, inf and NaN."""
    if value is None:
        return ""
    return f"{value:.{digits}f}" if value == 0 or 1e-4 <= abs(value) < 1e6 else f"{value:.4g}"


def _book(value: float | None, digits: int) -> str:
    """A published number with the digits the book prints."""
    return "" if value is None else f"{value:.{digits}f}"


#: The decimals the book prints its results with: numpy's float64 arrays, torch's tensors.
BOOK_DIGITS = {"numpy": 8, "torch": 4}


def _book_digits(result: Result) -> int:
    return BOOK_DIGITS["torch" if get_stage(result.stage).uses_torch else "numpy"]


def params_text(result: Result) -> str:
    rows = params_rows(result)
    digits = _book_digits(result)
    head = ("parameter", _learned_label(result), "true", "closed form (sklearn)", "book")
    body = [(name, _num(v), _num(t, 4) if t is not None else "", _num(r), _book(bk, digits))
            for name, v, t, r, bk in rows]
    loss = ("training MSE", _num(result.train_loss), "", f"{result.reference.train_loss:.8f}", "")
    body.append(loss)
    if result.val_loss is not None and result.reference.val_loss is not None:
        body.append(("validation MSE", _num(result.val_loss), "",
                     f"{result.reference.val_loss:.8f}", ""))
    widths = [max(len(r[i]) for r in (head, *body)) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in (head, *body)]
    printed = printed_text(result)
    return "\n".join(lines) + (f"\n\n{printed}" if printed else "")


def params_html(result: Result) -> str:
    rows = params_rows(result)
    digits = _book_digits(result)
    left = "style='text-align:left'"
    num = "style='text-align:right;font-family:monospace'"
    th = "".join(f"<th {left if i == 0 else num}>{h}</th>" for i, h in
                 enumerate(("parameter", _learned_label(result), "true", "closed form (sklearn)", "book")))
    out = [f"<table class='linreg-params'><thead><tr>{th}</tr></thead><tbody>"]

    def row(name: str, *cells: str) -> str:
        tds = "".join(f"<td {num}>{c}</td>" for c in cells)
        return f"<tr><td {left}>{html.escape(name)}</td>{tds}</tr>"

    for name, value, true, ref, book in rows:
        out.append(row(name, f"<b>{_num(value)}</b>", _num(true, 4), _num(ref), _book(book, digits)))
    out.append(row("training MSE", _num(result.train_loss), "",
                   f"{result.reference.train_loss:.8f}", ""))
    if result.val_loss is not None and result.reference.val_loss is not None:
        out.append(row("validation MSE", _num(result.val_loss), "",
                       f"{result.reference.val_loss:.8f}", ""))
    out.append("</tbody></table>")
    return "".join(out) + printed_html(result)


def _printed_label(result: Result) -> str:
    return f"printed by the {result.stage} stage's code"


def printed_text(result: Result) -> str:
    """What the stage's own code printed (e.g. ``print(model.state_dict())``), under a
    label; "" when it printed nothing."""
    if not result.printed:
        return ""
    return f"{_printed_label(result)}:\n{result.printed.rstrip()}"


def printed_html(result: Result) -> str:
    """The stage's printed output as a labelled block, like a notebook cell's stdout."""
    if not result.printed:
        return ""
    return (f"<div class='linreg-printed' style='margin-top:6px'><div style='font-family:sans-serif;"
            f"color:#666;font-size:90%'>{html.escape(_printed_label(result))}</div><pre style='margin:2px 0;"
            f"padding:4px 8px;border-left:3px solid #ddd;background:#fafafa;white-space:pre-wrap'>"
            f"{html.escape(result.printed.rstrip())}</pre></div>")
