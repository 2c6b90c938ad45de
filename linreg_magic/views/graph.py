"""The autograd graph of the loss: torchviz's ``make_dot``, rendered to SVG.

Rendering works out of the box after ``pip install``: a system Graphviz ``dot``
is used when one is on PATH, else the ``graphviz-pure`` program that the package
depends on (looked for beside the running Python too, since a kernel started
from a virtual environment may not have its ``bin/`` on PATH).  If neither
works, the DOT source is shown with one line saying how to get a renderer.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._compat import make_dot

if TYPE_CHECKING:
    from graphviz import Digraph

    from ..result import Result

__all__ = ["GraphRender", "find_renderer", "graph_bundle", "graph_of", "render_graph"]

INSTALL_HINT = ("to draw it, pip install graphviz-pure (no system packages needed) "
                "or install Graphviz so that `dot` is on PATH")

_ID = re.compile(r"\b\d{5,}\b")


@dataclass(frozen=True)
class GraphRender:
    """A rendered graph: the SVG, or the DOT source and why it was not drawn."""

    source: str
    svg: str | None
    program: str | None
    error: str | None = None

    @property
    def not_drawn(self) -> str:
        """Why the graph was not drawn, and how to get a renderer, in one line."""
        return f"Graph not drawn ({self.error}): {INSTALL_HINT}."

    @property
    def node_labels(self) -> list[str]:
        return re.findall(r'label="?([^"\]]+)"?', self.source)


def graph_of(result: Result) -> Digraph | None:
    """torchviz's graph of the run's last loss, with the parameters named."""
    if result.autograd is None:
        return None
    loss = result.autograd["loss"]
    # naming the loss too labels the graph's root "loss" instead of only its shape
    dot = make_dot(loss, params={**result.autograd["params"], "loss": loss})
    # torchviz asks for "monospace", which renderers without fontconfig cannot
    # measure; Courier is a monospace font that every renderer knows.
    dot.node_attr["fontname"] = "Courier"
    dot.graph_attr["size"] = "8,8"
    return dot


def stable_source(source: str) -> str:
    """The DOT source with its ``id()``-based node names numbered in order."""
    names: dict[str, str] = {}
    return _ID.sub(lambda m: names.setdefault(m.group(0), f"n{len(names)}"), source)


#: Set to a program path to choose the renderer (``none`` turns drawing off).
RENDERER_ENV = "LINREG_MAGIC_DOT"


def _candidates() -> list[tuple[str, list[str]]]:
    chosen = os.environ.get(RENDERER_ENV)
    if chosen is not None:
        return [] if chosen.lower() in ("", "none") else [(chosen, [])]
    found: list[tuple[str, list[str]]] = []
    dot = shutil.which("dot")
    if dot:
        found.append((dot, []))
    dirs = [os.path.dirname(sys.executable), sysconfig.get_path("scripts")]
    for d in dirs:
        exe = os.path.join(d, "graphviz-pure")
        if os.path.isfile(exe) and os.access(exe, os.X_OK):
            found.append((exe, []))
    pure = shutil.which("graphviz-pure")
    if pure:
        found.append((pure, []))
    unique: dict[str, tuple[str, list[str]]] = {}
    for program, extra in found:
        unique.setdefault(os.path.realpath(program), (program, extra))
    return list(unique.values())


def find_renderer() -> str | None:
    """The program that will draw graphs here, or None."""
    candidates = _candidates()
    return candidates[0][0] if candidates else None


def _render(source: str) -> GraphRender:
    return _render_with(source, tuple((p, tuple(e)) for p, e in _candidates()))


@functools.lru_cache(maxsize=64)
def _render_with(source: str, candidates: tuple[tuple[str, tuple[str, ...]], ...]) -> GraphRender:
    errors = []
    for program, extra in candidates:
        try:
            done = subprocess.run([program, "-Tsvg", *extra], input=source.encode(),
                                  capture_output=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            errors.append(f"{os.path.basename(program)}: {exc}")
            continue
        if done.returncode == 0 and b"<svg" in done.stdout:
            svg = done.stdout.decode("utf-8", "replace")
            return GraphRender(source, svg[svg.index("<svg"):], program)
        errors.append(f"{os.path.basename(program)} exited {done.returncode}: "
                      f"{done.stderr.decode('utf-8', 'replace').strip()[:200]}")
    error = "; ".join(errors) if errors else "no Graphviz renderer was found"
    if not candidates and os.environ.get(RENDERER_ENV) is not None:
        error = f"{RENDERER_ENV} is set to {os.environ[RENDERER_ENV]!r}"
    return GraphRender(source, None, None, error)


def render_graph(dot: Digraph | Any) -> GraphRender:
    """Render a ``graphviz.Digraph`` (or DOT text) to SVG; the same graph renders once."""
    source = dot if isinstance(dot, str) else dot.source
    return _render(stable_source(source))


def graph_bundle(result: Result) -> dict[str, str]:
    """The graph as a mime bundle, the one place that says when it is not drawn.

    SVG when it renders; else a one-line note: why there is no graph (a numpy
    stage), or why it was not drawn and how to get a renderer, with the DOT source.
    """
    import html

    dot = graph_of(result) if result.autograd is not None else None
    if dot is None:
        note = result.graph_note or "no autograd graph: the loss does not require gradients"
        return {"text/html": f"<p class='linreg-note' style='color:#666'><i>Graph: {html.escape(note)}."
                             "</i></p>",
                "text/plain": f"Graph: {note}."}
    rendered = render_graph(dot)
    if rendered.svg is not None:
        return {"image/svg+xml": rendered.svg,
                "text/plain": f"[autograd graph of the loss: {len(rendered.node_labels)} nodes; "
                              "shown as SVG in a notebook]"}
    hint = rendered.not_drawn
    return {"text/html": f"<p class='linreg-note'>{html.escape(hint)}</p>"
                         f"<pre>{html.escape(rendered.source)}</pre>",
            "text/plain": f"{hint}\n{rendered.source}"}
