"""Errors in the student's code, Ctrl-C and diverging runs: shown, and the session goes on."""

from __future__ import annotations

import os
import random
import signal
import textwrap
from collections.abc import Iterator

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import linreg_magic
from linreg_magic.result import Result
from linreg_magic.stage import Stage


def _texts(captured) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(o.data.get("text/plain", "") for o in captured.outputs)


def test_an_error_in_the_body_shows_a_traceback_of_the_cells_own_lines(run_cell_outputs) -> None:
    body = textwrap.dedent("""\
        def predict(x):
            return model(x) + undefined_offset

        yhat = predict(x_train_tensor)
    """)
    result, captured = run_cell_outputs("--stage module --device cpu", body)
    assert not result.verdict.passed  # the student's run is kept, with its verdict
    text = _texts(captured)
    assert ("Traceback (your code, most recent call last):\n"
            "  Cell line 5, in <module>\n"
            "    yhat = predict(x_train_tensor)\n"
            "  Cell line 3, in predict\n"
            "    return model(x) + undefined_offset\n"
            "NameError: name 'undefined_offset' is not defined") in text
    assert "site-packages" not in text and "linreg_magic" not in text


def test_frames_inside_torch_are_left_out_and_counted(run_cell_outputs) -> None:
    _, captured = run_cell_outputs("--stage module --device cpu", "loss = loss_fn(None, y_train_tensor)\n")
    text = _texts(captured)
    assert "  Cell line 2, in <module>\n    loss = loss_fn(None, y_train_tensor)\n" in text
    assert "frame(s) inside torch/numpy not shown" in text
    assert "torch/nn/" not in text


def test_a_syntax_error_points_at_the_cell_line(run_cell_outputs) -> None:
    result, captured = run_cell_outputs("--stage numpy", "x = 1\nfor i in range(3:\n    pass\n")
    assert result.result is None and not result.verdict.passed  # the checked run: its verdict
    assert "Cell line 3, in <cell>\n    for i in range(3:\nSyntaxError:" in _texts(captured)


def test_the_session_goes_on_after_an_error_in_the_body(ip, run_cell_outputs) -> None:
    run_cell_outputs("--stage autograd --device cpu", "raise ValueError('mine')\n")
    outcome = ip.run_cell("x_after = 1 + 1")
    assert outcome.success and ip.user_ns.pop("x_after") == 2
    result, _ = run_cell_outputs("--stage numpy --epochs 5")
    assert isinstance(result, Result)


@pytest.fixture
def user_state() -> Iterator[dict[str, object]]:
    """The global states a failed cell must leave alone, saved and compared after
    (the generators are put back as the test found them)."""
    found = (random.getstate(), np.random.get_state(), torch.random.get_rng_state())
    random.seed(11)
    np.random.seed(11)
    torch.manual_seed(11)
    fig = plt.figure()
    saved = {"random": random.getstate(), "numpy": np.random.get_state()[1].copy(),
             "torch": torch.random.get_rng_state().clone(), "rc": dict(matplotlib.rcParams),
             "figures": plt.get_fignums()}
    yield saved
    plt.close(fig)
    random.setstate(found[0])
    np.random.set_state(found[1])
    torch.random.set_rng_state(found[2])


def _assert_unchanged(saved: dict[str, object]) -> None:
    assert random.getstate() == saved["random"]
    assert np.array_equal(np.random.get_state()[1], saved["numpy"])  # type: ignore[arg-type]
    assert torch.equal(torch.random.get_rng_state(), saved["torch"])  # type: ignore[arg-type]
    assert dict(matplotlib.rcParams) == saved["rc"]
    assert plt.get_fignums() == saved["figures"]


def test_after_an_error_in_the_body_every_global_state_is_as_it_was(ip, run_cell_outputs,
                                                                   user_state) -> None:
    ip.user_ns["mine"] = [1, 2]
    body = textwrap.dedent("""\
        import random
        import matplotlib
        import matplotlib.pyplot as plt
        random.seed(0); np.random.seed(0); torch.manual_seed(0)
        matplotlib.rcParams["lines.linewidth"] = 9
        plt.figure(); plt.plot([1, 2])
        raise RuntimeError("half way")
    """)
    result, captured = run_cell_outputs("--stage module --device cpu", body)
    assert not result.verdict.passed and "RuntimeError: half way" in _texts(captured)
    _assert_unchanged(user_state)
    assert ip.user_ns.pop("mine") == [1, 2]


def test_after_a_usage_error_every_global_state_is_as_it_was(ip, user_state) -> None:
    from IPython.core.error import UsageError

    with pytest.raises(UsageError):
        ip.run_cell_magic("linreg", "--stage module --lr -1", "model = None\n")
    _assert_unchanged(user_state)


def test_ctrl_c_in_the_students_loop_shows_the_epochs_that_ran(ip, run_cell_outputs) -> None:
    body = textwrap.dedent("""\
        import signal
        losses = []
        for epoch in range(n_epochs):
            loss = loss_fn(model(x_train_tensor), y_train_tensor)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            if epoch == 11:
                signal.raise_signal(signal.SIGINT)  # what Ctrl-C (or Jupyter's stop button) sends
    """)
    result, captured = run_cell_outputs("--stage module --device cpu", body)
    assert isinstance(result, Result)
    assert result.stopped.text == "stopped at epoch 12 of 1000 (interrupted)"
    assert result.epochs == 12
    text = _texts(captured)
    assert "Your run was stopped at epoch 12 of 1000 (interrupted)" in text
    assert any("module · cpu" in line and "stopped at epoch 12" in line for line in text.splitlines())
    assert ip.run_cell("ok_after = True").success and ip.user_ns.pop("ok_after")


def _interrupting_training(x_train_tensor, y_train_tensor, model, optimizer, loss_fn,  # type: ignore[no-untyped-def]
                           n_epochs, tracker):
    for epoch in range(n_epochs):
        loss = loss_fn(model(x_train_tensor), y_train_tensor)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        tracker.log(loss, model)
        if epoch == 6:
            signal.raise_signal(signal.SIGINT)
    return dict(model=model, loss=loss)


@pytest.fixture
def interrupting_stage() -> Iterator[str]:
    from linreg_magic.stages import module

    stage = Stage(name="interrupted-module", title="module, stopped by Ctrl-C", summary="for tests",
                  data_preparation=module.data_preparation,
                  model_configuration=module.model_configuration,
                  model_training=_interrupting_training, order=65)
    linreg_magic.register_stage(stage, replace=True)
    yield stage.name
    linreg_magic.unregister_stage(stage.name)


def test_ctrl_c_in_the_reference_run_shows_the_epochs_that_ran(ip, run_cell_outputs,
                                                              interrupting_stage) -> None:
    result, captured = run_cell_outputs(f"--stage {interrupting_stage} --device cpu")
    assert isinstance(result, Result)
    assert result.stopped.text == "stopped at epoch 7 of 1000 (interrupted)"
    assert result.epochs == 7 and len(result.intercept_path) == 8
    assert f"{interrupting_stage} · cpu" in _texts(captured)
    assert "stopped at epoch 7" in captured.outputs[0].data["text/plain"]
    assert ip.run_cell("ok_after = True").success and ip.user_ns.pop("ok_after")


def test_ctrl_c_while_the_reference_runs_for_a_check_skips_the_students_code(run_cell_outputs,
                                                                            interrupting_stage) -> None:
    body = "import os\nos.environ['LINREG_TEST_STUDENT_RAN'] = '1'\n"
    result, captured = run_cell_outputs(f"--stage {interrupting_stage} --device cpu", body)
    assert result.result is None and not result.verdict.passed
    assert ("Interrupted while the reference ran (stopped at epoch 7 of 1000 (interrupted)); "
            "your code did not run") in _texts(captured)
    assert "LINREG_TEST_STUDENT_RAN" not in os.environ


@pytest.mark.parametrize(("stage", "lr", "epoch"), [("numpy", "1.5", 353), ("autograd", "2", 32),
                                                    ("sequential", "3", 24)])
def test_a_diverging_reference_run_stops_and_says_which_lr_would_work(ip, stage, lr, epoch) -> None:
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        result = ip.run_line_magic("linreg", f"--stage {stage} --device cpu --lr {lr}")
    assert result.stopped.text.startswith(f"diverged at epoch {epoch} (the loss became ")
    assert "the largest stable learning rate for this data" in result.stopped.text
    assert result.stopped.text.endswith("try --lr 0.5")
    assert len(result.losses) == epoch - 1 and np.all(np.isfinite(result.losses))
    assert f"diverged at epoch {epoch}" in captured.outputs[0].data["text/plain"]
    table = captured.outputs[1].data["text/plain"]
    assert "training MSE" in table and "e+" in table  # huge numbers stay short


def test_the_largest_stable_lr_is_where_gradient_descent_starts_to_diverge() -> None:
    from linreg_magic.data import make_data
    from linreg_magic.lr import largest_stable_lr
    from linreg_magic.options import Options

    limit = largest_stable_lr(make_data(Options()))
    assert linreg_magic.run(stage="numpy", lr=0.98 * limit, epochs=3000).stopped is None
    assert linreg_magic.run(stage="numpy", lr=1.1 * limit, epochs=3000).stopped.text.startswith("diverged")


def test_a_long_diverging_run_stops_long_before_its_last_epoch() -> None:
    from linreg_magic.engine import run_options
    from linreg_magic.options import Options

    trackers = []
    result = run_options(Options(stage="numpy", lr=1.5, epochs=1_000_000),
                         prepared=lambda ns: trackers.append(ns["tracker"]))
    assert result.stopped.text.startswith("diverged at epoch 353 ")
    assert trackers[0].epoch < 1_000_000  # stopped by the check, a few times a second


def test_sys_exit_in_a_students_cell_is_their_error_and_the_session_goes_on(ip):
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        ip.run_cell_magic("linreg", "--stage module --device cpu", "import sys\nsys.exit(0)\n")
    text = " ".join(o.data.get("text/plain", "") for o in captured.outputs)
    assert "SystemExit" in text
    assert ip.run_line_magic("linreg", "--stage numpy --epochs 3").stage == "numpy"


# -- what the engine reads from a stage's model ------------------------------------------

def _identity_configuration(seed):  # type: ignore[no-untyped-def]
    return dict(model=torch.nn.Identity())


def _two_outputs_configuration(seed):  # type: ignore[no-untyped-def]
    torch.manual_seed(seed)
    return dict(model=torch.nn.Linear(1, 2).double())


def _no_training(model, n_epochs, tracker):  # type: ignore[no-untyped-def]
    return dict(model=model)


@pytest.fixture(params=[(_identity_configuration, "`model` (Identity) has no parameters, so there "
                                                  "is nothing to learn"),
                        (_two_outputs_configuration, "`model` maps 2 rows of 1 feature(s) to shape "
                                                     "(2, 2)")],
                ids=["no parameters", "two outputs"])
def unreadable_model(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    configuration, message = request.param
    stage = Stage(name="unreadable", title="a model the engine cannot read", summary="for tests",
                  model_configuration=configuration, model_training=_no_training, order=66)
    linreg_magic.register_stage(stage, replace=True)
    yield stage.name, message
    linreg_magic.unregister_stage(stage.name)


def test_a_model_without_parameters_or_with_two_outputs_is_one_usage_error_line(
        ip, unreadable_model) -> None:  # type: ignore[no-untyped-def]
    from IPython.core.error import UsageError

    stage, message = unreadable_model
    with pytest.raises(UsageError) as caught:
        ip.run_line_magic("linreg", f"--stage {stage} --device cpu --epochs 2")
    assert type(caught.value) is UsageError and "\n" not in str(caught.value)
    assert str(caught.value).startswith(message)
