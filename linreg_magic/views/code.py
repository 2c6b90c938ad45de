"""A stage's teaching code, and what changed from another stage, as HTML and text.

The code comes from :meth:`Stage.source` (the file that runs), never from a copy.
HTML is highlighted by pygments with inline styles, so it keeps its colours in
``jupyter nbconvert --to html`` and anywhere else that drops stylesheets.
"""

from __future__ import annotations

import difflib
import functools
import html
import inspect
import os
from collections.abc import Iterable

from ..options import usage_error

__all__ = ["capture_code_html", "capture_code_text", "code_html", "code_text", "diff_html", "diff_lines",
           "diff_text", "source_of"]

_STYLE = "default"
_ADDED = "#e6ffec"
_REMOVED = "#ffebe9"
_ADDED_MARK = "#1a7f37"
_REMOVED_MARK = "#cf222e"
SAME_CODE = "The two stages have the same code."
_BOX = ("font-family:SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;line-height:1.45;"
        "border:1px solid #ddd;border-radius:4px;overflow-x:auto;")


def source_of(stage: str) -> str:
    """The teaching source of the stage called ``stage`` (one UsageError if unknown)."""
    from ..registry import get_stage

    return get_stage(stage).source()


def _where(stage: str) -> str:
    from ..registry import get_stage

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
def _highlighted_lines(source: str) -> tuple[str, ...]:
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


def code_text(stage: str) -> str:
    """The stage's code as plain text, with a title line (for a terminal)."""
    return f"# {stage} · {_where(stage)}\n{source_of(stage).rstrip()}\n"


def _code_box(title: str, where: str, source: str) -> str:
    lines = _highlighted_lines(source)
    width = len(str(len(lines)))
    rows = "\n".join(
        f"<span style='color:#999;user-select:none'>{i:>{width}}  </span>{line}"
        for i, line in enumerate(lines, 1))
    return (f"<div class='linreg-code'><div style='font-family:sans-serif;margin:4px 0'><b>"
            f"{html.escape(title)}</b> <span style='color:#666'>{html.escape(where)}</span>"
            f"</div><pre style='{_BOX}padding:8px;margin:0'>{rows}</pre></div>")


def code_html(stage: str) -> str:
    """The stage's code, syntax highlighted, with line numbers."""
    return _code_box(stage, _where(stage), source_of(stage))


_CAPTURE_WHERE = "linreg_magic/cuda_graph.py: how --cuda-graph captures one epoch and replays it"


def capture_code_text() -> str:
    """The CUDA-graph capture code that ``--cuda-graph`` runs, as plain text."""
    from ..cuda_graph import source

    return f"# cuda_graph · {_CAPTURE_WHERE}\n{source().rstrip()}\n"


def capture_code_html() -> str:
    """The CUDA-graph capture code that ``--cuda-graph`` runs, highlighted."""
    from ..cuda_graph import source

    return _code_box("cuda_graph", _CAPTURE_WHERE, source())


def _other(stage: str, other: str | None) -> str:
    from ..registry import get_stage, ladder, previous_stage

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


def diff_lines(stage: str, other: str | None = None, context: int = 3) -> list[str]:
    """The unified diff from ``other`` (default: the previous stage) to ``stage``."""
    before = _other(stage, other)
    return list(difflib.unified_diff(
        source_of(before).splitlines(), source_of(stage).splitlines(),
        fromfile=f"{before} ({_where(before)})", tofile=f"{stage} ({_where(stage)})",
        n=context, lineterm=""))


def diff_text(stage: str, other: str | None = None, context: int = 3) -> str:
    """The unified diff as plain text (``-`` removed, ``+`` added), or a line that
    says the two stages have the same code."""
    lines = diff_lines(stage, other, context)
    if not lines:
        return f"{_other(stage, other)} \u2192 {stage}\n{SAME_CODE}\n"
    return "\n".join(lines) + "\n"


def _opcodes(before: list[str], after: list[str],
             context: int) -> Iterable[list[tuple[str, int, int, int, int]]]:
    return difflib.SequenceMatcher(None, before, after, autojunk=False).get_grouped_opcodes(context)


def diff_html(stage: str, other: str | None = None, context: int = 3, *,
              side_by_side: bool = False) -> str:
    """The diff from ``other`` (default: the previous stage) to ``stage``, highlighted.

    Removed lines on red, added lines on green, both syntax highlighted; a
    unified diff by default, or two columns with ``side_by_side=True``.
    """
    before_name = _other(stage, other)
    before_src, after_src = source_of(before_name), source_of(stage)
    before, after = before_src.splitlines(), after_src.splitlines()
    hb, ha = _highlighted_lines(before_src), _highlighted_lines(after_src)
    added = removed = 0
    rows: list[str] = []
    for group in _opcodes(before, after, context):
        first, last = group[0], group[-1]
        rows.append(_hunk_row(f"@@ -{first[1] + 1},{last[2] - first[1]} "
                              f"+{first[3] + 1},{last[4] - first[3]} @@", side_by_side))
        for tag, i1, i2, j1, j2 in group:
            removed += i2 - i1 if tag in ("replace", "delete") else 0
            added += j2 - j1 if tag in ("replace", "insert") else 0
            if tag == "equal":
                rows += [_row(side_by_side, (" ", i + 1, hb[i]), (" ", j + 1, ha[j]))
                         for i, j in zip(range(i1, i2), range(j1, j2))]
            elif side_by_side:
                left = [("-", i + 1, hb[i]) for i in range(i1, i2)]
                right = [("+", j + 1, ha[j]) for j in range(j1, j2)]
                for k in range(max(len(left), len(right))):
                    rows.append(_row(True, left[k] if k < len(left) else None,
                                     right[k] if k < len(right) else None))
            else:
                rows += [_row(False, ("-", i + 1, hb[i]), None) for i in range(i1, i2)]
                rows += [_row(False, None, ("+", j + 1, ha[j])) for j in range(j1, j2)]
    title = (f"<div style='font-family:sans-serif;margin:4px 0'><b>{html.escape(before_name)}</b>"
             f" &rarr; <b>{html.escape(stage)}</b> <span style='color:#666'>"
             f"<span style='color:{_ADDED_MARK}'>+{added}</span> "
             f"<span style='color:{_REMOVED_MARK}'>&minus;{removed}</span> lines</span></div>")
    if not rows:
        return title + f"<p><i>{SAME_CODE}</i></p>"
    return (f"<div class='linreg-diff'>{title}<div style='overflow-x:auto'><table style='{_BOX}"
            f"border-collapse:collapse;min-width:100%'>{''.join(rows)}</table></div></div>")


def _hunk_row(text: str, side_by_side: bool) -> str:
    span = 6 if side_by_side else 3
    return (f"<tr><td colspan='{span}' style='background:#ddf4ff;color:#57606a;padding:2px 8px'>"
            f"{html.escape(text)}</td></tr>")


_Cell = tuple[str, int, str] | None


def _cells(cell: _Cell) -> str:
    if cell is None:
        return ("<td style='background:#f6f8fa'></td><td style='background:#f6f8fa'></td>"
                "<td style='background:#f6f8fa'></td>")
    mark, number, line = cell
    background = {"-": _REMOVED, "+": _ADDED}.get(mark, "transparent")
    color = {"-": _REMOVED_MARK, "+": _ADDED_MARK}.get(mark, "#999")
    return (f"<td style='background:{background};color:#999;text-align:right;padding:0 6px;"
            f"user-select:none'>{number}</td><td class='linreg-diff-{_NAMES.get(mark, 'same')}' "
            f"style='background:{background};color:{color};padding:0 4px;user-select:none'>"
            f"{html.escape(mark)}</td><td style='background:{background};white-space:pre;"
            f"padding:0 8px 0 0;text-align:left'><pre style='{_LINE}'>{line}</pre></td>")


# Each line sits in its own <pre>: some HTML exporters (nbconvert's) collapse
# whitespace-only text between tags (an indented line's leading spaces) outside <pre>.
_LINE = "margin:0;padding:0;border:0;background:transparent;font:inherit;overflow:visible"


_NAMES = {"-": "removed", "+": "added"}


def _row(side_by_side: bool, left: _Cell, right: _Cell) -> str:
    if side_by_side:
        return f"<tr>{_cells(left)}{_cells(right)}</tr>"
    if left is not None and left[0] == " " and right is not None:
        _, _, line = right
        return f"<tr>{_cells((' ', right[1], line))}</tr>"
    return f"<tr>{_cells(left if left is not None else right)}</tr>"
