"""A cell body made ready to run: compiled with the cell's line numbers, its loops
recorded, a trailing ``return`` and a last expression handled as a cell would.

The body's own statements run unchanged.  Three kinds of call are added, each with
the line number of the statement it belongs to, so tracebacks still point at the
student's lines:

* ``__linreg_loop__(ID, EVENT, scope)`` before every ``for``/``while`` loop, at the
  top of each iteration and after it: the loop recorder reads the parameters there
  (:mod:`linreg_magic.check.recording`).  Inside a function, ``scope`` is its
  ``locals()``.
* ``__linreg_iterate__(ID, iterable)`` around the first iterable of a comprehension
  (``[step() for _ in range(n_epochs)]`` is a training loop too).
* ``raise __linreg_return__(value)`` for a ``return`` outside any function (the body
  of a stage's ``model_training``, pasted from the code view, ends with one).
* ``__linreg_show__(value)`` for a last expression statement, which a cell shows.
"""

from __future__ import annotations

import ast
import linecache
import textwrap
from copy import deepcopy
from dataclasses import dataclass
from types import CodeType

__all__ = ["ENTER", "EXIT", "ITERATE", "ITERATION", "LOOP", "RETURN", "SHOW", "Instrumented", "LoopSite",
           "instrument", "parse"]

LOOP, RETURN, SHOW = "__linreg_loop__", "__linreg_return__", "__linreg_show__"
ITERATE = "__linreg_iterate__"
ENTER, ITERATION, EXIT = 0, 1, 2


@dataclass(frozen=True)
class LoopSite:
    """A loop of the body: its header's cell line, its last line, how deep it is
    nested in other loops, and the indentation of its body's statements."""

    id: int
    line: int
    end_line: int
    depth: int
    body_indent: int
    in_function: bool
    comprehension: bool = False


@dataclass(frozen=True)
class Instrumented:
    """The compiled body and what the instrumentation added."""

    code: CodeType
    loops: tuple[LoopSite, ...]


def normalise(body: str) -> str:
    """The body as it runs: code pasted from inside a function loses its indentation."""
    return textwrap.dedent(body)


def parse(body: str) -> ast.Module:
    """The body's syntax tree, with cell line numbers (the %%linreg line is line 1).

    Raises ``SyntaxError`` (or ``ValueError`` for a NUL character) as ``compile`` does.
    """
    return ast.parse("\n" + body)


def remember_source(body: str, filename: str, magic_line: str) -> None:
    """Make ``linecache`` know the cell, so tracebacks show the student's lines."""
    lines = [f"%%linreg {magic_line}".rstrip() + "\n", *body.splitlines(True)]
    linecache.cache[filename] = (sum(map(len, lines)), None, lines, filename)


def instrument(tree: ast.Module, filename: str) -> Instrumented:
    """Compile the body with the recording calls added (``tree`` is not changed)."""
    copy = deepcopy(tree)
    sites: list[LoopSite] = []
    if copy.body and isinstance(copy.body[-1], ast.Expr):  # the cell's value, shown
        last = copy.body[-1]
        copy.body[-1] = ast.copy_location(ast.Expr(_call(SHOW, [last.value])), last)
    _Comprehensions(sites).visit(copy)
    copy.body = _block(copy.body, sites, depth=0, in_function=False)
    ast.fix_missing_locations(copy)
    return Instrumented(compile(copy, filename, "exec"), tuple(sites))


class _Comprehensions(ast.NodeTransformer):
    """Wraps the first iterable of every comprehension, so its iterations are recorded."""

    def __init__(self, sites: list[LoopSite]) -> None:
        self.sites = sites
        self.depth = 0

    def _loop(self, node: ast.AST) -> ast.AST:
        self.depth += isinstance(node, (ast.For, ast.While))
        self.generic_visit(node)
        self.depth -= isinstance(node, (ast.For, ast.While))
        return node

    visit_For = visit_While = _loop

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp) -> ast.AST:
        self.generic_visit(node)
        site = LoopSite(len(self.sites), node.lineno, node.end_lineno or node.lineno, self.depth,
                        node.col_offset, False, comprehension=True)
        self.sites.append(site)
        first = node.generators[0]
        first.iter = ast.copy_location(_call(ITERATE, [ast.Constant(site.id), first.iter]), first.iter)
        return node

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension


def _call(name: str, args: list[ast.expr]) -> ast.Call:
    return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=args, keywords=[])


def _loop_call(site: int, event: int, scope: bool, where: ast.stmt) -> ast.stmt:
    args: list[ast.expr] = [ast.Constant(site), ast.Constant(event)]
    if scope:
        args.append(_call("locals", []))
    return ast.copy_location(ast.Expr(_call(LOOP, args)), where)


def _block(stmts: list[ast.stmt], sites: list[LoopSite], depth: int, in_function: bool) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for stmt in stmts:
        if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
            out.extend(_loop(stmt, sites, depth, in_function))
            continue
        if isinstance(stmt, ast.Return) and not in_function:
            value = stmt.value if stmt.value is not None else ast.Constant(None)
            out.append(ast.copy_location(ast.Raise(exc=_call(RETURN, [value]), cause=None), stmt))
            continue
        _children(stmt, sites, depth, in_function)
        out.append(stmt)
    return out


def _loop(stmt: ast.For | ast.AsyncFor | ast.While, sites: list[LoopSite], depth: int,
          in_function: bool) -> list[ast.stmt]:
    site = LoopSite(len(sites), stmt.lineno, stmt.end_lineno or stmt.lineno, depth,
                    stmt.body[0].col_offset if stmt.body else stmt.col_offset + 4, in_function)
    sites.append(site)
    stmt.body = [_loop_call(site.id, ITERATION, in_function, stmt),
                 *_block(stmt.body, sites, depth + 1, in_function)]
    stmt.orelse = _block(stmt.orelse, sites, depth, in_function)
    return [_loop_call(site.id, ENTER, False, stmt), stmt, _loop_call(site.id, EXIT, in_function, stmt)]


def _children(stmt: ast.stmt, sites: list[LoopSite], depth: int, in_function: bool) -> None:
    """Instrument the statement lists inside ``stmt`` (function bodies start afresh)."""
    inner = in_function or isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    loops = 0 if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) else depth
    for name in ("body", "orelse", "finalbody"):
        value = getattr(stmt, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            setattr(stmt, name, _block(value, sites, loops, inner))
    for handler in getattr(stmt, "handlers", []):
        handler.body = _block(handler.body, sites, loops, inner)
    for case in getattr(stmt, "cases", []):
        case.body = _block(case.body, sites, loops, inner)
