"""What each line of a stage's file is, for the code and diff views.

A stage's file is the book's code plus a few lines the book does not have: the
loop's ``tracker.log(...)`` that records each epoch, each step's ``return
dict(...)`` that hands its names to the next step, and the ``STAGE = Stage(...)``
registration at the bottom.  They run like any other line; the views show them
set apart (or, for the registration, folded away) so that what a student reads
first is the lesson.
"""

from __future__ import annotations

import ast
import enum
import functools
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["LineKind", "SourceLine", "lesson_lines", "source_lines"]


class LineKind(enum.Enum):
    """The part of a stage's file a line belongs to."""

    TEACHING = "teaching"  # the book's code and comments
    RECORDING = "recording"  # tracker.log(...): the epoch's loss and parameters, for the views
    HANDOFF = "handoff"  # return dict(...): the names a step hands to the next one
    REGISTRATION = "registration"  # the Stage import and STAGE = Stage(...) / register_stage(...)
    DOCSTRING = "docstring"  # the module's docstring: prose about the stage

    @property
    def instrumentation(self) -> bool:
        """Lines that run with the lesson but are not the book's code."""
        return self in (LineKind.RECORDING, LineKind.HANDOFF)


#: What the views say an instrumentation line does.
PURPOSE = {
    LineKind.RECORDING: "records the epoch for the views",
    LineKind.HANDOFF: "hands these names to the next step",
}


@dataclass(frozen=True)
class SourceLine:
    """One line of the file: its 1-based number, its text, its kind, and the
    top-level ``def``/``class`` it sits in ("" outside any)."""

    number: int
    text: str
    kind: LineKind
    scope: str = ""


def _is_call_to(node: ast.AST | None, names: tuple[str, ...]) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return name in names


def _is_tracker_log(node: ast.stmt) -> bool:
    if not isinstance(node, ast.Expr) or not isinstance(node.value, ast.Call):
        return False
    func = node.value.func
    return (isinstance(func, ast.Attribute) and func.attr == "log" and isinstance(func.value, ast.Name)
            and func.value.id == "tracker")


def _is_handoff(node: ast.stmt) -> bool:
    return isinstance(node, ast.Return) and (isinstance(node.value, ast.Dict)
                                             or _is_call_to(node.value, ("dict",)))


def _is_registration(node: ast.stmt) -> bool:
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").startswith("linreg_magic") and all(
            alias.name in ("Stage", "register_stage") for alias in node.names)
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.Expr):
        return _is_call_to(node.value, ("Stage", "register_stage"))
    return False


def _spans(tree: ast.Module) -> Iterator[tuple[int, int, LineKind]]:
    """(first line, last line, kind) of every statement that is not teaching code."""
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        yield body[0].lineno, body[0].end_lineno or body[0].lineno, LineKind.DOCSTRING
    for node in body:
        if _is_registration(node):
            yield node.lineno, node.end_lineno or node.lineno, LineKind.REGISTRATION
        if isinstance(node, ast.FunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.stmt) and (_is_tracker_log(inner) or _is_handoff(inner)):
                    kind = LineKind.RECORDING if _is_tracker_log(inner) else LineKind.HANDOFF
                    yield inner.lineno, inner.end_lineno or inner.lineno, kind


def _scopes(tree: ast.Module) -> dict[int, str]:
    scopes = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            for number in range(first, (node.end_lineno or node.lineno) + 1):
                scopes[number] = node.name
    return scopes


@functools.lru_cache(maxsize=64)
def source_lines(source: str) -> tuple[SourceLine, ...]:
    """Every line of ``source`` with its kind (all teaching if it does not parse)."""
    lines = source.splitlines()
    kinds = [LineKind.TEACHING] * len(lines)
    scopes: dict[int, str] = {}
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = None
    if tree is not None:
        scopes = _scopes(tree)
        for first, last, kind in _spans(tree):
            for number in range(first, last + 1):
                kinds[number - 1] = kind
        _fold_blank_lines_into_registration(lines, kinds)
    return tuple(SourceLine(i, text, kind, scopes.get(i, ""))
                 for i, (text, kind) in enumerate(zip(lines, kinds), 1))


def _fold_blank_lines_into_registration(lines: list[str], kinds: list[LineKind]) -> None:
    """Blank lines right before a registration belong to it (the gap it leaves)."""
    for i in range(len(lines) - 1, 0, -1):
        if kinds[i] is LineKind.REGISTRATION and not lines[i - 1].strip() \
                and kinds[i - 1] is LineKind.TEACHING:
            kinds[i - 1] = LineKind.REGISTRATION


def lesson_lines(source: str) -> tuple[SourceLine, ...]:
    """The lines a diff compares: teaching code and instrumentation, without the
    docstring and the registration (and no run of more than two blank lines)."""
    kept: list[SourceLine] = []
    blanks = 0
    for line in source_lines(source):
        if line.kind in (LineKind.DOCSTRING, LineKind.REGISTRATION):
            continue
        blanks = blanks + 1 if not line.text.strip() else 0
        if blanks > 2 or (blanks and not kept):
            continue
        kept.append(line)
    while kept and not kept[-1].text.strip():
        kept.pop()
    return tuple(kept)
