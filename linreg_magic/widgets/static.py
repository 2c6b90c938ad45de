"""The widget without a widget manager: a static copy for exports, and text for a terminal.

A notebook executed by ``jupyter nbconvert --execute`` stores the widget's state,
and the HTML exported from it then shows the widget only where its scripts can be
loaded from the network.  So the widget's output is two outputs: the live widget,
and a static copy of the numbers and figures (PNG inline) that the live widget's
own style sheet hides wherever the widget renders.  Offline, in a notebook saved
without widget state, on GitHub, the copy shows.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..views import header_text, params_text
from .layout import TABLE_STYLE

if TYPE_CHECKING:
    from IPython.display import DisplayHandle

    from ..result import Result
    from .drawing import Drawing
    from .worker import LatestWins

__all__ = ["COPY_CLASS", "StaticOutputs", "static_html"]

#: The class of the copy that the live widget hides.
COPY_CLASS = "linreg-static-copy"
SNAPSHOT_CLASS = "linreg-snapshot"


def static_html(summary: str, pngs: Mapping[str, bytes], *, hidden_by_widget: bool) -> str:
    """The summary and the figures as one HTML block with the PNGs inline."""
    kind = COPY_CLASS if hidden_by_widget else SNAPSHOT_CLASS
    images = "".join(
        f"<img alt='{html.escape(name)}' style='width:420px;max-width:100%;height:auto;display:inline-block;"
        f"vertical-align:top;margin:0 8px 8px 0' src='data:image/png;base64,"
        f"{base64.b64encode(png).decode('ascii')}'/>" for name, png in pngs.items() if png)
    return (f"<style>{TABLE_STYLE}</style><div class='linreg-widget {kind}'>"
            f"<div class='linreg-summary'>{summary}</div><div>{images}</div></div>")


class StaticOutputs:
    """How a widget shows where no widget manager runs (mixed into the widget)."""

    summary: Any
    result: Result | None
    _copy: DisplayHandle | None
    _drawing: Drawing
    _worker: LatestWins

    if TYPE_CHECKING:
        def wait(self, timeout: float | None = 120.0) -> bool: ...

        def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]: ...

    def _ipython_display_(self) -> None:
        """The live widget, then a static copy of it that the live widget hides (for exports)."""
        from IPython import get_ipython
        from IPython.display import display

        shell = get_ipython()
        if shell is None or getattr(shell, "kernel", None) is None:
            display({"text/plain": self._text()}, raw=True)  # a terminal: the numbers as text
            return
        display(self._repr_mimebundle_(), raw=True)
        self.wait()
        self._copy = display(self._copy_bundle(), raw=True, display_id=True)

    def _copy_bundle(self) -> dict[str, str]:
        self._drawing.draw_figures(self._worker.superseded)
        return {"text/html": static_html(self.summary.value, self._drawing.pngs(), hidden_by_widget=True),
                "text/plain": ""}

    def _update_copy(self) -> None:
        """Keep the static copy like the widget, once the runs and redraws waiting are done."""
        def update() -> None:
            if self._copy is not None:
                bundle = self._copy_bundle()
                if not self._worker.superseded():
                    self._copy.update(bundle, raw=True)

        if self._copy is not None:
            self._worker.submit_idle(update)

    def snapshot(self) -> Any:
        """A static copy of the numbers and figures shown now, to display and keep in a cell."""
        from IPython.display import HTML

        return HTML(self.snapshot_html())

    def snapshot_html(self) -> str:
        self.wait()
        self._drawing.draw_all()
        return static_html(self.summary.value, self._drawing.pngs(), hidden_by_widget=False)

    def _text(self) -> str:
        if self.result is None:
            return "LinregWidget (no run yet)"
        return f"LinregWidget: {header_text(self.result)}\n{params_text(self.result)}"
