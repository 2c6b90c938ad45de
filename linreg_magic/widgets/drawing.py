"""The widget's views of a result: figure tabs drawn on kept figures, HTML tabs, the numbers.

Only the tab that is open is drawn at once; the others are drawn when they are
opened (a lecture looks at one at a time), so a new run costs one figure.  The
epoch scrubber redraws only what moves in the open figure (see
:mod:`linreg_magic.views.frames`).  Everything here runs on the widget's worker
thread; it only sets widget values.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import ipywidgets as widgets

from ..errors import UsageError
from ..registry import previous_stage
from ..views import code_html, data_note, diff_html, header_html, params_html
from ..views.frames import KeptFigure, kept_figure
from ..views.graph import graph_bundle

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..result import Result

__all__ = ["FIGURE_TABS", "Drawing", "error_html", "note_html", "summary_html"]

#: The views drawn as pictures (the others are HTML).
FIGURE_TABS = ("fit", "loss", "surface")
#: The views that change with the epoch scrubber.
MOVING_TABS = ("fit", "surface")


def note_html(text: str) -> str:
    return f"<p style='color:#666;font-style:italic;margin:4px 0'>{html.escape(text)}</p>"


def summary_html(result: Result) -> str:
    """The header (with how the run stopped), the parameter table and the magic's notes."""
    note = data_note(result)
    notes = f"<div class='linreg-notes'><p>{html.escape(note)}</p></div>" if note else ""
    return header_html(result) + notes + params_html(result)


def error_html(exc: BaseException) -> str:
    """An error in place of the numbers: one line, said as the magic would say it."""
    text = str(exc) if isinstance(exc, UsageError) else f"{type(exc).__name__}: {exc}"
    return (f"<div class='linreg-error'><b>Not run:</b> {html.escape(text)}<br>"
            "<span style='color:#666'>The figures are from the last run that worked.</span></div>")


def _graph_html(result: Result) -> str:
    bundle = graph_bundle(result)
    return bundle.get("image/svg+xml") or bundle["text/html"]


class Drawing:
    """The views of the widget's current result, drawn into its image and HTML widgets."""

    def __init__(self, tabs: Iterable[str], pixel_ratio: float = 2.0) -> None:
        self.tab_names = tuple(tabs)
        self.kept: dict[str, KeptFigure] = {name: kept_figure(name, pixel_ratio)
                                            for name in self.tab_names if name in FIGURE_TABS}
        self.images: dict[str, widgets.Image] = {}
        self.notes: dict[str, widgets.HTML] = {}
        self.views: dict[str, widgets.DOMWidget] = {}
        for name in self.tab_names:
            view = widgets.Image(format="png") if name in FIGURE_TABS else widgets.HTML()
            view.add_class(f"linreg-{name}")
            self.views[name] = view
            if name in FIGURE_TABS:
                self.images[name] = view
                self.notes[name] = widgets.HTML()
        self.result: Result | None = None
        self.epoch: int | None = None
        self._drawn: dict[str, tuple[int, int | None]] = {}  # view -> (id of the result, epoch) drawn
        self._code_stage: str | None = None

    @property
    def figures(self) -> dict[str, Figure]:
        """The figure of each figure view drawn for the current result."""
        return {name: kept.figure for name, kept in self.kept.items()
                if self.result is not None and self._drawn.get(name, (0,))[0] == id(self.result)
                and kept.axes is not None}

    def show(self, result: Result, open_tab: str) -> None:
        """A new result: the open tab now; the others when they are opened."""
        self.result, self.epoch = result, None
        self._drawn = {}
        self.ensure(open_tab)

    def ensure(self, tab: str) -> None:
        """Draw ``tab`` for the current result and epoch, if it is not drawn yet."""
        result = self.result
        if result is None or tab not in self.views:
            return
        epoch = self.epoch if tab in MOVING_TABS else None
        if self._drawn.get(tab) == (id(result), epoch):
            return
        if tab in self.kept:
            self._draw_figure(tab, result, epoch)
        elif tab == "graph":
            self.views[tab].value = _graph_html(result)
        elif tab in ("code", "diff"):
            self._show_code(result.stage)
        self._drawn[tab] = (id(result), epoch)

    def _draw_figure(self, tab: str, result: Result, epoch: int | None) -> None:
        kept, image = self.kept[tab], self.images[tab]
        if tab == "surface" and result.coef_path.shape[1] != 1:
            self.notes[tab].value = note_html("The loss surface is drawn for one-feature models only.")
            image.value = b""
            return
        self.notes[tab].value = ""
        image.value = kept.frame(epoch) if kept.result is result else kept.draw(result, epoch)
        image.remove_class("linreg-stale")

    def move_to(self, epoch: int | None, open_tab: str) -> None:
        """The scrubber or the open tab changed: draw the open tab (at ``epoch``; None: the last)."""
        self.epoch = epoch
        self.ensure(open_tab)

    def mark_stale(self) -> None:
        """The figures no longer show what the controls say (the last run failed)."""
        for image in self.images.values():
            image.add_class("linreg-stale")

    def _show_code(self, stage: str) -> None:
        if self._code_stage == stage:
            return
        for name, view in (("code", code_html), ("diff", diff_html)):
            if name not in self.views:
                continue
            if name == "diff" and previous_stage(stage) is None:
                text = note_html(f"{stage} is the first stage of the ladder: there is no stage before "
                                 "it to compare with.")
            else:
                try:
                    text = view(stage)
                except UsageError as exc:  # e.g. a stage whose source cannot be read
                    text = note_html(str(exc))
            self.views[name].value = text
        self._code_stage = stage

    def pngs(self) -> dict[str, bytes]:
        """The pictures shown now, by view (only those drawn)."""
        return {name: bytes(image.value) for name, image in self.images.items() if image.value}

    def draw_figures(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Draw every figure tab, unless ``stop()`` says newer work waits."""
        for tab in self.kept:
            if stop():
                return
            self.ensure(tab)

    def draw_all(self) -> None:
        """Draw every tab (for a static copy that shows them all)."""
        for tab in self.tab_names:
            self.ensure(tab)



class ViewAccess:
    """The widget's views and scrubber, for scripts (mixed into the widget)."""

    _drawing: Drawing
    scrubber: widgets.IntSlider

    if TYPE_CHECKING:
        def wait(self, timeout: float | None = 120.0) -> bool: ...

    @property
    def epoch(self) -> int:
        """The epoch the scrubber shows; setting it replays the run there."""
        return int(self.scrubber.value)

    @epoch.setter
    def epoch(self, epoch: int) -> None:
        self.scrubber.value = int(epoch)

    @property
    def views(self) -> dict[str, widgets.DOMWidget]:
        """Each tab's view: an image for fit, loss and surface; HTML for the others."""
        return self._drawing.views

    @property
    def notes(self) -> dict[str, widgets.HTML]:
        return self._drawing.notes

    @property
    def figures(self) -> dict[str, Figure]:
        """The matplotlib figure of each figure tab drawn for the current result."""
        return self._drawing.figures

    def draw_all(self) -> None:
        """Draw every tab now (they are drawn when first opened), after the runs waiting."""
        self.wait()
        self._drawing.draw_all()
