"""A lesson as the notebook shows it: each cell's code, then what it really printed.

HTML with inline styles (it survives nbconvert), and plain text for a terminal.
A cell whose value is a graph (torchviz's ``make_dot``) also gets the drawing.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterator
from typing import Any

from ..views.code import BOX, SET_APART, highlighted_lines, purpose_tag
from ..views.graph import render_graph
from . import LESSONS, LessonEntry
from .lesson import LessonRun
from .notebook import CellRun
from .step import FirstStep, StepLine

_LINE = "margin:0;padding:0;border:0;background:transparent;font:inherit;overflow:visible"

__all__ = ["lesson_bundles", "lessons_html", "lessons_text", "step_bundle", "step_html", "step_text"]

_OUTPUT = ("font-family:SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;line-height:1.4;"
           "margin:0 0 10px;padding:6px 10px;border-left:3px solid #ccc;white-space:pre-wrap;"
           "background:#fafafa")
_WARNING = "background:#fff8e1;color:#7a5800"
_ERROR = "background:#ffebe9;color:#b00020"


def _given_text(run: LessonRun) -> str:
    return "; ".join(f"{name} = {shown}" for name, shown in run.given)


def _header(run: LessonRun) -> dict[str, str]:
    entry = run.entry
    title = f"Lesson {entry.name}: {entry.title}"
    where = f"runs on {run.device}; met in the {entry.stage} stage"
    given = _given_text(run)
    text = f"{title}\n({where})" + (f"\nstarts with: {given}" if given else "")
    markup = (f"<div class='linreg-lesson' style='font-family:sans-serif'><h4 style='margin:4px 0'>"
              f"{html.escape(title)}</h4><div style='color:#666'>{html.escape(where)}</div>"
              + (f"<div style='color:#666;font-size:90%'>starts with: <code>{html.escape(given)}</code></div>"
                 if given else "") + "</div>")
    return {"text/html": markup, "text/plain": text}


def _code_html(cell: CellRun) -> str:
    code = cell.code
    lines = highlighted_lines(code.body)
    width = len(str(code.first_line + len(lines)))
    rows = "\n".join(f"<span style='color:#999;user-select:none'>{code.first_line + i:>{width}}  </span>"
                     f"{line}" for i, line in enumerate(lines))
    return f"<pre style='{BOX}padding:6px 8px;margin:2px 0'>{rows}</pre>"


def _output_html(cell: CellRun) -> str:
    parts = []
    if cell.printed:
        parts.append(html.escape(cell.printed.rstrip("\n")))
    parts += [f"<span style='{_WARNING}'>{html.escape(w)}</span>" for w in cell.warnings]
    if cell.error is not None:
        parts.append(f"<span class='linreg-lesson-error' style='{_ERROR}'>{html.escape(cell.error)}</span>")
    if cell.value_text is not None and not _is_graph(cell.value):  # a graph is drawn under the cell
        parts.append(f"<span style='color:#555'>{html.escape(cell.value_text)}</span>")
    if not parts:
        return ""
    return f"<pre class='linreg-lesson-output' style='{_OUTPUT}'>{chr(10).join(parts)}</pre>"


def _cell_bundle(index: int, cell: CellRun) -> dict[str, str]:
    code = cell.code
    title = f"{index}. {code.title}"
    explanation = (f"<div style='font-family:sans-serif;color:#444;margin:2px 0'>{html.escape(code.text)}"
                   f"</div>" if code.text else "")
    markup = (f"<div class='linreg-lesson-cell'><div style='font-family:sans-serif;margin-top:8px'><b>"
              f"{html.escape(title)}</b></div>{explanation}{_code_html(cell)}{_output_html(cell)}</div>")
    body = "\n".join(f"    {line}" if line.strip() else "" for line in code.body.rstrip().splitlines())
    text = f"{title}\n" + (f"{code.text}\n" if code.text else "") + body
    if cell.output:
        text += "\n" + "\n".join(f"  | {line}" for line in cell.output.splitlines())
    return {"text/html": markup, "text/plain": text}


def _is_graph(value: Any) -> bool:
    return type(value).__name__ == "Digraph" and hasattr(value, "source")


def _drawing(cell: CellRun) -> dict[str, str] | None:
    """An SVG of a graph the cell returned (torchviz's Digraph), or None."""
    value: Any = cell.value
    if not _is_graph(value):
        return None
    rendered = render_graph(value)
    if rendered.svg is None:
        return {"text/plain": f"(graph not drawn: {rendered.error})\n{rendered.source}"}
    return {"image/svg+xml": rendered.svg, "text/plain": "[the graph, drawn as SVG in a notebook]"}


def lesson_bundles(run: LessonRun) -> Iterator[dict[str, str]]:
    """The mime bundles that show a lesson: its header, then each cell (and its drawing)."""
    yield _header(run)
    for index, cell in enumerate(run.cells, 1):
        yield _cell_bundle(index, cell)
        drawing = _drawing(cell)
        if drawing is not None:
            yield drawing


def _rows(entries: tuple[LessonEntry, ...]) -> list[tuple[str, str, str]]:
    return [(f"%linreg lesson {e.name}", e.stage, e.title) for e in entries]


def lessons_text() -> str:
    """The lessons, one line each: the command, the stage where it is met, what it shows."""
    rows = _rows(LESSONS)
    width = max(len(r[0]) for r in rows)
    stage_width = max(len(r[1]) for r in rows)
    return "\n".join(f"{cmd.ljust(width)}  {stage.ljust(stage_width)}  {title}" for cmd, stage, title in rows)


def lessons_html() -> str:
    left = "style='text-align:left'"
    body = "".join(f"<tr><td {left}><code>{html.escape(cmd)}</code></td><td {left}>{html.escape(stage)}</td>"
                   f"<td {left}>{html.escape(title)}</td></tr>" for cmd, stage, title in _rows(LESSONS))
    return (f"<table class='linreg-lessons'><thead><tr><th {left}>lesson</th><th {left}>met in stage</th>"
            f"<th {left}>what it shows, run on this machine</th></tr></thead><tbody>{body}</tbody></table>")


# -- the step lesson ------------------------------------------------------------------

def _step_title(step: FirstStep) -> str:
    return f"Epoch 1 of the {step.stage} stage, line by line"


def _step_where(step: FirstStep) -> str:
    return (f"{os.path.basename(step.where)}, model_training, on {step.device}, lr = {step.lr:g}; "
            "each line shows the values it changed")


def _values_text(line: StepLine) -> list[str]:
    out = [f"{name} = {value}" for name, value in line.changes]
    out += [f"printed: {text}" for text in line.printed.rstrip("\n").splitlines()]
    return out


def step_text(step: FirstStep) -> str:
    """The traced epoch as text: the code, and under each line what it changed."""
    out = [_step_title(step), f"({_step_where(step)})",
           "before the epoch: " + ", ".join(f"{n} = {v}" for n, v in step.start)]
    width = len(str(step.lines[-1].line.number)) if step.lines else 1
    for traced in step.lines:
        line = traced.line
        aside = "\u00b7" if line.kind.instrumentation else " "
        out.append(f"{line.number:>{width}} {aside} {line.text}".rstrip())
        out += [f"{'':>{width}}   {'':<4}\u2192 {value}" for value in _values_text(traced)]
    if step.hand:
        out.append("by hand, from the same start (the numpy stage's formulas, in float64): "
                   + "; ".join(f"{expr} = {value}" for expr, value in step.hand))
    return "\n".join(out)


def step_html(step: FirstStep) -> str:
    """The traced epoch as a table: line number, the code, what the line changed."""
    source = "\n".join(t.line.text for t in step.lines) + "\n"
    lit = highlighted_lines(source)
    rows = []
    for traced, code in zip(step.lines, lit):
        line = traced.line
        if line.kind.instrumentation:
            code = (f"<span class='linreg-instrumentation' style='{SET_APART}'>{code}</span>"
                    f"{purpose_tag(line.kind)}")
        values = "<br>".join(html.escape(v) for v in _values_text(traced))
        rows.append(f"<tr><td style='color:#999;text-align:right;padding:0 6px;vertical-align:top;"
                    f"user-select:none'>{line.number}</td><td style='vertical-align:top;padding:0 12px 0 0;"
                    f"white-space:pre'><pre style='{_LINE}'>{code}</pre></td><td class='linreg-step-values' "
                    f"style='vertical-align:top;color:#0b5394;white-space:pre-wrap'>{values}</td></tr>")
    start = ", ".join(f"{n} = {v}" for n, v in step.start)
    hand = ("<div style='font-family:sans-serif;margin:4px 0'>By hand, from the same start (the numpy "
            "stage's formulas, in float64): <code>" + html.escape("; ".join(
                f"{expr} = {value}" for expr, value in step.hand)) + "</code></div>") if step.hand else ""
    return (f"<div class='linreg-step'><h4 style='margin:4px 0;font-family:sans-serif'>"
            f"{html.escape(_step_title(step))}</h4><div style='font-family:sans-serif;color:#666'>"
            f"{html.escape(_step_where(step))}</div><div style='font-family:sans-serif;margin:4px 0'>"
            f"Before the epoch: <code>{html.escape(start)}</code></div><div style='overflow-x:auto'>"
            f"<table style='{BOX}border-collapse:collapse;min-width:100%'>{''.join(rows)}</table></div>"
            f"{hand}</div>")


def step_bundle(step: FirstStep) -> dict[str, str]:
    return {"text/html": step_html(step), "text/plain": step_text(step)}
