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


def test_host_array_converts_on_the_host_whatever_the_dtype() -> None:
    from linreg_magic.tracker import host_array

    for dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int64):
        values = host_array(torch.tensor([1.5, -2.0]).to(dtype))
        assert values.dtype == np.float64
        np.testing.assert_array_equal(values, [1.5 if dtype is not torch.int64 else 1.0, -2.0])
    assert host_array(np.float32(3.25)).dtype == np.float64
    assert host_array(torch.tensor([1.0], requires_grad=True)).tolist() == [1.0]


@pytest.mark.skipif(not torch.backends.mps.is_available(), reason="needs Apple's MPS (no float64 there)")
def test_an_mps_run_is_recorded_in_float64_on_the_host() -> None:
    b, w = torch.zeros(1, device="mps"), torch.ones(1, device="mps")
    tracker = Tracker(3)
    tracker.start({"b": b, "w": w})
    for epoch in range(3):
        b, w = b + 1, w * 2
        tracker.log(torch.tensor(float(epoch), device="mps"), b=b, w=w)
    rec = tracker.snapshot()
    assert rec.path.dtype == np.float64 and rec.path[-1].tolist() == [3.0, 8.0]


def _recorded(body: str, returns: str = "bw", scope: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    """Run ``body`` instrumented, as a cell body runs, and return the recorder's trajectory."""
    from linreg_magic.check.instrument import ITERATE, LOOP, instrument, parse
    from linreg_magic.check.recording import LoopRecorder

    namespace: dict[str, object] = {"torch": torch, "np": np, **(scope or {})}
    recorder = LoopRecorder(returns, namespace, limit=10_000)
    namespace[LOOP], namespace[ITERATE] = recorder, recorder.iterate
    code = instrument(parse(body), "<recorded>")
    recorder.snapshot()
    exec(code.code, namespace)
    return recorder.trajectory()


def test_a_cell_bodys_loop_is_recorded_whatever_updates_its_parameters() -> None:
    bodies = {
        "rebound": "for i in range(4):\n    b = b + 1\n    w = w * 2\n",
        "in place": "for i in range(4):\n    b += 1\n    w *= 2\n",
        "through .data": "for i in range(4):\n    b.data += 1\n    w.data *= 2\n",
        "in a function": ("def step(b, w):\n    return b + 1, w * 2\n"
                          "for i in range(4):\n    b, w = step(b, w)\n"),
        "a while loop": "i = 0\nwhile i < 4:\n    b = b + 1\n    w = w * 2\n    i += 1\n",
        "a comprehension": ("def step():\n    b.add_(1)\n    w.mul_(2)\n    return 0\n"
                            "done = [step() for i in range(4)]\n"),
    }
    for name, body in bodies.items():
        trajectory = _recorded(body, scope={"b": torch.zeros(1), "w": torch.ones(1)})
        assert trajectory.epochs == 4, name
        expected = [[0, 1], [1, 2], [2, 4], [3, 8], [4, 16]]
        np.testing.assert_array_equal(trajectory.path, expected, err_msg=name)


def test_the_training_loop_is_the_one_that_changes_the_parameters_outermost_first() -> None:
    body = ("for name in ['b', 'w']:\n    pass\n"
            "for epoch in range(3):\n    for i in range(2):\n        b = b + 1\n    w = w + 10\n")
    trajectory = _recorded(body, scope={"b": np.zeros(1), "w": np.zeros(1)})
    assert trajectory.epochs == 3
    np.testing.assert_array_equal(trajectory.path[:, 0], [0, 2, 4, 6])
    np.testing.assert_array_equal(trajectory.path[:, 1], [0, 10, 20, 30])


def test_a_model_trained_under_another_name_is_recorded_through_its_alias() -> None:
    from linreg_magic.check.instrument import LOOP, instrument, parse
    from linreg_magic.check.recording import LoopRecorder

    with torch.random.fork_rng(devices=[]):  # the layers' initial values draw from torch's generator
        namespace: dict[str, object] = {"torch": torch, "model": torch.nn.Linear(1, 1)}
        recorder = LoopRecorder("model", namespace, limit=100, aliases={"model": "net"})
        namespace[LOOP] = recorder
        body = ("net = torch.nn.Linear(1, 1)\n"
                "for i in range(3):\n    with torch.no_grad():\n        net.bias += 1\nmodel = net\n")
        exec(instrument(parse(body), "<alias>").code, namespace)
    trajectory = recorder.trajectory()
    assert trajectory.names == ("weight", "bias") and trajectory.epochs == 3
    assert np.allclose(np.diff(trajectory.path[:, 1]), 1.0)
