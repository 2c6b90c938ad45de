"""Per-epoch truth: every stage's loss curve and parameter path are gradient
descent's, epoch by epoch, not only at the end point.

The reference is plain batch gradient descent in float64 from the run's own start
(the numpy stage's loop); the torch stages run in float32, so they agree with it to
float32 precision.  A loop with momentum, or a learning rate 20% off, lands on the
same end point after enough epochs yet fails this test at once.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch.optim as optim

import linreg_magic
from linreg_magic.result import Result
from linreg_magic.stage import Stage
from linreg_magic.stages import optimizer as optimizer_stage

TORCH_STAGES = ["tensors", "autograd", "optimizer", "loss", "module", "nested", "sequential"]
BW_STAGES = ["tensors", "autograd", "optimizer", "loss", "module"]
#: float32 against float64 over 1000 epochs of the book's run.
FLOAT32 = 2e-5


def gradient_descent(result: Result) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch gradient descent in float64 from the run's start, on its training data
    and learning rate: each epoch's loss (before its update), then the intercepts and
    slopes after every epoch (row 0: the start)."""
    x, y = result.data.x_train, result.data.y_train.ravel()
    b, w = float(result.intercept_path[0]), np.array(result.coef_path[0], dtype=np.float64)
    lr, epochs = result.options.lr, result.epochs
    losses, intercepts, slopes = np.empty(epochs), [b], [w]
    for epoch in range(epochs):
        error = b + x @ w - y
        losses[epoch] = np.mean(error ** 2)
        b, w = b - lr * 2 * error.mean(), w - lr * 2 * (x * error[:, None]).mean(axis=0)
        intercepts.append(b)
        slopes.append(w)
    return losses, np.array(intercepts), np.array(slopes)


def trajectory_gap(result: Result) -> float:
    """The largest difference, over every epoch, between the run's path (and loss,
    relative to it) and gradient descent's."""
    losses, intercepts, slopes = gradient_descent(result)
    return float(max(np.abs(result.intercept_path - intercepts).max(),
                     np.abs(result.coef_path - slopes).max(),
                     (np.abs(result.losses - losses) / losses).max()))


def test_the_numpy_stage_is_gradient_descent_at_every_epoch() -> None:
    assert trajectory_gap(linreg_magic.run(stage="numpy")) < 1e-12


@pytest.mark.parametrize("stage", TORCH_STAGES)
def test_every_torch_stage_is_gradient_descent_at_every_epoch(stage: str) -> None:
    result = linreg_magic.run(stage=stage, device="cpu")
    assert result.epochs == 1000 and trajectory_gap(result) < FLOAT32


def test_the_b_w_stages_take_the_same_path_as_each_other() -> None:
    runs = [linreg_magic.run(stage=stage, device="cpu") for stage in BW_STAGES]
    first = runs[0]
    for run in runs[1:]:
        np.testing.assert_allclose(run.losses, first.losses, rtol=FLOAT32)
        np.testing.assert_allclose(run.intercept_path, first.intercept_path, atol=FLOAT32)
        np.testing.assert_allclose(run.coef_path, first.coef_path, atol=FLOAT32)


def _momentum_configuration(seed, device, lr):  # type: ignore[no-untyped-def]
    made = optimizer_stage.model_configuration(seed, device, lr)
    made["optimizer"] = optim.SGD([made["b"], made["w"]], lr=lr, momentum=0.9)
    return made


def _faster_configuration(seed, device, lr):  # type: ignore[no-untyped-def]
    return optimizer_stage.model_configuration(seed, device, 1.2 * lr)


@pytest.fixture(params=[_momentum_configuration, _faster_configuration],
                ids=["momentum", "lr 20% larger"])
def almost_right_stage(request: pytest.FixtureRequest) -> Iterator[str]:
    stage = Stage(name="almost-right", title="almost right", summary="for tests",
                  data_preparation=optimizer_stage.data_preparation,
                  model_configuration=request.param,
                  model_training=optimizer_stage.model_training, order=45, returns="bw")
    linreg_magic.register_stage(stage, replace=True)
    yield stage.name
    linreg_magic.unregister_stage(stage.name)


def test_a_loop_with_momentum_or_another_lr_is_not_gradient_descent(almost_right_stage) -> None:  # type: ignore[no-untyped-def]
    result = linreg_magic.run(stage=almost_right_stage, device="cpu", epochs=3000)
    # the end point alone cannot tell: it is the book's answer too
    assert result.b == pytest.approx(1.0235, abs=1e-3) and result.w == pytest.approx(1.9690, abs=1e-3)
    assert trajectory_gap(result) > 100 * FLOAT32
