"""What a stage prints is kept in the Result and shown labelled, never mixed into the user's output."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
from contextlib import redirect_stdout

import numpy as np
import pytest
from IPython.utils.capture import capture_output

import linreg_magic
from linreg_magic import Stage
from linreg_magic.printed import ThreadRoutedStdout, capture_prints, uncaptured
from linreg_magic.views import params_html, params_text


def test_linreg_magic_run_in_a_script_prints_nothing() -> None:
    script = ("import linreg_magic\n"
              "r = linreg_magic.run('module', device='cpu', epochs=3)\n"
              "import sys; sys.stderr.write(r.printed)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout == ""
    assert done.stderr.startswith("OrderedDict([('b', tensor([")


@pytest.mark.parametrize("stage", ["module", "nested", "sequential"])
def test_the_state_dict_print_is_kept_in_the_result(stage: str) -> None:
    with redirect_stdout(io.StringIO()) as screen:
        result = linreg_magic.run(stage, device="cpu", epochs=5)
    assert screen.getvalue() == ""
    assert result.printed.startswith("OrderedDict([(") and result.printed.count("\n") == 1
    model_values = result.params
    first_name = next(iter(model_values))
    assert f"('{first_name}', tensor(" in result.printed


def test_stages_that_print_nothing_keep_nothing() -> None:
    assert linreg_magic.run("optimizer", device="cpu", epochs=3).printed == ""


def test_the_params_view_shows_the_print_labelled_as_the_stage_s_output() -> None:
    result = linreg_magic.run("module", device="cpu", epochs=5)
    text = params_text(result)
    label, printed = text.split("\n\n")[1].splitlines()
    assert label == "printed by the module stage's code:"
    assert printed == result.printed.strip()
    markup = params_html(result)
    assert "printed by the module stage&#x27;s code" in markup
    assert "OrderedDict([(&#x27;b&#x27;, tensor([" in markup


def test_a_run_cell_shows_no_bare_ordered_dict_line(run_cell_outputs) -> None:  # type: ignore[no-untyped-def]
    _, captured = run_cell_outputs("--stage nested --device cpu --epochs 5 --show params")
    assert captured.stdout == ""
    (params,) = [o.data["text/plain"] for o in captured.outputs
                 if o.data["text/plain"].startswith("parameter")]
    assert "printed by the nested stage's code:\nOrderedDict([('linear.weight', tensor([[" in params


def test_a_capture_on_another_thread_leaves_this_thread_s_prints_alone() -> None:
    entered, printed_here = threading.Event(), threading.Event()
    kept: list[str] = []

    def stage_thread() -> None:
        with capture_prints() as printed:
            print("from the stage")
            entered.set()
            printed_here.wait(timeout=30)
            print("the stage again")
        kept.append(printed.text)

    with redirect_stdout(io.StringIO()) as screen:
        worker = threading.Thread(target=stage_thread)
        worker.start()
        assert entered.wait(timeout=30)
        assert isinstance(sys.stdout, ThreadRoutedStdout)
        print("the user's own print")
        printed_here.set()
        worker.join(timeout=30)
        assert sys.stdout is screen  # put back once the last capture ended
    assert screen.getvalue() == "the user's own print\n"
    assert kept == ["from the stage\nthe stage again\n"]


def test_a_widget_style_run_on_a_background_thread_keeps_its_print_and_not_the_user_s() -> None:
    entered, user_printed = threading.Event(), threading.Event()

    def zeros():  # type: ignore[no-untyped-def]
        return dict(b=np.zeros(1), w=np.zeros(1))

    def waiting_training(x_train, y_train, b, w, lr, n_epochs, tracker):  # type: ignore[no-untyped-def]
        print("the stage prints")
        entered.set()
        user_printed.wait(timeout=30)
        for _ in range(n_epochs):
            error = b + w * x_train - y_train
            b, w = b - lr * 2 * error.mean(), w - lr * 2 * (x_train * error).mean()
            tracker.log((error ** 2).mean(), b=b, w=w)
        return dict(b=b, w=w)

    linreg_magic.register_stage(Stage(name="waiting", title="Waiting", summary="waits",
                                      model_configuration=zeros, model_training=waiting_training,
                                      uses_torch=False, returns="bw"))
    results = []
    try:
        with redirect_stdout(io.StringIO()) as screen:
            worker = threading.Thread(target=lambda: results.append(linreg_magic.run("waiting", epochs=3)))
            worker.start()
            assert entered.wait(timeout=30)
            assert isinstance(sys.stdout, ThreadRoutedStdout)
            print("the user's cell prints")
            user_printed.set()
            worker.join(timeout=60)
    finally:
        linreg_magic.unregister_stage("waiting")
    assert screen.getvalue() == "the user's cell prints\n"
    assert results[0].printed == "the stage prints\n"


def test_uncaptured_calls_write_to_the_screen_from_inside_a_capture() -> None:
    with redirect_stdout(io.StringIO()) as screen, capture_prints() as printed:
        print("kept")
        uncaptured(print)("shown")
        print("kept too")
    assert printed.text == "kept\nkept too\n"
    assert screen.getvalue() == "shown\n"


def test_nested_captures_on_one_thread_each_keep_their_own_lines() -> None:
    before = sys.stdout
    with capture_prints() as outer:
        print("outer")
        with capture_prints() as inner:
            print("inner")
        print("outer again")
    assert (outer.text, inner.text) == ("outer\nouter again\n", "inner\n")
    assert sys.stdout is before


def test_ipython_s_own_capture_inside_a_stage_capture_still_works() -> None:
    with capture_prints() as printed:
        with capture_output() as captured:
            print("into IPython's capture")
        print("into the stage's")
    assert captured.stdout == "into IPython's capture\n"
    assert printed.text == "into the stage's\n"
