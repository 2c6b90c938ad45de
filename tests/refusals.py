"""Where the package refuses input, and which of those places a call reaches.

A refusal site is a statement that builds a ``usage_error`` (or a kind's ``Refused``,
or one of the few functions that return one) and raises or returns it.  Every module
of the package is read except the stages' teaching files, which only call the
package.  :func:`lines_run` runs a call under a line tracer and tells which lines of
the package it ran, and what it raised: a test that collects the sites its cases
reach fails for a site no case reaches, and each case asserts exactly ``UsageError``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import FrameType
from typing import Any

from IPython.utils.capture import capture_output

import linreg_magic

PACKAGE = Path(linreg_magic.__file__).parent
#: The stages' teaching files only call the package; a stage refuses nothing itself.
TEACHING_FILES = PACKAGE / "stages"
#: Calls that build a refusal: ``usage_error`` itself and the functions that return one.
BUILDERS = frozenset({"usage_error", "UsageError", "Refused", "unknown_option_error", "_unknown_option",
                      "_unclosed", "_not_numeric"})
#: A statement that raises or returns what it builds (a bare call that shows an error
#: it built, as the widget's error line does, refuses nothing).
_PASSES_ON = (ast.Raise, ast.Return, ast.Assign)


@dataclass(frozen=True)
class Site:
    """One statement that refuses input."""

    file: str
    line: int
    lines: range
    text: str

    def where(self) -> str:
        return f"{Path(self.file).relative_to(PACKAGE.parent).as_posix()}:{self.line}"


def _builds_refusal(node: ast.stmt) -> bool:
    for call in ast.walk(node):
        func = getattr(call, "func", None)
        name = getattr(func, "id", None) or getattr(func, "attr", None)
        if isinstance(call, ast.Call) and name in BUILDERS:
            return True
    return False


def file_sites(path: Path) -> list[Site]:
    source = path.read_text(encoding="utf-8")
    return [Site(str(path), node.lineno, range(node.lineno, (node.end_lineno or node.lineno) + 1),
                 ast.get_source_segment(source, node) or "")
            for node in ast.walk(ast.parse(source))
            if isinstance(node, _PASSES_ON) and _builds_refusal(node)]


@cache
def package_files() -> tuple[str, ...]:
    return tuple(str(path) for path in sorted(PACKAGE.rglob("*.py")) if TEACHING_FILES not in path.parents)


@cache
def package_sites() -> tuple[Site, ...]:
    return tuple(site for path in package_files() for site in file_sites(Path(path)))


def lines_run(call: Callable[[], object]) -> tuple[set[tuple[str, int]], BaseException | None]:
    """The package's lines that ``call`` ran, and what it raised (None if nothing)."""
    files = set(package_files())
    seen: set[tuple[str, int]] = set()

    def local(frame: FrameType, event: str, arg: object) -> Any:
        if event == "line":
            seen.add((frame.f_code.co_filename, frame.f_lineno))
        return local

    def start(frame: FrameType, event: str, arg: object) -> Any:
        return local if frame.f_code.co_filename in files else None

    raised: BaseException | None = None
    previous = sys.gettrace()
    sys.settrace(start)
    try:
        with capture_output():
            call()
    except BaseException as error:  # the case's outcome, checked by the caller
        raised = error
    finally:
        sys.settrace(previous)
    return seen, raised


def reached(site: Site, seen: set[tuple[str, int]]) -> bool:
    return any((site.file, n) in seen for n in site.lines)
