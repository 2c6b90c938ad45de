"""The lessons run the chapter's code on this machine and show what it really printed."""

from __future__ import annotations

import random
import re
import sys

import numpy as np
import pytest
import torch
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from linreg_magic.lessons import LESSONS, lesson_entry, lessons_for
from linreg_magic.lessons.lesson import LessonRun, run_lesson
from linreg_magic.lessons.notebook import cell_code
from linreg_magic.options import Options

CUDA = torch.cuda.is_available()


@pytest.fixture(scope="module")
def runs() -> dict[str, LessonRun]:
    return {entry.name: run_lesson(entry.name) for entry in LESSONS if entry.name != "step"}


def _out(run: LessonRun, cell: str) -> list[str]:
    return run.cell(cell).output.splitlines()


def test_view_really_shares_storage_and_the_copies_really_do_not(runs) -> None:  # type: ignore[no-untyped-def]
    run = runs["tensors"]
    ns = run.namespace
    assert ns["same_matrix"].data_ptr() == ns["matrix"].data_ptr()
    assert ns["matrix"][0, 1].item() == 2.0  # changed through the view
    *_, pointers = _out(run, "view_shares_storage")
    assert pointers == f"{ns['matrix'].data_ptr()} {ns['same_matrix'].data_ptr()} True"
    for cell, name, value in (("new_tensor_copies", "different_matrix", 3.0),
                              ("clone_detach_copies", "another_matrix", 4.0)):
        assert ns[name].data_ptr() != ns["matrix"].data_ptr() and ns[name][0, 1].item() == value
        assert run.cell(cell).printed.splitlines()[-1] == "False"
        assert run.cell(cell).printed.splitlines()[0] == "tensor([[1., 2., 1.],"  # the original is untouched
    (warning,) = run.cell("new_tensor_copies").warnings
    assert warning.startswith("UserWarning: To copy construct from a tensor") and "clone()" in warning
    assert not run.cell("clone_detach_copies").warnings


def test_sizes_and_shapes_print_as_torch_prints_them(runs) -> None:  # type: ignore[no-untyped-def]
    assert _out(runs["tensors"], "sizes_and_shapes") == ["torch.Size([2, 3, 4]) torch.Size([2, 3, 4])",
                                                         "torch.Size([]) torch.Size([])"]
    assert _out(runs["tensors"], "creating_tensors")[:2] == ["tensor(3.1416)", "tensor([1, 2, 3])"]


def test_as_tensor_shares_numpy_s_memory_and_float_copies(runs) -> None:  # type: ignore[no-untyped-def]
    run = runs["devices"]
    ns = run.namespace
    assert _out(run, "as_tensor_keeps_the_dtype") == ["True", "(dtype('float64'), torch.float64)"]
    assert _out(run, "float_makes_float32") == ["(torch.float32, False)"]
    assert _out(run, "as_tensor_shares_memory") == ["tensor([1, 0, 3])", "True", "array([1, 0, 3])"]
    assert ns["dummy_tensor"].tolist() == [1, 0, 3]


def test_the_gpus_listed_are_this_machine_s(runs) -> None:  # type: ignore[no-untyped-def]
    lines = _out(runs["devices"], "your_gpus_by_name")
    count = torch.cuda.device_count()
    assert lines[0] == f"{count} CUDA GPU(s); torch built for CUDA {torch.version.cuda}"
    assert lines[1:] == [torch.cuda.get_device_name(i) for i in range(count)]


def test_the_data_goes_to_the_lesson_s_device_and_back(runs) -> None:  # type: ignore[no-untyped-def]
    run = runs["devices"]
    ns = run.namespace
    assert str(ns["gpu_tensor"].device) == run.device
    kind = "torch.cuda.FloatTensor" if run.device.startswith("cuda") else "torch.FloatTensor"
    assert _out(run, "type_says_where_it_lives")[0].endswith(kind)
    numpy_cell = run.cell("numpy_needs_the_cpu")
    assert (numpy_cell.error is not None) == (ns["x_train_tensor"].device.type != "cpu")
    assert _out(run, "back_to_numpy") == ["<class 'numpy.ndarray'> float32 (80, 1)"]


def test_a_tensor_that_requires_grad_needs_detach_before_numpy(runs) -> None:  # type: ignore[no-untyped-def]
    run = runs["devices"]
    assert run.cell("numpy_refuses_a_tensor_that_requires_grad").error == (
        "RuntimeError: Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
    loss = run.namespace["loss"]
    array_line, item_line = _out(run, "detach_then_numpy_or_item")
    assert array_line == repr(loss.detach().cpu().numpy())
    assert item_line == f"{loss.item()} {loss.item()}"


def test_to_device_after_requires_grad_is_a_leaf_only_where_it_does_not_copy(runs) -> None:  # type: ignore[no-untyped-def]
    run = runs["parameters"]
    moved = _out(run, "sending_them_to_the_device_after")[-1]
    if run.device == "cpu":
        assert moved == "True None"
    else:
        assert moved.startswith("False <ToCopyBackward0")
    leaf_line, copy_grad, original_grad = _out(run, "a_copy_is_not_a_leaf")[:3]
    assert leaf_line.startswith("False <ToCopyBackward0")
    assert (copy_grad, original_grad) == ("None", "tensor([2.])")
    assert any("not a leaf Tensor" in w for w in run.cell("a_copy_is_not_a_leaf").warnings)
    assert _out(run, "requires_grad_after_sending")[-1] == "True"
    assert _out(run, "creating_them_on_the_device")[-1] == "True"
    assert run.namespace["b"].is_leaf and run.namespace["b"].device.type == run.device.split(":")[0]


def test_the_first_parameters_are_the_book_s(runs) -> None:  # type: ignore[no-untyped-def]
    assert _out(runs["parameters"], "parameters_that_require_grad")[0] == (
        "tensor([0.3367], requires_grad=True) tensor([0.1288], requires_grad=True)")


def test_backward_fills_grad_which_accumulates_and_is_zeroed(runs) -> None:  # type: ignore[no-untyped-def]
    run = runs["autograd"]
    assert _out(run, "backward_computes_the_gradients") == ["True True True True", "False False"]
    once = re.findall(r"-?\d+\.\d+", run.cell("the_gradients_are_in_grad").printed)
    twice = re.findall(r"-?\d+\.\d+", run.cell("gradients_accumulate").printed)
    if run.device == "cpu":
        assert once == ["-3.1125", "-1.8156"]
    assert [float(v) for v in twice] == pytest.approx([2 * float(v) for v in once], abs=2e-4)
    assert run.cell("zeroing_the_gradients").value_text == repr((torch.tensor([0.]).to(run.device),) * 2)


def test_the_three_attempts_fail_fail_and_work(runs) -> None:  # type: ignore[no-untyped-def]
    run = runs["autograd"]
    first = run.cell("first_attempt_a_new_b")
    assert "grad_fn=<SubBackward0>" in first.printed
    assert first.error == "AttributeError: 'NoneType' object has no attribute 'zero_'"
    assert any("not a leaf Tensor" in w for w in first.warnings)
    second = run.cell("second_attempt_in_place")
    assert second.error is not None and second.error.startswith(
        "RuntimeError: a leaf Variable that requires grad is being used in an in-place operation")
    third = run.cell("third_attempt_under_no_grad")
    assert third.error is None and not third.warnings
    b = run.namespace["b"]
    assert b.is_leaf and b.requires_grad and b.grad.item() == 0.0
    if run.device == "cpu":
        assert b.detach().item() == pytest.approx(0.3367 + 0.1 * 3.1125, abs=1e-4)


def test_the_graph_lesson_draws_yhat_and_the_loss(runs) -> None:  # type: ignore[no-untyped-def]
    from linreg_magic.lessons.render import lesson_bundles

    run = runs["graph"]
    yhat, loss = run.cell("the_graph_of_yhat"), run.cell("the_graph_of_the_loss")
    assert type(yhat.value).__name__ == "Digraph"
    assert "MulBackward0" in yhat.value.source and "MeanBackward0" not in yhat.value.source
    assert "MeanBackward0" in loss.value.source and "PowBackward0" in loss.value.source
    no_b = run.cell("a_tensor_without_gradients_leaves_no_box").value.source
    assert no_b.count("AccumulateGrad") == 1 and yhat.value.source.count("AccumulateGrad") == 2
    branch = run.cell("the_graph_follows_the_code_that_ran").value.source
    assert branch.count("MeanBackward0") == 2
    drawings = [b for b in lesson_bundles(run) if "image/svg+xml" in b]
    assert len(drawings) == 4 and all("<svg" in d["image/svg+xml"] for d in drawings)
    assert not any(c.warnings for c in run.cells)  # torchviz's own deprecation notes are not the lesson's


def test_parameters_and_state_dict_and_train_mode(runs) -> None:  # type: ignore[no-untyped-def]
    run = runs["model"]
    assert run.cell("a_model_s_parameters").value_text == (
        "[Parameter containing:\ntensor([0.3367], requires_grad=True), Parameter containing:\n"
        "tensor([0.1288], requires_grad=True)]")
    assert _out(run, "its_state_dict") == ["OrderedDict([('b', tensor([0.3367])), ('w', tensor([0.1288]))])",
                                           "False True", "True"]
    optimizer_state = run.cell("the_optimizer_s_state_dict").value
    (group,) = optimizer_state["param_groups"]
    assert group["lr"] == 0.1 and group["params"] == [0, 1] and optimizer_state["state"] == {}
    train, dropped, evaluation, passed = _out(run, "what_train_switches")
    assert (train, evaluation) == ("True [True, True]", "False [False, False]")
    assert "0." in dropped and "2." in dropped and passed == "tensor([1., 1., 1., 1., 1., 1.])"
    nested = run.cell("a_nested_model").value
    assert float(nested["linear.weight"]) == pytest.approx(0.7645, abs=1e-4) or run.device != "cpu"
    assert list(run.cell("a_sequential_model").value) == ["0.weight", "0.bias"]
    assert _out(run, "named_layers")[-1] == ("{'layer1.weight': (5, 3), 'layer1.bias': (5,), "
                                             "'layer2.weight': (1, 5), 'layer2.bias': (1,)}")


def test_the_data_lesson_makes_the_arrays_every_run_trains_on(runs) -> None:  # type: ignore[no-untyped-def]
    run = runs["data"]
    assert _out(run, "every_run_trains_on_these") == ["True True", "True True"]
    assert _out(run, "the_train_validation_split")[-1] == "(80, 1) (20, 1)"
    other = run_lesson("data", Options(n=50, seed=3, val_split=0.4))
    assert _out(other, "every_run_trains_on_these") == ["True True", "True True"]
    assert _out(other, "the_train_validation_split")[-1] == "(30, 1) (20, 1)"


def test_the_data_lesson_with_other_data_is_one_usage_error() -> None:
    with pytest.raises(UsageError) as caught:
        run_lesson("data", Options(data="diabetes"))
    assert type(caught.value) is UsageError and "\n" not in str(caught.value)
    assert "synthetic data with one feature" in str(caught.value)


def test_a_cell_shows_exactly_the_code_that_runs_from_its_file() -> None:
    from linreg_magic.lessons.cells import autograd

    code = cell_code(autograd.second_attempt_in_place)
    with open(code.filename, encoding="utf-8") as f:
        file_lines = f.read().splitlines()
    body = code.body.splitlines()
    indent = "    "
    assert [indent + line if line else "" for line in body] == \
        file_lines[code.first_line - 1:code.first_line - 1 + len(body)]
    assert body[-1].strip() == "w -= lr * w.grad"
    assert code.needs == ("seed", "device", "lr", "x_train_tensor", "y_train_tensor")


@pytest.mark.changes_session("random")
def test_an_error_in_a_cell_points_at_the_file_s_line() -> None:
    import traceback

    from linreg_magic.lessons.cells import autograd
    from linreg_magic.lessons.notebook import _compiled

    code = cell_code(autograd.second_attempt_in_place)
    statements, _ = _compiled(code)
    ns = dict(vars(autograd))
    ns.update(seed=42, device="cpu", lr=0.1, x_train_tensor=torch.ones(3, 1), y_train_tensor=torch.ones(3, 1))
    with pytest.raises(RuntimeError) as caught:
        exec(statements, ns)
    frame = traceback.extract_tb(caught.value.__traceback__)[-1]
    assert frame.filename == code.filename and frame.line.strip() == "b -= lr * b.grad"


@pytest.mark.changes_session("random")
def test_a_lesson_leaves_the_session_as_it_was() -> None:
    random.seed(5)
    np.random.seed(5)
    torch.manual_seed(5)
    stdout = sys.stdout
    for name in ("data", "tensors", "parameters"):
        run_lesson(name)
    draws = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(5)
    np.random.seed(5)
    torch.manual_seed(5)
    assert draws == (random.random(), np.random.rand(), torch.rand(1).item())
    assert sys.stdout is stdout and torch.is_grad_enabled()


def test_every_stage_offers_the_step_lesson_and_its_own_lessons() -> None:
    assert [e.name for e in lessons_for("numpy")] == ["data", "step"]
    assert [e.name for e in lessons_for("autograd")] == ["step", "parameters", "autograd", "graph"]
    assert [e.name for e in lessons_for("sequential")] == ["step"]


def test_an_unknown_lesson_is_one_usage_error_with_the_closest_name() -> None:
    with pytest.raises(UsageError) as caught:
        lesson_entry("tensor")
    assert type(caught.value) is UsageError
    assert str(caught.value).startswith("Unknown lesson 'tensor'. Valid lessons are data, step, tensors")
    assert "Did you mean %linreg lesson tensors?" in str(caught.value)


# -- the step lesson ------------------------------------------------------------------

def _first_step(stage: str, **options):  # type: ignore[no-untyped-def]
    from linreg_magic.lessons.lesson import lesson_plan
    from linreg_magic.lessons.step import first_step

    return first_step(lesson_plan(lesson_entry("step"), Options(stage=stage, **options)))


def test_the_numpy_step_shows_the_book_s_numbers_for_epoch_one() -> None:
    step = _first_step("numpy")
    assert step.start == (("b", "array([0.49671415])"), ("w", "array([-0.1382643])"))
    assert step.changed("loss") == ["2.7421577700550976"]
    assert step.changed("b_grad") == ["-3.044811379650508"]
    assert step.changed("w_grad") == ["-1.8337537171510832"]
    assert step.changed("b") == ["array([0.80119529])"] and step.changed("w") == ["array([0.04511107])"]
    assert not step.hand  # the numpy stage is the hand formulas
    line = next(t for t in step.lines if "b_grad = 2 * error.mean()" in t.line.text)
    assert line.changes == (("b_grad", "-3.044811379650508"),) and line.runs == 1


@pytest.mark.parametrize("stage", ["autograd", "optimizer", "loss", "module"])
def test_a_torch_step_shows_what_backward_put_in_grad_beside_the_hand_formulas(stage: str) -> None:
    step = _first_step(stage, device="cpu")
    name = "b.grad" if stage in ("autograd", "optimizer", "loss") else "model.b.grad"
    grads = step.changed(name)
    assert grads[0] == "tensor([-3.1125])"
    hand = dict(step.hand)
    assert hand["b_grad = 2 * error.mean()"] == "-3.1125"
    assert hand["w_grad = 2 * (x_train * error).mean()"] == "-1.8156"
    backward = next(t for t in step.lines if t.line.text.strip() == "loss.backward()")
    assert backward.changes[0][0].endswith("b.grad")
    assert step.loss == pytest.approx(2.7475, abs=1e-4)


def test_the_module_step_keeps_the_state_dict_print_on_its_line() -> None:
    step = _first_step("module", device="cpu")
    printing = next(t for t in step.lines if "print(model.state_dict())" in t.line.text)
    assert printing.printed == "OrderedDict([('b', tensor([0.6479])), ('w', tensor([0.3104]))])\n"
    assert step.changed("model.b.grad")[-1] == "None"  # optimizer.zero_grad() sets it to None


def test_the_step_greys_the_recording_line() -> None:
    from linreg_magic.lessons.render import step_html, step_text

    step = _first_step("nested", device="cpu")
    (log,) = [t for t in step.lines if "tracker.log" in t.line.text]
    assert log.line.kind.instrumentation and not log.changes
    assert "class='linreg-instrumentation'" in step_html(step)
    assert re.search(r"^\d+ · +tracker\.log\(loss, model\)$", step_text(step), flags=re.M)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_on_a_gpu_the_step_s_tensors_say_where_they_live() -> None:
    step = _first_step("autograd", device="cuda")
    assert "device='cuda:0'" in step.changed("b.grad")[0]
    assert step.device == "cuda:0"


# -- the magic ------------------------------------------------------------------------

def test_percent_linreg_lesson_lists_the_lessons(ip) -> None:  # type: ignore[no-untyped-def]
    with capture_output() as captured:
        ip.run_line_magic("linreg", "lesson")
    (out,) = captured.outputs
    text = out.data["text/plain"]
    assert [line.split()[2] for line in text.splitlines()] == [e.name for e in LESSONS]
    assert "%linreg lesson parameters" in out.data["text/html"]


def test_percent_linreg_lesson_shows_every_cell_with_its_output_and_nothing_on_stdout(ip) -> None:  # type: ignore[no-untyped-def]
    before = set(ip.user_ns)
    with capture_output() as captured:
        value = ip.run_line_magic("linreg", "lesson tensors --device cpu")
    assert value is None and captured.stdout == "" and captured.stderr == ""
    header, *cells = [o.data for o in captured.outputs]
    assert header["text/plain"].startswith("Lesson tensors: ")
    assert len(cells) == 5
    assert "same_matrix = matrix.view(1, 6)" in cells[2]["text/plain"]
    assert re.search(r"\| \d+ \d+ True$", cells[2]["text/plain"], flags=re.M)
    assert "class='linreg-lesson-output'" in cells[2]["text/html"]
    assert set(ip.user_ns) == before


def test_percent_linreg_lesson_step_follows_the_stage_asked_for(ip) -> None:  # type: ignore[no-untyped-def]
    with capture_output() as captured:
        ip.run_line_magic("linreg", "lesson step --stage loss --device cpu --lr 0.5")
    (out,) = captured.outputs
    text = out.data["text/plain"]
    assert text.startswith("Epoch 1 of the loss stage, line by line")
    assert "lr = 0.5" in text and "loss = loss_fn(yhat, y_train_tensor)" in text
    with capture_output() as captured:
        ip.run_line_magic("linreg", "lesson step")
    assert captured.outputs[0].data["text/plain"].startswith("Epoch 1 of the numpy stage")


@pytest.mark.parametrize(("line", "message"), [
    ("lesson tensor", "Unknown lesson 'tensor'"),
    ("lesson tensors autograd", "lesson takes one name"),
    ("lesson step --stage nope", "Unknown stage 'nope'"),
    ("lesson data --data diabetes", "the data lesson shows the book's synthetic data"),
])
def test_bad_lesson_commands_are_one_usage_error(ip, line: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match=message) as caught:
        ip.run_line_magic("linreg", line)
    assert type(caught.value) is UsageError and "\n" not in str(caught.value)


def test_the_magic_s_help_lists_the_lesson_command(ip) -> None:  # type: ignore[no-untyped-def]
    doc = ip.find_line_magic("linreg").__doc__ or ""
    assert "%linreg lesson [NAME]" in doc and "step --stage STAGE: epoch 1, line by line" in doc


def test_a_run_s_header_points_at_the_lessons_of_its_stage(run_cell_outputs) -> None:  # type: ignore[no-untyped-def]
    _, captured = run_cell_outputs("--stage autograd --device cpu --epochs 3 --show params")
    header = captured.outputs[0].data
    assert header["text/plain"].splitlines()[-1] == (
        "lessons: %linreg lesson step --stage autograd, %linreg lesson parameters, "
        "%linreg lesson autograd, %linreg lesson graph")
    assert "<code>%linreg lesson graph</code>" in header["text/html"]


def test_the_step_of_a_finished_run_starts_where_that_run_started() -> None:
    import linreg_magic
    from linreg_magic.lessons.step import first_step_of

    result = linreg_magic.run("optimizer", device="cpu", lr=0.3, epochs=5)
    step = first_step_of(result)
    assert step.lr == 0.3 and step.stage == "optimizer"
    assert step.changed("b")[0] == f"tensor([{result.path['b'][1, 0]:.4f}], requires_grad=True)"
