"""Reading a body's source: where things are, to name the student's lines.

Nothing here decides a verdict; what the code did does (:mod:`.diagnose`).  The
source only says which line did it and how that line could read instead.  Line
numbers are cell lines: the %%linreg line is line 1, the body's first line 2.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from .instrument import parse

__all__ = ["Source"]

_IN_PLACE = frozenset({"sub_", "add_", "copy_", "mul_", "addcmul_"})


@dataclass
class Source:
    """A body's lines and syntax tree (``tree`` is None when it does not parse)."""

    body: str
    tree: ast.Module | None = None
    lines: list[str] = field(default_factory=list)
    _parents: dict[ast.AST, ast.AST] = field(default_factory=dict)

    @classmethod
    def of(cls, body: str) -> Source:
        try:
            tree: ast.Module | None = parse(body)
        except (SyntaxError, ValueError):
            tree = None
        source = cls(body, tree, body.splitlines())
        if tree is not None:
            for node in ast.walk(tree):
                for child in ast.iter_child_nodes(node):
                    source._parents[child] = node
        return source

    # -- lines -------------------------------------------------------------------
    def text(self, line: int | None) -> str:
        """The cell line as written ("" outside the body)."""
        if line is None or not 2 <= line < len(self.lines) + 2:
            return ""
        return self.lines[line - 2]

    def indent(self, line: int) -> str:
        text = self.text(line)
        return text[: len(text) - len(text.lstrip())]

    def nodes(self) -> Iterator[ast.AST]:
        return ast.walk(self.tree) if self.tree is not None else iter(())

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self._parents.get(node)

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        current = self._parents.get(node)
        while current is not None:
            yield current
            current = self._parents.get(current)

    # -- statements ----------------------------------------------------------------
    def assignments(self, name: str) -> list[ast.stmt]:
        """Statements that bind ``name`` (``name = ...``, ``a, name = ...``, ``name += ...``)."""
        found = [n for n in self.nodes() if isinstance(n, ast.stmt) and name in _targets(n)]
        return sorted(found, key=lambda n: n.lineno)

    def constant(self, name: str) -> tuple[int, float] | None:
        """The last ``name = <number>`` of the body: its line and value."""
        for node in reversed(self.assignments(name)):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                value = _number(node.value)
                if value is not None:
                    return node.lineno, value
        return None

    def calls(self, attr: str) -> list[ast.Call]:
        """Calls of ``x.attr(...)`` or ``attr(...)``, in line order."""
        found = [n for n in self.nodes() if isinstance(n, ast.Call) and _called(n) == attr]
        return sorted(found, key=lambda n: (n.lineno, n.col_offset))

    def aliases(self, names: tuple[str, ...]) -> dict[str, str]:
        """Result names the body hands over from variables it trained under other names, at
        its top level: ``b, w = bias, weight`` or ``model = net`` (the other name must be
        assigned inside a loop or be a model made by the body)."""
        found: dict[str, str] = {}
        for node in self.tree.body if self.tree is not None else []:
            if not isinstance(node, ast.Assign) or len(node.targets) != 1:
                continue
            pairs = _pairs(node.targets[0], node.value)
            for target, value in pairs:
                if target in names and value != target and (self._trained(value) or target == "model"):
                    found[target] = value
        return found

    def _trained(self, name: str) -> bool:
        return any(self.in_loop(n) for n in self.assignments(name)) or bool(self.updates(name))

    def called_names(self) -> set[str]:
        """The plain names the body calls (``model_training(...)``)."""
        return {n.func.id for n in self.nodes() if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}

    def updates(self, name: str) -> list[ast.stmt]:
        """Statements inside a loop that change ``name`` or its values: ``name = ...name...``,
        ``name -= ...``, ``name.data -= ...``, ``name.data = ...``, ``name.sub_(...)``."""
        found = [n for n in self.nodes() if isinstance(n, ast.stmt) and _updates(n, name)
                 and self.in_loop(n)]
        return sorted(found, key=lambda n: n.lineno)

    def in_loop(self, node: ast.AST) -> bool:
        return any(isinstance(a, (ast.For, ast.AsyncFor, ast.While)) for a in self.ancestors(node))

    def in_no_grad(self, node: ast.AST) -> bool:
        """Whether ``node`` runs under ``with torch.no_grad():`` (or ``torch.inference_mode()``)."""
        return any(isinstance(a, ast.With) and any(_called(i.context_expr) in ("no_grad", "inference_mode")
                                                   for i in a.items) for a in self.ancestors(node))

    def statement(self, line: int) -> ast.stmt | None:
        """The innermost statement that starts on ``line``."""
        found = [n for n in self.nodes() if isinstance(n, ast.stmt) and n.lineno == line]
        return max(found, key=lambda n: n.col_offset) if found else None

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment("\n" + self.body, node) or ""

    # -- definitions -----------------------------------------------------------------
    def classes(self) -> list[ast.ClassDef]:
        return [n for n in self.nodes() if isinstance(n, ast.ClassDef)]

    def methods(self, name: str) -> list[ast.FunctionDef]:
        return [item for cls in self.classes() for item in cls.body
                if isinstance(item, ast.FunctionDef) and item.name == name]

    def functions(self) -> list[str]:
        """The names of the functions defined at the body's top level."""
        body = self.tree.body if self.tree is not None else []
        return [n.name for n in body if isinstance(n, ast.FunctionDef)]

    def lines_with(self, pattern: str) -> list[int]:
        """Cell lines whose code (comments left out) matches the regular expression."""
        regex = re.compile(pattern)
        return [number for number, text in enumerate(self.lines, 2) if regex.search(text.split("#")[0])]


def _pairs(target: ast.expr, value: ast.expr) -> list[tuple[str, str]]:
    if isinstance(target, ast.Name) and isinstance(value, ast.Name):
        return [(target.id, value.id)]
    if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
        return [p for t, v in zip(target.elts, value.elts) for p in _pairs(t, v)]
    return []


def _targets(node: ast.stmt) -> set[str]:
    """The names a statement binds."""
    if isinstance(node, ast.Assign):
        return set().union(*(_bound(t) for t in node.targets))
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        return _bound(node.target)
    return set()


def _bound(target: ast.expr) -> set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*(_bound(e) for e in target.elts)) if target.elts else set()
    return set()


def _number(node: ast.expr) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return -inner if inner is not None else None
    return None


def _called(node: ast.expr) -> str:
    if not isinstance(node, ast.Call):
        return ""
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _is(node: ast.expr, name: str) -> bool:
    """``name`` or ``name.data``."""
    if isinstance(node, ast.Attribute) and node.attr == "data":
        node = node.value
    return isinstance(node, ast.Name) and node.id == name


def _updates(node: ast.stmt, name: str) -> bool:
    if isinstance(node, ast.AugAssign):
        return _is(node.target, name)
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        uses = any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node.value))
        return _is(target, name) and (uses or not isinstance(target, ast.Name))
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        func = node.value.func
        return isinstance(func, ast.Attribute) and func.attr in _IN_PLACE and _is(func.value, name)
    return False
