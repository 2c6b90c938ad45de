"""Every place in the data and the engine that refuses input is reached by a case
below that ends in exactly one UsageError line.

The sites are found in the source (every statement that builds a ``usage_error`` or
the not-numeric refusal), and the cases run under a line tracer: a new refusal
without a case fails :func:`test_every_refusal_in_the_data_and_the_engine_is_reached`,
and turning one into another exception type fails the case that reaches it.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from IPython.core.error import UsageError

import linreg_magic
from linreg_magic.options import Options
from linreg_magic.plan import Plan
from linreg_magic.stage import Stage

PACKAGE = Path(linreg_magic.__file__).parent
MODULES = ["data.py", "engine.py", "session.py", "reference.py", "mse.py", "views/notes.py"]
_BUILDERS = {"usage_error", "UsageError", "_not_numeric"}
#: Refusals that only a process without IPython reaches, with the test that reaches them.
_ELSEWHERE = {"--data user needs a namespace":
              "test_data.py::test_user_data_without_a_namespace_outside_ipython_is_one_usage_error_line"}


def _user(x: object, y: object = None, **options: object) -> Callable[[], object]:
    """Plan a run on these arrays as --x a --y b."""
    y = np.arange(float(len(x))) if y is None else y  # type: ignore[arg-type]
    values = {"data": "user", "x": "a", "y": "b", **options}
    return lambda: Plan.make(Options.from_mapping(values), namespace={"a": x, "b": y})


def _model_stage(model: Callable[[], Any]) -> Callable[[], object]:
    def run() -> object:
        stage = Stage(name="unreadable", title="unreadable", summary="for tests", order=66,
                      model_configuration=lambda: dict(model=model()),
                      model_training=lambda model, tracker: dict(model=model))
        linreg_magic.register_stage(stage, replace=True)
        try:
            return linreg_magic.run(stage="unreadable", device="cpu", epochs=1)
        finally:
            linreg_magic.unregister_stage("unreadable")
    return run


def _cases() -> dict[str, Callable[[], object]]:
    five = np.arange(5.0)
    frame = pd.DataFrame({"h": five})
    return {
        "a diabetes feature that is not a column": lambda: Plan.make(Options(data="diabetes",
                                                                             feature="bmx")),
        "a 3-D --x": _user(np.zeros((5, 2, 2))),
        "--x and --y of different lengths": _user(five, np.arange(4.0)),
        "too few rows": _user(np.arange(2.0)),
        "a missing value": _user(np.array([1.0, np.nan, 3.0, 4.0, 5.0])),
        "too many columns": _user(np.zeros((20, 3000))),
        "too long a path": _user(np.random.RandomState(0).rand(5, 1000), stage="sequential",
                                 hidden=4096),
        "different pandas indexes": _user(pd.Series(five), pd.Series(five, index=range(5, 10))),
        "a column a frame has not": lambda: Plan.make(
            Options(data="user", x="f.age", y="b"), namespace={"f": frame, "b": five}),
        "a name that is not defined": lambda: Plan.make(Options(data="user", x="nothing", y="b"),
                                                        namespace={"b": five}),
        "a masked array": _user(np.ma.array(five, mask=[0, 1, 0, 0, 0])),
        "a single number": _user(3.0, five),
        "an empty array": _user(np.empty((5, 0)), five),
        "values that are not numbers": _user([1.0, {}, 3.0, 4.0, 5.0]),
        "a ragged list": _user([[1.0, 2.0], [3.0]], five[:2]),
        "complex numbers": _user(five + 1j),
        "records": _user(np.zeros(5, dtype=[("v", float)])),
        "a complex tensor": _user(torch.arange(5.0) * 1j),
        "a sparse tensor": _user(torch.eye(5).to_sparse(), five),
        "a constant feature to standardize": _user(np.full(5, 2.0), scale="standard"),
        "a model without parameters": _model_stage(lambda: torch.nn.Identity()),
        "a model with two outputs": _model_stage(lambda: torch.nn.Linear(1, 2)),
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_each_case_is_exactly_one_usage_error_line(name: str) -> None:
    with pytest.raises(UsageError) as caught:
        _cases()[name]()
    assert type(caught.value) is UsageError, name
    message = str(caught.value)
    assert "\n" not in message and message.count(". ") >= 2, message


def _statement_sites(path: Path) -> dict[tuple[str, int], range]:
    """Each statement that builds a refusal: (file, first line) -> the lines it spans."""
    source = path.read_text()
    sites: dict[tuple[str, int], range] = {}
    compound = (ast.FunctionDef, ast.ClassDef, ast.If, ast.For, ast.While, ast.Try, ast.With)
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.stmt) or isinstance(node, compound):
            continue
        text = ast.get_source_segment(source, node) or ""
        if any(marker in text for marker in _ELSEWHERE):
            continue
        for call in ast.walk(node):
            func = getattr(call, "func", None)
            if isinstance(call, ast.Call) and (getattr(func, "id", None) or getattr(func, "attr", None)) \
                    in _BUILDERS:
                sites[(str(path), node.lineno)] = range(node.lineno, (node.end_lineno or node.lineno) + 1)
                break
    return sites


def _lines_run(call: Callable[[], object]) -> tuple[set[tuple[str, int]], BaseException | None]:
    files = {str(PACKAGE / name) for name in MODULES}
    seen: set[tuple[str, int]] = set()

    def local(frame: FrameType, event: str, arg: object) -> Any:
        if event == "line":
            seen.add((frame.f_code.co_filename, frame.f_lineno))
        return local

    def start(frame: FrameType, event: str, arg: object) -> Any:
        return local if frame.f_code.co_filename in files else None

    raised: BaseException | None = None
    sys.settrace(start)
    try:
        call()
    except BaseException as error:  # the case's outcome, checked by the caller
        raised = error
    finally:
        sys.settrace(None)
    return seen, raised


def test_every_refusal_in_the_data_and_the_engine_is_reached() -> None:
    sites: dict[tuple[str, int], range] = {}
    for module in MODULES:
        sites.update(_statement_sites(PACKAGE / module))
    assert len(sites) >= 20
    reached: set[tuple[str, int]] = set()
    for name, call in _cases().items():
        seen, raised = _lines_run(call)
        assert type(raised) is UsageError, (name, raised)
        reached |= {site for site, span in sites.items() if any((site[0], n) in seen for n in span)}
    missing = sorted(f"{Path(f).name}:{n}" for f, n in set(sites) - reached)
    assert not missing, f"refusals no case reaches: {missing}"
