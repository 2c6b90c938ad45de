"""A student's own cell body, run in the stage's namespace and checked against the reference."""

from __future__ import annotations

import inspect
import textwrap

import numpy as np
import pytest
import torch
from IPython.utils.capture import capture_output

from linreg_magic.registry import BUILTIN_STAGES, get_stage
from linreg_magic.result import Result


def student_version(stage: str, losses: bool = True) -> str:
    """The stage's own training loop as a student would write it in the cell: the
    function's body, with ``tracker.log`` replaced by an optional ``losses`` list."""
    source = textwrap.dedent(inspect.getsource(get_stage(stage).model_training))
    body = textwrap.dedent("\n".join(source.splitlines()[1:]))
    kept = []
    for line in body.splitlines():
        if "tracker.log(" in line:
            if losses:
                kept.append(line.split("tracker.log(")[0] + "losses.append(float(loss))")
        elif not line.startswith("return "):
            kept.append(line)
    return ("losses = []\n" if losses else "") + "\n".join(kept) + "\n"


def cell_line(body: str, text: str) -> int:
    """The cell line of ``text`` in a body (the %%linreg line is line 1)."""
    return next(i for i, line in enumerate(body.splitlines(), 2) if text in line)


AUTOGRAD = student_version("autograd")
MODULE = student_version("module")
NUMPY = student_version("numpy", losses=False)

#: The classic mistake: on a GPU, .to(device) copies b and w into non-leaf tensors.
TO_DEVICE_AFTER_REQUIRES_GRAD = textwrap.dedent("""\
    torch.manual_seed(seed)
    b = torch.randn(1, requires_grad=True, dtype=torch.float).to(device)
    w = torch.randn(1, requires_grad=True, dtype=torch.float).to(device)
""") + AUTOGRAD

NESTED_WITHOUT_RETURN = textwrap.dedent("""\
    class MyLinearRegression(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(1, 1)

        def forward(self, x):
            self.linear(x)

    torch.manual_seed(seed)
    model = MyLinearRegression().to(device)
    optimizer = optim.SGD(model.parameters(), lr=lr)
""") + MODULE


def _texts(captured) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(o.data.get("text/plain", "") for o in captured.outputs)


def _verdict(captured) -> str:  # type: ignore[no-untyped-def]
    return next(o.data["text/plain"] for o in captured.outputs
                if o.data.get("text/html", "").startswith("<div class='linreg-verdict'"))


@pytest.mark.parametrize("stage", list(BUILTIN_STAGES))
def test_each_stages_own_loop_pasted_as_a_cell_is_judged_correct(run_cell_outputs, stage) -> None:
    result, captured = run_cell_outputs(f"--stage {stage} --device cpu --epochs 50",
                                        student_version(stage))
    assert _verdict(captured).startswith("✔ Correct"), _verdict(captured)
    assert result.epochs == 50


def test_a_correct_autograd_cell_is_judged_correct_with_its_first_gradients(run_cell_outputs) -> None:
    result, captured = run_cell_outputs("--stage autograd --device cpu", AUTOGRAD)
    verdict = _verdict(captured)
    assert verdict.startswith("✔ Correct")
    assert "b.grad, epoch 1" in verdict and "w.grad, epoch 1" in verdict
    assert isinstance(result, Result)
    assert result.b == pytest.approx(1.0235, abs=1e-4) and result.w == pytest.approx(1.9690, abs=1e-4)
    assert result.epochs == 1000  # the student's losses list is what the loss view plots
    assert result.losses[0] > result.losses[-1]


def test_a_student_run_shows_the_same_views_as_a_reference_run(run_cell_outputs) -> None:
    _, captured = run_cell_outputs("--stage autograd --device cpu", AUTOGRAD)
    kinds = [sorted(o.data) for o in captured.outputs]
    assert ["image/png", "text/plain"] in kinds  # fit and loss figure
    assert ["image/svg+xml", "text/plain"] in kinds or "Graph not drawn" in _texts(captured)
    assert "autograd · cpu" in _texts(captured)  # the header


def test_the_students_graph_is_drawn_from_their_own_loss(run_cell_outputs) -> None:
    result, _ = run_cell_outputs("--stage autograd --device cpu", AUTOGRAD)
    from linreg_magic.views import graph_of

    source = graph_of(result).source
    assert "PowBackward0" in source and "MeanBackward0" in source  # their (error ** 2).mean()
    module_result, _ = run_cell_outputs("--stage module --device cpu", MODULE)
    assert "MseLossBackward0" in graph_of(module_result).source


def test_numpy_stage_cell_matches_to_float64_rounding(run_cell_outputs) -> None:
    result, captured = run_cell_outputs("--stage numpy", NUMPY)
    assert _verdict(captured).startswith("✔ Correct")
    assert "tol 1e-06" in _verdict(captured)
    assert result.b == pytest.approx(1.02354094, abs=1e-8)
    assert result.epochs == 0 and "epochs not recorded" in _texts(captured)
    assert result.train_loss == pytest.approx(0.00804, abs=1e-5)


def test_a_missing_zero_grad_is_named_from_the_accumulated_gradients(run_cell_outputs) -> None:
    body = AUTOGRAD.replace("    b.grad.zero_()\n    w.grad.zero_()\n", "")
    result, captured = run_cell_outputs("--stage autograd --device cpu", body)
    verdict = _verdict(captured)
    assert verdict.startswith("✘ Not yet: your b and w differ from the reference run")
    assert "Likely mistake: the gradients accumulate: in epoch 2 b.grad held" in verdict
    assert "zero_grad()" in verdict
    assert isinstance(result, Result)  # the wrong run is still shown


def test_forgetting_zero_grad_with_an_optimizer_is_named_too(run_cell_outputs) -> None:
    body = MODULE.replace("    optimizer.zero_grad()\n", "")
    _, captured = run_cell_outputs("--stage module --device cpu", body)
    assert "Likely mistake: the gradients accumulate" in _verdict(captured)


def test_forward_without_return_is_named_with_its_line(run_cell_outputs) -> None:
    result, captured = run_cell_outputs("--stage nested --device cpu", NESTED_WITHOUT_RETURN)
    assert result is None
    text = _texts(captured)
    assert "AttributeError: 'NoneType' object has no attribute 'size'" in text
    assert "Likely mistake: forward() (cell line 7) has no `return`" in _verdict(captured)


def test_model_forward_call_gets_a_hint_even_when_the_numbers_agree(run_cell_outputs) -> None:
    body = MODULE.replace("model(x_train_tensor)", "model.forward(x_train_tensor)")
    _, captured = run_cell_outputs("--stage module --device cpu", body)
    verdict = _verdict(captured)
    assert verdict.startswith("✔ Correct")
    line = cell_line(body, "model.forward(x_train_tensor)")
    assert f"Hint: cell line {line} calls .forward(x): call model(x) instead" in verdict


def test_to_device_after_requires_grad_is_explained_as_a_non_leaf(run_cell_outputs) -> None:
    # .double() makes the same kind of copy that .to("cuda") makes on a GPU
    body = textwrap.dedent("""\
        b = torch.randn(1, requires_grad=True, dtype=torch.float).double()
        w = torch.randn(1, requires_grad=True, dtype=torch.float).double()
    """) + AUTOGRAD
    result, captured = run_cell_outputs("--stage autograd --device cpu", body)
    assert result is None
    verdict = _verdict(captured)
    assert "Likely mistake: b and w are not leaf tensors, so .grad stays None" in verdict
    assert "device=device" in verdict
    assert "warning from your code: The .grad attribute of a Tensor that is not a leaf" in verdict


def test_to_device_after_requires_grad_gets_a_hint_where_it_works_by_accident(run_cell_outputs) -> None:
    body = TO_DEVICE_AFTER_REQUIRES_GRAD
    _, captured = run_cell_outputs("--stage autograd --device cpu", body)
    verdict = _verdict(captured)
    assert verdict.startswith("✔ Correct")
    assert "Hint: cell line 3: .to(device) after requires_grad=True works on the CPU only" in verdict


def test_an_in_place_update_outside_no_grad_is_named(run_cell_outputs) -> None:
    body = AUTOGRAD.replace("    with torch.no_grad():\n        b -= lr * b.grad\n        w -= lr * w.grad\n",
                            "    b -= lr * b.grad\n    w -= lr * w.grad\n")
    result, captured = run_cell_outputs("--stage autograd --device cpu", body)
    assert result is None
    text = _texts(captured)
    assert f"Cell line {cell_line(body, 'b -= lr')}, in <module>\n    b -= lr * b.grad" in text
    assert "RuntimeError: a leaf Variable that requires grad is being used in an in-place" in text
    assert "Likely mistake: an in-place update of a parameter outside `with torch.no_grad():`" in text


def test_data_and_model_on_different_devices_is_named(run_cell_outputs) -> None:
    # the "meta" device exists on every machine, so the mismatch is real here too
    body = "x = x_train_tensor.to('meta')\nyhat = model(x)\n"
    result, captured = run_cell_outputs("--stage sequential --device cpu", body)
    assert result is None
    assert "Likely mistake: the data and the model are on different devices" in _verdict(captured)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_a_gpu_data_left_on_the_cpu_is_named(run_cell_outputs) -> None:
    body = "yhat = model(torch.as_tensor(x_train).float())\n"
    _, captured = run_cell_outputs("--stage module --device cuda", body)
    assert "Likely mistake: the data and the model are on different devices" in _verdict(captured)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_a_gpu_to_device_after_requires_grad_is_named(run_cell_outputs) -> None:
    body = TO_DEVICE_AFTER_REQUIRES_GRAD
    result, captured = run_cell_outputs("--stage autograd --device cuda", body)
    assert result is None
    assert "Likely mistake: b and w are not leaf tensors" in _verdict(captured)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_a_gpu_a_correct_cell_matches_the_gpu_reference(run_cell_outputs) -> None:
    result, captured = run_cell_outputs("--stage autograd --device cuda", AUTOGRAD)
    assert _verdict(captured).startswith("✔ Correct")
    assert result.device.startswith("cuda")


def test_a_diverging_learning_rate_stops_early_and_suggests_one_that_works(run_cell_outputs) -> None:
    result, captured = run_cell_outputs("--stage autograd --device cpu --lr 2", AUTOGRAD)
    verdict = _verdict(captured)
    assert "Likely mistake: diverged at epoch" in verdict
    assert "lr=2 is above 0.806, the largest stable learning rate" in verdict
    assert "try --lr 0.5" in verdict
    assert result.stopped.text.startswith("diverged at epoch")
    assert len(result.losses) < 1000  # stopped early


def test_a_diverging_numpy_cell_says_at_which_epoch_from_its_losses(run_cell_outputs) -> None:
    body = student_version("numpy")
    _, captured = run_cell_outputs("--stage numpy --lr 1.5", body)
    verdict = _verdict(captured)
    assert verdict.startswith("✘ This learning rate makes gradient descent diverge")
    assert "diverged at epoch 353 (the loss became inf)" in verdict and "try --lr 0.5" in verdict


def test_a_body_that_leaves_no_result_says_what_is_expected(run_cell_outputs) -> None:
    result, captured = run_cell_outputs("--stage module --device cpu", "del model\n")
    assert result is None
    assert "your code must leave the trained nn.Module in a variable called `model`" in _verdict(captured)
    _, captured = run_cell_outputs("--stage autograd --device cpu", "w = 'two'\n")
    assert "`w` should be a tensor or array of numbers, not str" in _verdict(captured)


def test_a_body_that_trains_nothing_is_told_so(run_cell_outputs) -> None:
    _, captured = run_cell_outputs("--stage optimizer --device cpu", "x = 1\n")
    assert "Likely mistake: your code did not change the parameters" in _verdict(captured)


def test_wrong_first_gradients_point_at_the_forward_pass_and_loss(run_cell_outputs) -> None:
    body = AUTOGRAD.replace("(error ** 2).mean()", "(error ** 2).sum()").replace("lr * ", "lr / 80 * ")
    _, captured = run_cell_outputs("--stage autograd --device cpu", body)
    verdict = _verdict(captured)
    assert "DIFFERS" in verdict
    assert "Likely mistake: your first gradients differ from the reference's" in verdict


def test_the_body_runs_in_a_fresh_namespace_and_nothing_leaks(ip, run_cell_outputs) -> None:
    ip.user_ns["b"] = "mine"
    before = set(ip.user_ns)
    run_cell_outputs("--stage autograd --device cpu", AUTOGRAD + "assert 'ip' not in dir()\nleak = 1\n")
    assert set(ip.user_ns) - before <= {"_", "__", "___"}
    assert ip.user_ns["b"] == "mine"
    ip.user_ns.pop("b")


def test_store_keeps_the_students_result_under_the_name_asked(ip, run_cell_outputs) -> None:
    result, _ = run_cell_outputs("--stage autograd --device cpu --store mine", AUTOGRAD)
    assert ip.user_ns.pop("mine") is result
    result, _ = run_cell_outputs("--stage numpy --epochs 10 --store ref")
    assert ip.user_ns.pop("ref") is result


def test_the_body_sees_exactly_what_the_contract_promises(run_cell_outputs) -> None:
    from linreg_magic.check import contract
    from linreg_magic.options import Options

    for stage in ("numpy", "autograd", "module"):
        promised = [name for name, _ in contract(Options(stage=stage, device="cpu")).provided]
        body = (f"assert sorted(n for n in dir() if not n.startswith('__')) == {sorted(promised)!r}\n")
        _, captured = run_cell_outputs(f"--stage {stage} --device cpu --epochs 3", body)
        assert "AssertionError" not in _texts(captured), stage


def test_contract_is_read_from_the_stage_steps(ip) -> None:
    with capture_output() as captured:
        ip.run_line_magic("linreg", "contract autograd")
    text = captured.outputs[0].data["text/plain"]
    assert "x_train_tensor  tensor float32 of shape (80, 1) on the device" in text
    assert "b               tensor float32 of shape (1,) on the device, requires_grad=True" in text
    assert "torch           import torch" in text and "nn              import torch.nn as nn" in text
    assert "The reference's training code uses: x_train_tensor, y_train_tensor, b, w, lr, n_epochs" in text
    assert "Expected after your code:\n  b" in text
    assert "n_epochs        1000\n" in text
    assert "loss            the last epoch's loss tensor: its autograd graph is drawn" in text
    assert "losses" in text


def test_contract_for_module_stages_expects_a_model_and_offers_the_optimizer(ip) -> None:
    with capture_output() as captured:
        ip.run_line_magic("linreg", "contract --stage module")
    text = captured.outputs[0].data["text/plain"]
    assert "model           ManualLinearRegression (nn.Module, 2 parameters) on the device" in text
    assert "optimizer       SGD optimizer over the parameters above, lr=0.1" in text
    assert "loss_fn         MSELoss()" in text
    assert "Expected after your code:\n  model" in text


def test_a_body_of_comments_still_runs_the_reference(run_cell_outputs) -> None:
    result, captured = run_cell_outputs("--stage numpy --epochs 5", "# nothing of mine yet\n")
    assert isinstance(result, Result)
    assert "checked against the reference" not in _texts(captured)


@pytest.mark.changes_session("random")
def test_a_student_run_leaves_random_states_and_grad_mode_as_they_were(run_cell_outputs) -> None:
    np.random.seed(7)
    torch.manual_seed(7)
    expected = (np.random.get_state()[1].copy(), torch.random.get_rng_state().clone())
    body = "torch.manual_seed(0)\nnp.random.seed(0)\ntorch.set_grad_enabled(False)\n" + MODULE
    run_cell_outputs("--stage module --device cpu --epochs 5", body)
    assert np.array_equal(np.random.get_state()[1], expected[0])
    assert torch.equal(torch.random.get_rng_state(), expected[1])
    assert torch.is_grad_enabled()


def test_a_loop_of_fixed_length_is_named_with_its_line(run_cell_outputs) -> None:
    body = NUMPY.replace("range(n_epochs)", "range(100)")
    _, captured = run_cell_outputs("--stage numpy", body)
    line = cell_line(body, "range(100)")
    assert f"Likely mistake: cell line {line} loops a fixed number of times: use range(n_epochs)" \
        in _verdict(captured)


def test_the_number_of_epochs_in_the_losses_list_is_compared(run_cell_outputs) -> None:
    body = AUTOGRAD.replace("range(n_epochs)", "range(n_epochs // 2)")
    _, captured = run_cell_outputs("--stage autograd --device cpu", body)
    assert ("Likely mistake: your loop ran 500 epochs (your losses list has 500 entries), the "
            "reference 1000") in _verdict(captured)


def test_a_new_unseeded_model_is_named_as_new_parameters(run_cell_outputs) -> None:
    body = "torch.manual_seed(7)\nmodel = nn.Sequential(nn.Linear(1, 1)).to(device)\n" \
           "optimizer = optim.SGD(model.parameters(), lr=lr)\n" + student_version("sequential")
    _, captured = run_cell_outputs("--stage sequential --device cpu --epochs 20", body)
    assert "Likely mistake: you created new parameters instead of training the ones provided" \
        in _verdict(captured)


def test_a_students_numpy_code_on_the_users_own_arrays_is_checked(ip):
    ip.user_ns["xs"] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    ip.user_ns["ys"] = [1 + 2 * x for x in ip.user_ns["xs"]]
    body = ("for epoch in range(n_epochs):\n"
            "    error = b + w * x_train - y_train\n"
            "    loss = (error ** 2).mean()\n"
            "    b = b - lr * 2 * error.mean()\n"
            "    w = w - lr * 2 * (x_train * error).mean()\n")
    with capture_output() as captured:
        result = ip.run_cell_magic("linreg", "--stage numpy --data user --x xs --y ys --val-split 0.2",
                                   body)
    text = " ".join(o.data["text/plain"] for o in captured.outputs)
    assert result.data.name != "synthetic" and len(result.data.x) == 10
    assert "numpy has no autograd" in text
    del ip.user_ns["xs"], ip.user_ns["ys"]
