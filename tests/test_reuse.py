"""What a warm cell reuses (pictures, the kept figure, the graph render, the
closed-form reference) gives the same outputs as drawing everything afresh."""

from __future__ import annotations

import contextlib
import io

import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pytest

import linreg_magic
from linreg_magic.reference import reference
from linreg_magic.views import figure_png, graph_of, render_graph, result_figure
from linreg_magic.views.figures import result_png, sample


def _run(**options: object) -> linreg_magic.Result:
    options = {"epochs": 60, **options}
    with contextlib.redirect_stdout(io.StringIO()):
        return linreg_magic.run(stage="module", device="cpu", **options)


def _pixels(png: bytes) -> np.ndarray:
    return matplotlib.image.imread(io.BytesIO(png), format="png")


def test_the_same_result_drawn_twice_gives_the_same_png() -> None:
    first, second = _run(lr=0.1), _run(lr=0.1)
    assert result_png(first) == result_png(second)
    assert result_png(first)[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_redrawn_figure_shows_the_new_result_and_nothing_left_from_the_old_one() -> None:
    results = [_run(lr=lr) for lr in (0.05, 0.2, 0.07, 0.3, 0.11)]
    for result in results:
        reused = _pixels(result_png(result))
    fresh = _pixels(figure_png(result_figure(results[-1])))
    other = _pixels(figure_png(result_figure(results[-2])))
    assert reused.shape == fresh.shape
    # the kept figure keeps the first layout, so a few pixels may move; nothing piles up
    assert np.abs(reused - fresh).mean() < 0.01
    assert np.abs(reused - fresh).mean() < np.abs(other - fresh).mean()


def test_drawing_pictures_leaves_pyplot_alone() -> None:
    before = plt.get_fignums()
    result_png(_run(lr=0.13))
    assert plt.get_fignums() == before


@pytest.mark.parametrize("n", [10, 2000, 50_000, 3_000_000])
def test_a_sample_of_points_is_sorted_unique_bounded_and_repeatable(n: int) -> None:
    picked = sample(n)
    assert len(picked) == min(n, 2000)
    assert np.all(np.diff(picked) > 0) and picked[0] >= 0 and picked[-1] < n
    np.testing.assert_array_equal(picked, sample(n))


def test_the_fit_title_says_how_many_points_are_shown_of_a_large_data_set() -> None:
    from linreg_magic.views import plot_fit

    ax = plot_fit(_run(n=100_000, epochs=3))
    assert "showing 4,000 of 100,000 points" in ax.get_title()
    assert sum(len(c.get_offsets()) for c in ax.collections) == 4000


def test_the_reference_is_worked_out_once_per_data_set() -> None:
    a, b = _run(lr=0.1), _run(lr=0.2)
    assert reference(a.data) is reference(b.data)
    assert a.reference == b.reference
    c = _run(n=120)
    assert reference(c.data) is not reference(a.data)
    assert c.reference.intercept != a.reference.intercept


def test_the_graph_of_an_unchanged_model_is_rendered_once() -> None:
    first, second = _run(lr=0.1), _run(lr=0.2)
    dot_a, dot_b = graph_of(first), graph_of(second)
    assert dot_a is not None and dot_b is not None
    assert render_graph(dot_a) is render_graph(dot_b)


def test_above_a_million_points_the_normal_equations_give_sklearns_answer() -> None:
    from sklearn.linear_model import LinearRegression

    from linreg_magic.data import make_data
    from linreg_magic.options import Options
    from linreg_magic.reference import NORMAL_EQUATIONS_FROM

    data = make_data(Options(n=int(NORMAL_EQUATIONS_FROM / 0.8) + 10, features=2, noise=0.5))
    assert len(data.train_idx) >= NORMAL_EQUATIONS_FROM
    ours = reference(data)
    fit = LinearRegression().fit(data.x_train, data.y_train)
    assert ours.intercept == pytest.approx(float(fit.intercept_[0]), abs=1e-9)
    np.testing.assert_allclose(ours.coef, np.ravel(fit.coef_), atol=1e-9)
