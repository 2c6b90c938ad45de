"""Where the widget's parts sit: controls, figures and the numbers, side by side or stacked.

Three columns that wrap: the controls (a fixed width), the figure tabs with the
epoch scrubber (the figures' own CSS width, never upscaled), and the run's header,
notes and parameter table beside the figure they describe.  On a narrow output
area (a CSS container query) they stack, each the full width.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ipywidgets as widgets

__all__ = ["STYLE", "TABLE_STYLE", "build_layout", "figure_column", "figure_page"]

CONTROLS_WIDTH = 250
INFO_WIDTH = 300

#: The numbers' style, for the live widget and its static copies alike.
TABLE_STYLE = """
.linreg-widget {font-family: sans-serif}
.linreg-widget .linreg-summary {overflow-x: auto; font-size: 12px}
.linreg-widget .linreg-summary table {border-collapse: collapse; font-size: 12px; margin-top: 4px}
.linreg-widget .linreg-summary th, .linreg-widget .linreg-summary td {
  padding: 2px 8px; text-align: right; border-bottom: 1px solid #e4e4e4}
.linreg-widget .linreg-summary th:first-child, .linreg-widget .linreg-summary td:first-child {
  text-align: left}
.linreg-widget .linreg-notes p {margin: 4px 0; color: #444; line-height: 1.35}
.linreg-widget .linreg-error {color: #b00020; white-space: normal}
"""

STYLE = f"""<style>{TABLE_STYLE}
.linreg-widget {{container-type: inline-size; container-name: linreg;
  --jp-widgets-horizontal-tab-width: 70px}}
.linreg-widget .linreg-info .widget-html-content {{line-height: 1.35}}
.linreg-widget .linreg-body {{display: flex; flex-flow: row wrap; gap: 10px 14px; align-items: flex-start}}
.linreg-widget .linreg-controls {{flex: 0 0 {CONTROLS_WIDTH}px; min-width: 0}}
.linreg-widget .linreg-figures {{flex: 0 1 auto; min-width: 0; max-width: 100%}}
.linreg-widget .linreg-info {{flex: 1 1 {INFO_WIDTH}px; min-width: 0; max-width: 560px}}
.linreg-widget .linreg-figures img {{max-width: 100%; height: auto; display: block}}
.linreg-widget .linreg-figures img.linreg-stale {{opacity: 0.35}}
.linreg-widget .linreg-value input {{font-family: monospace; text-align: right}}
.linreg-widget .linreg-info .linreg-summary th, .linreg-widget .linreg-info .linreg-summary td {{
  padding: 2px 5px; white-space: nowrap; font-size: 11.5px}}
.linreg-widget .linreg-info .linreg-summary th {{white-space: normal}}
.linreg-widget .linreg-graph svg {{max-width: 100%; height: auto}}
.linreg-widget .linreg-code, .linreg-widget .linreg-diff {{max-width: 100%; overflow-x: auto}}
.linreg-static-copy {{display: none}}  /* the copy for exports: the live widget is on this page */
@container linreg (max-width: {CONTROLS_WIDTH + 470}px) {{
  .linreg-widget .linreg-controls, .linreg-widget .linreg-figures, .linreg-widget .linreg-info {{
    flex: 1 1 100%; max-width: 100%}}
}}
</style>"""


def figure_page(image: widgets.Image, note: widgets.HTML, width: int) -> widgets.VBox:
    """A figure tab: a note above the picture, shown at ``width`` CSS pixels (or less)."""
    image.layout = widgets.Layout(width=f"{width}px", max_width="100%", height="auto")
    return widgets.VBox([note, image])


def figure_column(pages: Mapping[str, widgets.Widget], first_tab: str, below: Sequence[widgets.Widget],
                  figure_width: int) -> tuple[widgets.VBox, widgets.Tab]:
    """The tabs (``figure_width`` CSS pixels of picture, and their padding) and what is below them."""
    names = list(pages)
    tabs = widgets.Tab(children=list(pages.values()), titles=names, selected_index=names.index(first_tab))
    figures = widgets.VBox([tabs, *below], layout=widgets.Layout(width=f"{figure_width + 34}px",
                                                                max_width="100%"))
    figures.add_class("linreg-figures")
    return figures, tabs


def build_layout(panel: Sequence[widgets.Widget], figures: widgets.VBox,
                 info: Sequence[widgets.Widget]) -> tuple[widgets.Widget, ...]:
    """The root's children: the style, then the three columns (controls, figures, ``info``)."""
    controls = widgets.VBox(list(panel))
    controls.add_class("linreg-controls")
    details = widgets.VBox(list(info))
    details.add_class("linreg-info")
    body = widgets.Box([controls, figures, details])
    body.add_class("linreg-body")
    return widgets.HTML(STYLE), body
