"""What changed from one stage to another: the lesson's lines, old and new numbered apart.

The diff compares what a student reads (:func:`.code_lines.lesson_lines`): no module
docstring, no ``STAGE = Stage(...)`` registration.  Lines that are not the book's
(``tracker.log(...)``, ``return dict(...)``) are compared by what they are, not by
their text, so a step that now records a model instead of ``b`` and ``w`` is not a
change of the lesson; they are shown greyed and never counted.  Each row carries the
old file's line number and the new file's in separate columns.
"""

from __future__ import annotations

import difflib
import html
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .code import BOX, SET_APART, highlighted_lines, other_stage, purpose_tag, source_of, where
from .code_lines import SourceLine, lesson_lines

__all__ = ["SAME_CODE", "Diff", "DiffRow", "Hunk", "changed_lines", "diff_html", "diff_text", "stage_diff"]

SAME_CODE = "The two stages have the same code."
_ADDED = "#e6ffec"
_REMOVED = "#ffebe9"
_ADDED_MARK = "#1a7f37"
_REMOVED_MARK = "#cf222e"
_NAMES = {"-": "removed", "+": "added", " ": "same"}
# Each line sits in its own <pre>: some HTML exporters (nbconvert's) collapse
# whitespace-only text between tags (an indented line's leading spaces) outside <pre>.
_LINE = "margin:0;padding:0;border:0;background:transparent;font:inherit;overflow:visible"


@dataclass(frozen=True)
class DiffRow:
    """One row: ``mark`` is " " (in both), "-" (only in the old stage) or "+" (only in
    the new); ``old`` and ``new`` are the lines on each side (None where absent)."""

    mark: str
    old: SourceLine | None
    new: SourceLine | None

    @property
    def line(self) -> SourceLine:
        line = self.new if self.new is not None else self.old
        assert line is not None
        return line

    @property
    def counted(self) -> bool:
        """A change of the lesson: an added or removed line of the book's code."""
        return self.mark != " " and not self.line.kind.instrumentation


@dataclass(frozen=True)
class Hunk:
    rows: tuple[DiffRow, ...]

    @property
    def header(self) -> str:
        """``@@ -9,7 +9,12 @@ def model_configuration``: first old and new line, how many rows."""
        old = [r.old.number for r in self.rows if r.old is not None]
        new = [r.new.number for r in self.rows if r.new is not None]
        changed = [r for r in self.rows if r.mark != " "]
        scope = next((r.line.scope for r in (*changed, *self.rows) if r.line.scope), "")
        return (f"@@ -{old[0] if old else 0},{len(old)} +{new[0] if new else 0},{len(new)} @@"
                + (f" {scope}" if scope else ""))


@dataclass(frozen=True)
class Diff:
    before: str
    after: str
    before_where: str
    after_where: str
    hunks: tuple[Hunk, ...]

    @property
    def added(self) -> int:
        return sum(1 for h in self.hunks for r in h.rows if r.counted and r.mark == "+")

    @property
    def removed(self) -> int:
        return sum(1 for h in self.hunks for r in h.rows if r.counted and r.mark == "-")


def _key(line: SourceLine) -> str:
    """What a line is compared by: its text, or for instrumentation its kind and function."""
    return f"\0{line.kind.value}:{line.scope}" if line.kind.instrumentation else line.text


def _rows(tag: str, old: Sequence[SourceLine], new: Sequence[SourceLine]) -> Iterator[DiffRow]:
    if tag == "equal":
        yield from (DiffRow(" ", a, b) for a, b in zip(old, new))
        return
    yield from (DiffRow("-", a, None) for a in old)
    yield from (DiffRow("+", None, b) for b in new)


def stage_diff(stage: str, other: str | None = None, context: int = 3) -> Diff:
    """The diff from ``other`` (default: the previous stage) to ``stage``."""
    before = other_stage(stage, other)
    old, new = lesson_lines(source_of(before)), lesson_lines(source_of(stage))
    matcher = difflib.SequenceMatcher(None, [_key(x) for x in old], [_key(x) for x in new], autojunk=False)
    hunks = []
    for group in matcher.get_grouped_opcodes(context):
        if all(tag == "equal" for tag, *_ in group):
            continue
        rows = [row for tag, i1, i2, j1, j2 in group for row in _rows(tag, old[i1:i2], new[j1:j2])]
        hunks.append(Hunk(tuple(rows)))
    return Diff(before, stage, where(before), where(stage), tuple(hunks))


# -- text ------------------------------------------------------------------------------

def _number(line: SourceLine | None) -> str:
    return "" if line is None else str(line.number)


def diff_text(stage: str, other: str | None = None, context: int = 3) -> str:
    """The diff as plain text: a mark (``-`` removed, ``+`` added), the old and the new
    line numbers, ``·`` on lines that are not the book's code, then the line; or a
    line that says the two stages have the same code."""
    diff = stage_diff(stage, other, context)
    if not diff.hunks:
        return f"{diff.before} \u2192 {diff.after}\n{SAME_CODE}\n"
    out = [f"--- {diff.before} ({diff.before_where})", f"+++ {diff.after} ({diff.after_where})",
           "# columns: change, old line, new line; \u00b7 marks lines that are not the book's code "
           "(they run as shown)"]
    for hunk in diff.hunks:
        out.append(hunk.header)
        for row in hunk.rows:
            aside = "\u00b7" if row.line.kind.instrumentation else " "
            numbers = f"{_number(row.old):>5}{_number(row.new):>5}"
            out.append(f"{row.mark}{numbers} {aside} {row.line.text}".rstrip())
    return "\n".join(out) + "\n"


# -- HTML ------------------------------------------------------------------------------

def diff_html(stage: str, other: str | None = None, context: int = 3, *,
              side_by_side: bool = False) -> str:
    """The diff from ``other`` (default: the previous stage) to ``stage``, highlighted.

    Removed lines on red, added lines on green, both syntax highlighted, old and new
    line numbers in their own columns; a unified diff by default, or two columns
    with ``side_by_side=True``.
    """
    diff = stage_diff(stage, other, context)
    lit = _Highlighted(highlighted_lines(source_of(diff.before)), highlighted_lines(source_of(stage)))
    title = (f"<div style='font-family:sans-serif;margin:4px 0'><b>{html.escape(diff.before)}</b>"
             f" &rarr; <b>{html.escape(stage)}</b> <span style='color:#666'>"
             f"<span style='color:{_ADDED_MARK}'>+{diff.added}</span> "
             f"<span style='color:{_REMOVED_MARK}'>&minus;{diff.removed}</span> lines</span></div>")
    if not diff.hunks:
        return title + f"<p><i>{SAME_CODE}</i></p>"
    rows: list[str] = []
    for hunk in diff.hunks:
        rows.append(_hunk_row(hunk.header, side_by_side))
        rows += _side_by_side_rows(hunk, lit) if side_by_side else [_unified_row(r, lit) for r in hunk.rows]
    legend = ("<div style='font-family:sans-serif;font-size:12px;color:#555;margin:2px 0 4px'>Greyed "
              "lines are not the book's code (they record each epoch and hand names between the steps); "
              "they run as shown and are not counted as changes.</div>"
              if any(r.line.kind.instrumentation for h in diff.hunks for r in h.rows) else "")
    head = ("" if side_by_side else "<tr style='color:#999;font-family:sans-serif;font-size:10px'>"
            "<td style='text-align:right;padding:0 6px'>old</td><td style='text-align:right;"
            "padding:0 6px'>new</td><td></td><td></td></tr>")
    return (f"<div class='linreg-diff'>{title}{legend}<div style='overflow-x:auto'><table style='{BOX}"
            f"border-collapse:collapse;min-width:100%'>{head}{''.join(rows)}</table></div></div>")


@dataclass(frozen=True)
class _Highlighted:
    old: tuple[str, ...]
    new: tuple[str, ...]

    def of(self, line: SourceLine, side: str) -> str:
        code = (self.old if side == "old" else self.new)[line.number - 1]
        if line.kind.instrumentation:
            return f"<span class='linreg-instrumentation' style='{SET_APART}'>{code}</span>" \
                   f"{purpose_tag(line.kind)}"
        return code


def _hunk_row(text: str, side_by_side: bool) -> str:
    span = 6 if side_by_side else 4
    return (f"<tr><td colspan='{span}' style='background:#ddf4ff;color:#57606a;padding:2px 8px'>"
            f"{html.escape(text)}</td></tr>")


def _colours(mark: str, line: SourceLine) -> tuple[str, str]:
    if line.kind.instrumentation:  # set apart, never coloured as a change
        return "transparent", "#999"
    return ({"-": _REMOVED, "+": _ADDED}.get(mark, "transparent"),
            {"-": _REMOVED_MARK, "+": _ADDED_MARK}.get(mark, "#999"))


def _number_cell(line: SourceLine | None, background: str, side: str) -> str:
    return (f"<td class='linreg-diff-{side}' style='background:{background};color:#999;"
            f"text-align:right;padding:0 6px;user-select:none'>{_number(line)}</td>")


def _code_cells(mark: str, line: SourceLine, code: str, background: str, color: str) -> str:
    kind = "instrumentation" if line.kind.instrumentation else _NAMES[mark]
    return (f"<td class='linreg-diff-{kind}' style='background:{background};color:{color};"
            f"padding:0 4px;user-select:none'>{html.escape(mark)}</td><td style='background:{background};"
            f"white-space:pre;padding:0 8px 0 0;text-align:left'><pre style='{_LINE}'>{code}</pre></td>")


def _unified_row(row: DiffRow, lit: _Highlighted) -> str:
    line = row.line
    background, color = _colours(row.mark, line)
    code = lit.of(line, "new" if row.new is not None else "old")
    return (f"<tr>{_number_cell(row.old, background, 'old')}{_number_cell(row.new, background, 'new')}"
            f"{_code_cells(row.mark, line, code, background, color)}</tr>")


def _side(row: DiffRow | None, side: str, lit: _Highlighted) -> str:
    line = None if row is None else (row.old if side == "old" else row.new)
    if row is None or line is None:
        return "<td style='background:#f6f8fa'></td>" * 3
    background, color = _colours(row.mark, line)
    return (_number_cell(line, background, side)
            + _code_cells(row.mark, line, lit.of(line, side), background, color))


def _side_by_side_rows(hunk: Hunk, lit: _Highlighted) -> list[str]:
    out: list[str] = []
    removed: list[DiffRow] = []
    added: list[DiffRow] = []

    def flush() -> None:
        for k in range(max(len(removed), len(added))):
            left = removed[k] if k < len(removed) else None
            right = added[k] if k < len(added) else None
            out.append(f"<tr>{_side(left, 'old', lit)}{_side(right, 'new', lit)}</tr>")
        removed.clear()
        added.clear()

    for row in hunk.rows:
        if row.mark == "-":
            removed.append(row)
        elif row.mark == "+":
            added.append(row)
        else:
            flush()
            out.append(f"<tr>{_side(row, 'old', lit)}{_side(row, 'new', lit)}</tr>")
    flush()
    return out


def changed_lines(stage: str, other: str | None = None) -> tuple[list[str], list[str]]:
    """The lesson's removed and added lines (their text), instrumentation aside."""
    diff = stage_diff(stage, other)
    rows = [r for h in diff.hunks for r in h.rows if r.counted]
    return [r.line.text for r in rows if r.mark == "-"], [r.line.text for r in rows if r.mark == "+"]

