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
    for piece in ("torch.cuda.CUDAGraph()",
                  'with torch.cuda.graph(graph, capture_error_mode="thread_local"):', "graph.replay()",
                  "torch.cuda.Stream()", "side.wait_stream(torch.cuda.current_stream())",
                  "self.table.index_copy_(0, self.row,", "self.row += 1"):
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
