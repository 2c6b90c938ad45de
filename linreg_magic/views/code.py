"""A stage's teaching code, and what changed from another stage, as HTML and text.

The code comes from :meth:`Stage.source` (the file that runs), never from a copy.
Lines that are not the book's (``tracker.log(...)``, ``return dict(...)``) are shown
greyed with what they do; the ``STAGE = Stage(...)`` registration is folded away
under the code (see :mod:`.code_lines`).  HTML is highlighted by pygments with
inline styles, so it keeps its colours in ``jupyter nbconvert --to html`` and
anywhere else that drops stylesheets.
"""

from __future__ import annotations

import functools
import html
import inspect
import os
from collections.abc import Sequence

from ..errors import usage_error
from ..registry import get_stage, ladder, previous_stage
from .code_lines import PURPOSE, LineKind, SourceLine, source_lines

__all__ = ["BOX", "SET_APART", "capture_code_html", "capture_code_text", "code_html", "code_text",
           "highlighted_lines", "instrumentation_legend", "other_stage", "purpose_tag", "source_of",
           "where"]

_STYLE = "default"
BOX = ("font-family:SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;line-height:1.45;"
       "border:1px solid #ddd;border-radius:4px;overflow-x:auto;")
#: How a line that is not the book's code is set apart: greyed, and said what it does.
SET_APART = "opacity:0.5"
_GUTTER = "color:#999;user-select:none"


def source_of(stage: str) -> str:
    """The teaching source of the stage called ``stage`` (one UsageError if unknown)."""
    return get_stage(stage).source()


def where(stage: str) -> str:
    """The stage's file name, or where it was defined."""
    step = get_stage(stage).model_training
    module = inspect.getmodule(step)
    if module is None or module.__name__ == "__main__":
        return "defined in the notebook"
    try:
        path = inspect.getsourcefile(step)
    except TypeError:
        path = None
    return os.path.basename(path) if path else module.__name__


@functools.lru_cache(maxsize=64)
def highlighted_lines(source: str) -> tuple[str, ...]:
    """One HTML fragment per source line, with inline colours (spans closed per line)."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    body = highlight(source, PythonLexer(stripnl=False, ensurenl=True),
                     HtmlFormatter(nowrap=True, noclasses=True, style=_STYLE))
    lines = body.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    want = len(source.splitlines())
    return tuple(lines[:want] + [""] * (want - len(lines)))


def purpose_tag(kind: LineKind) -> str:
    """The note after an instrumentation line: what it does."""
    return (f"<span style='font-family:sans-serif;font-style:italic;font-size:11px;color:#555;"
            f"user-select:none'>   \u25c2 {html.escape(PURPOSE[kind])}</span>")


def instrumentation_legend(lines: Sequence[SourceLine], html_form: bool = True) -> str:
    """One sentence on the greyed lines, or "" when there are none."""
    kinds = {line.kind for line in lines if line.kind.instrumentation}
    if not kinds:
        return ""
    what = []
    if LineKind.RECORDING in kinds:
        what.append("tracker.log(...) records each epoch for the views")
    if LineKind.HANDOFF in kinds:
        what.append("return dict(...) hands a step's names to the next step")
    marked = "Greyed lines" if html_form else "Lines marked \u00b7"
    return f"{marked} are not the book's code: {' and '.join(what)}. They run as shown."


def _registration_summary(folded: Sequence[SourceLine]) -> str:
    spans: list[tuple[int, int]] = []
    for line in folded:
        if spans and spans[-1][1] == line.number - 1:
            spans[-1] = (spans[-1][0], line.number)
        else:
            spans.append((line.number, line.number))
    where_ = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans)
    return f"registration, folded: line{'s' if len(folded) > 1 else ''} {where_} (STAGE = Stage(...))"


def code_text(stage: str) -> str:
    """The stage's code as plain text, numbered, with a title line (for a terminal)."""
    return _code_text(stage, where(stage), source_lines(source_of(stage)))


def _split(lines: Sequence[SourceLine]) -> tuple[list[SourceLine], list[SourceLine]]:
    """The lines shown, and the registration's (blank lines aside) folded under them."""
    shown = [line for line in lines if line.kind is not LineKind.REGISTRATION]
    while shown and not shown[-1].text.strip():
        shown.pop()
    return shown, [line for line in lines if line.kind is LineKind.REGISTRATION and line.text.strip()]


def _code_text(title: str, where_: str, lines: Sequence[SourceLine]) -> str:
    shown, folded = _split(lines)
    width = len(str(len(lines)))
    out = [f"# {title} \u00b7 {where_}"]
    legend = instrumentation_legend(lines, html_form=False)
    if legend:
        out.append(f"# {legend}")
    out += [f"{line.number:>{width}} {'·' if line.kind.instrumentation else ' '} {line.text}".rstrip()
            for line in shown]
    if folded:
        out.append(f"# {_registration_summary(folded)}")
    return "\n".join(out) + "\n"


def _listing(lines: Sequence[SourceLine], highlighted: Sequence[str], width: int) -> str:
    rows = []
    for line in lines:
        number = f"<span style='{_GUTTER}'>{line.number:>{width}}  </span>"
        code = highlighted[line.number - 1]
        if line.kind.instrumentation:
            rows.append(f"{number}<span class='linreg-instrumentation' style='{SET_APART}'>{code}</span>"
                        f"{purpose_tag(line.kind)}")
        else:
            rows.append(number + code)
    return "\n".join(rows)


def _code_box(title: str, where_: str, source: str) -> str:
    lines = source_lines(source)
    highlighted = highlighted_lines(source)
    width = len(str(len(lines)))
    shown, folded = _split(lines)
    legend = instrumentation_legend(lines)
    out = [f"<div class='linreg-code'><div style='font-family:sans-serif;margin:4px 0'><b>"
           f"{html.escape(title)}</b> <span style='color:#666'>{html.escape(where_)}</span></div>"]
    if legend:
        out.append(f"<div class='linreg-legend' style='font-family:sans-serif;font-size:12px;"
                   f"color:#555;margin:2px 0 4px'>{html.escape(legend)}</div>")
    out.append(f"<pre style='{BOX}padding:8px;margin:0'>{_listing(shown, highlighted, width)}</pre>")
    if folded:
        out.append(f"<details class='linreg-registration' style='margin-top:2px'><summary style='"
                   f"font-family:sans-serif;font-size:12px;color:#666;cursor:pointer'>"
                   f"{html.escape(_registration_summary(folded))}</summary><pre style='{BOX}padding:8px;"
                   f"margin:0;color:#666'>{_listing(folded, highlighted, width)}</pre></details>")
    return "".join(out) + "</div>"


def code_html(stage: str) -> str:
    """The stage's code, syntax highlighted, with line numbers."""
    return _code_box(stage, where(stage), source_of(stage))


_CAPTURE_WHERE = "linreg_magic/cuda_graph.py: how --cuda-graph captures one epoch and replays it"


def capture_code_text() -> str:
    """The CUDA-graph capture code that ``--cuda-graph`` runs, as plain text."""
    from ..cuda_graph import source

    return f"# cuda_graph · {_CAPTURE_WHERE}\n{source().rstrip()}\n"


def capture_code_html() -> str:
    """The CUDA-graph capture code that ``--cuda-graph`` runs, highlighted."""
    from ..cuda_graph import source

    return _code_box("cuda_graph", _CAPTURE_WHERE, source())


def other_stage(stage: str, other: str | None) -> str:
    """The stage to compare ``stage`` with: ``other``, or the one before it in the ladder."""
    get_stage(stage)  # an unknown name is one UsageError
    if other is not None:
        get_stage(other)
        return other
    before = previous_stage(stage)
    if before is None:
        first = ladder()[0].name
        raise usage_error(f"{stage} is the first stage: there is no stage before it to compare with",
                          "diff compares a stage with the one before it, or with one you name",
                          f"Try %linreg diff {ladder()[1].name if len(ladder()) > 1 else first}, "
                          f"or %linreg diff {stage} OTHER")
    return before.name
