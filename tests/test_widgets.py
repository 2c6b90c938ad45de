"""The instructor widget, driven as a kernel would drive it: set control values,
type into the value boxes, click Run, move the scrubber, and look at the figures
and the numbers it produced."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from linreg_magic import LinregWidget, Options, available_stages, register_stage, unregister_stage
from linreg_magic.device import available_devices
from linreg_magic.stage import Stage
from linreg_magic.stages import numpy_gd
from linreg_magic.widgets import CONTROLS, TABS, magic_line
from linreg_magic.widgets.controls import ValueSlider

PNG = b"\x89PNG\r\n\x1a\n"
NOTEBOOK = Path(__file__).parent / "notebooks" / "widget.ipynb"


@pytest.fixture(scope="module")
def widget() -> LinregWidget:
    """One widget on the numpy stage, shared by the tests that only read it."""
    return LinregWidget(stage="numpy")


def fitted_line(w: LinregWidget) -> tuple[np.ndarray, np.ndarray]:
    """The x and y of the fitted line in the fit figure."""
    line = next(line for line in w.figures["fit"].axes[0].lines if line.get_gid() == "fit")
    return np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)


def open_tab(w: LinregWidget, name: str) -> None:
    w.tabs.selected_index = w.tab_names.index(name)
    assert w.wait(60)


def test_importing_the_package_does_not_import_ipywidgets_or_torch() -> None:
    code = ("import sys, linreg_magic; assert 'LinregWidget' in linreg_magic.__all__; "
            "heavy = [m for m in ('ipywidgets', 'torch', 'matplotlib') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_widget_opens_with_the_figure_and_numbers_of_its_first_run(widget: LinregWidget) -> None:
    result = widget.result
    assert result is not None and widget.runs == 1 and widget.error is None
    assert widget.ran_options == Options(stage="numpy")
    assert (result.b, result.w) == pytest.approx((1.02354094, 1.96896411), abs=1e-7)
    assert bytes(widget.views["fit"].value).startswith(PNG)
    xs, ys = fitted_line(widget)
    assert ys == pytest.approx(result.b + result.w * xs)
    assert "1.02354" in widget.summary.value and "numpy" in widget.summary.value
    assert widget.scrubber.max == widget.scrubber.value == widget.epoch == 1000
    assert [widget.tabs.get_title(i) for i in range(len(TABS))] == list(TABS)


def test_the_other_tabs_are_drawn_when_they_are_opened(widget: LinregWidget) -> None:
    for name in ("loss", "surface"):
        open_tab(widget, name)
        assert bytes(widget.views[name].value).startswith(PNG) and name in widget.figures
    open_tab(widget, "graph")
    assert "no graph to draw" in widget.views["graph"].value
    open_tab(widget, "code")
    assert "model_training" in widget.views["code"].value
    open_tab(widget, "fit")


def test_figures_are_crisp_on_high_dpi_screens_and_shown_at_their_css_size(widget: LinregWidget) -> None:
    import io

    from PIL import Image

    png = Image.open(io.BytesIO(bytes(widget.views["fit"].value)))
    css = int(widget.views["fit"].layout.width.removesuffix("px"))
    assert png.size[0] == 2 * css and widget.views["fit"].layout.max_width == "100%"
    sharper = LinregWidget(stage="numpy", epochs=5, pixel_ratio=3, tabs=("fit",))
    assert Image.open(io.BytesIO(bytes(sharper.views["fit"].value))).size[0] == 3 * css


def test_the_controls_are_built_from_the_option_declarations() -> None:
    w = LinregWidget(stage="numpy", lr=0.05, epochs=200, true_b=-1.5, true_w=[3.0], seed=7)
    controls = w.controls
    assert list(controls["stage"].options) == available_stages()
    assert list(controls["device"].options) == ["auto", *available_devices()]
    assert isinstance(controls["lr"], ValueSlider) and controls["lr"].value == 0.05
    assert (controls["epochs"].value, controls["true_b"].value, controls["true_w"].value) == (200, -1.5, 3.0)
    assert controls["seed"].value == 7
    assert controls["lr"].slider.tooltip == "learning rate (the book's eta)"
    assert w.options == Options(stage="numpy", lr=0.05, epochs=200, true_b=-1.5, true_w=(3.0,), seed=7)
    assert w.result is not None and w.result.data.true_b == -1.5


def test_a_slider_holds_exact_values_and_the_browser_only_moves_among_them() -> None:
    w = LinregWidget(stage="numpy", lr=0.05, epochs=10)
    lr = w.controls["lr"]
    assert lr.slider.options[lr.slider.index][0] == "0.05" and lr.text.value == "0.05"
    lr.slider.index = lr.values.index(0.5)  # what a drag sends: which value, never a number
    assert w.wait(60) and w.result is not None and w.result.options.lr == 0.5
    assert lr.text.value == "0.5" and "--lr 0.5<" in w.status.value
    lr.slider.index = lr.values.index(0.7)
    assert w.wait(60) and w.ran_options is not None and w.ran_options.lr == 0.7


def test_a_typed_value_is_kept_exactly_and_joins_the_slider() -> None:
    w = LinregWidget(stage="numpy", epochs=10)
    w.controls["lr"].text.value = "0.0123"
    assert w.wait(60) and w.result is not None and w.result.options.lr == 0.0123
    assert 0.0123 in w.controls["lr"].values and w.controls["lr"].value == 0.0123
    assert "same as: %linreg --stage numpy --epochs 10 --lr 0.0123<" in w.status.value


def test_a_typed_value_that_is_not_valid_is_one_line_and_runs_nothing() -> None:
    w = LinregWidget(stage="numpy", epochs=10)
    w.controls["lr"].text.value = "-3"
    assert w.wait(60) and w.runs == 1
    assert type(w.error) is UsageError and str(w.error).startswith("--lr got '-3'. Valid values are")
    assert w.controls["lr"].text.value == "0.1" and w.controls["lr"].value == 0.1
    assert "--lr got" in w.summary.value and "<table" not in w.summary.value


def test_a_slider_starts_at_a_valid_value_outside_its_usual_range() -> None:
    w = LinregWidget(stage="numpy", epochs=80_000, n=20_000, lr=2e-5)
    assert (w.controls["epochs"].value, w.controls["n"].value) == (80_000, 20_000)
    assert w.controls["lr"].value == 2e-5 and w.controls["lr"].values[0] == 2e-5
    assert w.options == Options(stage="numpy", epochs=80_000, n=20_000, lr=2e-5)


def test_changing_a_control_reruns_and_redraws() -> None:
    w = LinregWidget(stage="numpy")
    before = bytes(w.views["fit"].value)
    w.controls["lr"].value = 0.01
    assert w.wait(60)
    assert w.result is not None and w.result.options.lr == 0.01 and w.runs == 2
    assert w.result.b != pytest.approx(1.02354094, abs=1e-3)  # 1000 small steps stop short
    assert bytes(w.views["fit"].value).startswith(PNG) and bytes(w.views["fit"].value) != before
    xs, ys = fitted_line(w)
    assert ys == pytest.approx(w.result.b + w.result.w * xs)


def test_the_status_line_gives_the_magic_line_that_makes_the_same_run(ip: Any) -> None:
    w = LinregWidget(stage="numpy", device="cpu", epochs=300)
    w.controls["lr"].value = 0.05
    w.controls["true_w"].value = 1.2
    assert w.wait(60) and w.result is not None
    line = "%linreg --stage numpy --device cpu --epochs 300 --lr 0.05 --true-w 1.2"
    assert f"same as: {line}<" in w.status.value
    with capture_output():
        again = ip.run_line_magic("linreg", line.removeprefix("%linreg "))
    assert (again.b, again.w) == (w.result.b, w.result.w)


def test_the_true_line_follows_the_true_b_and_w_sliders() -> None:
    w = LinregWidget(stage="numpy")
    w.controls["true_b"].value = -2.0
    w.controls["true_w"].value = 0.5
    assert w.wait(60)
    assert w.options.true_b == -2.0 and w.options.true_w == (0.5,)
    assert w.result is not None and (w.result.b, w.result.w) == pytest.approx((-2.0, 0.5), abs=0.1)


def test_with_several_features_the_w_slider_sets_the_first_slope() -> None:
    w = LinregWidget(stage="sequential", features=3, epochs=50, controls=("features", "true_w", "run"),
                     tab="surface")
    assert w.controls["true_w"].value == 2.0 and w.options.true_w is None
    w.controls["true_w"].value = 1.0
    assert w.wait(60) and w.options.true_w == (1.0, -1.0, 0.5)
    w.controls["features"].value = 2
    assert w.wait(60) and w.options.true_w == (1.0, -1.0)
    assert w.result is not None and w.result.coef.shape == (2,) and w.result.data.true_w == (1.0, -1.0)
    assert w.views["surface"].value == b""
    assert "one-feature models only" in w.notes["surface"].value


def test_set_options_moves_the_controls_and_runs() -> None:
    w = LinregWidget(stage="numpy")
    w.set_options(stage="tensors", lr=0.05, epochs=30)
    assert (w.controls["stage"].value, w.controls["lr"].value, w.controls["epochs"].value) == (
        "tensors", 0.05, 30)
    assert w.wait(60) and w.result is not None
    assert (w.result.stage, w.result.options.lr, w.result.epochs, w.runs) == ("tensors", 0.05, 30, 2)


def test_a_diverging_learning_rate_shows_where_the_run_stopped_and_what_works() -> None:
    w = LinregWidget(stage="numpy")
    w.controls["lr"].value = 5.0
    assert w.wait(60) and w.error is None and w.result is not None
    assert w.result.stopped is not None and "diverged" in w.summary.value and "try --lr" in w.summary.value
    assert w.scrubber.max == w.result.epochs < 1000
    assert bytes(w.views["fit"].value).startswith(PNG)


def test_a_run_that_grows_without_blowing_up_carries_the_magics_warning() -> None:
    w = LinregWidget(stage="numpy", lr=0.9, epochs=60, n=30, seed=3)
    result = w.result
    assert result is not None and result.diverging and result.stopped is None
    assert "Diverging: the training loss grew" in w.summary.value


def test_the_notes_of_the_magic_show_in_the_widget() -> None:
    from linreg_magic.views import data_note

    slow = LinregWidget(stage="numpy", lr=0.01, epochs=50)
    assert slow.result is not None and "Not there yet" in data_note(slow.result)
    assert "Not there yet" in slow.summary.value
    scaled = LinregWidget(stage="numpy", data="diabetes", scale="standard", epochs=50)
    assert "Data: " in scaled.summary.value and "Scaling: " in scaled.summary.value


def test_without_auto_only_the_run_button_runs() -> None:
    w = LinregWidget(stage="numpy", auto=False)
    w.controls["epochs"].value = 10
    assert w.wait(60) and w.runs == 1 and w.result is not None and w.result.epochs == 1000
    w.run_button.click()
    assert w.wait(60)
    assert w.runs == 2 and w.result.epochs == 10 and w.scrubber.max == 10


@pytest.fixture
def gated_stage() -> Iterator[dict[str, Any]]:
    """A registered numpy stage whose training waits at a gate and notes its learning rate."""
    state: dict[str, Any] = {"lrs": [], "epochs_done": [], "entered": threading.Event(),
                             "gate": threading.Event()}
    state["gate"].set()

    def model_training(x_train, y_train, b, w, lr, n_epochs, tracker):  # type: ignore[no-untyped-def]
        state["lrs"].append(lr)
        state["entered"].set()
        assert state["gate"].wait(30), "the test never opened the gate"
        try:
            return numpy_gd.model_training(x_train, y_train, b, w, lr, n_epochs, tracker)
        finally:
            state["epochs_done"].append(tracker.epoch)

    register_stage(Stage(name="gated", title="Gated", summary="numpy, after a gate opens",
                         model_configuration=numpy_gd.model_configuration,
                         model_training=model_training, order=90, uses_torch=False, returns="bw"))
    try:
        yield state
    finally:
        state["gate"].set()
        unregister_stage("gated")


def _start_gated_run(w: LinregWidget, gated: dict[str, Any], **change: Any) -> None:
    gated["gate"].clear()
    gated["entered"].clear()
    (name, value), = change.items()
    w.controls[name].value = value
    assert gated["entered"].wait(30)


def test_rapid_changes_run_only_the_newest_options(gated_stage: dict[str, Any]) -> None:
    w = LinregWidget(stage="gated", epochs=50)
    _start_gated_run(w, gated_stage, lr=0.01)  # a run that waits at the gate
    for lr in (0.02, 0.03, 0.05, 0.07):  # a slider dragged during that run
        w.controls["lr"].value = lr
    assert w.busy
    gated_stage["gate"].set()
    assert w.wait(60)
    assert gated_stage["lrs"] == [0.1, 0.01, 0.07]
    assert w.result is not None and w.result.options.lr == 0.07 and w.runs == 2
    assert "same as: %linreg --stage gated --epochs 50 --lr 0.07<" in w.status.value


def test_a_run_stops_at_its_next_progress_report_when_newer_options_wait(
        gated_stage: dict[str, Any]) -> None:
    w = LinregWidget(stage="gated", epochs=10)
    _start_gated_run(w, gated_stage, epochs=1_000_000)
    w.controls["epochs"].value = 20  # waits: the run above stops when it next reports progress
    gated_stage["gate"].set()
    assert w.wait(60)
    assert gated_stage["epochs_done"][1] < 1_000_000
    assert w.result is not None and w.result.epochs == 20 and w.runs == 2


@pytest.mark.changes_session("random")  # the test is the user's cell: it seeds the generators
def test_a_cell_run_while_the_widget_trains_keeps_its_own_random_numbers(
        gated_stage: dict[str, Any]) -> None:
    import torch

    w = LinregWidget(stage="gated", epochs=20)
    np.random.seed(1)
    expected = np.random.rand(2)
    torch.manual_seed(5)
    expected_torch = torch.rand(2)
    _start_gated_run(w, gated_stage, lr=0.05)  # the worker is training now
    np.random.seed(1)  # the user's cell, meanwhile, on the kernel's thread
    first = np.random.rand()
    torch.manual_seed(5)
    first_torch = torch.rand(1)
    gated_stage["gate"].set()
    assert w.wait(60) and w.result is not None and w.result.options.lr == 0.05
    assert [first, np.random.rand()] == list(expected)  # the run's end restored nothing over it
    assert torch.equal(torch.cat([first_torch, torch.rand(1)]), expected_torch)


def test_the_epoch_scrubber_replays_the_fit_without_training_again() -> None:
    w = LinregWidget(stage="numpy")
    result, last = w.result, bytes(w.views["fit"].value)
    assert result is not None
    w.epoch = 0
    assert w.wait(60)
    assert w.result is result and w.runs == 1 and w.scrubber.value == 0
    xs, ys = fitted_line(w)
    assert ys == pytest.approx(result.intercept_path[0] + result.coef_path[0, 0] * xs)
    assert "after epoch 0" in w.figures["fit"].axes[0].get_title()
    legend = [t.get_text() for t in w.figures["fit"].axes[0].get_legend().get_texts()]
    assert f"fitted: y = {result.intercept_path[0]:.4f} + {result.coef_path[0, 0]:.4f}x" in legend
    assert bytes(w.views["fit"].value) != last
    w.epoch = 1000
    assert w.wait(60) and w.figures["fit"].axes[0].get_title() == "numpy: fit"


def test_a_replayed_frame_is_the_same_picture_as_a_full_drawing_of_that_epoch() -> None:
    import io

    from PIL import Image

    from linreg_magic.views.frames import kept_figure

    w = LinregWidget(stage="numpy", tabs=("fit",))
    w.epoch = 7
    assert w.wait(60) and w.result is not None
    fresh = kept_figure("fit")
    fresh.draw(w.result, 7)
    replayed = np.asarray(Image.open(io.BytesIO(bytes(w.views["fit"].value))), dtype=float)
    drawn = np.asarray(Image.open(io.BytesIO(fresh.frame(7))), dtype=float)
    assert replayed.shape == drawn.shape and np.abs(replayed - drawn).mean() < 1.0


def test_the_epoch_scrubber_moves_the_point_on_the_loss_surface() -> None:
    w = LinregWidget(stage="numpy", tab="surface")
    last = bytes(w.views["surface"].value)
    assert last.startswith(PNG)
    w.epoch = 5
    assert w.wait(60)
    assert bytes(w.views["surface"].value).startswith(PNG) and bytes(w.views["surface"].value) != last
    [point] = [line for line in w.figures["surface"].axes[0].lines if line.get_gid() == "epoch"]
    result = w.result
    assert result is not None
    assert (point.get_xdata()[0], point.get_ydata()[0]) == (result.intercept_path[5], result.coef_path[5, 0])


def test_options_that_do_not_fit_together_replace_the_table_with_one_line() -> None:
    w = LinregWidget(stage="module", device="cpu", epochs=20)
    result = w.result
    w.controls["features"].value = 3
    assert w.wait(60)
    assert type(w.error) is UsageError and w.result is result
    assert "--features applies to stages" in w.summary.value and "<table" not in w.summary.value
    assert "linreg-stale" in w.views["fit"]._dom_classes
    w.controls["features"].value = 1
    assert w.wait(60) and w.error is None and "same as: %linreg" in w.status.value and w.runs == 2
    assert "<table" in w.summary.value and "linreg-stale" not in w.views["fit"]._dom_classes


def test_the_constructor_chooses_the_controls_shown_and_locked() -> None:
    w = LinregWidget(stage="numpy", controls=("lr", "epochs", "run"), lock=("epochs", "run"),
                     tabs=("fit", "code"), tab="code")
    body = w.children[1]
    panel, figures, _info = body.children
    assert list(panel.children) == [w.controls["lr"], w.controls["epochs"], w.run_button]
    assert w.controls["epochs"].disabled and w.run_button.disabled and not w.controls["lr"].disabled
    assert w.scrubber not in figures.children
    assert list(w.views) == ["fit", "code"] and w.tabs.selected_index == 1
    assert set(CONTROLS) <= {*w.controls, "run", "epoch"}


@pytest.mark.parametrize(("keywords", "start"), [
    ({"controls": ("lr", "learning_rate")}, "Unknown control 'learning_rate'. Valid controls are stage"),
    ({"controls": 5}, "The controls must be names, got 5. Valid controls are stage"),
    ({"tab": 3}, "The tabs must be names, got 3. Valid tabs are fit, loss"),
    ({"tabs": ()}, "No tabs to show. Valid tabs are fit"),
    ({"lr": -1}, "--lr got -1. Valid values are a number > 0"),
])
def test_a_bad_constructor_argument_is_one_usage_error(keywords: dict[str, Any], start: str) -> None:
    with pytest.raises(UsageError) as info:
        LinregWidget(stage="numpy", **keywords)
    assert type(info.value) is UsageError and str(info.value).startswith(start)
    assert "\n" not in str(info.value)


def test_a_preset_saves_and_loads_the_whole_state(tmp_path: Path) -> None:
    w = LinregWidget(stage="numpy", epochs=300, controls=("lr", "epochs", "run"), lock=("epochs",),
                     tabs=("fit", "loss"), auto=False)
    w.controls["lr"].value = 0.2
    w.tabs.selected_index = 1
    path = tmp_path / "my lecture.json"  # a path with a space
    w.save(path)
    saved = json.loads(path.read_text())
    assert saved == w.preset() and saved["format"] == "linreg_magic.widget"
    assert saved["options"]["lr"] == 0.2 and saved["tab"] == "loss" and saved["lock"] == ["epochs"]
    assert saved["controls"] == ["lr", "epochs", "run"]
    again = LinregWidget.load(path)
    assert again.options == w.options == Options(stage="numpy", epochs=300, lr=0.2)
    assert again.to_json() == w.to_json()
    assert (again.shown, again.locked, again.auto, again.open_tab) == (w.shown, w.locked, False, "loss")
    assert again.result is not None and again.result.options.lr == 0.2
    assert LinregWidget.load(path, lr=0.05).options.lr == 0.05


BAD_PRESETS = [
    (b'{"lr": 0.1}', "The preset is not a linreg_magic widget preset. "),
    (b'{"format": "linreg_magic.widget", "options": null, "controls": 5}',
     "The preset's 'controls' is 5, not a list of control names. "),
    (b'{"format": "linreg_magic.widget", "tab": 3}', "The preset's 'tab' is 3, not a tab name. "),
    (b'{"format": "linreg_magic.widget", "options": [1]}', "The preset's 'options' is [1], not an object"),
    (b'{"format": "linreg_magic.widget", "options": {"lr": "fast"}}', "--lr got 'fast'. "),
    (b'{"format": "linreg_magic.widget", "lock": ["nothing"]}', "Unknown control 'nothing'. "),
    (b'{"format": "linreg_magic.widget", "version": 99}', "The preset has version 99, newer than"),
    (b"[" * 100_000 + b"]" * 100_000, "The preset is nested too deeply to read. "),
    (b"{not json", "The preset is not JSON ("),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "The preset 'preset.json' is not UTF-8 text. "),
    ('{"format": "linreg_magic.widget", "options": {"stage": "numpy"}} # é'.encode("latin-1"),
     "The preset 'preset.json' is not UTF-8 text. "),
]


@pytest.mark.parametrize(("content", "start"), BAD_PRESETS)
def test_a_file_that_is_not_a_good_preset_is_one_usage_error(tmp_path: Path, monkeypatch: Any,
                                                              content: bytes, start: str) -> None:
    monkeypatch.chdir(tmp_path)
    Path("preset.json").write_bytes(content)
    with pytest.raises(UsageError) as info:
        LinregWidget.load("preset.json")
    assert type(info.value) is UsageError and str(info.value).startswith(start), str(info.value)
    assert "\n" not in str(info.value)


def test_reading_or_writing_a_preset_where_no_file_can_be_is_one_usage_error(tmp_path: Path) -> None:
    w = LinregWidget(stage="numpy", epochs=5, tabs=("fit",))
    with pytest.raises(UsageError, match=r"^Cannot write the preset to .* \(Is a directory\)\. ") as info:
        w.save(tmp_path)
    assert type(info.value) is UsageError
    with pytest.raises(UsageError, match=r"^Cannot read the preset .*missing.json"):
        LinregWidget.load(tmp_path / "missing.json")
    with pytest.raises(UsageError, match=r"^Cannot read the preset .*\(Is a directory\)"):
        LinregWidget.load(tmp_path)


def test_the_magic_shows_the_widget_with_the_options_given(ip: Any, tmp_path: Path) -> None:
    w = ip.run_line_magic("linreg", "widget --stage numpy --lr 0.05 --epochs 100")
    assert isinstance(w, LinregWidget)
    assert w.options == Options(stage="numpy", lr=0.05, epochs=100)
    path = tmp_path / "my lecture.json"
    w.save(path)
    for named in (f'"{path}"', f"'{path}'", str(path)):  # quoted, or not, with a space in it
        again = ip.run_line_magic("linreg", f"widget {named} --epochs 50")
        assert again.options == Options(stage="numpy", lr=0.05, epochs=50)
    with pytest.raises(UsageError, match=r"^widget takes at most one preset file"):
        ip.run_line_magic("linreg", "widget a.json b.json")


def test_in_a_kernel_the_output_is_the_live_widget_and_a_copy_it_hides(widget: LinregWidget,
                                                                       ip: Any) -> None:
    from linreg_magic.widgets.static import COPY_CLASS

    ip.kernel = object()  # what a Jupyter kernel's shell has
    try:
        with capture_output() as captured:
            widget._ipython_display_()
    finally:
        del ip.kernel
    live, copy = captured.outputs
    assert live.data["application/vnd.jupyter.widget-view+json"]["model_id"] == widget.model_id
    text = live.data["text/plain"]
    assert text.startswith("LinregWidget: numpy") and "1.02354094" in text
    html = copy.data["text/html"]
    assert f"class='linreg-widget {COPY_CLASS}'" in html and html.count("data:image/png;base64,") == 3
    assert f".{COPY_CLASS} {{display: none}}" in widget.children[0].value  # the live widget hides it
    assert f".{COPY_CLASS}" not in html.split("<div")[0].replace(f"{COPY_CLASS}'", "")


def test_in_a_terminal_the_widget_is_its_numbers_as_text(widget: LinregWidget) -> None:
    with capture_output() as captured:
        widget._ipython_display_()
    [output] = captured.outputs
    assert output.data == {"text/plain": widget._text()}
    assert "parameter" in output.data["text/plain"]


def test_a_snapshot_is_a_static_copy_of_the_figures_shown_now() -> None:
    w = LinregWidget(stage="numpy")
    before = w.snapshot()._repr_html_()
    w.controls["epochs"].value = 5
    assert w.wait(60)
    after = w.snapshot()._repr_html_()
    assert after != before and after.count("data:image/png;base64,") == 3
    fit = base64.b64encode(bytes(w.views["fit"].value)).decode("ascii")
    assert fit in after and "5 epochs" in after and "display: none" not in after


def test_magic_line_writes_floats_as_they_read_back() -> None:
    assert magic_line(Options(stage="numpy", lr=0.05, true_w=(1.2,))) == (
        "%linreg --stage numpy --lr 0.05 --true-w 1.2")


@pytest.mark.notebook
def test_an_executed_notebook_exported_to_html_shows_the_figures_offline(tmp_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=180, resources={"metadata": {"path": str(tmp_path)}},
                   store_widget_state=True).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    live = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    copies = [o for o in outputs if "linreg-static-copy" in o.get("data", {}).get("text/html", "")]
    assert len(live) == 1 and len(copies) == 1
    state = nb.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    assert live[0].data["application/vnd.jupyter.widget-view+json"]["model_id"] in state
    for saved in (True, False):  # with the widget state (nbconvert --execute) and without (Lab's save)
        if not saved:
            del nb.metadata["widgets"]
        exported, _ = HTMLExporter().from_notebook_node(nb)
        copy = exported[re.search(r"linreg-static-copy['\"]", exported).start():]  # type: ignore[union-attr]
        assert copy.count("data:image/png;base64,") >= 3, saved
        assert "Error displaying widget" not in exported


def test_the_fit_holds_the_line_of_every_epoch_so_replaying_never_leaves_the_plot() -> None:
    w = LinregWidget(stage="numpy", lr=0.001, epochs=200, tabs=("fit",))
    result = w.result
    assert result is not None
    low, high = w.figures["fit"].axes[0].get_ylim()
    xs = np.array([result.data.x.min(), result.data.x.max()])
    for row in (0, 50, 200):
        line = result.intercept_path[row] + result.coef_path[row, 0] * xs
        assert low <= line.min() and line.max() <= high
