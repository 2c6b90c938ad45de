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


_MOSTLY_WITHOUT_GRAD = '''
import pathlib, time, torch
from linreg_magic import Stage, register_stage
from linreg_magic.stages import autograd

def mostly_without_grad(x_train_tensor, y_train_tensor, b, w, lr, n_epochs, tracker):
    pathlib.Path({started!r}).touch()
    for epoch in range(n_epochs):
        loss = ((b + w * x_train_tensor - y_train_tensor) ** 2).mean()
        loss.backward()
        torch.set_grad_enabled(False)  # what `with torch.no_grad():` does first
        time.sleep(0.002)  # most of the epoch: a Ctrl-C lands here nearly always
        b -= lr * b.grad
        w -= lr * w.grad
        torch.set_grad_enabled(True)
        b.grad.zero_()
        w.grad.zero_()
        tracker.log(loss, b=b, w=w)
    return dict(b=b, w=w)

register_stage(Stage(name="mostly-without-grad", title="grad off most of the time",
                     summary="for tests", data_preparation=autograd.data_preparation,
                     model_configuration=autograd.model_configuration,
                     model_training=mostly_without_grad, order=35, returns="bw"))
'''


def _printed(kc, code: str) -> str:  # type: ignore[no-untyped-def]
    """What ``code`` prints in the kernel (its reply must be ok)."""
    printed: list[str] = []
    reply = kc.execute_interactive(code, timeout=60,
                                   output_hook=lambda m: printed.append(m["content"].get("text", "")))
    assert reply["content"]["status"] == "ok"
    return "".join(printed)


def test_a_real_ctrl_c_in_a_kernel_leaves_autograd_on_and_the_session_working(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import time

    from jupyter_client.manager import start_new_kernel

    started = tmp_path / "started"
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        assert kc.execute_interactive("%load_ext linreg_magic\n" + _MOSTLY_WITHOUT_GRAD.format(
            started=str(started)), timeout=120)["content"]["status"] == "ok"
        for _ in range(3):
            started.unlink(missing_ok=True)
            msg_id = kc.execute("%linreg --stage mostly-without-grad --device cpu --epochs 100000 "
                                "--show params")
            deadline = time.monotonic() + 120
            while not started.exists():  # training has begun: now Ctrl-C (Jupyter's stop button)
                assert time.monotonic() < deadline
                time.sleep(0.05)
            km.interrupt_kernel()
            assert kc.get_shell_msg(timeout=120)["parent_header"]["msg_id"] == msg_id
            printed = _printed(kc, "print(torch.is_grad_enabled(), _.stopped.kind.name, "
                                   "_.epochs < 100000)")
            assert printed.split() == ["True", "INTERRUPTED", "True"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
