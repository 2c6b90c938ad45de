"""--data: the book's synthetic line, scikit-learn's diabetes set, or the user's arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output
from sklearn.datasets import load_diabetes

from linreg_magic import run
from linreg_magic.data import DIABETES_FEATURES, make_data
from linreg_magic.options import Options


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
        with pytest.raises(UsageError, match=r"df has no column 'age'\. Its columns are height, weight"):
            ip.run_line_magic("linreg", "--data user --x df.age --y df.weight")
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
