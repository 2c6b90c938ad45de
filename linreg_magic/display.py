"""Showing a Result through IPython's display system, with text fallbacks.

Every output is a mime bundle: HTML/PNG/SVG for notebooks and exported HTML, and
``text/plain`` that reads well in a terminal IPython.  Views are drawn one by one
(:func:`show_each`): one that fails says so in one line and the others still show;
Ctrl-C stops the drawing, never the result (the caller has kept it already).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.display import display

from .registry import ladder
from .text import text_table
from .views import (
    code_html,
    code_text,
    compare_html,
    compare_text,
    data_note,
    diff_html,
    diff_text,
    header_html,
    header_text,
    params_html,
    params_text,
    plot_compare,
    plot_fit,
    plot_loss,
    plot_surface,
)
from .views.code import capture_code_html, capture_code_text
from .views.figures import RESULT_SIZE, Bundle, figure_bundle, picture_bundle, result_png
from .views.graph import graph_bundle
from .views.student import plot_student_surface, student_figure
from .views.verdict import contract_html, contract_text, error_html, error_text, verdict_html, verdict_text

if TYPE_CHECKING:
    from .check import Contract, StudentError, StudentRun, Verdict
    from .result import Result

__all__ = ["publish", "publish_picture", "show_code", "show_compare", "show_contract", "show_diff",
           "show_each", "show_result", "show_student_error", "show_student_run", "show_surface",
           "show_verdict", "student_views"]

#: The longest error text a view that failed shows.
_MAX_ERROR = 200


def publish(bundle: dict[str, str], metadata: dict[str, Any] | None = None) -> None:
    """Show a mime bundle (and its metadata) as it is."""
    display(bundle, raw=True, metadata=metadata)


def publish_picture(picture: Bundle) -> None:
    """A figure's bundle and the size to show it at (see :func:`views.figures.picture_bundle`)."""
    publish(*picture)


def _note(text: str) -> None:
    publish({"text/html": f"<p style='color:#666;font-family:sans-serif'><i>{html.escape(text)}</i></p>",
              "text/plain": text})


def show_each(views: Sequence[tuple[str, Callable[[], None]]]) -> None:
    """Draw each ``(name, draw)`` in order.  A view that raises is one line saying so, and
    the next ones still show; Ctrl-C stops the drawing with one line (nothing is lost:
    what was made is kept before drawing starts)."""
    for i, (name, draw) in enumerate(views):
        try:
            draw()
        except KeyboardInterrupt:
            left = ", ".join(n for n, _ in views[i:])
            _note(f"Drawing stopped (Ctrl-C): {left} not shown. The result is kept (in _, and in "
                  "--store NAME if given).")
            return
        except Exception as error:  # a view's failure must not lose the result or the other views
            text = " ".join(f"{type(error).__name__}: {error}".split())
            _note(f"{name[:1].upper()}{name[1:]}: not drawn ({text[:_MAX_ERROR]}).")


def show_header(result: Result) -> None:
    publish({"text/html": header_html(result), "text/plain": header_text(result)})


def show_params(result: Result) -> None:
    publish({"text/html": params_html(result), "text/plain": params_text(result)})


def _publish_figure(fig: Any, what: str) -> None:
    publish_picture(figure_bundle(fig, what))


def show_figures(result: Result, fit: bool = True, loss: bool = True) -> None:
    if fit and loss:  # drawn on a kept figure; an unchanged picture is not drawn again
        publish_picture(picture_bundle(result_png(result), RESULT_SIZE,
                                       f"{result.stage} fit and loss curves"))
    elif fit:
        _publish_figure(plot_fit(result).figure, f"{result.stage} fit")
    elif loss:
        _publish_figure(plot_loss(result).figure, f"{result.stage} loss curves")


def show_data_note(result: Result, advice: bool = True) -> None:
    text = data_note(result, advice)
    if text:
        _note(text)


def show_surface(result: Result) -> None:
    """The loss surface with the path, or one line saying why it is not drawn."""
    _show_surface(lambda: plot_surface(result),
                  f"{result.stage} loss surface over (b, w) with the training path")


def _show_surface(draw: Callable[[], Any], what: str) -> None:
    """A loss surface's figure, or one line saying why it is not drawn (a surface has
    two parameters: ``draw`` raises ValueError for a run with more)."""
    try:
        ax = draw()
    except ValueError as exc:
        _note(f"Loss surface: not drawn, {exc}.")
        return
    _publish_figure(ax.figure, what)


def show_code(stage: str) -> None:
    publish({"text/html": code_html(stage), "text/plain": code_text(stage)})


def show_capture_code() -> None:
    """The code that captures and replays a CUDA graph (``--cuda-graph``)."""
    publish({"text/html": capture_code_html(), "text/plain": capture_code_text()})


def show_diff(stage: str, other: str | None = None, *, side_by_side: bool = False) -> None:
    """What changed from ``other`` (default: the previous stage) to ``stage``."""
    try:
        markup = diff_html(stage, other, side_by_side=side_by_side)
    except UsageError as exc:  # the first stage has nothing before it
        _note(f"Diff: {exc}")
        return
    publish({"text/html": markup, "text/plain": diff_text(stage, other)})


def show_graph(result: Result) -> None:
    publish(graph_bundle(result))


def result_views(result: Result, views: Sequence[str] | None = None) -> list[tuple[str, Callable[[], None]]]:
    """The header, then the views asked for (default: the run's ``--show``), as
    ``(name, draw)`` pairs in display order.

    Views: params (with a note on the data and scaling), fit, loss, surface,
    graph, code, diff.
    """
    chosen = set(result.options.views if views is None else views)
    drawn: list[tuple[str, Callable[[], None]]] = [("header", lambda: show_header(result))]
    if "params" in chosen:
        drawn += [("params", lambda: show_params(result)), ("data note", lambda: show_data_note(result))]
    if chosen & {"fit", "loss"}:
        drawn.append(("fit and loss figure",
                      lambda: show_figures(result, fit="fit" in chosen, loss="loss" in chosen)))
    if "surface" in chosen:
        drawn.append(("loss surface", lambda: show_surface(result)))
    if "graph" in chosen:
        drawn.append(("graph", lambda: show_graph(result)))
    if "code" in chosen:
        drawn.append(("code", lambda: show_code(result.stage)))
        if result.options.cuda_graph:
            drawn.append(("capture code", show_capture_code))
    if "diff" in chosen:
        drawn.append(("diff", lambda: show_diff(result.stage)))
    return drawn


def show_result(result: Result, views: Sequence[str] | None = None) -> None:
    """The header, then the views asked for (default: the run's ``--show``); see
    :func:`result_views`."""
    show_each(result_views(result, views))


def show_compare(results: Sequence[Result], note: str = "") -> None:
    """The ladder at once: one table of every stage's numbers and one figure of the fits."""
    drawn: list[tuple[str, Callable[[], None]]] = [
        ("compare table", lambda: publish({"text/html": compare_html(results),
                                            "text/plain": compare_text(results)}))]
    if note:
        drawn.append(("note", lambda: _note(note)))
    if results:  # the data's note; the table says how each run ended
        drawn += [("data note", lambda: show_data_note(results[0], advice=False)),
                  ("compare figure", lambda: _publish_figure(plot_compare(results).figure,
                                                             f"the fits of {len(results)} stages"))]
    show_each(drawn)


def show_stage_list() -> None:
    """The stages in ladder order with one line each."""
    stages = ladder()
    text = text_table([[f"{i}.", s.name, s.summary] for i, s in enumerate(stages, 1)])
    left = "style='text-align:left'"
    rows = "".join(f"<tr><td {left}>{i}</td><td {left}><code>{html.escape(s.name)}</code></td>"
                   f"<td {left}>{html.escape(s.summary)}</td></tr>" for i, s in enumerate(stages, 1))
    publish({"text/html": f"<table><thead><tr><th></th><th {left}>stage</th>"
                           f"<th {left}>what it teaches</th></tr></thead><tbody>{rows}</tbody></table>",
              "text/plain": text})


def show_contract(contract: Contract) -> None:
    """What a stage's cell body is given and must leave behind."""
    publish({"text/html": contract_html(contract), "text/plain": contract_text(contract)})


def show_verdict(verdict: Verdict) -> None:
    """The level, the numbers against the reference, each finding with its fix."""
    publish({"text/html": verdict_html(verdict), "text/plain": verdict_text(verdict)})


def show_student_error(error: StudentError) -> None:
    """The student's traceback, shortened to the frames of their cell."""
    publish({"text/html": error_html(error), "text/plain": error_text(error)})


def show_student_run(run: StudentRun) -> None:
    """A checked student run: the traceback if their code failed, the verdict, then the
    same views as a reference run, with the reference's path beside theirs."""
    title = f"Your code for the {run.stage} stage, checked against the reference"
    publish({"text/html": f"<h4 style='margin:4px 0'>{html.escape(title)}</h4>", "text/plain": title})
    if run.guard is not None:
        show_each([("your figures", run.guard.show_figures)])
    if run.error is not None:
        show_student_error(run.error)
    show_verdict(run.verdict)
    if run.result is not None:
        show_each(student_views(run, run.result))


def student_views(run: StudentRun, result: Result) -> list[tuple[str, Callable[[], None]]]:
    """A student run's views as ``(name, draw)`` pairs: those of :func:`result_views`, with
    the figures and the surface drawn beside the reference's."""
    beside: dict[str, Callable[[], None]] = {"fit and loss figure": lambda: _student_figures(run, result),
                                             "loss surface": lambda: _student_surface(run)}
    return [(name, beside.get(name, draw)) for name, draw in result_views(result)]


def _student_figures(run: StudentRun, result: Result) -> None:
    chosen = set(result.options.views)
    _publish_figure(student_figure(run, "fit" in chosen, "loss" in chosen),
                    f"your {run.stage} run beside the reference")


def _student_surface(run: StudentRun) -> None:
    _show_surface(lambda: plot_student_surface(run),
                  f"{run.stage} loss surface with your path and the reference's")
