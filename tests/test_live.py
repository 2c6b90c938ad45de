"""Live training: a progress bar and a figure updated in place through display handles,
and one progress line in a terminal.

Whether a run lasts long enough to show anything must not depend on the machine's
speed or load: the long runs here are a registered stage that waits a little every
epoch, so they last at least that long (load only makes them longer), and the short
ones are a few epochs.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from IPython.utils.capture import capture_output

from linreg_magic import unregister_stage
from linreg_magic.engine import LiveFrame, run_options
from linreg_magic.live import LiveView, live_wanted, progress_bundle
from linreg_magic.options import Options

#: A stage that waits this long every epoch: 600 epochs last at least 1.2 s anywhere.
SLOW_EPOCH_S = 0.002

SLOW_STAGE = f"""
import time
from linreg_magic import register_stage
from linreg_magic.stage import Stage
from linreg_magic.stages import numpy_gd

def model_training(x_train, y_train, b, w, lr, n_epochs, tracker):
    for _ in range(n_epochs):
        time.sleep({SLOW_EPOCH_S})
        error = b + w * x_train - y_train
        loss = (error ** 2).mean()
        b, w = b - lr * 2 * error.mean(), w - lr * 2 * (x_train * error).mean()
        tracker.log(loss, b=b, w=w)
    return {{"b": b, "w": w}}

register_stage(Stage(name="slow", title="Slow", summary="numpy, a little wait every epoch",
                     model_configuration=numpy_gd.model_configuration, model_training=model_training,
                     order=95, uses_torch=False, returns="bw"), replace=True)
"""


@pytest.fixture
def slow_stage() -> Iterator[str]:
    """The ``slow`` stage, registered for the test."""
    exec(compile(SLOW_STAGE, "<slow stage>", "exec"), {})
    try:
        yield "slow"
    finally:
        unregister_stage("slow")


def _display_id(output) -> str | None:  # type: ignore[no-untyped-def]
    return (output.transient or {}).get("display_id")


def test_a_long_run_updates_one_bar_and_one_figure_in_place(run_cell_outputs, slow_stage) -> None:  # type: ignore[no-untyped-def]
    result, captured = run_cell_outputs(f"--stage {slow_stage} --epochs 600 --live on --show params,fit,loss")
    live = [o for o in captured.outputs if _display_id(o)]
    first_bar, first_figure = live[0], live[1]
    assert not first_bar.update and not first_figure.update
    assert "<progress" in first_bar.data["text/html"] and "epoch" in first_bar.data["text/plain"]
    assert "image/png" in first_figure.data
    updates = live[2:]
    assert len(updates) >= 2  # the end: the bar says so and the figure is emptied
    ids = {_display_id(first_bar), _display_id(first_figure)}
    assert len(ids) == 2 and {_display_id(o) for o in updates} <= ids
    assert all(o.update for o in updates)
    finished_bar = [o for o in updates if _display_id(o) == _display_id(first_bar)][-1]
    assert finished_bar.data["text/plain"].startswith("done: 600 epochs in")
    emptied = [o for o in updates if _display_id(o) == _display_id(first_figure)][-1]
    assert emptied.data == {"text/html": "", "text/plain": ""}
    # the final figures are ordinary outputs after the live ones, so they stay in the notebook
    final = [o for o in captured.outputs if not _display_id(o)]
    assert any("image/png" in o.data for o in final)
    assert result.epochs == 600


def test_a_short_run_shows_no_live_output(run_cell_outputs) -> None:  # type: ignore[no-untyped-def]
    _, captured = run_cell_outputs("--stage module --device cpu --epochs 3 --live on --show params")
    assert not [o for o in captured.outputs if _display_id(o)]


def test_live_off_shows_nothing_live(run_cell_outputs) -> None:  # type: ignore[no-untyped-def]
    _, captured = run_cell_outputs("--stage module --device cpu --epochs 8000 --live off --show params")
    assert not [o for o in captured.outputs if _display_id(o)]


def test_auto_is_live_in_a_kernel_only(ip) -> None:  # type: ignore[no-untyped-def]
    assert live_wanted("on") and not live_wanted("off")
    assert not live_wanted("auto")  # the test shell is a terminal-like shell, not a kernel


def test_frames_carry_the_current_line_and_losses_so_far(slow_stage) -> None:  # type: ignore[no-untyped-def]
    frames: list[LiveFrame] = []
    result = run_options(Options(stage=slow_stage, epochs=600), live=frames.append)
    assert frames, "a run of at least 1.2 s lasts longer than the tracker's interval"
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
    nb.cells = [nbformat.v4.new_code_cell("%load_ext linreg_magic"), nbformat.v4.new_code_cell(SLOW_STAGE),
                nbformat.v4.new_code_cell("%linreg --stage slow --epochs 1000 --show params,fit,loss")]
    NotebookClient(nb, kernel_name="python3", timeout=300,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[2].outputs
    assert not [o for o in outputs if o.output_type == "error"]
    displays = [o for o in outputs if o.output_type == "display_data"]
    # the bar, ended; the live figure, emptied in place; then the run's own outputs
    assert displays[0].data["text/plain"].startswith("done: 1,000 epochs in")
    assert displays[1].data == {"text/html": "", "text/plain": ""}
    final = displays[2:]
    assert [sorted(o.data) for o in final] == [["text/html", "text/plain"]] * 2 + [
        ["image/png", "text/plain"]]


def test_in_a_terminal_ipython_a_long_run_redraws_one_progress_line(slow_stage) -> None:  # type: ignore[no-untyped-def]
    """A real terminal IPython in a pseudo-terminal: the progress line is redrawn with ``\\r``."""
    root = Path(__file__).resolve().parents[1]
    code = (SLOW_STAGE + "\nget_ipython().run_line_magic('load_ext', 'linreg_magic')\n"
            "get_ipython().run_line_magic('linreg', '--stage slow --epochs 1000 --show params')\n")
    script = Path(os.environ.get("TMPDIR", "/tmp")) / f"linreg-terminal-{os.getpid()}.py"
    script.write_text(code)
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "MPLBACKEND": "Agg", "TERM": "dumb"}
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "IPython", "--no-banner", "--colors=NoColor",
                                 "--HistoryManager.hist_file=:memory:", str(script)],
                                stdin=follower, stdout=follower, stderr=follower, env=env, cwd=root)
        os.close(follower)
        out = b""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: IPython exited
                break
            if not chunk:
                break
            out += chunk
        proc.wait(timeout=30)
    finally:
        os.close(leader)
        script.unlink(missing_ok=True)
    text = out.decode("utf-8", "replace")
    assert proc.returncode == 0, text[-2000:]
    assert "\r[" in text and "% epoch " in text and "done: 1,000 epochs in" in text, text[-2000:]
    assert "parameter" in text  # then the table, as text
