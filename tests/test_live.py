"""Live training: a progress bar and a figure updated in place through display handles."""

from __future__ import annotations

import numpy as np
import pytest
from IPython.utils.capture import capture_output

from linreg_magic.engine import LiveFrame, run_options
from linreg_magic.live import LiveView, live_wanted, progress_bundle
from linreg_magic.options import Options


def _display_id(output) -> str | None:  # type: ignore[no-untyped-def]
    return (output.transient or {}).get("display_id")


def test_a_long_run_updates_one_bar_and_one_figure_in_place(run_cell_outputs) -> None:  # type: ignore[no-untyped-def]
    result, captured = run_cell_outputs("--stage module --device cpu --epochs 12000 --live on "
                                        "--show params,fit,loss")
    live = [o for o in captured.outputs if _display_id(o)]
    first_bar, first_figure = live[0], live[1]
    assert not first_bar.update and not first_figure.update
    assert "<progress" in first_bar.data["text/html"] and "epoch" in first_bar.data["text/plain"]
    assert "image/png" in first_figure.data
    updates = live[2:]
    assert len(updates) >= 3  # at least one more frame, then the end
    ids = {_display_id(first_bar), _display_id(first_figure)}
    assert len(ids) == 2 and {_display_id(o) for o in updates} <= ids
    assert all(o.update for o in updates)
    finished_bar = [o for o in updates if _display_id(o) == _display_id(first_bar)][-1]
    assert finished_bar.data["text/plain"].startswith("done: 12,000 epochs in")
    emptied = [o for o in updates if _display_id(o) == _display_id(first_figure)][-1]
    assert emptied.data == {"text/html": "", "text/plain": ""}
    # the final figures are ordinary outputs after the live ones, so they stay in the notebook
    final = [o for o in captured.outputs if not _display_id(o)]
    assert any("image/png" in o.data for o in final)
    assert result.epochs == 12000


def test_a_short_run_shows_no_live_output(run_cell_outputs) -> None:  # type: ignore[no-untyped-def]
    _, captured = run_cell_outputs("--stage module --device cpu --live on --show params")
    assert not [o for o in captured.outputs if _display_id(o)]


def test_live_off_shows_nothing_live(run_cell_outputs) -> None:  # type: ignore[no-untyped-def]
    _, captured = run_cell_outputs("--stage module --device cpu --epochs 8000 --live off --show params")
    assert not [o for o in captured.outputs if _display_id(o)]


def test_auto_is_live_in_a_kernel_only(ip) -> None:  # type: ignore[no-untyped-def]
    assert live_wanted("on") and not live_wanted("off")
    assert not live_wanted("auto")  # the test shell is a terminal-like shell, not a kernel


def test_frames_carry_the_current_line_and_losses_so_far() -> None:
    frames: list[LiveFrame] = []
    result = run_options(Options(stage="nested", device="cpu", epochs=8000), live=frames.append)
    assert frames, "an 8000-epoch run lasts longer than the tracker's interval"
    for frame in frames:
        assert 0 < frame.epoch <= 8000 and len(frame.losses) == frame.epoch
        np.testing.assert_allclose(frame.losses, result.losses[: frame.epoch])
        assert frame.intercept == pytest.approx(result.intercept_path[frame.epoch], abs=1e-6)
        assert frame.coef[0] == pytest.approx(result.coef_path[frame.epoch, 0], abs=1e-6)


def test_the_bar_reads_well_as_text() -> None:
    frame = LiveFrame("module", 250, 1000, 0.5, np.array([0.5, 0.25]), 1.0, np.array([2.0]), None)  # type: ignore[arg-type]
    text = progress_bundle(frame)["text/plain"]
    assert text.startswith("[#######.......................] 25% epoch 250/1,000 · loss 0.25 · 0.5 s")
    assert "about 2 s left" in text


def test_closing_a_view_that_never_showed_publishes_nothing() -> None:
    view = LiveView()
    with capture_output() as captured:
        view.close(10, 0.1)
    assert captured.outputs == []


@pytest.mark.notebook
def test_in_a_real_kernel_a_long_run_is_live_and_the_saved_notebook_keeps_the_final_views(
        tmp_path) -> None:  # type: ignore[no-untyped-def]
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%load_ext linreg_magic"),
                nbformat.v4.new_code_cell("%linreg --stage module --device cpu --epochs 40000 "
                                          "--show params,fit,loss")]
    NotebookClient(nb, kernel_name="python3", timeout=300,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[1].outputs
    assert not [o for o in outputs if o.output_type == "error"]
    displays = [o for o in outputs if o.output_type == "display_data"]
    # the bar, ended; the live figure, emptied in place; then the run's own outputs
    assert displays[0].data["text/plain"].startswith("done: 40,000 epochs in")
    assert displays[1].data == {"text/html": "", "text/plain": ""}
    final = displays[2:]
    assert [sorted(o.data) for o in final] == [["text/html", "text/plain"]] * 2 + [
        ["image/png", "text/plain"]]
