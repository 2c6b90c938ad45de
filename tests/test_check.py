"""A student's own cell body: recorded, judged by what it does, shown beside the reference.

The corpus (tests/test_check_corpus.py) judges well over a hundred bodies; these tests
follow single bodies through the real shell, the views and the Result an autograder
gets.
"""

from __future__ import annotations

import base64
import inspect
import io
import textwrap

import numpy as np
import pytest
import torch
from IPython.utils.capture import capture_output

from linreg_magic.check import FindingKind, Level, Severity, StudentRun, contract, run_student
from linreg_magic.options import Options
from linreg_magic.registry import BUILTIN_STAGES, get_stage
from linreg_magic.result import Result

LOOP = textwrap.dedent("""\
    for epoch in range(n_epochs):
        yhat = b + w * x_train_tensor
        error = (yhat - y_train_tensor)
        loss = (error ** 2).mean()
        loss.backward()
        with torch.no_grad():
            b -= lr * b.grad
            w -= lr * w.grad
        b.grad.zero_()
        w.grad.zero_()
""")


def stage_loop(stage: str) -> str:
    """The stage's training loop as the code view shows it (tracker.log and return dict)."""
    source = textwrap.dedent(inspect.getsource(get_stage(stage).model_training))
    return textwrap.dedent("\n".join(source.splitlines()[1:])) + "\n"


def _texts(captured) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(o.data.get("text/plain", "") for o in captured.outputs)


def _verdict(captured) -> str:  # type: ignore[no-untyped-def]
    return next(o.data["text/plain"] for o in captured.outputs
                if o.data.get("text/html", "").startswith("<div class='linreg-verdict'"))


def _pngs(captured) -> list[bytes]:  # type: ignore[no-untyped-def]
    return [base64.b64decode(o.data["image/png"]) for o in captured.outputs if "image/png" in o.data]


@pytest.mark.parametrize("stage", list(BUILTIN_STAGES))
def test_each_stages_loop_pasted_from_the_code_view_is_correct(run_cell_outputs, stage) -> None:
    device = "" if stage == "numpy" else " --device cpu"
    result, captured = run_cell_outputs(f"--stage {stage}{device} --epochs 50", stage_loop(stage))
    assert _verdict(captured).startswith("✔ Correct: your code does what the reference does"), \
        _verdict(captured)
    assert result.verdict.passed and result.verdict.level is Level.CORRECT
    assert result.epochs == 50


def test_an_autograder_asserts_on_the_verdict_of_the_result(run_cell_outputs) -> None:
    result, _ = run_cell_outputs("--stage autograd --device cpu --epochs 100", LOOP)
    assert isinstance(result, Result) and result.checked
    assert result.verdict.passed
    assert result.verdict.kinds == ()
    wrong, _ = run_cell_outputs("--stage autograd --device cpu --epochs 100",
                                LOOP.replace(".mean()", ".sum()"))
    assert not wrong.verdict.passed
    first = wrong.verdict.findings[0]
    assert first.kind is FindingKind.LOSS_SUM and first.severity is Severity.MISTAKE
    assert first.line == 5 and first.source == "loss = (error ** 2).sum()"
    assert first.edits[0].new == ("    loss = (error ** 2).mean()",)


def test_every_epoch_of_a_students_loop_is_recorded_without_a_losses_list(run_cell_outputs) -> None:
    result, captured = run_cell_outputs("--stage autograd --device cpu --epochs 200", LOOP)
    reference = run_student(Options(stage="autograd", device="cpu", epochs=200), LOOP).reference
    assert result.epochs == 200 and len(result.intercept_path) == 201
    np.testing.assert_allclose(result.intercept_path, reference.intercept_path, atol=1e-6)
    np.testing.assert_allclose(result.coef_path, reference.coef_path, atol=1e-6)
    np.testing.assert_allclose(result.losses, reference.losses, rtol=1e-5)
    assert "epochs not recorded" not in _texts(captured)
    assert "200 epochs" in _texts(captured)


def test_a_numpy_loop_is_recorded_to_float64_rounding(run_cell_outputs) -> None:
    result, captured = run_cell_outputs("--stage numpy", stage_loop("numpy"))
    assert "within 1e-06" in _verdict(captured)
    assert result.b == pytest.approx(1.02354094, abs=1e-8) and result.w == pytest.approx(1.96896411, abs=1e-8)
    assert result.epochs == 1000 and result.train_loss == pytest.approx(0.00804, abs=1e-5)


def test_another_start_is_judged_against_gradient_descent_from_that_start(run_cell_outputs) -> None:
    body = ("torch.manual_seed(7)\nb = torch.randn(1, requires_grad=True)\n"
            "w = torch.randn(1, requires_grad=True)\n" + LOOP)
    result, captured = run_cell_outputs("--stage autograd --device cpu --epochs 100", body)
    assert result.verdict.level is Level.CORRECT
    assert FindingKind.START in result.verdict.kinds
    assert "from your own start" in _verdict(captured)
    seven = torch.Generator().manual_seed(7)
    assert result.intercept_path[0] == pytest.approx(float(torch.randn(1, generator=seven)))


def test_a_model_with_other_parameter_names_is_judged_by_what_it_computes(run_cell_outputs) -> None:
    body = textwrap.dedent("""\
        torch.manual_seed(42)
        model = nn.Sequential(nn.Linear(3, 5), nn.Linear(5, 1)).to(device)
        optimizer = optim.SGD(model.parameters(), lr=lr)
        for epoch in range(n_epochs):
            loss = loss_fn(model(x_train_tensor), y_train_tensor)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    """)
    result, _ = run_cell_outputs("--stage sequential --device cpu --features 3 --hidden 5 --epochs 50", body)
    assert result.verdict.level is Level.CORRECT, result.verdict
    assert set(result.params) == {"0.weight", "0.bias", "1.weight", "1.bias"}
    assert result.coef.shape == (3,)


def test_a_learning_rate_set_in_the_body_is_named_and_never_blamed_on_the_option(run_cell_outputs) -> None:
    body = "optimizer = optim.SGD([b, w], lr=50)\n" + stage_loop("optimizer")
    result, captured = run_cell_outputs("--stage optimizer --device cpu --epochs 100", body)
    verdict = _verdict(captured)
    first = result.verdict.findings[0]
    assert first.kind is FindingKind.OWN_LR and first.line == 2
    assert "lr=50 on cell line 2" in verdict and "above 0.806" in verdict
    assert "--lr 0" not in verdict and "try --lr" not in verdict
    assert first.edits[0].new == ("optimizer = optim.SGD([b, w], lr=lr)",)


def test_a_diverging_option_with_correct_code_advises_another_option(run_cell_outputs) -> None:
    result, captured = run_cell_outputs("--stage autograd --device cpu --lr 2", LOOP)
    verdict = _verdict(captured)
    assert result.verdict.level is Level.NOTE
    assert result.verdict.findings[0].kind is FindingKind.DIVERGED
    assert "lr=2 is above 0.806, the largest stable learning rate" in verdict and "try --lr 0.5" in verdict
    assert result.stopped.text.startswith("diverged at epoch") and result.epochs < 1000


def test_a_loss_graph_that_grows_every_epoch_is_not_drawn_and_the_cell_goes_on(run_cell_outputs) -> None:
    body = textwrap.dedent("""\
        b = b.clone().requires_grad_()
        w = w.clone().requires_grad_()
        for epoch in range(n_epochs):
            error = b + w * x_train_tensor - y_train_tensor
            loss = (error ** 2).mean()
            b = b - lr * 2 * error.mean()
            w = w - lr * 2 * (x_train_tensor * error).mean()
    """)
    result, captured = run_cell_outputs("--stage tensors --device cpu --epochs 2000", body)
    assert result.verdict.level is Level.NOTE
    assert result.verdict.findings[0].kind is FindingKind.GRAPH_GROWS
    assert result.autograd is None and "reaches back through every epoch" in result.graph_note
    assert "Graph: not drawn" in _texts(captured)


def test_the_edits_a_verdict_suggests_make_the_body_pass() -> None:
    from linreg_magic.check.verdict import apply_edits

    options = Options(stage="autograd", device="cpu", epochs=60)
    body = LOOP.replace("    b.grad.zero_()\n    w.grad.zero_()\n", "")
    verdict = run_student(options, body).verdict
    assert verdict.findings[0].kind is FindingKind.NO_ZERO_GRAD
    fixed = apply_edits(body, verdict.edits)
    assert "    b.grad.zero_()\n    w.grad.zero_()\n" in fixed
    assert run_student(options, fixed).verdict.level is Level.CORRECT


def test_make_dot_in_a_body_shows_the_graph_as_svg(run_cell_outputs) -> None:
    result, captured = run_cell_outputs("--stage autograd --device cpu --epochs 5", LOOP + "make_dot(loss)\n")
    assert result.verdict.passed
    svgs = [o.data["image/svg+xml"] for o in captured.outputs if "image/svg+xml" in o.data]
    assert len(svgs) >= 2  # the body's own make_dot, and the graph view
    assert "MeanBackward0" in svgs[0] or "Mean" in svgs[0]


def test_the_whole_stage_file_pasted_as_a_body_runs_its_steps(run_cell_outputs) -> None:
    result, _ = run_cell_outputs("--stage module --device cpu --epochs 30", get_stage("module").source())
    assert result.verdict.level is Level.CORRECT, result.verdict
    assert result.epochs == 30


def test_a_failed_body_still_gives_its_result_and_a_verdict_that_did_not_pass(run_cell_outputs) -> None:
    body = LOOP.replace("    with torch.no_grad():\n        b -= lr * b.grad\n        w -= lr * w.grad\n",
                        "    b = b - lr * b.grad\n    w = w - lr * w.grad\n")
    result, captured = run_cell_outputs("--stage autograd --device cpu --epochs 100", body)
    assert not result.verdict.passed
    assert result.verdict.findings[0].kind is FindingKind.REBINDING
    assert "Traceback (your code, most recent call last)" in _texts(captured)
    assert "`.to(device)` makes a copy" not in _verdict(captured)
    assert result.epochs == 1  # the first epoch ran; the second could not


def test_the_views_show_the_students_path_beside_the_references(run_cell_outputs) -> None:
    from linreg_magic.views.student import plot_student_loss, plot_student_surface

    body = LOOP.replace("    b.grad.zero_()\n    w.grad.zero_()\n", "")
    options = Options(stage="autograd", device="cpu", epochs=100)
    run = run_student(options, body)
    assert run.verdict.parted_at == 2
    surface = plot_student_surface(run)
    gids = {line.get_gid() for line in surface.lines}
    assert {"path", "reference-path", "parted"} <= gids
    loss = plot_student_loss(run)
    parted = next(line for line in loss.lines if line.get_gid() == "parted")
    assert parted.get_xdata()[0] == 2
    reference = next(line for line in loss.lines if line.get_gid() == "reference-loss")
    np.testing.assert_allclose(reference.get_ydata(), run.expected.losses)
    failed = run_student(options, "for epoch in range(n_epochs):\n    b -= lr\n")  # refused: a leaf
    assert failed.result.epochs == 0
    assert [t.get_text() for t in plot_student_loss(failed).texts] == ["no epoch of your loop finished"]
    _, captured = run_cell_outputs("--stage autograd --device cpu --epochs 100 --show fit,loss,surface", body)
    assert len(_pngs(captured)) == 2


def test_several_features_show_the_reference_predictions_beside_the_students() -> None:
    from linreg_magic.views.student import plot_student_fit

    body = stage_loop("sequential").replace("optimizer.zero_grad()", "")
    run = run_student(Options(stage="sequential", device="cpu", features=3, epochs=50), body)
    assert not run.verdict.passed
    ax = plot_student_fit(run)
    assert any(c.get_gid() == "reference-fit" for c in ax.collections)


def test_a_view_that_fails_says_so_in_one_line_and_the_others_show(run_cell_outputs, monkeypatch) -> None:
    import linreg_magic.display

    def broken(*args: object, **kwargs: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(linreg_magic.display, "student_figure", broken)
    result, captured = run_cell_outputs("--stage autograd --device cpu --epochs 20", LOOP)
    text = _texts(captured)
    assert "Fit and loss figure: not drawn (RecursionError: maximum recursion depth exceeded)." in text
    assert "autograd · cpu" in text and result.verdict.passed


def test_the_body_sees_exactly_what_the_contract_promises(run_cell_outputs) -> None:
    for stage in ("numpy", "autograd", "module"):
        promised = [name for name, _ in contract(Options(stage=stage, device="cpu")).provided]
        body = f"assert sorted(n for n in dir() if not n.startswith('__')) == {sorted(promised)!r}\n"
        _, captured = run_cell_outputs(f"--stage {stage} --device cpu --epochs 3", body)
        assert "AssertionError" not in _texts(captured), stage
    module = dict(contract(Options(stage="module", device="cpu")).provided)
    assert {"tracker", "make_dot", "ManualLinearRegression"} <= set(module)


def test_contract_is_read_from_the_stage_steps(ip) -> None:
    with capture_output() as captured:
        ip.run_line_magic("linreg", "contract autograd")
    text = captured.outputs[0].data["text/plain"]
    assert "x_train_tensor  tensor float32 of shape (80, 1) on the device" in text
    assert "b               tensor float32 of shape (1,) on the device, requires_grad=True" in text
    assert "The reference's training code uses: x_train_tensor, y_train_tensor, b, w, lr, n_epochs" in text
    assert "Expected after your code:\n  b" in text
    assert "Recorded for you: every epoch of your training loop" in text


def test_the_body_runs_in_a_fresh_namespace_and_nothing_leaks(ip, run_cell_outputs) -> None:
    ip.user_ns["b"] = "mine"
    before = set(ip.user_ns)
    body = LOOP + "assert 'ip' not in dir()\nleak = 1\n"
    run_cell_outputs("--stage autograd --device cpu --epochs 5", body)
    assert set(ip.user_ns) - before <= {"_", "__", "___"}
    assert ip.user_ns.pop("b") == "mine"


def test_store_keeps_the_students_result_under_the_name_asked(ip, run_cell_outputs) -> None:
    result, _ = run_cell_outputs("--stage autograd --device cpu --epochs 5 --store mine", LOOP)
    assert ip.user_ns.pop("mine") is result


@pytest.mark.changes_session("random")
def test_a_student_run_leaves_random_states_and_grad_mode_as_they_were(run_cell_outputs) -> None:
    np.random.seed(7)
    torch.manual_seed(7)
    expected = (np.random.get_state()[1].copy(), torch.random.get_rng_state().clone())
    body = "torch.manual_seed(0)\nnp.random.seed(0)\ntorch.set_grad_enabled(False)\n" + stage_loop("module")
    run_cell_outputs("--stage module --device cpu --epochs 5", body)
    assert np.array_equal(np.random.get_state()[1], expected[0])
    assert torch.equal(torch.random.get_rng_state(), expected[1])
    assert torch.is_grad_enabled()


def test_a_syntax_error_is_a_verdict_with_the_cells_line() -> None:
    run = run_student(Options(stage="numpy"), "x = 1\nfor i in range(3:\n    pass\n")
    assert isinstance(run, StudentRun) and run.result is None
    assert run.verdict.findings[0].kind is FindingKind.SYNTAX and run.verdict.findings[0].line == 3


def test_the_verdict_text_is_rendered_from_the_verdict() -> None:
    from linreg_magic.views.verdict import verdict_html, verdict_text

    run = run_student(Options(stage="numpy", epochs=50), "lr = 1.5\n" + stage_loop("numpy"))
    text, markup = verdict_text(run.verdict), verdict_html(run.verdict)
    assert text.startswith("✘ Not yet: your code uses its own learning rate")
    assert "Mistake: your steps are 15 times the reference's: your lr = 1.5 on cell line 2" in text
    assert "cell line 2: lr = 1.5" in text and "(delete the line)" in text
    assert markup.startswith("<div class='linreg-verdict'") and "lr = 1.5" in markup


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: this machine's torch sees none")
def test_on_a_gpu_a_students_run_never_waits_for_the_device_per_epoch() -> None:
    # Any host sync inside the recorded, observed epochs (the recorder, the gradient probe,
    # the first epochs' watch, the optimizer watch) raises; reading the record at the end may.
    options = Options(stage="autograd", device="cuda", epochs=40)
    body = ("torch.cuda.set_sync_debug_mode('error')\n" + LOOP.replace("for epoch", "for epoch", 1)
            + "torch.cuda.set_sync_debug_mode('default')\n")
    run_student(options, LOOP)  # CUDA's first use (its own syncs) outside the check
    try:
        run = run_student(options, body)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert run.error is None, run.error
    assert run.verdict.level is Level.CORRECT and run.result.device.startswith("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: this machine's torch sees none")
def test_on_a_gpu_to_device_after_requires_grad_is_named_as_a_copy() -> None:
    body = ("torch.manual_seed(42)\nb = torch.randn(1, requires_grad=True).to(device)\n"
            "w = torch.randn(1, requires_grad=True).to(device)\n" + LOOP)
    verdict = run_student(Options(stage="autograd", device="cuda", epochs=20), body).verdict
    assert verdict.findings[0].kind is FindingKind.NON_LEAF
    assert "device=device" in verdict.findings[0].edits[0].new[0]


def test_png_of_a_students_figures_is_a_real_image(run_cell_outputs) -> None:
    _, captured = run_cell_outputs("--stage module --device cpu --epochs 30", stage_loop("module"))
    png = _pngs(captured)[0]
    from matplotlib.image import imread

    assert imread(io.BytesIO(png)).shape[2] in (3, 4)


def test_a_model_without_parameters_has_a_headline_that_says_what_its_finding_says(run_cell_outputs) -> None:
    _, captured = run_cell_outputs("--stage module --device cpu", "model = nn.Identity()\n")
    verdict = _verdict(captured)
    assert verdict.startswith("✘ Not yet: your model has no parameters to train\n"), verdict
    assert "Mistake: your model (Identity) has no parameters" in verdict
    assert "not nn.Parameters" not in verdict
    assert "model.train()" not in verdict  # a body with no loop is not told about its loop


def test_a_suggested_edit_of_several_lines_shows_each_line_on_its_own_in_html(run_cell_outputs) -> None:
    body = ("for epoch in range(n_epochs):\n"
            "    yhat = b + w * x_train_tensor\n"
            "    loss = ((yhat - y_train_tensor) ** 2).mean()\n"
            "    loss.backward()\n"
            "    with torch.no_grad():\n"
            "        b -= lr * b.grad\n"
            "        w -= lr * w.grad\n")
    _, captured = run_cell_outputs("--stage autograd --device cpu --epochs 20 --show params", body)
    markup = next(o.data["text/html"] for o in captured.outputs
                  if o.data.get("text/html", "").startswith("<div class='linreg-verdict'"))
    edit = markup[markup.index("<pre"):markup.index("</pre>")]
    assert "becomes: " in edit and " / " not in edit  # never joined into what reads as a division
    assert "b.grad.zero_()" in edit and edit.count("\n") >= 2, edit


def test_a_body_with_nothing_to_read_still_leaves_its_verdict_in_the_cells_value(ip) -> None:
    with capture_output():
        ip.run_cell_magic("linreg", "--stage module --device cpu --store checked", "model = nn.Identity()\n")
    run = ip.user_ns["checked"]
    assert isinstance(run, StudentRun) and run.result is None
    assert not run.verdict.passed and "no parameters" in repr(run)
    with capture_output():  # what --store kept is ours, so the next run may replace it
        ip.run_cell_magic("linreg", "--stage module --device cpu --epochs 5 --store checked",
                          "# the stage's own code\n")
    assert isinstance(ip.user_ns.pop("checked"), Result)
