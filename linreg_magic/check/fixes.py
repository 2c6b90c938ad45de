"""Fixes as edits of the student's lines: what a line should read instead.

Each builder returns the edits (possibly none, when the source does not have the
shape the fix needs); a finding shows them as "line 7: ... → ..." and an
autograder (or the corpus's test) can apply them.
"""

from __future__ import annotations

import ast
import re

from .reading import Source
from .verdict import Edit

#: The tensors the stages make from the numpy data, by the numpy name.
TENSOR_NAMES = {"x_train": "x_train_tensor", "y_train": "y_train_tensor"}

__all__ = ["TENSOR_NAMES", "add_keyword", "delete", "insert_after", "insert_first", "replace", "replace_all",
           "wrap_no_grad", "wrap_parameter"]


def replace(source: Source, line: int | None, old: str, new: str, *, word: bool = False) -> tuple[Edit, ...]:
    """Line ``line`` with ``old`` (a word, if ``word``) replaced by ``new`` in its code."""
    return replace_all(source, line, {old: new}, word=word)


def replace_all(source: Source, line: int | None, changes: dict[str, str], *,
                word: bool = False) -> tuple[Edit, ...]:
    """Line ``line`` with each ``old`` of ``changes`` replaced by its ``new`` (one edit)."""
    text = source.text(line)
    if line is None or not text:
        return ()
    code, hash_, comment = text.partition("#")
    changed = code
    for old, new in changes.items():
        pattern = rf"\b{re.escape(old)}\b(?!_)" if word else re.escape(old)
        changed = re.sub(pattern, new.replace("\\", r"\\"), changed)
    if changed == code:
        return ()
    return (Edit(line, text, (changed + hash_ + comment,)),)


def delete(source: Source, line: int | None) -> tuple[Edit, ...]:
    text = source.text(line)
    if line is None or not text:
        return ()
    return (Edit(line, text, ()),)


def insert_after(source: Source, line: int | None, statement: str, indent: str) -> tuple[Edit, ...]:
    """``statement`` on a new line after ``line``, indented by ``indent``."""
    text = source.text(line)
    if line is None or not text:
        return ()
    return (Edit(line, text, (text, indent + statement)),)


def insert_first(source: Source, function: ast.FunctionDef, statement: str) -> tuple[Edit, ...]:
    """``statement`` as the first line of ``function``'s body."""
    first = function.body[0]
    indent = " " * first.col_offset
    text = source.text(first.lineno)
    if not text:
        return ()
    return (Edit(first.lineno, text, (indent + statement, text)),)


def wrap_no_grad(source: Source, lines: list[int]) -> tuple[Edit, ...]:
    """Consecutive lines put under one ``with torch.no_grad():``."""
    if not lines:
        return ()
    edits = []
    indent = source.indent(lines[0])
    for i, line in enumerate(sorted(lines)):
        text = source.text(line)
        inner = indent + "    " + text.strip()
        new = (indent + "with torch.no_grad():", inner) if i == 0 else (inner,)
        edits.append(Edit(line, text, new))
    return tuple(edits)


def wrap_parameter(source: Source, node: ast.Assign) -> tuple[Edit, ...]:
    """``self.b = torch.randn(...)`` -> ``self.b = nn.Parameter(torch.randn(...))``."""
    if node.lineno != node.end_lineno:
        return ()
    value = source.segment(node.value)
    return replace(source, node.lineno, value, f"nn.Parameter({value})")


def add_keyword(source: Source, call: ast.Call, keyword: str, value: str) -> tuple[Edit, ...]:
    """A one-line call with ``keyword=value`` added (replacing ``.to(value)`` around it)."""
    if call.lineno != call.end_lineno:
        return ()
    old = source.segment(call)
    inner = call
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "to" and isinstance(func.value, ast.Call):
        inner = func.value
    inner_text = source.segment(inner)
    if not inner_text.endswith(")"):
        return ()
    made = inner_text[:-1].rstrip() + f", {keyword}={value})"
    return replace(source, call.lineno, old, made)
