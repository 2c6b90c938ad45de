"""Views: each one a function of a :class:`~linreg_magic.Result`.

The engine knows nothing of display and these know nothing of training.
Figures are built on ``matplotlib.figure.Figure`` directly (no pyplot), so the
user's pyplot state and backend are never touched.
"""

from .figures import figure_png, plot_fit, plot_loss, result_figure
from .graph import GraphRender, graph_of, render_graph
from .tables import header_html, header_text, params_html, params_rows, params_text

__all__ = [
    "GraphRender",
    "figure_png",
    "graph_of",
    "header_html",
    "header_text",
    "params_html",
    "params_rows",
    "params_text",
    "plot_fit",
    "plot_loss",
    "render_graph",
    "result_figure",
]
