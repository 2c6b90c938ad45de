"""The tracker records every epoch's loss and parameters, whatever the stage does."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from linreg_magic.tracker import ROW_BLOCK, Tracker


def _numpy_run(epochs: int, shape: tuple[int, ...] = (1,)) -> tuple[Tracker, list[float], list[np.ndarray]]:
    rs = np.random.RandomState(0)
    b, w = rs.randn(*shape), rs.randn(*shape)
    tracker = Tracker(epochs)
    tracker.start({"b": b, "w": w})
    losses, path = [], [np.concatenate([b.ravel(), w.ravel()])]
    for epoch in range(epochs):
        loss = np.float64(0.5 / (epoch + 1))
        b, w = b - 0.1, w + 0.2  # new arrays every epoch, as the numpy stage makes them
        tracker.log(loss, b=b, w=w)
        losses.append(float(loss))
        path.append(np.concatenate([b.ravel(), w.ravel()]))
    return tracker, losses, path


@pytest.mark.parametrize("shape", [(1,), (2, 3)])
def test_numpy_parameters_are_recorded_every_epoch_with_the_loss(shape: tuple[int, ...]) -> None:
    tracker, losses, path = _numpy_run(7, shape)
    rec = tracker.snapshot()
    assert rec.epochs == 7
    np.testing.assert_array_equal(rec.losses, losses)
    np.testing.assert_array_equal(rec.path, np.array(path))
    assert rec.params_at(0)["w"].shape == shape
    assert rec.param_paths()["b"].shape == (8, *shape)


class _Affine(torch.nn.Module):
    def __init__(self, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(3, 2, dtype=dtype)


def _model_run(epochs: int, dtype: torch.dtype) -> tuple[Tracker, list[float], list[np.ndarray]]:
    torch.manual_seed(0)
    model = _Affine(dtype)
    tracker = Tracker(epochs)
    tracker.start(dict(model.named_parameters()))
    flat = lambda: torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double().numpy()  # noqa: E731
    losses, path = [], [flat()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.rand(16, 3, dtype=dtype)
    for _ in range(epochs):
        loss = model.linear(x).pow(2).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        tracker.log(loss, model)
        losses.append(float(loss.detach().double()))
        path.append(flat())
    return tracker, losses, path


@pytest.mark.changes_session("random")
def test_a_cpu_model_trained_in_place_is_recorded_every_epoch() -> None:
    tracker, losses, path = _model_run(5, torch.float32)
    rec = tracker.snapshot()
    np.testing.assert_array_equal(rec.losses, losses)
    np.testing.assert_array_equal(rec.path, np.array(path))
    assert rec.names == ("linear.weight", "linear.bias")
    assert rec.params_at(-1)["linear.weight"].shape == (2, 3)


def test_a_model_in_a_dtype_numpy_cannot_view_is_recorded_in_a_torch_table() -> None:
    # bfloat16 has no numpy view, so this takes the on-device path (what CUDA uses), on the CPU,
    # across more than one block of rows
    epochs = ROW_BLOCK + 5
    tracker, losses, path = _model_run(epochs, torch.bfloat16)
    assert isinstance(tracker.table, torch.Tensor)
    rec = tracker.snapshot()
    assert rec.epochs == epochs
    np.testing.assert_allclose(rec.losses, losses, rtol=1e-2)
    np.testing.assert_array_equal(rec.path, np.array(path))


@pytest.mark.parametrize("size", [1, 3])
def test_torch_tensors_made_anew_each_epoch_are_recorded(size: int) -> None:
    b, w = torch.zeros(size), torch.ones(size)
    tracker = Tracker(4)
    tracker.start({"b": b, "w": w})
    expected = [np.r_[b.numpy(), w.numpy()]]
    for epoch in range(4):
        b, w = b + 1, w * 2  # the tensors stage rebinds b and w every epoch
        tracker.log(torch.tensor(float(epoch)), b=b, w=w)
        expected.append(np.r_[b.numpy(), w.numpy()])
    rec = tracker.snapshot()
    np.testing.assert_array_equal(rec.losses, [0, 1, 2, 3])
    np.testing.assert_array_equal(rec.path, np.array(expected))


def test_torch_tensors_updated_in_place_are_recorded_as_they_were_each_epoch() -> None:
    b = torch.zeros(1, requires_grad=True)
    w = torch.zeros(1, requires_grad=True)
    tracker = Tracker(3)
    tracker.start({"b": b, "w": w})
    for _ in range(3):
        loss = (b + w).sum() + 1
        with torch.no_grad():
            b += 1
            w -= 1
        tracker.log(loss, b=b, w=w)
    rec = tracker.snapshot()
    np.testing.assert_array_equal(rec.param_paths()["b"][:, 0], [0, 1, 2, 3])
    np.testing.assert_array_equal(rec.param_paths()["w"][:, 0], [0, -1, -2, -3])
    np.testing.assert_array_equal(rec.losses, [1, 1, 1])
    assert tracker.last_loss is loss


def test_a_snapshot_is_a_copy_that_later_epochs_do_not_change() -> None:
    b, w = np.zeros(1), np.zeros(1)
    tracker = Tracker(2)
    tracker.start({"b": b, "w": w})
    tracker.log(1.0, b=b + 1, w=w)
    first = tracker.snapshot()
    tracker.log(2.0, b=b + 2, w=w)
    assert first.epochs == 1 and list(first.path[:, 0]) == [0, 1]
    assert tracker.snapshot().epochs == 2


def test_logging_more_epochs_than_announced_is_an_error() -> None:
    tracker = Tracker(1)
    tracker.start({"b": np.zeros(1), "w": np.zeros(1)})
    tracker.log(1.0, b=np.zeros(1), w=np.zeros(1))
    with pytest.raises(RuntimeError, match="more than n_epochs=1"):
        tracker.log(1.0, b=np.zeros(1), w=np.zeros(1))


def test_progress_is_called_with_the_tracker_and_can_snapshot() -> None:
    seen: list[int] = []
    tracker = Tracker(3, progress=lambda t: seen.append(t.snapshot().epochs), interval=0.0)
    tracker.start({"b": torch.zeros(1), "w": torch.zeros(1)})
    for epoch in range(3):
        tracker.log(torch.tensor(1.0), b=torch.full((1,), float(epoch)), w=torch.zeros(1))
    assert seen == [1, 2, 3]


@pytest.mark.changes_session("random")
def test_rows_written_elsewhere_are_counted_by_advance() -> None:
    model = torch.nn.Linear(1, 1, dtype=torch.bfloat16)
    tracker = Tracker(3)
    tracker.start(dict(model.named_parameters()))
    tracker.table[1:3] = 7.0  # as a replayed CUDA graph writes its rows
    tracker.advance(2)
    rec = tracker.snapshot()
    assert rec.epochs == 2 and list(rec.losses) == [7.0, 7.0]
    with pytest.raises(RuntimeError, match="more than n_epochs=3"):
        tracker.advance(2)
