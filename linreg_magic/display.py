"""Showing a Result through IPython's display system, with text fallbacks.

Every output is a mime bundle: HTML/PNG/SVG for notebooks and exported HTML, and
``text/plain`` that reads well in a terminal IPython.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING

from IPython.display import display

if TYPE_CHECKING:
    from .result import Result

__all__ = ["show_result"]


def _publish(bundle: dict[str, str]) -> None:
    display(bundle, raw=True)


def show_header(result: Result) -> None:
    from .views import header_html, header_text

    _publish({"text/html": header_html(result), "text/plain": header_text(result)})


def show_params(result: Result) -> None:
    from .views import params_html, params_text

    _publish({"text/html": params_html(result), "text/plain": params_text(result)})


def show_figures(result: Result) -> None:
    from .views import figure_png, result_figure

    png = figure_png(result_figure(result))
    _publish({
        "image/png": base64.b64encode(png).decode("ascii"),
        "text/plain": f"[figure: {result.stage} fit and loss curves; shown as an image in a notebook]",
    })


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


def show_result(result: Result) -> None:
    """Header, parameter table, fit and loss figure, and the autograd graph."""
    show_header(result)
    show_params(result)
    show_figures(result)
    show_graph(result)


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
