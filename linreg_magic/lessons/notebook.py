"""Running a lesson's cells as a notebook runs them, and keeping what they showed.

A lesson cell is an ordinary function in a lesson's file.  Its docstring says what
the cell shows; its body is the code, which is what the views display and exactly
what runs: the body is compiled from the file (so a traceback points at the file's
own lines) and executed in the lesson's namespace, as a notebook cell runs in the
kernel's.  The parameters name what the cell takes from the cells before it (or
from what the lesson starts with); whatever the body assigns is there for the next
cell.  As in a notebook, the value of a last bare expression is shown; ``print``
output, warnings and an error (some cells show one on purpose) are kept too.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..printed import capture_prints

__all__ = ["CellCode", "CellRun", "cell_code", "run_cell"]


@dataclass(frozen=True)
class CellCode:
    """A cell's code as the lesson's file has it: its title and explanation (the
    docstring), the body (dedented), and the file line the body starts on."""

    name: str
    explanation: str
    body: str
    filename: str
    first_line: int
    needs: tuple[str, ...]

    @property
    def title(self) -> str:
        return self.explanation.split("\n\n")[0].replace("\n", " ").strip()

    @property
    def text(self) -> str:
        """The explanation after its first paragraph (may be "")."""
        rest = self.explanation.split("\n\n")[1:]
        return " ".join(" ".join(part.split()) for part in rest)


@dataclass(frozen=True)
class CellRun:
    """What one cell showed: printed lines, warnings, the error it raised (its type
    and message), and the value of its last expression (and that value itself)."""

    code: CellCode
    printed: str
    warnings: tuple[str, ...]
    error: str | None
    value_text: str | None
    value: Any = field(default=None, repr=False)

    @property
    def output(self) -> str:
        """Everything the cell showed, in the order a notebook shows it."""
        parts = [self.printed.rstrip("\n")] if self.printed else []
        parts += self.warnings
        if self.error is not None:
            parts.append(self.error)
        if self.value_text is not None:
            parts.append(self.value_text)
        return "\n".join(parts)


@functools.cache
def cell_code(cell: Callable[..., Any]) -> CellCode:
    """The code of a cell function, read from its file."""
    lines, start = inspect.getsourcelines(cell)
    source = textwrap.dedent("".join(lines))
    func = ast.parse(source).body[0]
    if not isinstance(func, ast.FunctionDef):
        raise TypeError(f"a lesson cell is a function, not {type(func).__name__}")
    body = func.body
    explanation = ""
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        explanation = inspect.cleandoc(body[0].value.value)
        begin = (body[0].end_lineno or body[0].lineno) + 1
    else:
        begin = func.body[0].lineno
        while begin > func.lineno + 1 and source.splitlines()[begin - 2].strip().startswith("#"):
            begin -= 1  # comments above the first statement belong to the body
    text = textwrap.dedent("\n".join(source.splitlines()[begin - 1:func.end_lineno]))
    needs = tuple(a.arg for a in func.args.args)
    return CellCode(cell.__name__, explanation, text.strip("\n") + "\n",
                    inspect.getsourcefile(cell) or "<lesson>", start + begin - 1, needs)


def _compiled(code: CellCode) -> tuple[Any, Any]:
    """The body's statements, and its last bare expression (or None), compiled with
    the file's line numbers."""
    tree = ast.parse(code.body)
    ast.increment_lineno(tree, code.first_line - 1)
    last = None
    final = tree.body[-1] if tree.body else None
    if isinstance(final, ast.Expr):
        tree.body.pop()
        last = ast.Expression(final.value)
    statements = compile(tree, code.filename, "exec")
    return statements, None if last is None else compile(last, code.filename, "eval")


def _warning_text(w: warnings.WarningMessage) -> str:
    message = str(w.message).split(" (Triggered internally at")[0]
    return f"{w.category.__name__}: {message}"


def run_cell(cell: Callable[..., Any], namespace: dict[str, Any],
             show: Callable[[Any], str] = repr) -> CellRun:
    """Run one cell's body in ``namespace`` (which it updates) and keep what it showed."""
    code = cell_code(cell)
    missing = [name for name in code.needs if name not in namespace]
    if missing:
        raise RuntimeError(f"lesson cell {code.name}() needs {', '.join(missing)}, which no earlier "
                           "cell made")
    statements, last = _compiled(code)
    error = value_text = None
    value: Any = None
    with capture_prints() as printed, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # every time the cell runs, as a fresh notebook cell
        for quiet in (DeprecationWarning, PendingDeprecationWarning):
            warnings.simplefilter("ignore", quiet)  # libraries' notes to their developers
        try:
            exec(statements, namespace)
            if last is not None:
                value = eval(last, namespace)
                value_text = None if value is None else show(value)
        except Exception as exc:  # the cell's own error is part of what it shows
            error = f"{type(exc).__name__}: {exc}"
    return CellRun(code, printed.text, tuple(dict.fromkeys(map(_warning_text, caught))), error,
                   value_text, value)


def lesson_namespace(module: Any, given: Mapping[str, Any]) -> dict[str, Any]:
    """Where a lesson's cells run: the lesson file's imports, then what it starts with."""
    namespace = {name: value for name, value in vars(module).items() if not name.startswith("__")}
    namespace.update(given)
    return namespace
