"""The package's shape, read from its source: no import circles, our own modules
imported at module top, small modules, functions and classes.

The import graph is built from the AST of every module of ``linreg_magic``: each
``import`` and ``from ... import`` of one of our own modules, at module level or
inside a function, is an edge (imports under ``if TYPE_CHECKING:`` never run and
are left out).  An import of our own module inside a function hides an edge
from a reader and can hide a circle, so it is allowed only at three boundaries:

1. the package's ``__init__.py`` (its lazy ``__getattr__`` and the extension's
   load/unload), so that ``import linreg_magic`` and ``%load_ext`` stay light;
2. the magic's call of its command handlers (``magic`` -> ``commands``);
3. a module that brings in a heavy third-party library (torch, matplotlib,
   scikit-learn, ipywidgets, torchviz, pandas) that the importing module does not
   already have at its top, or numpy into a module that ``%load_ext`` imports:
   deferring it is what keeps the light modules light.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

PACKAGE = "linreg_magic"
ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / PACKAGE

#: Third-party libraries that may be imported on first use, inside a function.
HEAVY_LIBRARIES = frozenset({"torch", "matplotlib", "sklearn", "ipywidgets", "torchviz", "pandas"})
#: What %load_ext must not import (test_magic checks the real import too).
NOT_AT_LOAD = HEAVY_LIBRARIES | {"numpy"}
#: The modules %load_ext linreg_magic imports first.
LOAD_EXT = ("linreg_magic", "linreg_magic.magic")

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 40
MAX_CLASS_LINES = 200

#: The stages' teaching files follow the book, not these size rules.
TEACHING_FILES = "linreg_magic/stages/"

#: Boundary 2: the magic imports its command handlers on first use.
MAGIC_BOUNDARY = {("linreg_magic.magic", "linreg_magic.commands")}

@dataclass(frozen=True)
class Import:
    """One import statement's target among our modules."""

    source: str  # the importing module
    target: str  # the imported module
    line: int
    in_function: str | None  # the enclosing function's name, None at module level

    def where(self) -> str:
        place = f"in {self.in_function}()" if self.in_function else "at module level"
        return f"{module_path(self.source)}:{self.line} {place} imports {self.target}"


@cache
def modules() -> dict[str, Path]:
    """Every module of the package: dotted name -> file."""
    found = {}
    for path in sorted(SOURCE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def module_path(name: str) -> str:
    return modules()[name].relative_to(ROOT).as_posix()


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _context(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> tuple[str | None, bool]:
    """The innermost enclosing function's name, and whether the node is under TYPE_CHECKING."""
    function, type_checking = None, False
    while node in parents:
        node = parents[node]
        if function is None and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            function = getattr(node, "name", "<lambda>")
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_checking = True
    return function, type_checking


def _base(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".")
    if modules()[module].name != "__init__.py":
        package.pop()
    package = package[:len(package) - (node.level - 1)]
    return ".".join([*package, *([node.module] if node.module else [])])


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The modules an import statement names: ours, or the top-level name of a library."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = _base(module, node)
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        yield submodule if submodule in modules() else base


@cache
def statements(module: str) -> tuple[tuple[str, int, str | None], ...]:
    """(target, line, enclosing function) of every import that runs, ours or not."""
    tree = ast.parse(modules()[module].read_text(encoding="utf-8"))
    parents = _parents(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        function, type_checking = _context(node, parents)
        if not type_checking:
            found += [(target, node.lineno, function) for target in _targets(module, node)]
    return tuple(sorted(found, key=lambda item: item[1]))


@cache
def imports() -> tuple[Import, ...]:
    """Every import of one of our own modules, at any level."""
    return tuple(Import(module, target, line, function)
                 for module in modules() for target, line, function in statements(module)
                 if target in modules() and target != module)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One circle through each strongly connected group of modules (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while stack[-1] != node:
                group.append(stack.pop())
            group.append(stack.pop())
            if len(group) > 1 or node in edges.get(node, ()):
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return [_circle(group, edges) for group in groups]


def _circle(group: list[str], edges: dict[str, set[str]]) -> list[str]:
    """A path from the group's first module back to itself, inside the group."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(edges.get(node, set()) & members):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    return group


def graph(found: tuple[Import, ...]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for item in found:
        edges.setdefault(item.source, set()).add(item.target)
    return edges


@cache
def imported_with(module: str) -> frozenset[str]:
    """Our modules that importing ``module`` imports: itself, its parent packages and,
    through their module-level imports, others."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            parts = name.split(".")
            todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # packages run first
            todo += [target for target, _line, function in statements(name)
                     if function is None and target in modules()]
    return frozenset(seen)


@cache
def heavy_at_import(module: str) -> frozenset[str]:
    """The libraries of :data:`NOT_AT_LOAD` that importing ``module`` imports."""
    return frozenset(target.split(".")[0] for name in imported_with(module)
                     for target, _line, function in statements(name)
                     if function is None and target.split(".")[0] in NOT_AT_LOAD)


def is_boundary(item: Import) -> bool:
    """An in-function import at one of the three boundaries of the module docstring."""
    if item.source == PACKAGE:
        return True
    if (item.source, item.target) in MAGIC_BOUNDARY:
        return True
    deferred = heavy_at_import(item.target) - heavy_at_import(item.source)
    at_load = any(item.source in imported_with(name) for name in LOAD_EXT)
    return bool(deferred & HEAVY_LIBRARIES) or (at_load and "numpy" in deferred)


def oversized(path: Path) -> list[str]:
    """What in one file breaks the size rules, in words."""
    text = path.read_text(encoding="utf-8")
    where = path.relative_to(ROOT).as_posix()
    found = []
    if len(text.splitlines()) > MAX_MODULE_LINES:
        found.append(f"{where}: {len(text.splitlines())} lines (at most {MAX_MODULE_LINES})")
    for node in ast.walk(ast.parse(text)):
        limit = (MAX_FUNCTION_LINES if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                 else MAX_CLASS_LINES if isinstance(node, ast.ClassDef) else None)
        if limit is not None and node.end_lineno is not None:
            size = node.end_lineno - node.lineno + 1
            if size > limit:
                found.append(f"{where}:{node.lineno} {node.name} is {size} lines (at most {limit})")
    return found


def _checked(path: str) -> bool:
    return not path.startswith(TEACHING_FILES)


def misplaced_imports() -> list[Import]:
    return [item for item in imports()
            if item.in_function is not None and not is_boundary(item)]


# -- the rules ------------------------------------------------------------------
def test_the_import_graph_of_the_package_has_no_circles() -> None:
    found = cycles(graph(imports()))
    for circle in found:
        print("import circle: " + " -> ".join(circle), file=sys.stderr)
    assert not found, "import circles: " + "; ".join(" -> ".join(circle) for circle in found)


def test_our_own_modules_are_imported_at_module_top_except_at_the_three_boundaries() -> None:
    found = sorted({item.where() for item in misplaced_imports() if _checked(module_path(item.source))})
    assert not found, ("imports of our own modules inside functions (move them to the module top, "
                       "or break the circle they hide):\n" + "\n".join(found))


def test_no_module_function_or_class_is_over_its_size() -> None:
    found = [problem for name, path in modules().items() if _checked(module_path(name))
             for problem in oversized(path)]
    assert not found, "\n".join(found)


def test_the_modules_that_load_the_extension_import_nothing_heavy() -> None:
    for name in LOAD_EXT:
        assert heavy_at_import(name) == frozenset(), sorted(imported_with(name))


# -- the checker itself -----------------------------------------------------------
def test_a_circle_is_found_and_spelled_out_from_its_first_module() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert cycles(edges) == [["a", "b", "c", "a"], ["e", "e"]]
    assert cycles({"a": {"b"}, "b": {"c"}}) == []


def test_every_module_of_the_package_is_read() -> None:
    names = set(modules())
    assert {PACKAGE, f"{PACKAGE}.magic", f"{PACKAGE}.views", f"{PACKAGE}.views.notes",
            f"{PACKAGE}.stages.module"} <= names
    assert any(item.in_function for item in imports()), "in-function imports are read too"


@pytest.mark.parametrize(("source", "target", "allowed"), [
    ("linreg_magic", "linreg_magic.magic", True),  # the package's lazy boundary
    ("linreg_magic.magic", "linreg_magic.commands", True),  # the magic's command handlers
    ("linreg_magic.engine", "linreg_magic.cuda_graph", True),  # brings in torch
    ("linreg_magic.magic", "linreg_magic.registry", False),  # light: belongs at the top
    ("linreg_magic.magic", "linreg_magic.data", True),  # numpy, kept off %load_ext
    ("linreg_magic.cuda_graph", "linreg_magic.data", False),  # numpy, in a module %load_ext never imports
])
def test_the_boundaries_allow_what_keeps_the_extension_light_and_nothing_else(
        source: str, target: str, allowed: bool) -> None:
    assert is_boundary(Import(source, target, 1, "f")) is allowed
