"""Live training: a progress bar and the fit and loss, updated in place.

:class:`LiveView` is given to the engine as ``live=`` and receives a
:class:`~linreg_magic.engine.LiveFrame` whenever the tracker reports progress
(every quarter of a second, never per epoch, so no host sync per epoch).  It
shows nothing for short runs: the first frame appears once a run has lasted
``delay`` seconds, and frames are spaced so that drawing them takes at most
about a tenth of the run.  Frames update two display handles (``display_id``): no
``clear_output``, no flicker.  When the run ends the bar says so and the live
figure is emptied, since the final figures are shown below it and stay in the
saved notebook.
"""

from __future__ import annotations

import base64
import html
import sys
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from .text import count
from .views.figures import FIT_COLOR, TRAIN_COLOR, TRUE_COLOR, sample
from .views.frames import encode_png

if TYPE_CHECKING:
    from IPython.display import DisplayHandle

    from .engine import LiveFrame

__all__ = ["BUDGET", "LiveView", "live_wanted"]

#: The share of a run's time that drawing live frames may take.
BUDGET = 0.04


def live_wanted(mode: str) -> bool:
    """Whether to show live training for ``--live MODE`` in this shell.

    ``auto`` shows it in a notebook (a kernel), and as one progress line redrawn in
    place in a terminal IPython (when its output is a terminal).
    """
    if mode == "on":
        return True
    if mode == "off":
        return False
    return in_kernel() or in_terminal()


def in_kernel() -> bool:
    """Whether the running shell is a Jupyter kernel's."""
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def in_terminal() -> bool:
    """Whether output goes to a terminal that redraws a line on ``\\r`` (a terminal IPython)."""
    isatty = getattr(sys.stdout, "isatty", None)
    return not in_kernel() and bool(isatty and isatty())


_WARM: list[bool] = []


def warm_up_drawing() -> None:
    """Pay matplotlib's once-a-process start (fonts looked up, caches filled) now, before
    training starts, rather than inside the first live frame (the final figures would pay
    it after training otherwise)."""
    if _WARM:
        return
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1), dpi=30)
    ax = fig.add_subplot()
    ax.set_title("warm", fontsize=10)
    ax.set_xlabel("epoch")
    ax.set_yscale("log")
    ax.plot([1, 2], [1, 10])
    ax.legend(["loss"], fontsize=8)
    FigureCanvasAgg(fig).draw()
    _WARM.append(True)


class LiveView:
    """The live part of a run's output; call it with frames, then :meth:`close`."""

    def __init__(self, delay: float = 1.0, min_interval: float = 0.2, dpi: int = 72,
                 terminal: bool | None = None) -> None:
        #: a terminal shows one text line redrawn in place, no figure
        self.terminal = in_terminal() if terminal is None else terminal
        if not self.terminal:
            warm_up_drawing()
        self.delay = delay
        self.min_interval = min_interval
        self.dpi = dpi
        self.frames = 0
        self._bar: DisplayHandle | None = None
        self._figure_handle: DisplayHandle | None = None
        self._figure: Any = None
        self._artists: dict[str, Any] = {}
        self._background: Any = None
        self._width = 0
        self._last = 0.0
        self._wait = min_interval
        self._no_shell = False
        self._asked: float | None = None

    @property
    def shown(self) -> bool:
        return self._bar is not None or (self.terminal and self.frames > 0)

    def _line(self, text: str, end: str = "") -> None:
        stream = sys.stdout
        stream.write("\r" + text.ljust(self._width) + end)
        stream.flush()
        self._width = len(text)

    def ready(self, seconds: float) -> bool:
        """Whether a frame after ``seconds`` of training would be drawn."""
        if seconds < self.delay or self._no_shell:
            return False
        now = time.perf_counter()
        if self.shown and now - self._last < self._wait:
            return False
        self._asked = now  # the frame's cost counts from here: the engine's snapshot is part of it
        return True

    def __call__(self, frame: LiveFrame) -> None:
        if self._asked is None and not self.ready(frame.seconds):
            return
        now = self._asked if self._asked is not None else time.perf_counter()
        self._asked = None
        if self.terminal:
            self._line(progress_bundle(frame)["text/plain"])
            self.frames += 1
            self._last = time.perf_counter()
            return
        self._publish(progress_bundle(frame), "_bar")
        self._publish(self._figure_bundle(frame), "_figure_handle")
        self.frames += 1
        self._last = time.perf_counter()
        # frames take at most about 1/25 of the time (the first, which draws the whole
        # figure, aside): slow machines get fewer of them
        if self.frames > 1:
            self._wait = max(self.min_interval, (1 / BUDGET - 1) * (self._last - now))

    def close(self, epochs: int | None = None, seconds: float | None = None,
              stopped: str | None = None) -> None:
        """Mark the run finished (or stopped) and empty the live figure."""
        if not self.shown:
            return
        text = stopped or (f"done: {count(epochs, 'epoch')} in {seconds:.2f} s" if epochs is not None
                           and seconds is not None else "done")
        if self._bar is None:  # a terminal: the line says it, and the output goes on below
            self._line(text, end="\n")
            return
        self._bar.update({"text/html": f"<div style='font-family:sans-serif;color:#666'>"
                                       f"{html.escape(text)}</div>", "text/plain": text}, raw=True)
        if self._figure_handle is not None:
            self._figure_handle.update({"text/html": "", "text/plain": ""}, raw=True)
        self._figure = None

    def _publish(self, bundle: dict[str, str], slot: str) -> None:
        handle = getattr(self, slot)
        if handle is None:
            from IPython.display import display

            handle = display(bundle, raw=True, display_id=True)
            if handle is None:  # no IPython shell: nothing can be updated in place
                self._no_shell = True
            setattr(self, slot, handle)
        else:
            handle.update(bundle, raw=True)

    # -- the figure: made once, its artists updated per frame ------------------------
    def _figure_bundle(self, frame: LiveFrame) -> dict[str, str]:
        if self._figure is None:
            self._figure = self._make_figure(frame)
        png = self._draw(frame)
        return {"image/png": base64.b64encode(png).decode("ascii"),
                "text/plain": f"[live figure: {frame.stage} fit and loss at epoch {frame.epoch:,}]"}

    def _make_figure(self, frame: LiveFrame) -> Any:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        # a fixed layout: solving one per frame would cost more than the drawing
        fig = Figure(figsize=(10, 3.4), dpi=self.dpi)
        FigureCanvasAgg(fig)
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.16, top=0.9, wspace=0.25)
        fit_ax, loss_ax = fig.subplots(1, 2)
        data = frame.data
        if data.n_features == 1:
            x, y = data.x_train, data.y_train
            keep = sample(len(x))
            fit_ax.scatter(x[keep, 0], y[keep, 0], s=10, alpha=0.5, color=TRAIN_COLOR,
                           edgecolors="none", label="train")
            xs = np.array([float(data.x.min()), float(data.x.max())])
            if data.true_b is not None and data.true_w is not None:
                fit_ax.plot(xs, data.true_b + data.true_w[0] * xs, "--", color=TRUE_COLOR, lw=1)
            (self._artists["fit"],) = fit_ax.plot(xs, xs * 0, color=FIT_COLOR, lw=2)
            self._artists["xs"] = xs
            fit_ax.set_xlabel(data.feature_names[0])
            fit_ax.set_ylabel(data.target_name)
        else:
            fit_ax.set_axis_off()
            self._artists["fit_text"] = fit_ax.text(0.02, 0.5, "", family="monospace", fontsize=9,
                                                    transform=fit_ax.transAxes)
        self._artists["fit_ax"] = fit_ax
        (self._artists["loss"],) = loss_ax.plot([], [], color=TRAIN_COLOR, lw=1.5)
        loss_ax.set_xlim(1, max(frame.n_epochs, 2))
        loss_ax.set_xlabel("epoch")
        loss_ax.set_ylabel("training MSE")
        loss_ax.grid(alpha=0.25, which="both")
        self._artists["loss_ax"] = loss_ax
        return fig

    def _draw(self, frame: LiveFrame) -> bytes:
        """Draw the frame: everything when the loss axis must rescale (or the first time),
        else the kept background with only the moving lines and titles drawn over it."""
        fig, a = self._figure, self._artists
        rescaled = self._update_figure(frame)
        moving = [a[name] for name in ("fit", "fit_text", "loss") if name in a]
        moving += [a["fit_ax"].title, a["loss_ax"].title]
        if rescaled or self._background is None:
            for artist in moving:
                artist.set_animated(True)
            fig.canvas.draw()
            self._background = fig.canvas.copy_from_bbox(fig.bbox)
        else:
            fig.canvas.restore_region(self._background)
        for artist in moving:
            fig.draw_artist(artist)
        return encode_png(fig)

    def _update_figure(self, frame: LiveFrame) -> bool:
        """Move the artists to this frame; whether the loss axis had to rescale."""
        a = self._artists
        if "fit" in a:
            a["fit"].set_ydata(frame.intercept + frame.coef[0] * a["xs"])
        else:
            a["fit_text"].set_text(f"b = {frame.intercept:.4f}\n" + "\n".join(
                f"w{i + 1} = {v:.4f}" for i, v in enumerate(frame.coef)))
        a["fit_ax"].set_title(f"{frame.stage}: fit after epoch {frame.epoch:,}", fontsize=10)
        losses = frame.losses
        epochs = np.arange(1, len(losses) + 1)
        step = max(1, len(losses) // 4000)  # a few thousand points draw as fast as a million
        a["loss"].set_data(epochs[::step], losses[::step])
        ax = a["loss_ax"]
        last = f"{losses[-1]:.5g}" if len(losses) else "-"
        ax.set_title(f"loss {last}", fontsize=10)
        finite = losses[np.isfinite(losses) & (losses > 0)]
        if not len(finite):
            return False
        low, high = float(finite.min()), float(finite.max())
        if ax.get_yscale() == "log":
            shown_low, shown_high = ax.get_ylim()
            if shown_low <= low and high <= shown_high:
                return False  # the kept axis still holds every loss
        ax.set_yscale("log")
        ax.set_ylim(low / 4, high * 1.5)  # room to fall: the axis is redrawn rarely
        return True


def progress_bundle(frame: LiveFrame) -> dict[str, str]:
    """A progress bar with the epoch, the current loss and the time so far."""
    done = frame.epoch / max(frame.n_epochs, 1)
    loss = f"{frame.losses[-1]:.5g}" if len(frame.losses) else "-"
    left = frame.seconds / done - frame.seconds if done > 0 else float("nan")
    words = (f"epoch {frame.epoch:,}/{frame.n_epochs:,} · loss {loss} · {frame.seconds:.1f} s"
             + (f" · about {left:.0f} s left" if np.isfinite(left) else ""))
    bar = "#" * int(done * 30)
    return {
        "text/html": (f"<div style='font-family:sans-serif'><progress value='{frame.epoch}' "
                      f"max='{frame.n_epochs}' style='width:300px;vertical-align:middle'></progress>"
                      f" {done:.0%} · {html.escape(words)}</div>"),
        "text/plain": f"[{bar.ljust(30, '.')}] {done:.0%} {words}",
    }
