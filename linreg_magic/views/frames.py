"""Figures drawn again and again, fast: one kept figure per view.

A :class:`KeptFigure` draws a view of a new result on a figure it keeps (no new
``Figure``; the layout is solved on that draw and then frozen), and draws the
same result at another epoch as a *frame*: the parts that do not move are drawn
once into a background, and a frame restores it and draws only what moved (the
fitted line, the point on the loss surface, their legend and title).  Pictures
are rendered at ``pixel_ratio`` device pixels per CSS pixel (2: crisp on high-DPI
screens), and :attr:`KeptFigure.css_width` says how wide to show them.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .figures import CSS_DPI, move_fit, plot_fit, plot_loss, remove_plotted
from .surface import move_surface, plot_surface

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..result import Result

__all__ = ["CSS_DPI", "KeptFigure", "encode_png", "kept_figure"]

Draw = Callable[["Result", "Axes", "int | None"], "Axes"]
Move = Callable[["Axes", "Result", "int | None"], "list[Any]"]


def encode_png(figure: Figure) -> bytes:
    """What the figure's Agg canvas holds now, as PNG (fast zlib level; no redraw)."""
    from PIL import Image

    canvas: Any = figure.canvas  # an Agg canvas
    width, height = canvas.get_width_height(physical=True)
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


class KeptFigure:
    """One view's figure, kept: :meth:`draw` a result, then :meth:`frame` other epochs."""

    def __init__(self, size: tuple[float, float], draw: Draw, move: Move | None = None, *,
                 pixel_ratio: float = 2.0, clear: bool = False) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=size, dpi=CSS_DPI * pixel_ratio, layout="constrained")
        FigureCanvasAgg(self.figure)
        self._draw, self._move, self._clear = draw, move, clear
        self._axes: Axes | None = None
        self.result: Result | None = None
        self.epoch: int | None = None
        self._background: Any = None
        self._moving: list[Any] = []

    @property
    def css_width(self) -> int:
        """How wide to show the picture, in CSS pixels."""
        return round(self.figure.get_figwidth() * CSS_DPI)

    @property
    def axes(self) -> Axes | None:
        return self._axes

    def draw(self, result: Result, epoch: int | None = None) -> bytes:
        """The view of a new result (at ``epoch``; None: the end), laid out afresh."""
        figure = self.figure
        for artist in self._moving:
            artist.set_animated(False)
        self._moving, self._background = [], None
        figure.set_layout_engine("constrained")
        if self._axes is None or self._clear:
            figure.clear()
            self._axes = figure.add_subplot()
        else:
            remove_plotted(self._axes)
        self._draw(result, self._axes, epoch)
        figure.canvas.draw()
        figure.set_layout_engine("none")  # keep these positions for the frames
        self.result, self.epoch = result, epoch
        return encode_png(figure)

    def frame(self, epoch: int | None) -> bytes:
        """The same result at another epoch: the background restored, what moved drawn on it."""
        if self.result is None or self._axes is None:
            raise RuntimeError("draw a result before asking for a frame")
        if self._move is None:
            return self.draw(self.result, epoch)
        moving = self._move(self._axes, self.result, epoch)
        canvas: Any = self.figure.canvas  # an Agg canvas
        if self._background is None or [id(a) for a in moving] != [id(a) for a in self._moving]:
            for artist in moving:
                artist.set_animated(True)
            self._moving = moving
            canvas.draw()
            self._background = canvas.copy_from_bbox(self.figure.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in moving:
            self.figure.draw_artist(artist)
        self.epoch = epoch
        return encode_png(self.figure)


def _draw_fit(result: Result, ax: Axes, epoch: int | None) -> Axes:
    return plot_fit(result, ax, epoch, every_epoch=True)


def _draw_loss(result: Result, ax: Axes, epoch: int | None) -> Axes:
    return plot_loss(result, ax)


def _draw_surface(result: Result, ax: Axes, epoch: int | None) -> Axes:
    return plot_surface(result, ax, epoch=result.epochs if epoch is None else epoch)


#: The views a kept figure can show: (size in inches, draw, move, clear the figure per result).
_VIEWS: dict[str, tuple[tuple[float, float], Draw, Move | None, bool]] = {
    "fit": ((4.25, 3.25), _draw_fit, move_fit, False),
    "loss": ((4.25, 3.25), _draw_loss, None, False),
    "surface": ((4.25, 4.25), _draw_surface, move_surface, True),  # a colour bar: cleared per result
}


def kept_figure(view: str, pixel_ratio: float = 2.0) -> KeptFigure:
    """A kept figure for ``view`` (fit, loss or surface)."""
    size, draw, move, clear = _VIEWS[view]
    return KeptFigure(size, draw, move, pixel_ratio=pixel_ratio, clear=clear)
