"""``--cuda-graph``: one training step captured and replayed per epoch.

The capture itself needs a GPU; what it captures (one epoch of the stage's own
loop, recorded on the device at a row counter kept in a tensor) runs anywhere and
is checked here against the eager engine on the CPU.
"""

from __future__ import annotations

import contextlib
import inspect
import io
from typing import Any

import numpy as np
import pytest
import torch
from IPython.core.error import UsageError

import linreg_magic
from linreg_magic import cuda_graph
from linreg_magic.data import make_data
from linreg_magic.engine import prepare_namespace, stage_parameters
from linreg_magic.options import Options
from linreg_magic.plan import Plan
from linreg_magic.registry import get_stage, ladder
from linreg_magic.session import preserved_random_state
from linreg_magic.stage import Stage
from linreg_magic.views import header_html, header_text

TORCH_STAGES = [s.name for s in ladder() if s.uses_torch]
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("name", TORCH_STAGES)
def test_the_captured_step_repeated_gives_exactly_the_eager_run(name: str) -> None:
    epochs = 40
    options = Options(stage=name, device="cpu", epochs=epochs)
    stage = get_stage(name)
    with contextlib.redirect_stdout(io.StringIO()):
        eager = linreg_magic.run(options)
    with preserved_random_state(True):
        ns = prepare_namespace(Plan(stage, options, "cpu", make_data(options)))
    params = stage_parameters(stage, ns)
    width = 1 + sum(p.numel() for p in params.values())
    table = torch.full((epochs + 1, width), float("nan"))
    row = torch.ones(1, dtype=torch.long)
    recorder = cuda_graph.StepRecorder(table, params, row)
    for _ in range(epochs):  # what each replay of the graph does
        cuda_graph.training_step(stage, ns, recorder)
    assert int(row) == epochs + 1
    np.testing.assert_array_equal(table[1:, 0].double().numpy(), eager.losses)
    final = table[-1, 1:].double().numpy()
    expected = np.concatenate([np.ravel(v) for v in eager.params.values()])
    np.testing.assert_array_equal(final, expected)


def test_a_stage_that_never_logs_has_no_step_to_capture() -> None:
    def model_training(n_epochs: int, tracker: Any) -> dict[str, Any]:
        return {}

    silent = Stage(name="silent", title="silent", summary="never logs", model_training=model_training)
    recorder = cuda_graph.StepRecorder(torch.zeros(2, 2), {}, torch.ones(1, dtype=torch.long))
    with pytest.raises(RuntimeError, match=r"never called tracker\.log\(\)"):
        cuda_graph.training_step(silent, {}, recorder)


def test_the_code_view_gets_the_capture_code_as_it_runs() -> None:
    text = cuda_graph.source()
    assert text == inspect.getsource(cuda_graph)
    for piece in ("torch.cuda.CUDAGraph()", "with torch.cuda.graph(graph, stream=stream, "
                  'capture_error_mode="thread_local"):', "graph.replay()", "with torch.cuda.device(device):",
                  "torch.cuda.Stream(device)", "side.wait_stream(torch.cuda.current_stream(device))",
                  "self.table.index_copy_(0, self.row,", "self.row += 1", "origin.restore(stage.name)"):
        assert piece in text


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_graph_without_cuda_is_one_usage_error_line(run_cell_outputs) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError) as info:
        run_cell_outputs("--stage module --cuda-graph")
    message = str(info.value)
    assert type(info.value) is UsageError and "\n" not in message
    assert message.startswith("--cuda-graph needs a CUDA GPU: CUDA is not available (this torch")
    assert "Valid devices for it are cuda and cuda:N" in message
    assert message.endswith("Drop --cuda-graph here, or run with --device cuda on a machine with a GPU")


def test_cuda_graph_on_the_numpy_stage_is_one_usage_error_line(run_cell_outputs) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError) as info:
        run_cell_outputs("--stage numpy --cuda-graph")
    message = str(info.value)
    assert type(info.value) is UsageError and "\n" not in message
    assert message.startswith("--cuda-graph captures torch code; the numpy stage is numpy")
    assert "Valid stages for it are tensors, autograd" in message


@pytest.mark.parametrize(("given", "expected"), [(True, True), ("on", True), ("off", False), (False, False)])
def test_the_switch_reads_python_values_and_words(given: object, expected: bool) -> None:
    assert Options(cuda_graph=given).cuda_graph is expected  # type: ignore[arg-type]


def test_a_switch_given_a_wrong_word_is_one_usage_error_line() -> None:
    with pytest.raises(UsageError) as info:
        Options(cuda_graph="maybe")  # type: ignore[arg-type]
    assert str(info.value) == ("--cuda-graph got 'maybe'. It is a switch: --cuda-graph alone turns it on "
                               "(or on/off, True/False from Python). Write --cuda-graph alone")


def test_the_header_shows_the_runs_notes() -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        result = linreg_magic.run(stage="module", device="cpu", epochs=5)
    result = result.replace(notes=("CUDA graph: 17.0 us per epoch replayed, 555.0 us eager (32.6x faster)",))
    assert header_text(result).splitlines()[1] == result.notes[0]
    assert "555.0 us eager (32.6x faster)" in header_html(result)


@needs_cuda
@pytest.mark.parametrize("name", TORCH_STAGES)
def test_on_a_gpu_the_replayed_graph_matches_eager_within_1e_5(name: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        eager = linreg_magic.run(stage=name, device="cuda", epochs=300)
        graphed = linreg_magic.run(stage=name, device="cuda", epochs=300, cuda_graph=True)
    np.testing.assert_allclose(graphed.losses, eager.losses, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(graphed.intercept_path, eager.intercept_path, atol=1e-5)
    np.testing.assert_allclose(graphed.coef_path, eager.coef_path, atol=1e-5)
    assert graphed.notes and graphed.notes[0].startswith("CUDA graph: ")


@needs_cuda
def test_on_a_gpu_the_cell_header_prints_the_gain(run_cell_outputs) -> None:  # type: ignore[no-untyped-def]
    result, captured = run_cell_outputs("--stage module --device cuda --cuda-graph")
    header = captured.outputs[0].data["text/plain"]
    assert "CUDA graph: " in header and "x faster" in header
    assert abs(result.b - 1.0235) < 1e-3 and abs(result.w - 1.9690) < 1e-3


def test_the_widget_shows_the_switch_as_a_checkbox_and_writes_it_alone_on_the_line() -> None:
    import ipywidgets

    from linreg_magic.widgets import LinregWidget, magic_line

    w = LinregWidget(stage="module", controls=("cuda_graph", "lr"), auto=False)
    assert isinstance(w.controls["cuda_graph"], ipywidgets.Checkbox)
    assert w.controls["cuda_graph"].value is False
    assert magic_line(Options(stage="module", cuda_graph=True, lr=0.05)) == (
        "%linreg --stage module --lr 0.05 --cuda-graph")


def test_the_code_view_of_a_cuda_graph_run_shows_the_capture_code(ip):
    import dataclasses

    from IPython.utils.capture import capture_output

    from linreg_magic import run
    from linreg_magic.display import show_result

    result = run(stage="module", device="cpu", epochs=3)
    as_captured = dataclasses.replace(result, options=result.options.replace(cuda_graph=True))
    with capture_output() as captured:
        show_result(as_captured, views=["code"])
    texts = [o.data["text/plain"] for o in captured.outputs]
    code = [i for i, text in enumerate(texts) if text.startswith("# ")]
    assert [texts[i].split()[1] for i in code] == ["module", "cuda_graph"]
    assert "CUDAGraph" in texts[code[1]]
    assert "cuda_graph" in captured.outputs[code[1]].data["text/html"]


# -- an optimizer with state -------------------------------------------------------
def _optimizer_stage(name: str, make_optimizer: Any) -> Stage:
    """A plugin stage like the book's sequential one, with the optimizer ``make_optimizer(params, lr)``."""

    def data_preparation(x_train: Any, y_train: Any, device: str) -> dict[str, Any]:
        return {"x_train_tensor": torch.as_tensor(x_train).float().to(device),
                "y_train_tensor": torch.as_tensor(y_train).float().to(device)}

    def model_configuration(seed: int, device: str, lr: float) -> dict[str, Any]:
        torch.manual_seed(seed)
        model = torch.nn.Sequential(torch.nn.Linear(1, 1)).to(device)
        return {"model": model, "optimizer": make_optimizer(model.parameters(), lr),
                "loss_fn": torch.nn.MSELoss()}

    def model_training(x_train_tensor: Any, y_train_tensor: Any, model: Any, optimizer: Any,
                       loss_fn: Any, n_epochs: int, tracker: Any) -> dict[str, Any]:
        for _epoch in range(n_epochs):
            loss = loss_fn(model(x_train_tensor), y_train_tensor)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            tracker.log(loss, model)
        return {"model": model}

    return Stage(name=name, title=name, summary="a plugin stage with a stateful optimizer", order=95,
                 data_preparation=data_preparation, model_configuration=model_configuration,
                 model_training=model_training)


def _momentum(params: Any, lr: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr, momentum=0.9)


def _steps_after_a_warm_up(stage: Stage, epochs: int, device: str, restore: bool) -> torch.Tensor:
    """What the replays compute, on any device: warm-up steps (which make the momentum
    buffer), the starting point put back (or not), then one captured step per epoch."""
    options = Options(stage="module", device=device, epochs=epochs)  # the stage itself is in the Plan
    with preserved_random_state(True):
        ns = prepare_namespace(Plan(stage, options, device, make_data(options)))
    params = stage_parameters(stage, ns)
    optimizers = cuda_graph.optimizers_in(ns)
    cuda_graph.check_optimizers(stage.name, optimizers)
    origin = cuda_graph.StartingPoint(params, optimizers)
    width = 1 + sum(p.numel() for p in params.values())
    scratch, scratch_row = torch.zeros(2, width), torch.zeros(1, dtype=torch.long)
    for _ in range(cuda_graph.WARMUP_STEPS):
        scratch_row.zero_()
        cuda_graph.training_step(stage, ns, cuda_graph.StepRecorder(scratch, params, scratch_row))
    if restore:
        origin.restore(stage.name)
    table = torch.full((epochs + 1, width), float("nan"))
    recorder = cuda_graph.StepRecorder(table, params, torch.ones(1, dtype=torch.long))
    for _ in range(epochs):
        cuda_graph.training_step(stage, ns, recorder)
    return table


def test_a_momentum_optimizer_starts_afresh_after_the_warm_up_so_the_steps_give_the_eager_run() -> None:
    stage = _optimizer_stage("momentum_sgd", _momentum)
    linreg_magic.register_stage(stage)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            eager = linreg_magic.run(stage="momentum_sgd", device="cpu", epochs=30)
        replayed = _steps_after_a_warm_up(stage, 30, "cpu", restore=True)
        kept = _steps_after_a_warm_up(stage, 30, "cpu", restore=False)
    finally:
        linreg_magic.unregister_stage("momentum_sgd")
    np.testing.assert_array_equal(replayed[1:, 0].double().numpy(), eager.losses)
    # the momentum buffer the warm-up built, if kept, sends the replays elsewhere
    assert not np.allclose(kept[1:, 0].double().numpy(), eager.losses, rtol=1e-3)


@pytest.mark.parametrize(("make", "start"), [
    (lambda params, lr: torch.optim.Adam(params, lr=lr),
     "--cuda-graph: the adam stage's Adam optimizer was made without capturable=True, so its step() "
     "cannot be captured in a CUDA graph. Valid under --cuda-graph are SGD and optimizers made with "
     "capturable=True. Make it with optim.Adam(..., capturable=True), or drop --cuda-graph"),
    (lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9, dampening=0.5),
     "--cuda-graph: the adam stage's SGD has momentum with dampening"),
])
def test_an_optimizer_a_graph_cannot_replay_as_eager_is_one_usage_error_line(make: Any, start: str) -> None:
    stage = _optimizer_stage("adam", make)
    options = Options(stage="module", device="cpu", epochs=3)
    with preserved_random_state(True):
        ns = prepare_namespace(Plan(stage, options, "cpu", make_data(options)))
    with pytest.raises(UsageError) as info:
        cuda_graph.check_optimizers("adam", cuda_graph.optimizers_in(ns))
    assert type(info.value) is UsageError and "\n" not in str(info.value)
    assert str(info.value).startswith(start)


def test_an_optimizer_whose_fresh_state_is_unknown_is_refused_before_the_replays() -> None:
    class Accumulating(torch.optim.Optimizer):
        """Keeps a running sum of gradients, which starts at one: not a state zeroing restarts."""

        def __init__(self, params: Any, lr: float) -> None:
            super().__init__(params, {"lr": lr})

        @torch.no_grad()
        def step(self, closure: Any = None) -> None:
            for group in self.param_groups:
                for p in group["params"]:
                    total = self.state[p].setdefault("total", torch.ones_like(p))
                    total.add_(p.grad)
                    p.sub_(group["lr"] * p.grad / total)

    with pytest.raises(UsageError) as info:
        _steps_after_a_warm_up(_optimizer_stage("accumulating", Accumulating), 3, "cpu", restore=True)
    assert type(info.value) is UsageError
    assert str(info.value).startswith("--cuda-graph: the accumulating stage's Accumulating optimizer keeps "
                                      "state that cannot be started afresh after the warm-up")


# -- on a GPU ------------------------------------------------------------------------
def _capturable_adam(params: Any, lr: float) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=lr, capturable=True)


@needs_cuda
@pytest.mark.parametrize("make", [_momentum, _capturable_adam])
def test_on_a_gpu_a_stateful_optimizer_under_cuda_graph_equals_eager(make: Any) -> None:
    import warnings

    linreg_magic.register_stage(_optimizer_stage("stateful", make))
    try:
        with warnings.catch_warnings():
            # torch's note that a capturable optimizer runs uncaptured: so it does, eagerly
            warnings.filterwarnings("ignore", "This instance was constructed with capturable=True")
            eager = linreg_magic.run(stage="stateful", device="cuda", epochs=200)
        graphed = linreg_magic.run(stage="stateful", device="cuda", epochs=200, cuda_graph=True)
    finally:
        linreg_magic.unregister_stage("stateful")
    np.testing.assert_allclose(graphed.losses, eager.losses, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(graphed.coef_path, eager.coef_path, rtol=1e-5, atol=1e-6)


@needs_cuda
def test_on_a_gpu_adam_without_capturable_is_one_usage_error_line(ip) -> None:  # type: ignore[no-untyped-def]
    linreg_magic.register_stage(_optimizer_stage("adam", lambda params, lr: torch.optim.Adam(params, lr=lr)))
    try:
        with pytest.raises(UsageError) as info:
            ip.run_line_magic("linreg", "--stage adam --device cuda --cuda-graph --epochs 5")
    finally:
        linreg_magic.unregister_stage("adam")
    assert type(info.value) is UsageError and "capturable=True" in str(info.value)


needs_two_gpus = pytest.mark.skipif(not torch.cuda.is_available() or torch.cuda.device_count() < 2,
                                    reason="needs two CUDA GPUs")


@needs_two_gpus
def test_on_the_second_gpu_the_graph_is_captured_there_and_equals_eager() -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        eager = linreg_magic.run(stage="module", device="cuda:1", epochs=100)
        graphed = linreg_magic.run(stage="module", device="cuda:1", epochs=100, cuda_graph=True)
    assert graphed.device == eager.device == "cuda:1"
    np.testing.assert_allclose(graphed.losses, eager.losses, rtol=1e-5, atol=1e-6)
    assert graphed.notes[0].startswith("CUDA graph: ")


@needs_cuda
def test_on_a_gpu_the_capture_on_a_worker_thread_survives_cuda_work_on_another_thread() -> None:
    """The widget's case: a capture on its worker while the kernel's thread uses CUDA."""
    import threading

    capturing, other_done = threading.Event(), threading.Event()

    def model_training(x_train_tensor: Any, y_train_tensor: Any, model: Any, optimizer: Any,
                       loss_fn: Any, n_epochs: int, tracker: Any) -> dict[str, Any]:
        for _epoch in range(n_epochs):
            loss = loss_fn(model(x_train_tensor), y_train_tensor)
            if torch.cuda.is_current_stream_capturing():
                capturing.set()
                other_done.wait(timeout=60)  # the other thread's CUDA calls happen now
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            tracker.log(loss, model)
        return {"model": model}

    base = _optimizer_stage("threaded", lambda params, lr: torch.optim.SGD(params, lr=lr))
    stage = Stage(name="threaded", title="threaded", summary="captures on a worker thread", order=96,
                  data_preparation=base.data_preparation, model_configuration=base.model_configuration,
                  model_training=model_training)
    linreg_magic.register_stage(stage)
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(
        linreg_magic.run(stage="threaded", device="cuda", epochs=50, cuda_graph=True)))
    try:
        worker.start()
        assert capturing.wait(timeout=60)
        # a cell's CUDA work meanwhile: a fresh allocation (cudaMalloc, unsafe during a capture
        # in the global mode), kernels and a copy to the host, all on this thread's stream
        fresh = torch.empty(2**26, device="cuda")
        assert float(fresh.fill_(1.0)[:4].sum()) == 4.0
        del fresh
        other_done.set()
        worker.join(timeout=120)
        with contextlib.redirect_stdout(io.StringIO()):
            eager = linreg_magic.run(stage="threaded", device="cuda", epochs=50)
    finally:
        other_done.set()
        linreg_magic.unregister_stage("threaded")
    assert results, "the capture on the worker thread failed"
    np.testing.assert_allclose(results[0].losses, eager.losses, rtol=1e-5, atol=1e-6)
