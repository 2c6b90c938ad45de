"""One Ctrl-C stops the whole command and keeps what finished."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from IPython.utils.capture import capture_output

import linreg_magic
from linreg_magic.engine import run_ladder
from linreg_magic.options import Options
from linreg_magic.result import StopKind
from linreg_magic.stage import Stage
from linreg_magic.stages import numpy_gd


def _interrupting_training(x_train, y_train, b, w, lr, n_epochs, tracker):  # type: ignore[no-untyped-def]
    for epoch in range(n_epochs):
        error = b + w * x_train - y_train
        b = b - lr * 2 * error.mean()
        w = w - lr * 2 * (x_train * error).mean()
        tracker.log((error ** 2).mean(), b=b, w=w)
        if epoch == 2:
            signal.raise_signal(signal.SIGINT)  # what Ctrl-C sends
    return dict(b=b, w=w)


def _interrupting_preparation(x_train, y_train):  # type: ignore[no-untyped-def]
    raise KeyboardInterrupt


@pytest.fixture
def interrupting_stage() -> Iterator[str]:
    """A numpy stage between tensors and autograd in the ladder, stopped by Ctrl-C at epoch 3."""
    stage = Stage(name="ctrl-c", title="Ctrl-C at epoch 3", summary="for tests",
                  model_configuration=numpy_gd.model_configuration,
                  model_training=_interrupting_training, order=25, uses_torch=False, returns="bw")
    linreg_magic.register_stage(stage, replace=True)
    yield stage.name
    linreg_magic.unregister_stage(stage.name)


@pytest.fixture
def preparation_interrupted() -> Iterator[str]:
    stage = Stage(name="ctrl-c-early", title="Ctrl-C while preparing", summary="for tests",
                  data_preparation=_interrupting_preparation, model_training=_interrupting_training,
                  order=25, uses_torch=False, returns="bw")
    linreg_magic.register_stage(stage, replace=True)
    yield stage.name
    linreg_magic.unregister_stage(stage.name)


def test_ctrl_c_in_a_ladder_stops_it_and_keeps_the_finished_stages(interrupting_stage) -> None:  # type: ignore[no-untyped-def]
    results = run_ladder(Options(epochs=20, device="cpu"))
    assert [r.stage for r in results] == ["numpy", "tensors", interrupting_stage]
    assert [r.epochs for r in results] == [20, 20, 3]
    assert results[0].stopped is None and results[1].stopped is None
    stop = results[-1].stopped
    assert stop is not None and stop.kind is StopKind.INTERRUPTED and stop.epoch == 3


def test_ctrl_c_while_a_later_stage_prepares_keeps_the_finished_ones(preparation_interrupted) -> None:  # type: ignore[no-untyped-def]
    results = run_ladder(Options(epochs=20, device="cpu"))
    assert [r.stage for r in results] == ["numpy", "tensors"]


def test_ctrl_c_before_any_stage_finished_is_the_users_ctrl_c(preparation_interrupted) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(KeyboardInterrupt):
        run_ladder(Options(epochs=20, device="cpu"), stages=[preparation_interrupted, "module"])


def test_compare_stopped_by_ctrl_c_shows_what_finished_and_says_what_did_not_run(
        ip, interrupting_stage) -> None:  # type: ignore[no-untyped-def]
    with capture_output() as captured:
        results = ip.run_line_magic("linreg", "compare --epochs 20 --device cpu")
    assert [r.stage for r in results] == ["numpy", "tensors", interrupting_stage]
    texts = "\n".join(o.data.get("text/plain", "") for o in captured.outputs)
    assert "stopped at epoch 3 of 20 (interrupted)" in texts
    assert ("Stopped by Ctrl-C: autograd, optimizer, loss, module, nested, sequential not run."
            in texts)
    assert "Not run:" not in texts
