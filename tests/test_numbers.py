"""The numbers shown are right: the closed form (scikit-learn's answer, without
importing scikit-learn), the MSE on data of any magnitude, a closed form worked out
again whenever the data or the split change, and the book's column only on the
book's own run."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LinearRegression

import linreg_magic
from linreg_magic.data import Dataset, make_data
from linreg_magic.mse import QuadraticMSE
from linreg_magic.options import Options
from linreg_magic.reference import least_squares, reference

#: Deterministic: the same examples on every run, none slower than allowed under load.
EXAMPLES = settings(derandomize=True, deadline=None, max_examples=80)


@st.composite
def regression_data(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Well-posed data (more rows than features) of any magnitude and spread."""
    features = draw(st.integers(1, 3))
    n = draw(st.integers(features + 3, 40))
    rs = np.random.RandomState(draw(st.integers(0, 2**32 - 1)))
    offset = draw(st.sampled_from([0.0, 1.0, -50.0, 1e6, 1e9, -1e9]))
    spread = draw(st.sampled_from([1e-3, 1.0, 1e3, 1e9]))
    x = offset + spread * rs.rand(n, features)
    slopes = rs.randn(features) * draw(st.sampled_from([1e-3, 1.0, 2.0, 1e3]))
    noise = draw(st.sampled_from([0.0, 0.1, 10.0]))
    return x, (x @ slopes + noise * rs.randn(n)).reshape(-1, 1)


def _exact_mse(x: np.ndarray, y: np.ndarray, b: float, w: np.ndarray) -> float:
    """The MSE of these float values in exact rational arithmetic."""
    total = Fraction(0)
    for row, target in zip(x, y.ravel()):
        error = Fraction(b) + sum(Fraction(v) * Fraction(s) for v, s in zip(row, w)) - Fraction(target)
        total += error * error
    return float(total / len(x))


@EXAMPLES
@given(data=regression_data(), b=st.sampled_from([0.0, 1.0, -3.5, 1e6]),
       nudge=st.sampled_from([0.0, 1e-6, 1.0]), seed=st.integers(0, 1000))
def test_the_quadratic_mse_is_the_exact_mse_on_data_of_any_magnitude(
        data: tuple[np.ndarray, np.ndarray], b: float, nudge: float, seed: int) -> None:
    x, y = data
    w = least_squares(x, y)[1] + nudge * np.random.RandomState(seed).randn(x.shape[1])
    exact = _exact_mse(x, y, b, w)
    ours = float(QuadraticMSE.of(x, y)(b, w))
    scale = max(abs(b), float(np.abs(x).max() * np.abs(w).max()), float(np.abs(y).max()))
    assert abs(ours - exact) <= 1e-10 * exact + 1e-14 * scale * np.sqrt(exact) + (1e-14 * scale) ** 2


def test_a_perfect_line_through_large_numbers_has_a_closed_form_mse_of_almost_zero(ip) -> None:  # type: ignore[no-untyped-def]
    x = 1e9 + np.arange(100.0)
    ip.user_ns.update(big_x=x, big_y=2 * x)
    try:
        result = ip.run_line_magic("linreg", "--data user --x big_x --y big_y --stage numpy "
                                   "--epochs 1 --show params")
    finally:
        del ip.user_ns["big_x"], ip.user_ns["big_y"]
    # the answer's own rounding (b within a float step of 2e9) leaves about 1e-28, not 1024
    assert result.reference.train_loss < 1e-20 and (result.reference.val_loss or 0) < 1e-20
    assert result.reference.coef == pytest.approx((2.0,), rel=1e-12)
    assert result.reference.intercept == pytest.approx(0.0, abs=1e-3)
    mse = QuadraticMSE.of(result.data.x_train, result.data.y_train)
    assert mse(1.0, np.array([2.0])) == pytest.approx(1.0, rel=1e-9)  # the line shifted by 1
    assert mse(0.0, np.array([2.0 + 1e-9])) == pytest.approx(float(np.mean((1e-9 * x) ** 2)), rel=1e-6)


@EXAMPLES
@given(data=regression_data())
def test_the_closed_form_is_scikit_learns_to_1e_10(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = data
    intercept, coef = least_squares(x, y)
    fit = LinearRegression().fit(x, y)
    slopes = np.ravel(fit.coef_)
    scale = np.abs(slopes).max() + float(y.std()) / float(x.std(axis=0).min())
    np.testing.assert_allclose(coef, slopes, rtol=0, atol=1e-10 * scale)
    level = abs(float(fit.intercept_[0])) + float(np.abs(x.mean(axis=0) @ slopes)) + float(np.abs(y).mean())
    assert intercept == pytest.approx(float(fit.intercept_[0]), rel=0, abs=1e-10 * level)


def test_a_constant_or_repeated_feature_gets_scikit_learns_minimum_norm_answer() -> None:
    rs = np.random.RandomState(3)
    a = rs.rand(50)
    x = np.column_stack([a, np.full(50, 4.0), 2 * a])
    y = (1 + 3 * a + 0.1 * rs.randn(50)).reshape(-1, 1)
    intercept, coef = least_squares(x, y)
    fit = LinearRegression().fit(x, y)
    np.testing.assert_allclose(coef, np.ravel(fit.coef_), atol=1e-10)
    assert intercept == pytest.approx(float(fit.intercept_[0]), abs=1e-10)
    quadratic = QuadraticMSE.of(x, y)
    assert quadratic.minimum[0] == pytest.approx(intercept, abs=1e-9)
    np.testing.assert_allclose(quadratic.minimum[1], coef, atol=1e-9)


def test_the_books_closed_form_and_a_first_run_need_no_scikit_learn() -> None:
    script = ("import sys, linreg_magic\n"
              "r = linreg_magic.run(stage='module', device='cpu', epochs=3)\n"
              "print(r.reference.intercept, r.reference.coef[0], 'sklearn' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    intercept, slope, imported = out.stdout.splitlines()[-1].split()  # after the stage's print
    assert float(intercept) == pytest.approx(1.02354075, abs=1e-8)
    assert float(slope) == pytest.approx(1.96896447, abs=1e-8)
    assert imported == "False"


def _user_data(x: np.ndarray, y: np.ndarray, **options: object) -> Dataset:
    return make_data(Options(data="user", x="x", y="y", **options), namespace={"x": x, "y": y})


def test_the_closed_form_is_worked_out_again_when_data_differ_anywhere() -> None:
    rs = np.random.RandomState(0)
    x = rs.randint(0, 100, 20_000).astype(float)
    y = 1 + 2 * x + rs.randint(-3, 4, 20_000)
    first = _user_data(x, y)
    assert reference(first).coef[0] == pytest.approx(2.0, abs=0.01)
    # the same shape, the same (exact, integer) sums and every 4th row the same; the
    # rest of y shuffled: a fingerprint of a sample of the rows cannot tell them apart
    shuffled = y.copy()
    others = np.flatnonzero(np.arange(20_000) % 4)
    shuffled[others] = y[rs.permutation(others)]
    second = _user_data(x, shuffled)
    assert second.y.sum() == first.y.sum()
    fit = LinearRegression().fit(second.x_train, second.y_train)
    assert reference(second).coef[0] == pytest.approx(float(fit.coef_[0, 0]), abs=1e-10)
    assert reference(second).coef[0] < 1.0


@pytest.mark.parametrize("split", [0.5, 0.1, 0.0])
def test_the_closed_form_follows_the_validation_split(split: float) -> None:
    default = linreg_magic.run(stage="numpy", epochs=1)
    other = linreg_magic.run(stage="numpy", epochs=1, val_split=split)
    fit = LinearRegression().fit(other.data.x_train, other.data.y_train)
    assert other.reference.intercept == pytest.approx(float(fit.intercept_[0]), abs=1e-12)
    assert other.reference.coef[0] == pytest.approx(float(fit.coef_[0, 0]), abs=1e-12)
    assert other.reference.coef != default.reference.coef
    assert (other.reference.val_loss is None) == (split == 0.0)


@pytest.mark.parametrize(("changes", "book"), [
    ({}, True),
    ({"true_w": (2.0,)}, True),  # the book's slope, given explicitly
    ({"device": "cpu"}, True),
    ({"lr": 0.2}, False),
    ({"epochs": 999}, False),
    ({"seed": 1}, False),
    ({"n": 101}, False),
    ({"val_split": 0.3}, False),
    ({"scale": "standard"}, False),
    ({"data": "diabetes"}, False),
])
def test_the_book_column_is_shown_on_the_books_run_only(changes: dict[str, object], book: bool) -> None:
    result = linreg_magic.run(stage="optimizer", **{"device": "cpu", **changes})
    assert (result.book == (1.0235, 1.9690)) is book
    assert book or result.book is None
