"""--data: the book's synthetic line, scikit-learn's diabetes set, or the user's arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output
from sklearn.datasets import load_diabetes

from linreg_magic import run
from linreg_magic.data import DIABETES_FEATURES, make_data
from linreg_magic.options import Options
from linreg_magic.reference import reference


def test_the_default_is_still_exactly_the_book_s_data() -> None:
    data = make_data(Options())
    assert data.name == "synthetic" and data.x.shape == (100, 1)
    assert data.x[0, 0] == pytest.approx(0.37454012) and len(data.train_idx) == 80
    assert not data.scaled


def test_the_diabetes_set_gives_the_chosen_feature_against_progression() -> None:
    bunch = load_diabetes()
    data = make_data(Options(data="diabetes", feature="bp"))
    np.testing.assert_array_equal(data.x[:, 0], bunch.data[:, DIABETES_FEATURES.index("bp")])
    np.testing.assert_array_equal(data.y[:, 0], bunch.target)
    assert data.feature_names == ("bp",) and len(data.train_idx) == int(442 * 0.8)
    assert make_data(Options(data="diabetes")).feature_names == ("bmi",)


def test_unscaled_diabetes_is_slow_and_standard_scaling_reaches_the_answer() -> None:
    raw = run(stage="numpy", data="diabetes")
    scaled = run(stage="numpy", data="diabetes", scale="standard")
    assert abs(raw.w - raw.reference.coef[0]) > 100  # bmi's tiny spread: w learns slowly
    assert scaled.w == pytest.approx(scaled.reference.coef[0], rel=1e-6)
    b0, (w0,) = scaled.data.unscaled(scaled.b, scaled.coef)
    assert w0 == pytest.approx(raw.reference.coef[0], rel=1e-5)  # the same line in bmi's units
    assert b0 == pytest.approx(raw.reference.intercept, rel=1e-5)
    from linreg_magic.views import data_note

    assert "Not there yet" in data_note(raw) and "--scale standard" in data_note(raw)
    assert "standardized" in data_note(scaled) and "Not there yet" not in data_note(scaled)


def test_standard_scaling_uses_the_training_rows_and_keeps_the_true_line() -> None:
    data = make_data(Options(scale="standard"))
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(data.x_train.std(axis=0), 1)
    raw = make_data(Options())
    assert data.true_w is not None and data.true_b is not None
    np.testing.assert_allclose(data.true_b + data.true_w[0] * data.x[:, 0], 1 + 2 * raw.x[:, 0])


def test_scaling_turns_the_book_s_values_off() -> None:
    assert run(stage="numpy", scale="standard").book is None


def test_user_arrays_series_and_columns_are_read_by_name(ip) -> None:  # type: ignore[no-untyped-def]
    rs = np.random.RandomState(0)
    xs = rs.rand(60)
    frame = pd.DataFrame({"size": xs, "price": 3 - 0.5 * xs + 0.01 * rs.randn(60)})
    ip.user_ns.update(xs=xs, ys=list(frame["price"]), frame=frame)
    before = {k: id(v) for k, v in ip.user_ns.items()}
    for x, y in (("xs", "ys"), ("frame.size", "frame.price"), ("frame['size']", 'frame["price"]')):
        with capture_output():
            result = ip.run_cell_magic("linreg", f"--data user --x {x} --y {y} --stage numpy "
                                       "--epochs 5000 --show params", "#")
        assert result.data.name == "user" and len(result.data.x) == 60
        assert result.w == pytest.approx(-0.5, abs=0.02)
    assert {k: id(v) for k, v in ip.user_ns.items() if k in before} == before
    np.testing.assert_array_equal(ip.user_ns["xs"], xs)
    for name in ("xs", "ys", "frame"):
        ip.user_ns.pop(name)


def test_a_two_column_frame_trains_the_sequential_stage(ip) -> None:  # type: ignore[no-untyped-def]
    rs = np.random.RandomState(1)
    table = pd.DataFrame(rs.rand(50, 2), columns=["a", "b"])
    target = pd.Series(1 + table["a"] - 2 * table["b"])
    ip.user_ns.update(table=table, target=target)
    try:
        with capture_output():
            result = ip.run_line_magic("linreg", "--data user --x table --y target --stage sequential "
                                       "--epochs 3000 --show params")
        assert result.data.feature_names == ("a", "b")
        np.testing.assert_allclose(result.coef, [1, -2], atol=0.05)
        with pytest.raises(UsageError, match="The data have 2 features; the module stage fits one"):
            ip.run_line_magic("linreg", "--data user --x table --y target --stage module")
    finally:
        ip.user_ns.pop("table")
        ip.user_ns.pop("target")


_BAD = {
    "nan": ({"a": [1.0, np.nan, 3.0, 4.0, 5.0], "b": [1.0, 2, 3, 4, 5]}, "--x a has 1 missing or infinite"),
    "lengths": ({"a": [1.0, 2, 3, 4, 5], "b": [1.0, 2, 3]}, "--x a has 5 rows but --y b has 3"),
    "text": ({"a": ["one", "two", "three"], "b": [1.0, 2, 3]}, "--x a is not numeric"),
    "few": ({"a": [1.0, 2.0], "b": [1.0, 2.0]}, "--x a has only 2 rows"),
    "scalar": ({"a": 3.0, "b": [1.0]}, "--x a is a single number"),
}


@pytest.mark.parametrize("case", sorted(_BAD))
def test_bad_user_data_is_one_usage_error_line(ip, case: str) -> None:  # type: ignore[no-untyped-def]
    values, message = _BAD[case]
    ip.user_ns.update(values)
    try:
        with pytest.raises(UsageError, match=message) as caught:
            ip.run_line_magic("linreg", "--data user --x a --y b")
        assert type(caught.value) is UsageError and "\n" not in str(caught.value)
    finally:
        ip.user_ns.pop("a")
        ip.user_ns.pop("b")


@pytest.mark.parametrize(("line", "message"), [
    ("--data user --x nothing_here --y y", "--x nothing_here: no such variable in your namespace"),
    ("--data user --x x", "--data user needs --y"),
    ("--x x --y y", "--x applies to --data user, not --data synthetic. .*Add --data user"),
    ("--data diabetes --feature bmx", "--feature 'bmx' is not a column.*age, sex, bmi"),
    ("--data diabets", "Did you mean --data diabetes"),
    ("--scale minmax", "Valid values are none, standard"),
])
def test_bad_data_options_are_one_usage_error_line(ip, line: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match=message) as caught:
        ip.run_line_magic("linreg", line)
    assert type(caught.value) is UsageError and "\n" not in str(caught.value)


def test_a_missing_column_lists_the_frame_s_columns(ip) -> None:  # type: ignore[no-untyped-def]
    ip.user_ns["df"] = pd.DataFrame({"height": [1.0, 2.0], "weight": [3.0, 4.0]})
    try:
        with pytest.raises(UsageError, match=r"df has no column 'age'\. Its columns are height, weight") \
                as caught:
            ip.run_line_magic("linreg", "--data user --x df.age --y df.weight")
        assert type(caught.value) is UsageError
    finally:
        ip.user_ns.pop("df")


def test_the_fit_is_labelled_with_the_feature_and_the_target() -> None:
    from linreg_magic.views import plot_fit

    ax = plot_fit(run(stage="numpy", data="diabetes", feature="bp", epochs=10))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("bp", "disease progression")
    assert plot_fit(run(stage="numpy", epochs=10)).get_xlabel() == "x"


def test_a_misspelt_array_name_suggests_the_users_own_arrays_not_ipythons_history(ip):
    from IPython.core.error import UsageError

    ip.user_ns["heights"] = [1.0, 2.0, 3.0, 4.0, 5.0]
    try:
        with pytest.raises(UsageError) as excinfo:
            ip.run_line_magic("linreg", "--data user --x height --y heights")
    finally:
        del ip.user_ns["heights"]
    message = str(excinfo.value)
    assert type(excinfo.value) is UsageError
    assert "Valid names here are heights" in message and "Did you mean --x heights?" in message
    assert " In" not in message and "Out" not in message


def test_the_users_arrays_reach_the_widget_and_the_contract_too(ip):
    from IPython.utils.capture import capture_output

    from linreg_magic import LinregWidget

    ip.user_ns["xs"] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    ip.user_ns["ys"] = [1 + 2 * x for x in ip.user_ns["xs"]]
    try:
        with capture_output() as captured:
            ip.run_line_magic("linreg", "contract --stage numpy --data user --x xs --y ys")
        assert "x_train" in " ".join(o.data["text/plain"] for o in captured.outputs)
        widget = LinregWidget(stage="numpy", data="user", x="xs", y="ys", auto=False)
        widget.run()
        widget.wait()
        assert widget.result is not None and len(widget.result.data.x) == 10
    finally:
        del ip.user_ns["xs"], ip.user_ns["ys"]


def test_a_quoted_dataframe_column_with_a_space_in_its_name_can_be_named(ip):
    import pandas as pd

    ip.user_ns["houses"] = pd.DataFrame({"floor area": [50.0, 60, 70, 80, 90, 100, 110, 120],
                                         "price": [95.0, 110, 125, 140, 155, 170, 185, 200]})
    try:
        result = ip.run_line_magic(
            "linreg", """--data user --x "houses['floor area']" --y houses.price --stage numpy """
                      "--scale standard --show params")
    finally:
        del ip.user_ns["houses"]
    assert len(result.data.x) == 8


# -- data that cannot be read as it stands: one UsageError line each -------------------

def _refusal(namespace: dict[str, object], line: str = "--data user --x a --y b") -> str:
    """The one line refusing ``line`` with these arrays (as the magic would read them)."""
    from linreg_magic.plan import Plan

    with pytest.raises(UsageError) as caught:
        Plan.make(Options.from_mapping(_options(line)), namespace=namespace)
    assert type(caught.value) is UsageError and "\n" not in str(caught.value)
    return str(caught.value)


def _options(line: str) -> dict[str, object]:
    words = line.split()
    return {flag[2:].replace("-", "_"): value for flag, value in zip(words[::2], words[1::2])}


_Y = np.arange(5.0)


@pytest.mark.parametrize(("x", "line", "message"), [
    (np.zeros((5, 2, 2)), "", "--x a has shape (5, 2, 2)"),
    (np.arange(10.0), " --val-split 1e-8", "--x a has only 10 rows. With --val-split 1e-08 the training "
                                           "set needs at least 2 rows and the validation set 1"),
    (np.full(5, 3.0), " --scale standard", "--scale standard: feature a is constant on the training set"),
    (np.ma.array(np.arange(5.0), mask=[0, 1, 0, 0, 0]), "", "--x a is a masked array with 1 masked value"),
    (np.arange(5.0) + 1j, "", "--x a is not real-valued: it holds complex numbers"),
    (np.arange(5).astype("datetime64[D]"), "", "--x a is not numeric: it holds dates and times"),
    (np.arange(5).astype("timedelta64[s]"), "", "--x a is not numeric: it holds time spans"),
    (np.array(["1", "2", "3", "4", "5"]), "", "--x a is not numeric: it holds text"),
    (np.array([b"1", b"2", b"3", b"4", b"5"]), "", "--x a is not numeric: it holds bytes"),
    (np.zeros(5, dtype=[("v", float)]), "", "--x a is not numeric"),
    ([1.0, None, 3.0, 4.0, 5.0], "", "--x a has 1 missing or infinite value(s) (first at row 1)"),
    ([1.0, {}, 3.0, 4.0, 5.0], "", "--x a is not numeric (a list with values that are not numbers)"),
    ([[1.0, 2.0], [3.0]], "", "--x a is not numeric"),
    (np.array([]), "", "--x a is empty (shape (0,))"),
    (np.empty((5, 0)), "", "--x a is empty (shape (5, 0))"),
    (np.zeros((20, 30_000)), "", "--x a has 30,000 columns: the closed form alone would need a "
                                 "30,001 x 30,001 matrix"),
    (np.random.RandomState(0).rand(5, 1000), " --hidden 4096 --stage sequential",
     "--epochs 1000 with 4,104,193 parameters (1,000 features) would record a 30.6 GiB parameter path"),
])
def test_data_that_cannot_be_fitted_as_it_stands_is_one_usage_error_line(x, line: str, message: str) -> None:  # type: ignore[no-untyped-def]
    y = _Y if len(x) == 5 else np.arange(float(len(x)))
    assert message in _refusal({"a": x, "b": y}, "--data user --x a --y b" + line)


def test_tensors_of_complex_numbers_or_sparse_layout_are_one_usage_error_line() -> None:
    import torch

    assert "is not real-valued" in _refusal({"a": torch.arange(5.0) * 1j, "b": _Y})
    sparse = torch.eye(5).to_sparse()
    assert "is not numeric" in _refusal({"a": sparse, "b": _Y})


def test_pandas_data_with_different_index_labels_are_one_usage_error_line() -> None:
    x = pd.Series(np.arange(5.0))
    assert ("--x a and --y b have different indexes (5 label(s) of --x are not in --y's index)"
            in _refusal({"a": x, "b": pd.Series(_Y, index=range(10, 15))}))
    assert "an index has repeated labels" in _refusal({"a": x, "b": pd.Series(_Y, index=[0, 0, 1, 2, 3])})


def test_user_data_without_a_namespace_outside_ipython_is_one_usage_error_line() -> None:
    import subprocess
    import sys

    script = ("from IPython.core.error import UsageError\n"
              "from linreg_magic.data import make_data\nfrom linreg_magic.options import Options\n"
              "try:\n    make_data(Options(data='user', x='a', y='b'))\n"
              "except UsageError as e:\n    print(type(e) is UsageError, e)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("True --data user needs a namespace to find --x and --y in")


def test_pandas_series_are_paired_by_their_index_not_their_position() -> None:
    rs = np.random.RandomState(4)
    x = pd.Series(rs.rand(40), index=[f"row{i}" for i in range(40)])
    y = 1 + 2 * x + 0.01 * rs.randn(40)
    shuffled = y.sample(frac=1.0, random_state=1)  # the same data in another order
    aligned = make_data(Options(data="user", x="x", y="y"), namespace={"x": x, "y": shuffled})
    direct = make_data(Options(data="user", x="x", y="y"), namespace={"x": x, "y": y})
    np.testing.assert_array_equal(aligned.y, direct.y)
    assert reference(aligned).coef[0] == pytest.approx(2.0, abs=0.05)


def test_half_precision_and_bfloat16_tensors_and_unmasked_arrays_are_read() -> None:
    import torch

    values = np.array([0.5, 1.25, 2.0, 3.5, 4.75, 6.0])
    target = 1 + 2 * values
    for x in (torch.tensor(values, dtype=torch.bfloat16), torch.tensor(values, dtype=torch.float16),
              np.ma.array(values, mask=False), torch.tensor(values).to(torch.float32).requires_grad_()):
        data = make_data(Options(data="user", x="x", y="y"), namespace={"x": x, "y": target})
        np.testing.assert_array_equal(data.x[:, 0], values)  # exactly representable in each


_KINDS = {
    "float": lambda rs, shape: rs.rand(*shape),
    "int": lambda rs, shape: rs.randint(-5, 5, shape),
    "bool": lambda rs, shape: rs.rand(*shape) > 0.5,
    "complex": lambda rs, shape: rs.rand(*shape) + 1j,
    "datetime": lambda rs, shape: rs.randint(0, 999, shape).astype("datetime64[D]"),
    "text": lambda rs, shape: rs.randint(0, 9, shape).astype(str),
    "masked": lambda rs, shape: np.ma.array(rs.rand(*shape), mask=rs.rand(*shape) > 0.7),
    "nan": lambda rs, shape: np.where(rs.rand(*shape) > 0.8, np.nan, rs.rand(*shape)),
    "list": lambda rs, shape: rs.rand(*shape).tolist(),
    "bfloat16": lambda rs, shape: __import__("torch").tensor(rs.rand(*shape)).bfloat16(),
    "series": lambda rs, shape: pd.Series(rs.rand(shape[0]), index=rs.permutation(shape[0])),
}


@settings(derandomize=True, deadline=None, max_examples=150)
@given(kind=st.sampled_from(sorted(_KINDS)), n=st.integers(0, 9), features=st.integers(0, 3),
       y_rows=st.integers(-1, 1), seed=st.integers(0, 10_000))
def test_any_user_data_is_read_exactly_or_refused_in_one_usage_error_line(
        kind: str, n: int, features: int, y_rows: int, seed: int) -> None:
    rs = np.random.RandomState(seed)
    shape = (n,) if features == 0 else (n, features)
    x = _KINDS[kind](rs, shape)
    y = pd.Series(rs.rand(n), index=range(n)) if kind == "series" else rs.rand(max(n + y_rows, 0))
    try:
        data = make_data(Options(data="user", x="x", y="y"), namespace={"x": x, "y": y})
    except UsageError as exc:
        assert type(exc) is UsageError and "\n" not in str(exc) and str(exc).startswith("--")
        return
    assert kind in {"float", "int", "bool", "list", "bfloat16", "series", "masked", "nan"}
    assert not np.ma.is_masked(x) and (kind != "nan" or np.isfinite(x).all())
    expected = np.asarray(x.float().numpy() if kind == "bfloat16" else x, dtype=np.float64)
    np.testing.assert_array_equal(data.x, expected.reshape(n, -1))
    if kind == "series":  # paired by index: each y is the one of x's label
        np.testing.assert_array_equal(data.y[:, 0], y.reindex(x.index).to_numpy())
