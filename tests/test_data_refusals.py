"""What users' data can be that the data and the engine refuse, one case per kind of
refusal, each ending in exactly one UsageError line.

These cases join those of ``test_usage_errors``, whose
``test_every_refusal_in_the_package_is_reached_by_a_case`` runs them all under a line
tracer: a refusal in the package that no case reaches fails it.
"""

from __future__ import annotations

from collections.abc import Callable
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
