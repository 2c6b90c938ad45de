"""The options object: splits, sizes, names and combinations a run cannot honour."""

from __future__ import annotations

import numpy as np
import pytest
from IPython.core.error import UsageError

import linreg_magic
from linreg_magic.options import Options, option_specs, split_sizes


@pytest.mark.parametrize(("n", "split", "train"), [(100, 0.2, 80), (100, 0.8, 20), (10, 0.9, 1),
                                                   (100, 0.9, 10), (101, 0.2, 80), (10**8, 0.8, 2 * 10**7)])
def test_the_split_takes_the_books_share_for_training_without_float_error(n, split, train):
    assert split_sizes(n, split) == (train, n - train)


def _usage_error(**values: object) -> str:
    with pytest.raises(UsageError) as excinfo:
        Options(**values)
    assert type(excinfo.value) is UsageError
    message = str(excinfo.value)
    assert "\n" not in message and "valid" in message.lower()
    return message


def test_a_single_training_point_is_refused_because_a_line_needs_two():
    assert "a single training point" in _usage_error(n=2)
    assert "an empty training set" in _usage_error(n=2, val_split=0.9)
    assert Options(n=3, val_split=0.2).n == 3


def test_runs_too_large_for_memory_are_one_line_before_anything_is_allocated():
    assert "GiB parameter path" in _usage_error(stage="sequential", features=100, hidden=4096,
                                                epochs=1_000_000)
    assert "for the data" in _usage_error(stage="sequential", features=100, n=100_000_000)


@pytest.mark.parametrize("name", ["In", "Out", "get_ipython", "print", "len", "_", "_hidden"])
def test_store_never_replaces_ipythons_or_pythons_own_names(name):
    assert "would replace" in _usage_error(store=name)


@pytest.mark.parametrize("flag", ["n", "noise", "true_b", "features"])
def test_options_that_describe_the_synthetic_data_are_refused_with_other_data(flag):
    value = {"n": 50, "noise": 0.5, "true_b": 3.0, "features": 3}[flag]
    message = _usage_error(data="diabetes", **{flag: value})
    assert "describes the synthetic data" in message and "--data diabetes" in message


def test_the_book_column_is_for_the_books_run_only():
    explicit = linreg_magic.run(stage="numpy", true_w=2)  # the book's slope, given explicitly
    assert explicit.book == (1.02354094, 1.96896411)
    assert linreg_magic.run(stage="numpy", true_w=3).book is None
    assert linreg_magic.run(stage="numpy", epochs=5).book is None


def test_run_takes_the_stage_name_first():
    result = linreg_magic.run("numpy", epochs=3)
    assert result.stage == "numpy"
    with pytest.raises(TypeError, match="stage name or an Options object"):
        linreg_magic.run({"stage": "numpy"})  # type: ignore[arg-type]


# -- what None means ---------------------------------------------------------------------

_NOT_OPTIONAL = [spec for spec in option_specs() if not spec.optional]
_OPTIONAL = [spec for spec in option_specs() if spec.optional]


@pytest.mark.parametrize("spec", _NOT_OPTIONAL, ids=[s.name for s in _NOT_OPTIONAL])
def test_none_is_refused_by_every_option_that_has_a_value_by_default(spec) -> None:  # type: ignore[no-untyped-def]
    for make in (lambda: Options(**{spec.name: None}), lambda: Options().replace(**{spec.name: None}),
                 lambda: Options.from_mapping({spec.name: None})):
        with pytest.raises(UsageError) as caught:
            make()
        assert type(caught.value) is UsageError
        assert str(caught.value).startswith(f"{spec.flag} got None. ")
        assert str(caught.value).endswith(f"Leave {spec.name} out for its default, {spec.default_text()}")


@pytest.mark.parametrize("spec", _OPTIONAL, ids=[s.name for s in _OPTIONAL])
def test_none_leaves_an_optional_option_unset(spec) -> None:  # type: ignore[no-untyped-def]
    assert getattr(Options().replace(**{spec.name: None}), spec.name) is None


def test_run_refuses_a_none_learning_rate_before_anything_trains() -> None:
    with pytest.raises(UsageError) as caught:
        linreg_magic.run("numpy", lr=None)
    assert type(caught.value) is UsageError and "--lr got None" in str(caught.value)
    with pytest.raises(UsageError):
        linreg_magic.run(Options(stage="numpy"), lr=None)


# -- kinds: how each option is read, and which control shows it -----------------------------

def test_each_option_kind_names_the_control_a_widget_shows_it_with() -> None:
    from linreg_magic.option_kinds import Control
    from linreg_magic.registry import available_stages

    controls = {spec.name: spec.kind.control for spec in option_specs()}
    assert controls["stage"] is controls["device"] is controls["data"] is Control.MENU
    assert controls["epochs"] is controls["n"] is Control.WHOLE
    assert controls["lr"] is controls["true_b"] is Control.NUMBER
    assert controls["true_w"] is Control.NUMBERS and controls["cuda_graph"] is Control.SWITCH
    assert controls["show"] is controls["x"] is controls["store"] is Control.TEXT
    kinds = {spec.name: spec.kind for spec in option_specs()}
    assert kinds["stage"].menu() == tuple(available_stages())
    assert kinds["device"].menu()[:2] == ("auto", "cpu") and kinds["scale"].menu() == ("none", "standard")
    assert (kinds["epochs"].low, kinds["epochs"].high) == (1, 1_000_000)
    assert (kinds["true_w"].low, kinds["true_w"].high) == (-1e6, 1e6)


@pytest.mark.parametrize(("name", "raw", "value"), [
    ("epochs", "1e3", 1000), ("epochs", "1_000", 1000), ("epochs", 7.0, 7), ("n", np.int64(50), 50),
    ("lr", " 0.5 ", 0.5), ("true_w", [1, 2.5], (1.0, 2.5)), ("true_w", "1, 2", (1.0, 2.0)),
    ("show", "Fit, params,fit", "fit,params"), ("live", " ON ", "on"), ("cuda_graph", "Yes", True),
    ("store", " mine ", "mine"), ("x", "df['a b']", "df['a b']"),
])
def test_each_kind_reads_text_and_python_values(name: str, raw: object, value: object) -> None:
    from linreg_magic.options import spec_for

    assert spec_for(name).parse(raw) == value


@pytest.mark.parametrize(("name", "raw", "message"), [
    ("epochs", True, "--epochs got True. Valid values are a whole number from 1 to 1,000,000. "
                     "Try --epochs 1000"),
    ("lr", [0.1], "--lr got [0.1]. Valid values are a number > 0 up to 100"),
    ("true_w", "1,x", "--true-w got 'x'. Valid values are numbers separated by commas, each from "
                      "-1,000,000 to 1,000,000. Try --true-w 2"),
    ("true_w", [], "--true-w got []"),
    ("show", "fits", "--show: unknown view 'fits'"),
    ("show", "", "--show got no views"),
    ("live", "sometimes", "--live got 'sometimes'. Valid values are auto, on, off. Try --live on"),
    ("data", "diabetis", "Did you mean --data diabetes?"),
    ("device", "gpu", "Try --device auto to use the best device this machine has"),
    ("cuda_graph", 2, "--cuda-graph got 2"),
    ("store", "print", "--store print would replace Python's built-in 'print'"),
    ("store", "In", "--store In would replace IPython's own 'In'"),
])
def test_each_kind_refuses_a_bad_value_in_one_usage_error_line(name: str, raw: object, message: str) -> None:
    from linreg_magic.options import spec_for

    with pytest.raises(UsageError) as caught:
        spec_for(name).parse(raw)
    assert type(caught.value) is UsageError and "\n" not in str(caught.value)
    assert message in str(caught.value)


def test_an_unknown_option_from_python_names_the_closest() -> None:
    with pytest.raises(UsageError) as caught:
        Options().replace(epoch=5)
    assert type(caught.value) is UsageError
    assert str(caught.value).startswith("Unknown option --epoch. Valid options are --stage")
    assert str(caught.value).endswith("Did you mean --epochs?")
