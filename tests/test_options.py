"""The options object: splits, sizes, names and combinations a run cannot honour."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

import linreg_magic
from linreg_magic.options import Options, split_sizes


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
