"""demo.ipynb runs top to bottom in a real kernel and shows its figures."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

DEMO = Path(__file__).resolve().parents[1] / "demo.ipynb"
TORCH_STAGES = ("tensors", "autograd", "optimizer", "loss", "module", "nested", "sequential")

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    nb = nbformat.read(DEMO, as_version=4)
    workdir = tmp_path_factory.mktemp("demo")
    NotebookClient(nb, kernel_name="python3", timeout=300,
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return nb


def _reference_cells(executed: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The cells that run a stage's own code (a magic line and, at most, comments)."""
    return [c for c in executed.cells if c.cell_type == "code"
            and re.search(r"%%?linreg --stage", c.source)
            and all(not line.strip() or line.lstrip().startswith("#")
                    for line in c.source.splitlines()[1:])]


def _text(cell: nbformat.NotebookNode) -> str:
    return "\n".join(o["data"].get("text/plain", "") for o in cell.outputs if "data" in o)


def _mimes(cell: nbformat.NotebookNode) -> set[str]:
    return {mime for out in cell.get("outputs", []) for mime in out.get("data", {})}


def test_every_code_cell_ran_without_an_error(executed):
    for cell in executed.cells:
        if cell.cell_type == "code":
            assert cell.execution_count is not None
            assert not [o for o in cell.outputs if o.output_type == "error"], cell.source


def test_every_stage_cell_shows_its_figure_and_table(executed):
    stage_cells = _reference_cells(executed)
    assert len(stage_cells) == 9
    for cell in stage_cells:
        mimes = _mimes(cell)
        assert {"image/png", "text/html", "text/plain"} <= mimes, cell.source


def test_torch_stages_from_autograd_on_show_the_graph_as_svg(executed):
    for cell in _reference_cells(executed):
        match = re.match(r"%%linreg --stage (\w+)", cell.source)
        if not match:
            continue
        has_svg = "image/svg+xml" in _mimes(cell)
        assert has_svg == (match.group(1) in TORCH_STAGES[1:]), cell.source


def test_every_stage_cell_lands_on_the_books_answer(executed):
    for cell in _reference_cells(executed):
        match = re.match(r"%%linreg --stage (\w+)", cell.source)
        if not match:
            continue
        table = next(o["data"]["text/plain"] for o in cell.outputs
                     if o.get("data", {}).get("text/plain", "").startswith("parameter"))
        learned = re.findall(r"^(?:b|w) \(\w+\)\s+(\S+)", table, flags=re.M)
        assert [round(float(v), 4) for v in learned] == [1.0235, 1.969], (cell.source, table)


def test_the_last_cell_reads_the_result_from_underscore(executed):
    text = executed.cells[-1].outputs[-1]["data"]["text/plain"]
    numbers = [float(v) for v in re.findall(r"-?\d+\.\d+", text)]
    intercept, slopes = numbers[0], numbers[1:4]
    assert intercept == pytest.approx(1.0, abs=0.1)
    assert slopes == pytest.approx([2.0, -1.0, 0.5], abs=0.1)


def _cell(executed: nbformat.NotebookNode, source_start: str) -> nbformat.NotebookNode:
    return next(c for c in executed.cells if c.cell_type == "code" and c.source.startswith(source_start))


def test_the_diff_cell_shows_what_module_adds_to_loss(executed):
    cell = _cell(executed, "%linreg diff module")
    html = " ".join(o["data"].get("text/html", "") for o in cell.outputs if "data" in o)
    assert "nn.Parameter" in html and "loss" in html


def test_surface_and_compare_and_data_cells_show_images(executed):
    for start in ("%linreg --show params,surface", "%linreg --lr 1.05", "%linreg compare",
                  "%linreg --data diabetes", "%linreg --data user", "%linreg --epochs 20000"):
        cell = _cell(executed, start)
        assert "image/png" in _mimes(cell), start


def test_the_compare_cell_lists_every_stage(executed):
    cell = _cell(executed, "%linreg compare")
    text = " ".join(o["data"].get("text/plain", "") for o in cell.outputs if "data" in o)
    for stage in ("numpy", *TORCH_STAGES):
        assert stage in text


def test_the_students_cells_are_judged_and_their_mistakes_named(executed):
    contract = _text(_cell(executed, "%linreg contract autograd"))
    assert "x_train_tensor" in contract and "b" in contract
    accumulate = _text(_cell(executed, "%%linreg --stage autograd --device cpu\nfor"))
    assert "accumulate" in accumulate
    no_return = _text(_cell(executed, "%%linreg --stage nested --device cpu"))
    assert "return" in no_return
    forward = _text(_cell(executed, "%%linreg --stage module --device cpu --store mine"))
    assert "model(x)" in forward
    stored = _text(_cell(executed, "mine.b, mine.w"))
    assert [round(float(v), 4) for v in re.findall(r"-?\d+\.\d+", stored)] == [1.0235, 1.969]


def test_a_diverging_learning_rate_says_which_one_works(executed):
    text = _text(_cell(executed, "%linreg --lr 1.5"))
    assert "diverged at epoch" in text and "try --lr" in text


def test_the_widget_cells_show_a_widget_with_a_static_copy(executed):
    for start in ("%linreg widget --stage module", "from linreg_magic import LinregWidget",
                  "%linreg widget lecture.json"):
        mimes = _mimes(_cell(executed, start))
        assert "application/vnd.jupyter.widget-view+json" in mimes, start
        assert "text/html" in mimes and "text/plain" in mimes, start


def test_the_bench_cell_plots_time_per_epoch_and_says_why_a_device_is_skipped(executed):
    cell = _cell(executed, "%linreg bench")
    assert "image/png" in _mimes(cell)
    text = _text(cell)
    assert "cpu" in text
    import torch

    if not torch.cuda.is_available():
        assert "cuda" in text and "skipped" in text.lower()


def test_no_cell_writes_warnings_or_errors_to_stderr(executed):
    for cell in executed.cells:
        if cell.cell_type == "code":
            stderr = [o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
            assert not stderr, (cell.source, stderr)


def test_the_diverging_compare_cell_says_where_each_run_stopped(executed):
    text = _text(_cell(executed, "%linreg compare --lr 5"))
    assert "diverged at epoch" in text and "try --lr" in text


def _exact_cell(executed: nbformat.NotebookNode, line: str) -> nbformat.NotebookNode:
    return next(c for c in executed.cells if c.cell_type == "code" and c.source.strip() == line)


def _lesson(executed: nbformat.NotebookNode, line: str) -> tuple[str, str, set[str]]:
    cell = _exact_cell(executed, line)
    html = " ".join(o["data"].get("text/html", "") for o in cell.outputs if "data" in o)
    return _text(cell), html, _mimes(cell)


def test_the_lessons_cell_lists_every_lesson(executed):
    from linreg_magic.lessons import LESSONS

    text, _, _ = _lesson(executed, "%linreg lesson")
    assert [line.split()[2] for line in text.splitlines()] == [e.name for e in LESSONS]


def test_every_lesson_has_a_cell_that_shows_its_real_output(executed):
    from linreg_magic.lessons import LESSONS

    lines = {c.source.strip() for c in executed.cells if c.cell_type == "code"}
    for entry in LESSONS:
        assert any(line.startswith(f"%linreg lesson {entry.name}") for line in lines), entry.name
    text, html, _ = _lesson(executed, "%linreg lesson tensors")
    assert re.search(r"\| (\d+) \1 True$", text, flags=re.M)  # view: the same data_ptr, really
    assert "class='linreg-lesson-output'" in html
    text, _, _ = _lesson(executed, "%linreg lesson autograd")
    assert "AttributeError: 'NoneType' object has no attribute 'zero_'" in text
    assert "RuntimeError: a leaf Variable that requires grad is being used in an in-place operation" in text
    import torch

    text, _, _ = _lesson(executed, "%linreg lesson devices")
    assert f"{torch.cuda.device_count()} CUDA GPU(s)" in text


def test_the_step_cells_show_epoch_one_s_numbers(executed):
    text, _, _ = _lesson(executed, "%linreg lesson step")
    assert "b_grad = -3.044811379650508" in text and "b = array([0.80119529])" in text
    text, _, _ = _lesson(executed, "%linreg lesson step --stage autograd")
    assert "b.grad = tensor([-3.1125]" in text and "b_grad = 2 * error.mean() = -3.1125" in text


def test_the_graph_lesson_draws_its_graphs(executed):
    cell = _exact_cell(executed, "%linreg lesson graph")
    assert sum("image/svg+xml" in o.get("data", {}) for o in cell.outputs) == 4


def test_no_cell_prints_a_bare_state_dict(executed):
    for cell in executed.cells:
        if cell.cell_type == "code" and "lesson" not in cell.source:
            streams = [o.text for o in cell.outputs if o.output_type == "stream"]
            assert not any("OrderedDict" in s for s in streams), cell.source


def test_the_module_cell_shows_its_print_labelled_under_the_parameters(executed):
    cell = next(c for c in _reference_cells(executed) if c.source.startswith("%%linreg --stage module"))
    table = next(o["data"]["text/plain"] for o in cell.outputs
                 if o.get("data", {}).get("text/plain", "").startswith("parameter"))
    assert "printed by the module stage's code:\nOrderedDict([('b', tensor([1.0235" in table


def test_the_compare_cell_shows_one_table_one_figure_and_its_value_on_one_line(executed):
    cell = _exact_cell(executed, "%linreg compare")
    kinds = [(o.output_type, sorted(o.get("data", {}))) for o in cell.outputs]
    assert kinds[:2] == [("display_data", ["text/html", "text/plain"]),
                         ("display_data", ["image/png", "text/plain"])]
    assert [k for k, _ in kinds[2:]] == ["execute_result"]
    assert cell.outputs[2]["data"]["text/plain"].count("\n") == 0


BOOK_AUTOGRAD_CELL = "%%linreg --stage autograd --device cpu\nfor epoch in range(n_epochs):\n    # Step 1"


def _plain_outputs(cell: nbformat.NotebookNode) -> list[str]:
    return [o["data"].get("text/plain", "") for o in cell.outputs if "data" in o]


def test_the_books_autograd_loop_ending_in_make_dot_is_correct_and_shows_its_graph(executed):
    cell = _cell(executed, BOOK_AUTOGRAD_CELL)
    assert cell.source.rstrip().endswith("make_dot(loss)")
    first = cell.outputs[0]
    assert "image/svg+xml" in first["data"] and "autograd graph" in first["data"]["text/plain"]
    assert "MeanBackward0" in first["data"]["image/svg+xml"]
    correct = "✔ Correct: your code does what the reference does"
    assert any(t.startswith(correct) for t in _plain_outputs(cell))


def test_the_autograder_cell_asserts_on_the_verdict_of_a_correct_body(executed):
    cell = _cell(executed, "r = _\nassert r.verdict.passed, r.verdict")
    assert not [o for o in cell.outputs if o.output_type == "error"]
    assert cell.outputs[-1]["data"]["text/plain"] == "('correct', ())"


def test_a_summed_loss_is_named_with_the_line_it_becomes(executed):
    cell = _cell(executed, BOOK_AUTOGRAD_CELL)
    summed = next(c for c in executed.cells if c.cell_type == "code" and c is not cell
                  and c.source.startswith("%%linreg --stage autograd") and "(error ** 2).sum()" in c.source)
    verdict = next(t for t in _plain_outputs(summed) if t.startswith("✘"))
    assert verdict.startswith("✘ Not yet: your loss sums the squared errors instead of averaging them")
    assert "80 times" in verdict
    assert "loss = (error ** 2).sum()\n        becomes: loss = (error ** 2).mean()" in verdict
    kinds = _cell(executed, "[f.kind.value for f in _.verdict.findings]")
    assert kinds.outputs[-1]["data"]["text/plain"] == "['loss_sum']"


def test_a_forgotten_zero_grad_shows_both_paths_parting_at_epoch_2(executed):
    cell = _cell(executed, "%%linreg --stage optimizer --show fit,loss,surface\n")
    assert "optimizer.zero_grad()" not in cell.source
    verdict = next(t for t in _plain_outputs(cell) if t.startswith("✘"))
    assert verdict.startswith("✘ Not yet: the gradients accumulate: they are never zeroed")
    assert "Your trajectory leaves the reference's at epoch 2." in verdict
    figures = [t for t in _plain_outputs(cell) if t.startswith("[figure")]
    assert figures == ["[figure: your optimizer run beside the reference; shown as an image in a notebook]",
                       "[figure: optimizer loss surface with your path and the reference's; shown as an "
                       "image in a notebook]"]
    assert sum("image/png" in o.get("data", {}) for o in cell.outputs) == 2


def test_the_books_own_lr_under_another_lr_option_is_correct_with_a_note(executed):
    cell = _cell(executed, "%%linreg --stage optimizer --device cpu --lr 0.05")
    verdict = next(t for t in _plain_outputs(cell) if t.startswith("✔"))
    assert verdict.startswith("✔ Correct, with a note: your code uses its own learning rate")
    assert "from lr = 0.1 on cell line 3, where the stage's --lr is 0.05" in verdict
    assert "cell line 3: lr = 0.1\n        becomes: (delete the line)" in verdict


def test_the_scripted_widget_runs_what_it_was_set_to_and_its_snapshot_keeps_the_figures(executed):
    cell = _cell(executed, 'w = LinregWidget(stage="optimizer", tab="surface")')
    assert "application/vnd.jupyter.widget-view+json" in _mimes(cell)
    text = _text(cell)
    assert text.startswith("LinregWidget: optimizer · ") and "lr=0.9 is above 0.806" in text
    snapshot = _exact_cell(executed, "w.snapshot()")
    html = snapshot.outputs[-1]["data"]["text/html"]
    assert html.count("<img") == 3 and "diverged at epoch" in html
    voila = next(c for c in executed.cells if c.cell_type == "markdown" and "voila demo.ipynb" in c.source)
    assert "dashboard" in voila.source
