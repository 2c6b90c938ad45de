"""The header line and the table of learned parameters, as HTML and as text."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..result import Result

__all__ = ["header_html", "header_text", "params_html", "params_rows", "params_text"]


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def header_text(result: Result) -> str:
    """``module · cpu (…) · 1000 epochs · 71 ms training``."""
    parts = [result.stage, result.device_name, f"{result.epochs:,} epochs",
             f"{_duration(result.seconds)} training"]
    if result.stopped:
        parts.append(result.stopped)
    return " · ".join(parts)


def header_html(result: Result) -> str:
    from ..registry import get_stage

    stage = get_stage(result.stage)
    cells = [f"<b>{html.escape(result.stage)}</b>", html.escape(result.device_name),
             f"{result.epochs:,} epochs", f"{_duration(result.seconds)} training"]
    if result.stopped:
        cells.append(f"<span style='color:#b00'>{html.escape(result.stopped)}</span>")
    return (f"<div class='linreg-header' style='font-family:sans-serif'>"
            f"{' &middot; '.join(cells)}<br><span style='color:#666'>"
            f"{html.escape(stage.summary)}</span></div>")


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
    return "" if value is None else f"{value:.{digits}f}"


def _book(value: float | None) -> str:
    """A published number as the book prints it."""
    return "" if value is None else repr(value)


def params_text(result: Result) -> str:
    rows = params_rows(result)
    head = ("parameter", "learned", "true", "closed form (sklearn)", "book")
    body = [(name, _num(v), _num(t, 4) if t is not None else "", _num(r), _book(bk))
            for name, v, t, r, bk in rows]
    loss = ("training MSE", f"{result.train_loss:.8f}", "", f"{result.reference.train_loss:.8f}", "")
    body.append(loss)
    if result.val_loss is not None and result.reference.val_loss is not None:
        body.append(("validation MSE", f"{result.val_loss:.8f}", "",
                     f"{result.reference.val_loss:.8f}", ""))
    widths = [max(len(r[i]) for r in (head, *body)) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in (head, *body)]
    return "\n".join(lines)


def params_html(result: Result) -> str:
    rows = params_rows(result)
    th = "".join(f"<th>{h}</th>" for h in
                 ("parameter", "learned", "true", "closed form (sklearn)", "book"))
    out = [f"<table class='linreg-params'><thead><tr>{th}</tr></thead><tbody>"]
    for name, value, true, ref, book in rows:
        out.append(f"<tr><td>{html.escape(name)}</td><td><b>{_num(value)}</b></td>"
                   f"<td>{_num(true, 4)}</td><td>{_num(ref)}</td><td>{_book(book)}</td></tr>")
    out.append(f"<tr><td>training MSE</td><td>{result.train_loss:.8f}</td><td></td>"
               f"<td>{result.reference.train_loss:.8f}</td><td></td></tr>")
    if result.val_loss is not None and result.reference.val_loss is not None:
        out.append(f"<tr><td>validation MSE</td><td>{result.val_loss:.8f}</td><td></td>"
                   f"<td>{result.reference.val_loss:.8f}</td><td></td></tr>")
    out.append("</tbody></table>")
    return "".join(out)
