"""Views: each one a function of a :class:`~linreg_magic.Result`.

The engine knows nothing of display and these know nothing of training.
Figures are built on ``matplotlib.figure.Figure`` directly (no pyplot), so the
user's pyplot state and backend are never touched.
"""

from .code import code_html, code_text
from .compare import compare_html, compare_rows, compare_text, plot_compare
from .diff import diff_html, diff_text
from .figures import figure_png, plot_fit, plot_loss, result_figure
from .graph import GraphRender, graph_of, render_graph
from .notes import data_note
from .surface import plot_surface
from .tables import (
    header_html,
    header_text,
    params_html,
    params_rows,
    params_text,
    printed_html,
    printed_text,
)

__all__ = [
    "GraphRender",
    "code_html",
    "code_text",
    "compare_html",
    "compare_rows",
    "compare_text",
    "data_note",
    "diff_html",
    "diff_text",
    "figure_png",
    "graph_of",
    "header_html",
    "header_text",
    "params_html",
    "params_rows",
    "params_text",
    "plot_compare",
    "plot_fit",
    "plot_loss",
    "plot_surface",
    "printed_html",
    "printed_text",
    "render_graph",
    "result_figure",
]
