"""%linreg compare: every stage on the same data, one table, one figure."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from linreg_magic import available_stages
from linreg_magic.engine import run_ladder
from linreg_magic.options import Options
from linreg_magic.views import compare_html, compare_rows, compare_text, figure_png, plot_compare


@pytest.fixture(scope="module")
def ladder_results():  # type: ignore[no-untyped-def]
    return run_ladder(Options(device="cpu"))


def test_every_stage_runs_in_ladder_order_and_lands_on_the_book_s_answer(ladder_results) -> None:  # type: ignore[no-untyped-def]
    assert [r.stage for r in ladder_results] == available_stages()[:8]
    for r in ladder_results:
        assert r.b == pytest.approx(1.0235, abs=1e-4) and r.w == pytest.approx(1.9690, abs=1e-4)
        assert r.device == "cpu"


def test_the_table_holds_each_run_s_numbers_then_the_book_and_sklearn(ladder_results) -> None:  # type: ignore[no-untyped-def]
    rows = compare_rows(ladder_results)
    for row, r in zip(rows, ladder_results):
        assert row[:2] == (r.stage, "cpu")
        assert row[2] == r.b and row[3] == (r.w,)
        assert row[4] == r.train_loss and row[5] == r.val_loss and row[6] == r.seconds
    labels = [row[0] for row in rows[len(ladder_results):]]
    assert labels == ["book (numpy)", "book (torch)", "closed form (sklearn)"]
    assert rows[-3][2:4] == (1.02354094, (1.96896411,))
    sklearn = rows[-1]
    assert sklearn[2] == pytest.approx(1.02354075, abs=1e-7)
    assert sklearn[3][0] == pytest.approx(1.96896447, abs=1e-7)
    text = compare_text(ladder_results)
    assert text.splitlines()[0].split()[:4] == ["stage", "device", "b", "w"]
    assert f"{ladder_results[5].b:.6f}" in text.splitlines()[6]


def test_the_figure_has_one_line_per_stage_on_the_data(ladder_results) -> None:  # type: ignore[no-untyped-def]
    ax = plot_compare(ladder_results)
    for r in ladder_results:
        line = next(line for line in ax.get_lines() if line.get_gid() == f"fit-{r.stage}")
        xs, ys = line.get_data()
        np.testing.assert_allclose(ys, r.b + r.w * np.asarray(xs))
    assert ax.get_title() == "8 stages, one answer"


def test_percent_linreg_compare_shows_a_table_and_a_figure_and_returns_the_results(ip) -> None:  # type: ignore[no-untyped-def]
    with capture_output() as captured:
        results = ip.run_line_magic("linreg", "compare numpy module --device cpu --epochs 300")
    assert [r.stage for r in results] == ["numpy", "module"]
    assert all(r.epochs == 300 for r in results)
    kinds = [sorted(o.data) for o in captured.outputs]
    assert kinds == [["text/html", "text/plain"], ["image/png", "text/plain"]]
    assert "closed form (sklearn)" in captured.outputs[0].data["text/plain"]
    png = base64.b64decode(captured.outputs[1].data["image/png"])
    assert png.startswith(b"\x89PNG")
    from matplotlib.image import imread

    assert imread(io.BytesIO(png)).shape[1] > 300


def test_compare_with_several_features_runs_the_stages_that_take_them(ip) -> None:  # type: ignore[no-untyped-def]
    with capture_output() as captured:
        results = ip.run_line_magic("linreg", "compare --features 2 --epochs 50 --device cpu")
    assert [r.stage for r in results] == ["sequential"]
    texts = [o.data["text/plain"] for o in captured.outputs]
    assert "Not run: numpy, tensors, autograd, optimizer, loss, module, nested (--features applies to " \
           "stages that build their model from the data's shape; each of these stages has one feature " \
           "and no hidden layer)." in texts


def test_compare_of_an_unknown_stage_is_one_usage_error(ip) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match="Did you mean --stage module") as caught:
        ip.run_line_magic("linreg", "compare modle")
    assert type(caught.value) is UsageError


def test_compare_runs_on_the_user_s_arrays(ip) -> None:  # type: ignore[no-untyped-def]
    rs = np.random.RandomState(3)
    ip.user_ns.update(sizes=rs.rand(40), prices=5 + 3 * rs.rand(40))
    try:
        with capture_output():
            results = ip.run_line_magic("linreg", "compare numpy loss --data user --x sizes --y prices "
                                        "--scale standard --device cpu")
        assert [r.data.name for r in results] == ["user", "user"]
        assert results[0].data is results[1].data  # the same data for every stage
        assert results[0].b == pytest.approx(results[1].b, abs=1e-4)
    finally:
        ip.user_ns.pop("sizes")
        ip.user_ns.pop("prices")


def test_compare_store_keeps_the_list_of_results(ip):
    from IPython.utils.capture import capture_output

    with capture_output():
        ip.run_line_magic("linreg", "compare --epochs 5 --device cpu --store ladder")
    try:
        assert [r.stage for r in ip.user_ns["ladder"]][:2] == ["numpy", "tensors"]
    finally:
        del ip.user_ns["ladder"]


def test_compare_with_hidden_runs_the_stages_with_a_hidden_layer_and_names_the_others(ip) -> None:  # type: ignore[no-untyped-def]
    with capture_output() as captured:
        results = ip.run_line_magic("linreg", "compare --hidden 5 --epochs 50 --device cpu")
    assert [r.stage for r in results] == ["sequential"]
    assert results[0].options.hidden == 5
    texts = [o.data["text/plain"] for o in captured.outputs]
    assert "Not run: numpy, tensors, autograd, optimizer, loss, module, nested (--hidden applies to " \
           "stages that build their model from the data's shape; each of these stages has one feature " \
           "and no hidden layer)." in texts


def test_compare_of_named_stages_none_of_which_takes_hidden_is_one_usage_error(ip) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError) as caught:
        ip.run_line_magic("linreg", "compare numpy module --hidden 5 --device cpu")
    message = str(caught.value)
    assert type(caught.value) is UsageError and "\n" not in message
    assert message.startswith("None of the stages named (numpy, module) can run: --hidden applies to "
                              "stages that build their model from the data's shape; each of these "
                              "stages has one feature and no hidden layer. Stages that can: sequential. ")


def test_cuda_graph_leaves_the_numpy_stage_to_run_on_the_cpu_as_usual(ip) -> None:  # type: ignore[no-untyped-def]
    with capture_output():
        (result,) = ip.run_line_magic("linreg", "compare numpy --cuda-graph --epochs 50")
    assert result.device == "cpu" and not result.options.cuda_graph and result.epochs == 50


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error where CUDA is missing")
def test_cuda_graph_without_a_gpu_is_the_torch_stages_one_line_error_not_the_numpy_stage_s() -> None:
    with pytest.raises(UsageError) as caught:
        run_ladder(Options(device="cpu", cuda_graph=True, epochs=50))
    assert str(caught.value).startswith("--cuda-graph needs a CUDA GPU")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_a_gpu_compare_with_cuda_graph_replays_every_torch_stage(ip) -> None:  # type: ignore[no-untyped-def]
    with capture_output():
        results = ip.run_line_magic("linreg", "compare --cuda-graph --device cuda")
    assert [r.stage for r in results] == available_stages()[:8]
    assert results[0].device == "cpu" and not results[0].notes
    for r in results[1:]:
        assert r.device.startswith("cuda") and r.notes[0].startswith("CUDA graph: ")
        assert r.b == pytest.approx(1.0235, abs=1e-3) and r.w == pytest.approx(1.9690, abs=1e-3)


@pytest.fixture(scope="module")
def diverged_results():  # type: ignore[no-untyped-def]
    return run_ladder(Options(device="cpu", lr=5, epochs=100))


def test_a_diverged_ladder_s_table_is_compact_and_says_how_each_run_ended(diverged_results) -> None:  # type: ignore[no-untyped-def]
    numpy_run, *torch_runs = diverged_results
    assert numpy_run.stopped is None and abs(numpy_run.b) > 1e100  # not inf yet after 100 epochs
    assert all(r.stopped and r.stopped.text.startswith("diverged at epoch 19") for r in torch_runs)
    text = compare_text(diverged_results)
    lines = text.splitlines()
    assert lines[0].split() == ["stage", "device", "b", "w", "training", "MSE", "validation", "MSE",
                                "training", "time", "note"]
    assert max(len(line) for line in lines[:10]) < 160
    assert lines[1].split()[2:6] == [f"{numpy_run.b:.4g}", f"{numpy_run.w:.4g}",
                                     f"{numpy_run.train_loss:.4g}", f"{numpy_run.val_loss:.4g}"]
    assert lines[1].endswith("still diverging at epoch 100")
    assert lines[2].endswith("diverged at epoch 19 (the loss became inf)")
    assert lines[-2] == ("numpy: still diverging at epoch 100: the training loss grew over the run "
                         "(lr=5); try a smaller --lr")
    assert lines[-1] == ("tensors, autograd, optimizer, loss, module, nested, sequential: "
                         f"{torch_runs[0].stopped}")
    markup = compare_html(diverged_results)
    assert "<th>note</th>" in markup and torch_runs[0].stopped.text.replace("'", "&#x27;") in markup


def test_a_diverged_ladder_s_figure_stays_on_the_data_and_claims_no_answer(diverged_results) -> None:  # type: ignore[no-untyped-def]
    ax = plot_compare(diverged_results)
    data = diverged_results[0].data
    low, high = ax.get_ylim()
    assert low > float(data.y.min()) - 1 and high < float(data.y.max()) + 1
    assert not [line for line in ax.get_lines() if str(line.get_gid()).startswith("fit-")]
    (off,) = [t for t in ax.texts if t.get_gid() == "off-chart"]
    assert " ".join(off.get_text().split()) == ("not drawn, off the chart: numpy, tensors, autograd, "
                                                "optimizer, loss, module, nested, sequential (see the table)")
    assert ax.get_title() == "8 stages, different answers: 7 stopped early, 8 off the chart"
    assert figure_png(ax.figure).startswith(b"\x89PNG")  # no constrained-layout warning (warnings are errors)


def test_unconverged_runs_are_drawn_with_short_labels_under_a_title_that_says_they_differ() -> None:
    results = run_ladder(Options(device="cpu", epochs=30), stages=["numpy", "module"])
    ax = plot_compare(results)
    labels = {line.get_gid(): line.get_label() for line in ax.get_lines()}
    assert labels["fit-numpy"] == f"numpy: y = {results[0].b:.4f} + {results[0].w:.4f}x"
    assert labels["fit-module"] == f"module: y = {results[1].b:.4f} + {results[1].w:.4f}x"
    assert ax.get_title() == "2 stages, different answers"
    assert not ax.texts


def test_a_tiny_training_mse_is_shown_in_e_notation_not_as_zeros() -> None:
    (result,) = run_ladder(Options(device="cpu", noise=0, lr=0.5, epochs=3000), stages=["numpy"])
    assert 0 < result.train_loss < 1e-20
    row = compare_text([result]).splitlines()[1].split()
    assert row[4] == f"{result.train_loss:.4g}" and "e-" in row[4]


def test_percent_linreg_compare_of_diverging_runs_says_where_each_stopped(ip) -> None:  # type: ignore[no-untyped-def]
    with capture_output() as captured:
        results = ip.run_line_magic("linreg", "compare --lr 5 --device cpu --epochs 100")
    table = captured.outputs[0].data["text/plain"].splitlines()
    assert table[1].startswith("numpy ") and table[1].endswith("still diverging at epoch 100")
    assert table[-1] == ("tensors, autograd, optimizer, loss, module, nested, sequential: "
                         f"{results[1].stopped}")
    assert captured.outputs[-1].data["image/png"]


def test_compare_notes_the_data_once_without_one_stages_training_advice(ip):
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        ip.run_line_magic("linreg", "compare --lr 1.2 --epochs 60 --device cpu --data diabetes")
    texts = [o.data["text/plain"] for o in captured.outputs]
    assert sum(t.startswith("Data: ") for t in texts) == 1
    assert not any("Diverging:" in t or "Not there yet" in t for t in texts)


def test_the_book_s_rows_show_its_numbers_as_the_book_prints_them(ladder_results) -> None:  # type: ignore[no-untyped-def]
    lines = compare_text(ladder_results).splitlines()
    numpy_book = next(line for line in lines if line.startswith("book (numpy)")).split()
    torch_book = next(line for line in lines if line.startswith("book (torch)")).split()
    assert numpy_book[2:4] == ["1.02354094", "1.96896411"]  # print(b, w) after the numpy loop
    assert torch_book[2:4] == ["1.0235", "1.9690"]  # tensor([1.0235]) tensor([1.9690])
    markup = compare_html(ladder_results)
    assert "<td>1.0235</td><td>1.9690</td>" in markup and "1.023500" not in markup


def test_a_compare_cell_shows_one_table_one_figure_and_a_one_line_value(ip) -> None:  # type: ignore[no-untyped-def]
    with capture_output() as captured:
        ip.run_cell("%linreg compare --device cpu --epochs 50").raise_error()
    kinds = [sorted(o.data) for o in captured.outputs]
    assert kinds == [["text/html", "text/plain"], ["image/png", "text/plain"]]
    assert "OrderedDict" not in captured.stdout  # the module stages' print(model.state_dict()) is kept
    (value_line,) = captured.stdout.splitlines()  # the cell's value, on one line
    assert value_line.endswith("<8 compared runs: numpy, tensors, autograd, optimizer, loss, module, "
                               "nested, sequential; each item is a Result>")
    results = ip.user_ns["_"]
    assert [r.stage for r in results][:2] == ["numpy", "tensors"] and results[5].printed.startswith(
        "OrderedDict([('b', tensor([")


def test_a_diverging_compare_s_value_is_one_line_not_the_list_of_reprs(ip) -> None:  # type: ignore[no-untyped-def]
    with capture_output() as captured:
        ip.run_cell("%linreg compare --lr 5 --epochs 100 --device cpu").raise_error()
    (value_line,) = captured.stdout.splitlines()
    assert value_line.endswith("sequential, 7 stopped early; each item is a Result>")
    assert len(value_line) < 160
