"""Showing a Result through IPython's display system, with text fallbacks.

Every output is a mime bundle: HTML/PNG/SVG for notebooks and exported HTML, and
``text/plain`` that reads well in a terminal IPython.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from IPython.display import display

if TYPE_CHECKING:
    from .check import Contract, StudentError, StudentRun, Verdict
    from .result import Result

__all__ = ["show_code", "show_compare", "show_contract", "show_diff", "show_result", "show_student_error",
           "show_student_run", "show_surface", "show_verdict"]


def _publish(bundle: dict[str, str]) -> None:
    display(bundle, raw=True)


def show_header(result: Result) -> None:
    from .views import header_html, header_text

    _publish({"text/html": header_html(result), "text/plain": header_text(result)})


def show_params(result: Result) -> None:
    from .views import params_html, params_text

    _publish({"text/html": params_html(result), "text/plain": params_text(result)})


def _publish_figure(fig: Any, what: str) -> None:
    from .views import figure_png

    _publish({"image/png": base64.b64encode(figure_png(fig)).decode("ascii"),
              "text/plain": f"[figure: {what}; shown as an image in a notebook]"})


def _note(text: str) -> None:
    _publish({"text/html": f"<p style='color:#666;font-family:sans-serif'><i>{html.escape(text)}</i></p>",
              "text/plain": text})


def show_figures(result: Result, fit: bool = True, loss: bool = True) -> None:
    from .views import plot_fit, plot_loss
    from .views.figures import result_png

    if fit and loss:  # drawn on a kept figure; an unchanged picture is not drawn again
        _publish({"image/png": base64.b64encode(result_png(result)).decode("ascii"),
                  "text/plain": f"[figure: {result.stage} fit and loss curves; "
                                "shown as an image in a notebook]"})
    elif fit:
        _publish_figure(plot_fit(result).figure, f"{result.stage} fit")
    elif loss:
        _publish_figure(plot_loss(result).figure, f"{result.stage} loss curves")


def show_data_note(result: Result, advice: bool = True) -> None:
    from .views import data_note

    text = data_note(result, advice)
    if text:
        _note(text)


def show_surface(result: Result) -> None:
    """The loss surface with the path, or one line saying why it is not drawn."""
    from .views import plot_surface

    try:
        ax = plot_surface(result)
    except ValueError as exc:
        _note(f"Loss surface: not drawn, {exc}.")
        return
    _publish_figure(ax.figure, f"{result.stage} loss surface over (b, w) with the training path")


def show_code(stage: str) -> None:
    from .views import code_html, code_text

    _publish({"text/html": code_html(stage), "text/plain": code_text(stage)})


def show_diff(stage: str, other: str | None = None, *, side_by_side: bool = False) -> None:
    """What changed from ``other`` (default: the previous stage) to ``stage``."""
    from IPython.core.error import UsageError

    from .views import diff_html, diff_text

    try:
        markup = diff_html(stage, other, side_by_side=side_by_side)
    except UsageError as exc:  # the first stage has nothing before it
        _note(f"Diff: {exc}")
        return
    _publish({"text/html": markup, "text/plain": diff_text(stage, other)})


def show_graph(result: Result) -> None:
    from .views import graph_of, render_graph

    dot = graph_of(result) if result.autograd is not None else None
    if dot is None:
        note = result.graph_note or "no autograd graph: the loss does not require gradients"
        _publish({"text/html": f"<p style='color:#666'><i>Graph: {html.escape(note)}.</i></p>",
                  "text/plain": f"Graph: {note}."})
        return
    rendered = render_graph(dot)
    if rendered.svg is not None:
        _publish({"image/svg+xml": rendered.svg,
                  "text/plain": f"[autograd graph of the loss: {len(rendered.node_labels)} nodes; "
                                "shown as SVG in a notebook]"})
        return
    from .views.graph import INSTALL_HINT

    hint = f"Graph not drawn ({rendered.error}): {INSTALL_HINT}."
    _publish({"text/html": f"<p>{html.escape(hint)}</p><pre>{html.escape(rendered.source)}</pre>",
              "text/plain": f"{hint}\n{rendered.source}"})


def show_result(result: Result, views: Sequence[str] | None = None) -> None:
    """The header, then the views asked for (default: the run's ``--show``).

    Views: params (with a note on the data and scaling), fit, loss, surface,
    graph, code, diff.
    """
    chosen = set(result.options.views if views is None else views)
    show_header(result)
    if "params" in chosen:
        show_params(result)
        show_data_note(result)
    show_figures(result, fit="fit" in chosen, loss="loss" in chosen)
    if "surface" in chosen:
        show_surface(result)
    if "graph" in chosen:
        show_graph(result)
    if "code" in chosen:
        show_code(result.stage)
        if result.options.cuda_graph:
            from .views.code import capture_code_html, capture_code_text

            _publish({"text/html": capture_code_html(), "text/plain": capture_code_text()})
    if "diff" in chosen:
        show_diff(result.stage)


def show_compare(results: Sequence[Result], note: str = "") -> None:
    """The ladder at once: one table of every stage's numbers and one figure of the fits."""
    from .views import compare_html, compare_text, plot_compare

    _publish({"text/html": compare_html(results), "text/plain": compare_text(results)})
    if note:
        _note(note)
    if results:
        show_data_note(results[0], advice=False)  # the data's note; the table says how each run ended
        _publish_figure(plot_compare(results).figure, f"the fits of {len(results)} stages")


def show_stage_list() -> None:
    """The stages in ladder order with one line each."""
    from .registry import ladder

    stages = ladder()
    width = max(len(s.name) for s in stages)
    text = "\n".join(f"{i}. {s.name.ljust(width)}  {s.summary}" for i, s in enumerate(stages, 1))
    left = "style='text-align:left'"
    rows = "".join(f"<tr><td {left}>{i}</td><td {left}><code>{html.escape(s.name)}</code></td>"
                   f"<td {left}>{html.escape(s.summary)}</td></tr>" for i, s in enumerate(stages, 1))
    _publish({"text/html": f"<table><thead><tr><th></th><th {left}>stage</th>"
                           f"<th {left}>what it teaches</th></tr></thead><tbody>{rows}</tbody></table>",
              "text/plain": text})


def show_contract(contract: Contract) -> None:
    """What a stage's cell body is given and must leave behind."""
    from .views.verdict import contract_html, contract_text

    _publish({"text/html": contract_html(contract), "text/plain": contract_text(contract)})


def show_verdict(verdict: Verdict) -> None:
    """The level, the numbers against the reference, each finding with its fix."""
    from .views.verdict import verdict_html, verdict_text

    _publish({"text/html": verdict_html(verdict), "text/plain": verdict_text(verdict)})


def show_student_error(error: StudentError) -> None:
    """The student's traceback, shortened to the frames of their cell."""
    from .views.verdict import error_html, error_text

    _publish({"text/html": error_html(error), "text/plain": error_text(error)})


def _guarded(what: str, draw: Callable[[], None]) -> None:
    """One view; if it fails, one line says so and the others still show."""
    try:
        draw()
    except Exception as exc:
        _note(f"{what}: not drawn ({type(exc).__name__}: {str(exc)[:200]}).")


def show_student_run(run: StudentRun) -> None:
    """A checked student run: the traceback if their code failed, the verdict, then the
    same views as a reference run, with the reference's path beside theirs."""
    title = f"Your code for the {run.stage} stage, checked against the reference"
    _publish({"text/html": f"<h4 style='margin:4px 0'>{html.escape(title)}</h4>", "text/plain": title})
    if run.error is not None:
        show_student_error(run.error)
    show_verdict(run.verdict)
    result = run.result
    if result is None:
        return
    chosen = set(result.options.views)
    _guarded("Header", lambda: show_header(result))
    if "params" in chosen:
        _guarded("Parameters", lambda: _params(result))
    if "fit" in chosen or "loss" in chosen:
        _guarded("Figures", lambda: _student_figures(run, "fit" in chosen, "loss" in chosen))
    if "surface" in chosen:
        _guarded("Loss surface", lambda: _student_surface(run))
    if "graph" in chosen:
        _guarded("Graph", lambda: show_graph(result))
    if "code" in chosen:
        _guarded("Code", lambda: show_code(result.stage))
    if "diff" in chosen:
        _guarded("Diff", lambda: show_diff(result.stage))


def _params(result: Result) -> None:
    show_params(result)
    show_data_note(result)


def _student_figures(run: StudentRun, fit: bool, loss: bool) -> None:
    from .views.student import student_figure

    _publish_figure(student_figure(run, fit, loss), f"your {run.stage} run beside the reference")


def _student_surface(run: StudentRun) -> None:
    from .views.student import plot_student_surface

    try:
        ax = plot_student_surface(run)
    except ValueError as exc:
        _note(f"Loss surface: not drawn, {exc}.")
        return
    _publish_figure(ax.figure, f"{run.stage} loss surface with your path and the reference's")
