"""Every stage reproduces the book's numbers, through the Python API."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import linreg_magic
from linreg_magic.data import make_data
from linreg_magic.options import Options

TORCH_STAGES = ["tensors", "autograd", "optimizer", "loss", "module", "nested", "sequential"]
CUDA = pytest.mark.skipif(not torch.cuda.is_available(),
                          reason="needs a CUDA GPU: this machine's torch sees none")


@pytest.mark.changes_session("random")
def test_the_book_data_is_the_books():
    data = make_data(Options())
    assert data.x.shape == (100, 1)
    assert len(data.train_idx) == 80 and len(data.val_idx) == 20
    np.random.seed(42)
    x = np.random.rand(100, 1)
    y = 1 + 2 * x + .1 * np.random.randn(100, 1)
    idx = np.arange(100)
    np.random.shuffle(idx)
    np.testing.assert_array_equal(data.x, x)
    np.testing.assert_array_equal(data.y, y)
    np.testing.assert_array_equal(data.train_idx, idx[:80])


def test_numpy_stage_lands_on_the_books_numbers_to_1e_7():
    result = linreg_magic.run(stage="numpy")
    assert result.initial["b"][0] == pytest.approx(0.49671415, abs=1e-8)
    assert result.initial["w"][0] == pytest.approx(-0.1382643, abs=1e-7)
    assert result.b == pytest.approx(1.02354094, abs=1e-7)
    assert result.w == pytest.approx(1.96896411, abs=1e-7)
    assert result.device == "cpu"


def test_numpy_stage_first_gradients_match_a_hand_computation():
    result = linreg_magic.run(stage="numpy", epochs=1)
    data = result.data
    b0, w0 = 0.49671415, -0.1382643
    error = b0 + w0 * data.x_train - data.y_train
    b_grad, w_grad = 2 * error.mean(), 2 * (data.x_train * error).mean()
    assert result.b == pytest.approx(b0 - 0.1 * b_grad, abs=1e-7)
    assert result.w == pytest.approx(w0 - 0.1 * w_grad, abs=1e-7)
    assert result.losses[0] == pytest.approx((error ** 2).mean())


def test_sklearn_closed_form_is_the_books():
    result = linreg_magic.run(stage="numpy", epochs=1)
    assert result.reference.intercept == pytest.approx(1.02354075, abs=1e-8)
    assert result.reference.coef[0] == pytest.approx(1.96896447, abs=1e-8)


@pytest.mark.parametrize("stage", TORCH_STAGES)
def test_every_torch_stage_lands_on_the_books_numbers_on_cpu(stage):
    result = linreg_magic.run(stage=stage, device="cpu")
    assert result.b == pytest.approx(1.0235, abs=1e-4)
    assert result.w == pytest.approx(1.9690, abs=1e-4)
    assert result.train_loss == pytest.approx(0.00804, abs=1e-5)
    assert result.epochs == 1000
    assert result.book == (1.0235, 1.9690)


@pytest.mark.parametrize("stage", ["tensors", "autograd", "optimizer", "loss", "module"])
def test_b_w_stages_start_from_torch_seed_42(stage):
    result = linreg_magic.run(stage=stage, device="cpu", epochs=1)
    assert result.initial["b"][0] == pytest.approx(0.3367, abs=1e-4)
    assert result.initial["w"][0] == pytest.approx(0.1288, abs=1e-4)
    assert result.intercept_path[0] == pytest.approx(0.3367, abs=1e-4)


@pytest.mark.parametrize("stage", ["nested", "sequential"])
def test_linear_stages_start_from_the_books_linear_init(stage):
    result = linreg_magic.run(stage=stage, device="cpu", epochs=1)
    assert result.coef_path[0][0] == pytest.approx(0.7645, abs=1e-4)
    assert result.intercept_path[0] == pytest.approx(0.8300, abs=1e-4)


def test_autograd_first_gradients_equal_the_hand_written_ones():
    torch_result = linreg_magic.run(stage="autograd", device="cpu", epochs=1)
    hand_result = linreg_magic.run(stage="tensors", device="cpu", epochs=1)
    assert torch_result.b == pytest.approx(hand_result.b, abs=1e-6)
    assert torch_result.w == pytest.approx(hand_result.w, abs=1e-6)


def test_module_stage_names_its_parameters_like_the_book():
    result = linreg_magic.run(stage="module", device="cpu", epochs=3)
    assert list(result.params) == ["b", "w"]
    assert result.path["b"].shape == (4, 1)
    nested = linreg_magic.run(stage="nested", device="cpu", epochs=3)
    assert list(nested.params) == ["linear.weight", "linear.bias"]


def test_losses_and_path_are_recorded_every_epoch():
    result = linreg_magic.run(stage="optimizer", device="cpu", epochs=50)
    assert result.losses.shape == (50,) and result.val_losses.shape == (50,)
    assert result.intercept_path.shape == (51,) and result.coef_path.shape == (51, 1)
    assert np.all(np.diff(result.losses) < 0)
    # the recorded path is the parameters' actual values: its last row is the end point
    assert result.path["b"][-1, 0] == pytest.approx(result.b)


def test_validation_loss_is_the_mse_of_the_validation_points():
    result = linreg_magic.run(stage="numpy", epochs=10)
    data = result.data
    b, w = result.intercept_path[9], result.coef_path[9, 0]
    expected = ((b + w * data.x_val - data.y_val) ** 2).mean()
    assert result.val_losses[9] == pytest.approx(expected, rel=1e-10)


def test_sequential_wide_example_recovers_the_true_weights():
    result = linreg_magic.run(stage="sequential", device="cpu", features=3, hidden=5,
                              true_w=(2, -1, 0.5))
    assert list(result.params) == ["layer1.weight", "layer1.bias", "layer2.weight", "layer2.bias"]
    assert result.params["layer1.weight"].shape == (5, 3)
    np.testing.assert_allclose(result.coef, result.reference.coef, atol=2e-3)
    np.testing.assert_allclose(result.coef, [2, -1, 0.5], atol=0.1)
    assert result.intercept == pytest.approx(1.0, abs=0.1)
    with pytest.raises(AttributeError, match="coef"):
        _ = result.w


def test_sequential_end_to_end_map_is_the_product_of_the_layers():
    result = linreg_magic.run(stage="sequential", device="cpu", features=3, hidden=5, epochs=20)
    p = result.params
    w_eff = p["layer2.weight"] @ p["layer1.weight"]
    b_eff = p["layer2.weight"] @ p["layer1.bias"] + p["layer2.bias"]
    np.testing.assert_allclose(result.coef, w_eff.ravel(), atol=1e-6)
    assert result.intercept == pytest.approx(float(b_eff[0]), abs=1e-6)


@pytest.mark.changes_session("random")
def test_a_run_leaves_the_global_random_states_alone():
    import random

    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    linreg_magic.run(stage="numpy", epochs=5)
    linreg_magic.run(stage="module", device="cpu", epochs=5)
    random_value, np_value, torch_value = random.random(), np.random.rand(), torch.rand(1).item()
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    assert (random_value, np_value, torch_value) == (random.random(), np.random.rand(),
                                                       torch.rand(1).item())


@CUDA
@pytest.mark.parametrize("stage", TORCH_STAGES)
def test_every_torch_stage_lands_on_the_books_numbers_on_cuda(stage):
    result = linreg_magic.run(stage=stage, device="cuda")
    assert result.device == "cuda:0"
    assert result.b == pytest.approx(1.0235, abs=1e-4)
    assert result.w == pytest.approx(1.9690, abs=1e-4)


def _autograd_with_a_pause(x_train_tensor, y_train_tensor, b, w, lr, n_epochs, tracker):
    """The autograd stage's loop, paused after its first epoch past the tracker's first
    progress check (every 0.25 s): the check then runs, however fast the machine."""
    import time

    from linreg_magic.stages import autograd

    made = autograd.model_training(x_train_tensor, y_train_tensor, b, w, lr, 1, tracker)
    time.sleep(0.3)
    return autograd.model_training(x_train_tensor, y_train_tensor, made["b"], made["w"], lr,
                                   n_epochs - 1, tracker)


def test_the_progress_checks_of_a_torch_run_warn_about_nothing():
    # the divergence check reads the loss; pytest turns any warning (e.g. torch's about
    # converting a tensor that requires grad) into an error
    from linreg_magic.engine import run_options
    from linreg_magic.stage import Stage
    from linreg_magic.stages import autograd

    linreg_magic.register_stage(Stage(
        name="paused", title="autograd, paused", summary="for tests", order=31, returns="bw",
        data_preparation=autograd.data_preparation, model_configuration=autograd.model_configuration,
        model_training=_autograd_with_a_pause), replace=True)
    checked = []
    try:
        result = run_options(Options(stage="paused", device="cpu", epochs=50),
                             progress=lambda tracker: checked.append(tracker.epoch))
    finally:
        linreg_magic.unregister_stage("paused")
    assert checked and checked[0] >= 2
    assert result.epochs == 50 and result.stopped is None


@CUDA
def test_a_cpu_run_leaves_the_users_first_cuda_draw_alone():
    import subprocess
    import sys

    draw = ("import torch, linreg_magic\n"
            "torch.manual_seed(7)\n"
            "{run}"
            "print(torch.randn(2, device='cuda').tolist())\n")
    outputs = [subprocess.run([sys.executable, "-c", draw.format(run=run)], capture_output=True,
                              text=True, check=True).stdout.strip().splitlines()[-1]
               for run in ("", "linreg_magic.run('module', device='cpu', epochs=3)\n")]
    assert outputs[0] == outputs[1]
