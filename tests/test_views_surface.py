"""The loss surface: the path drawn is the run's, the minimum is the closed form's."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from linreg_magic import run
from linreg_magic.views import plot_surface
from linreg_magic.views.surface import path_rows


def _artist(ax, gid: str):  # type: ignore[no-untyped-def]
    return next(line for line in ax.get_lines() if line.get_gid() == gid)


@pytest.fixture(scope="module")
def autograd_result():  # type: ignore[no-untyped-def]
    return run(stage="autograd", device="cpu")


def test_the_path_drawn_is_the_recorded_b_and_w(autograd_result) -> None:  # type: ignore[no-untyped-def]
    ax = plot_surface(autograd_result)
    drawn = _artist(ax, "path").get_xydata()
    recorded = np.column_stack([autograd_result.path["b"][:, 0], autograd_result.path["w"][:, 0]])
    assert drawn.shape == (1001, 2)
    np.testing.assert_allclose(drawn, recorded, rtol=0, atol=0)


def test_a_module_s_path_is_its_parameters_too() -> None:
    result = run(stage="module", device="cpu", epochs=200)
    drawn = _artist(plot_surface(result), "path").get_xydata()
    np.testing.assert_allclose(drawn[:, 0], result.path["b"][:, 0], atol=1e-6)
    np.testing.assert_allclose(drawn[:, 1], result.path["w"][:, 0], atol=1e-6)


def test_the_contours_minimum_is_the_closed_form_answer(autograd_result) -> None:  # type: ignore[no-untyped-def]
    ax = plot_surface(autograd_result)
    data = autograd_result.data
    design = np.hstack([np.ones((len(data.x_train), 1)), data.x_train])
    (b, w), *_ = np.linalg.lstsq(design, data.y_train[:, 0], rcond=None)
    np.testing.assert_allclose(_artist(ax, "minimum").get_xydata()[0], [b, w], atol=1e-6)
    contours = next(c for c in ax.collections if c.get_gid() == "loss-surface")
    lowest_band = contours.get_paths()[0]
    assert lowest_band.contains_point((b, w))
    assert contours.levels[0] == pytest.approx(autograd_result.reference.train_loss, rel=1e-9)
    start = autograd_result.intercept_path[0], autograd_result.coef_path[0, 0]
    assert not lowest_band.contains_point(start)


def test_start_and_epoch_markers_sit_on_the_path(autograd_result) -> None:  # type: ignore[no-untyped-def]
    ax = plot_surface(autograd_result, epoch=25)
    r = autograd_result
    np.testing.assert_allclose(_artist(ax, "start").get_xydata()[0], [r.path["b"][0, 0], r.path["w"][0, 0]])
    np.testing.assert_allclose(_artist(ax, "epoch").get_xydata()[0],
                               [r.path["b"][25, 0], r.path["w"][25, 0]])


def test_the_window_encloses_the_whole_path(autograd_result) -> None:  # type: ignore[no-untyped-def]
    ax = plot_surface(autograd_result)
    (b_lo, b_hi), (w_lo, w_hi) = ax.get_xlim(), ax.get_ylim()
    b, w = autograd_result.intercept_path, autograd_result.coef_path[:, 0]
    assert b_lo < b.min() and b.max() < b_hi and w_lo < w.min() and w.max() < w_hi


def test_a_diverging_run_shows_the_path_leaving_the_plot() -> None:
    result = run(stage="autograd", device="cpu", lr=1.05, epochs=300)
    assert result.stopped is not None and result.stopped.text.startswith("diverged at epoch")
    ax = plot_surface(result)
    assert "diverging: the path leaves the plot at epoch" in ax.get_title()
    drawn = _artist(ax, "path").get_xydata()
    assert np.isfinite(drawn).all() and len(drawn) >= 4
    np.testing.assert_allclose(drawn, np.column_stack([result.path["b"][: len(drawn), 0],
                                                       result.path["w"][: len(drawn), 0]]))
    (b_lo, b_hi), (w_lo, w_hi) = ax.get_xlim(), ax.get_ylim()
    last = drawn[-1]
    assert not (b_lo <= last[0] <= b_hi and w_lo <= last[1] <= w_hi)  # it leaves the window
    distance = np.hypot(*(drawn - drawn[0]).T)
    assert distance[-1] > 3 * distance[1]  # and it got there by growing, step after step


def test_long_runs_draw_every_early_epoch_and_fewer_later() -> None:
    rows = path_rows(1_000_000)
    assert len(rows) <= 4000 and rows[0] == 0 and rows[-1] == 1_000_000
    assert (np.diff(rows[:200]) == 1).all()


def test_several_features_are_a_clear_value_error() -> None:
    result = run(stage="sequential", device="cpu", features=2, epochs=20)
    with pytest.raises(ValueError, match="one-feature models; this run has 2 features"):
        plot_surface(result)


def test_show_surface_in_the_shell_is_an_image_or_a_one_line_note(run_cell_outputs) -> None:  # type: ignore[no-untyped-def]
    figures_before = plt.get_fignums()
    _, captured = run_cell_outputs("--stage optimizer --device cpu --show surface")
    images = [o for o in captured.outputs if "image/png" in o.data]
    assert len(images) == 1 and "loss surface" in images[0].data["text/plain"]
    _, captured = run_cell_outputs("--stage sequential --device cpu --features 2 --epochs 10 --show surface")
    notes = [o.data["text/plain"] for o in captured.outputs if "Loss surface" in o.data["text/plain"]]
    assert notes == ["Loss surface: not drawn, the loss surface is drawn over (b, w) for one-feature "
                     "models; this run has 2 features."]
    assert plt.get_fignums() == figures_before


def test_moving_the_epoch_marker_is_the_same_as_drawing_at_that_epoch(autograd_result) -> None:  # type: ignore[no-untyped-def]
    from linreg_magic.views.surface import move_surface

    ax = plot_surface(autograd_result, epoch=3)
    moved = move_surface(ax, autograd_result, 40)
    np.testing.assert_allclose(_artist(ax, "epoch").get_xydata()[0],
                               [autograd_result.intercept_path[40], autograd_result.coef_path[40, 0]])
    assert "epoch 40" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert _artist(ax, "epoch") in moved and ax.get_legend() in moved


def test_a_kept_surface_replays_frames_that_match_a_fresh_drawing(autograd_result) -> None:  # type: ignore[no-untyped-def]
    import io

    from PIL import Image

    from linreg_magic.views.frames import kept_figure

    kept = kept_figure("surface")
    kept.draw(autograd_result)
    replayed = np.asarray(Image.open(io.BytesIO(kept.frame(25))), dtype=float)
    fresh = kept_figure("surface")
    fresh.draw(autograd_result, 25)
    drawn = np.asarray(Image.open(io.BytesIO(fresh.frame(25))), dtype=float)
    assert replayed.shape == drawn.shape == (fresh.css_width * 2, fresh.css_width * 2, 3)
    assert np.abs(replayed - drawn).mean() < 1.0
