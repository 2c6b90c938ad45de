"""The instructor widget, driven as a kernel would drive it: set control values,
click Run, and look at the figures and the numbers it produced."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from IPython.core.error import UsageError

from linreg_magic import LinregWidget, Options, available_stages, register_stage, unregister_stage
from linreg_magic.device import available_devices
from linreg_magic.stage import Stage
from linreg_magic.stages import numpy_gd
from linreg_magic.widgets import CONTROLS, TABS

PNG = b"\x89PNG\r\n\x1a\n"
NOTEBOOK = Path(__file__).parent / "notebooks" / "widget.ipynb"


@pytest.fixture(scope="module")
def widget() -> LinregWidget:
    """One widget on the numpy stage, shared by the tests that only read it."""
    return LinregWidget(stage="numpy")


def fitted_line(w: LinregWidget) -> tuple[np.ndarray, np.ndarray]:
    """The x and y of the fitted line in the fit figure (the line drawn last)."""
    line = w.figures["fit"].axes[0].lines[-1]
    return np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)


def test_importing_the_package_does_not_import_ipywidgets_or_torch() -> None:
    code = ("import sys, linreg_magic; assert 'LinregWidget' in linreg_magic.__all__; "
            "heavy = [m for m in ('ipywidgets', 'torch', 'matplotlib') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_widget_opens_with_the_figures_and_numbers_of_its_first_run(widget: LinregWidget) -> None:
    result = widget.result
    assert result is not None and widget.runs == 1 and widget.error is None
    assert (result.b, result.w) == pytest.approx((1.02354094, 1.96896411), abs=1e-7)
    for name in ("fit", "loss"):
        assert bytes(widget.views[name].value).startswith(PNG)
    xs, ys = fitted_line(widget)
    assert ys == pytest.approx(result.b + result.w * xs)
    assert "1.02354" in widget.summary.value and "numpy" in widget.summary.value
    assert "no graph to draw" in widget.views["graph"].value
    assert widget.scrubber.max == widget.scrubber.value == 1000
    assert [widget.tabs.get_title(i) for i in range(len(TABS))] == list(TABS)


def test_the_controls_are_built_from_the_option_declarations() -> None:
    w = LinregWidget(stage="numpy", lr=0.05, epochs=200, true_b=-1.5, true_w=[3.0], seed=7)
    controls = w.controls
    assert list(controls["stage"].options) == available_stages()
    assert list(controls["device"].options) == ["auto", *available_devices()]
    assert type(controls["lr"]).__name__ == "FloatLogSlider" and controls["lr"].value == 0.05
    assert (controls["epochs"].value, controls["true_b"].value, controls["true_w"].value) == (200, -1.5, 3.0)
    assert controls["seed"].value == 7
    assert controls["lr"].tooltip == "learning rate (the book's eta)"
    assert w.options == Options(stage="numpy", lr=0.05, epochs=200, true_b=-1.5, true_w=(3.0,), seed=7)
    assert w.result is not None and w.result.data.true_b == -1.5


def test_a_slider_starts_at_a_valid_value_outside_its_usual_range() -> None:
    w = LinregWidget(stage="numpy", epochs=8000, n=20_000, lr=2e-5)
    assert (w.controls["epochs"].value, w.controls["n"].value) == (8000, 20_000)
    assert w.controls["lr"].value == pytest.approx(2e-5)
    assert w.options == Options(stage="numpy", epochs=8000, n=20_000, lr=2e-5)


def test_changing_a_control_reruns_and_redraws() -> None:
    w = LinregWidget(stage="numpy")
    before = {name: bytes(w.views[name].value) for name in ("fit", "loss")}
    w.controls["lr"].value = 0.01
    assert w.wait(60)
    assert w.result is not None and w.result.options.lr == 0.01 and w.runs == 2
    assert w.result.b != pytest.approx(1.02354094, abs=1e-3)  # 1000 small steps stop short
    for name in ("fit", "loss"):
        assert bytes(w.views[name].value).startswith(PNG) and bytes(w.views[name].value) != before[name]
    xs, ys = fitted_line(w)
    assert ys == pytest.approx(w.result.b + w.result.w * xs)


def test_the_status_line_gives_the_magic_line_that_makes_the_same_run(ip: Any) -> None:
    w = LinregWidget(stage="numpy", device="cpu", epochs=300)
    w.controls["lr"].value = 0.0501187  # where a dragged log slider lands; it shows 0.0501
    w.controls["true_w"].value = 1.2000000000000002
    assert w.wait(60) and w.result is not None
    line = "%linreg --stage numpy --device cpu --epochs 300 --lr 0.0501 --true-w 1.2"
    assert f"same as: {line}<" in w.status.value
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
    w = LinregWidget(stage="sequential", features=3, epochs=50, controls=("features", "true_w", "run"))
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


def test_a_diverging_learning_rate_shows_where_the_run_stopped() -> None:
    w = LinregWidget(stage="numpy")
    w.controls["lr"].value = 5.0
    assert w.wait(60) and w.error is None and w.result is not None
    assert w.result.stopped is not None and "diverged" in w.summary.value
    assert w.scrubber.max == w.result.epochs < 1000
    assert bytes(w.views["fit"].value).startswith(PNG) and bytes(w.views["loss"].value).startswith(PNG)


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


def test_rapid_changes_run_only_the_newest_options(gated_stage: dict[str, Any]) -> None:
    w = LinregWidget(stage="gated", epochs=50)
    gated_stage["gate"].clear()
    gated_stage["entered"].clear()
    w.controls["lr"].value = 0.01  # starts a run that waits at the gate
    assert gated_stage["entered"].wait(30)
    for lr in (0.02, 0.03, 0.04, 0.05, 0.06, 0.07):  # a slider dragged during that run
        w.controls["lr"].value = lr
    assert w.busy
    gated_stage["gate"].set()
    assert w.wait(60)
    assert gated_stage["lrs"] == [0.1, 0.01, 0.07]
    assert w.result is not None and w.result.options.lr == 0.07 and w.runs == 3
    assert "same as: %linreg --stage gated --epochs 50 --lr 0.07<" in w.status.value


def test_a_run_stops_early_when_newer_options_are_waiting(gated_stage: dict[str, Any]) -> None:
    w = LinregWidget(stage="gated", epochs=10)
    gated_stage["gate"].clear()
    gated_stage["entered"].clear()
    w.controls["epochs"].value = 1_000_000  # long enough to be still running at its first check
    assert gated_stage["entered"].wait(30)
    w.controls["epochs"].value = 20
    time.sleep(0.3)  # past the tracker's first progress check (every 0.25 s), not a timing assertion
    gated_stage["gate"].set()
    assert w.wait(60)
    assert gated_stage["epochs_done"][1] < 1_000_000
    assert w.result is not None and w.result.epochs == 20 and w.runs == 2


def test_the_epoch_scrubber_replays_the_fit_without_training_again() -> None:
    w = LinregWidget(stage="numpy")
    result, last = w.result, bytes(w.views["fit"].value)
    assert result is not None
    w.scrubber.value = 0
    assert w.wait(60)
    assert w.result is result and w.runs == 1
    xs, ys = fitted_line(w)
    assert ys == pytest.approx(result.intercept_path[0] + result.coef_path[0, 0] * xs)
    assert "after epoch 0" in w.figures["fit"].axes[0].get_title()
    assert bytes(w.views["fit"].value) != last
    w.scrubber.value = 1000
    assert w.wait(60) and bytes(w.views["fit"].value) == last


def test_the_epoch_scrubber_moves_the_point_on_the_loss_surface() -> None:
    w = LinregWidget(stage="numpy")
    last = bytes(w.views["surface"].value)
    assert last.startswith(PNG)
    assert not [line for line in w.figures["surface"].axes[0].lines if line.get_gid() == "epoch"]
    w.scrubber.value = 5
    assert w.wait(60)
    assert bytes(w.views["surface"].value).startswith(PNG) and bytes(w.views["surface"].value) != last
    [point] = [line for line in w.figures["surface"].axes[0].lines if line.get_gid() == "epoch"]
    result = w.result
    assert result is not None
    assert (point.get_xdata()[0], point.get_ydata()[0]) == (result.intercept_path[5], result.coef_path[5, 0])


def test_options_that_do_not_fit_together_show_one_line_and_keep_the_last_result() -> None:
    w = LinregWidget(stage="module", device="cpu", epochs=20)
    result = w.result
    w.controls["features"].value = 3
    assert w.wait(60)
    assert type(w.error) is UsageError and w.result is result
    assert "--features applies to stages" in w.status.value and "\n" not in w.status.value
    w.controls["features"].value = 1
    assert w.wait(60) and w.error is None and "same as: %linreg" in w.status.value and w.runs == 2


def test_the_constructor_chooses_the_controls_shown_and_locked() -> None:
    w = LinregWidget(stage="numpy", controls=("lr", "epochs", "run"), lock=("epochs", "run"),
                     tabs=("fit", "code"), tab="code")
    panel = w.children[2].children[0].children
    assert list(panel) == [w.controls["lr"], w.controls["epochs"], w.run_button]
    assert w.controls["epochs"].disabled and w.run_button.disabled and not w.controls["lr"].disabled
    assert w.scrubber not in w.children[2].children[1].children
    assert list(w.views) == ["fit", "code"] and w.tabs.selected_index == 1
    assert set(CONTROLS) <= {*w.controls, "run", "epoch"}


def test_an_unknown_control_name_is_one_usage_error() -> None:
    with pytest.raises(UsageError) as info:
        LinregWidget(stage="numpy", controls=("lr", "learning_rate"))
    assert type(info.value) is UsageError
    assert str(info.value).startswith("Unknown control 'learning_rate'. Valid controls are stage, device")


def test_a_bad_option_in_the_constructor_is_one_usage_error() -> None:
    with pytest.raises(UsageError, match=r"^--lr got -1\. Valid values are a number > 0"):
        LinregWidget(stage="numpy", lr=-1)


def test_a_preset_saves_and_loads_the_whole_state(tmp_path: Path) -> None:
    w = LinregWidget(stage="numpy", epochs=300, controls=("lr", "epochs", "run"), lock=("epochs",),
                     tabs=("fit", "loss"), auto=False)
    w.controls["lr"].value = 0.2
    w.tabs.selected_index = 1
    path = tmp_path / "lecture.json"
    w.save(path)
    saved = json.loads(path.read_text())
    assert saved["options"]["lr"] == 0.2 and saved["tab"] == "loss" and saved["lock"] == ["epochs"]
    assert saved["controls"] == ["lr", "epochs", "run"]
    again = LinregWidget.load(path)
    assert again.options == w.options == Options(stage="numpy", epochs=300, lr=0.2)
    assert again.to_json() == w.to_json()
    assert (again.shown, again.locked, again.auto) == (w.shown, w.locked, False)
    assert again.result is not None and again.result.options.lr == 0.2
    assert LinregWidget.load(path, lr=0.05).options.lr == 0.05


def test_a_file_that_is_not_a_preset_is_one_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"lr": 0.1}')
    with pytest.raises(UsageError, match=r"^The preset is not a linreg_magic widget preset\. "):
        LinregWidget.load(path)
    with pytest.raises(UsageError, match=r"^Cannot read the preset"):
        LinregWidget.load(tmp_path / "missing.json")


def test_the_magic_shows_the_widget_with_the_options_given(ip: Any, tmp_path: Path) -> None:
    w = ip.run_line_magic("linreg", "widget --stage numpy --lr 0.05 --epochs 100")
    assert isinstance(w, LinregWidget)
    assert w.options == Options(stage="numpy", lr=0.05, epochs=100)
    path = tmp_path / "lecture.json"
    w.save(path)
    again = ip.run_line_magic("linreg", f"widget {path} --epochs 50")
    assert again.options == Options(stage="numpy", lr=0.05, epochs=50)
    with pytest.raises(UsageError, match=r"^widget takes at most one preset file"):
        ip.run_line_magic("linreg", "widget a.json b.json")


def test_the_output_carries_the_live_widget_and_a_static_copy_of_the_figures(widget: LinregWidget) -> None:
    bundle = widget._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == widget.model_id
    assert base64.b64decode(bundle["image/png"]).startswith(PNG)
    drawn = [name for name in ("fit", "loss", "surface") if bytes(widget.views[name].value)]
    assert drawn[:2] == ["fit", "loss"] and bundle["text/html"].count("<img") == len(drawn)
    assert "data:image/png;base64," in bundle["text/html"]
    assert bundle["text/plain"].startswith("LinregWidget: numpy")
    assert "1.02354094" in bundle["text/plain"]


def test_a_snapshot_is_a_static_copy_of_the_figures_shown_now() -> None:
    w = LinregWidget(stage="numpy")
    before = w.snapshot()._repr_html_()
    w.controls["epochs"].value = 5
    assert w.wait(60)
    after = w.snapshot()._repr_html_()
    drawn = [name for name in ("fit", "loss", "surface") if bytes(w.views[name].value)]
    assert after != before and after.count("data:image/png;base64,") == len(drawn) >= 2
    fit = base64.b64encode(bytes(w.views["fit"].value)).decode("ascii")
    assert fit in after and "5 epochs" in after


@pytest.mark.notebook
def test_an_executed_notebook_exported_to_html_shows_the_figures(tmp_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=180, resources={"metadata": {"path": str(tmp_path)}},
                   store_widget_state=True).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    shown = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(shown) == 1 and "<img" in shown[0].data["text/html"]
    model_id = shown[0].data["application/vnd.jupyter.widget-view+json"]["model_id"]
    state = nb.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    assert model_id in state
    pngs = [base64.b64decode(b["data"]) for m in state.values() if m["model_name"] == "ImageModel"
            for b in m.get("buffers", []) if b["path"] == ["value"]]
    assert sum(png.startswith(PNG) for png in pngs) >= 2  # the figures travel with the widget state

    exported, _ = HTMLExporter().from_notebook_node(nb)
    assert "application/vnd.jupyter.widget-state+json" in exported
    # Without saved widget state (JupyterLab's default when saving), the static copy is shown.
    del nb.metadata["widgets"]
    exported, _ = HTMLExporter().from_notebook_node(nb)
    assert "<img" in exported and "data:image/png;base64," in exported
    assert "Error displaying widget" not in exported
