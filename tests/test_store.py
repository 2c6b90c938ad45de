"""A result is never lost: --store replaces only results of ours, checked before anything
runs; what was made is kept before it is drawn, so a failing view or a Ctrl-C while
drawing loses nothing."""

from __future__ import annotations

import os
import signal
import types
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from linreg_magic import display
from linreg_magic.bench import BenchResult
from linreg_magic.command_table import COMMANDS, RUN_KEEPS, is_kept
from linreg_magic.result import Result

_MARKER = "LINREG_TEST_STORE_BODY_RAN"
_BODY = f"import os\nos.environ[{_MARKER!r}] = '1'\n"
_QUICK = "--stage numpy --epochs 3 --n 20 --show params"


@pytest.fixture
def names(ip) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The user's namespace; the names a test adds are removed afterwards."""
    before = set(ip.user_ns)
    yield ip.user_ns
    for name in set(ip.user_ns) - before:
        del ip.user_ns[name]


def _refused(ip, line: str, body: str | None = None) -> str:  # type: ignore[no-untyped-def]
    with capture_output() as captured, pytest.raises(UsageError) as caught:
        if body is None:
            ip.run_line_magic("linreg", line)
        else:
            ip.run_cell_magic("linreg", line, body)
    assert type(caught.value) is UsageError and "\n" not in str(caught.value)
    assert captured.outputs == [], "nothing may run or show before the name is checked"
    return str(caught.value)


@pytest.mark.parametrize("line", [_QUICK, "compare numpy --epochs 3 --n 20",
                                  "widget --stage numpy --epochs 3 --n 20",
                                  "bench --stage numpy --sizes 20 --devices cpu --epochs 3"])
def test_store_never_replaces_a_module_the_user_imported(ip, names, line: str) -> None:  # type: ignore[no-untyped-def]
    ip.run_cell("import numpy as np")
    message = _refused(ip, f"{line} --store np")
    assert message == ("--store np would replace your module 'np'. --store replaces only an earlier "
                       "result of %linreg (a Result, a compare list, bench timings, a widget). "
                       "Pick another name, e.g. --store result")
    assert names["np"] is np


def test_store_never_replaces_a_users_list_and_suggests_a_free_name(ip, names) -> None:  # type: ignore[no-untyped-def]
    names.update(result=[1, 2], mine=[3, 4])
    assert _refused(ip, f"{_QUICK} --store mine").endswith("Pick another name, e.g. --store result1")
    assert names["mine"] == [3, 4] and names["result"] == [1, 2]


def test_store_is_checked_before_a_students_body_runs(ip, names) -> None:  # type: ignore[no-untyped-def]
    os.environ.pop(_MARKER, None)
    names["data"] = {"x": 1}
    assert "would replace your dict 'data'" in _refused(ip, f"{_QUICK} --store data", _BODY)
    assert _MARKER not in os.environ and names["data"] == {"x": 1}


@pytest.mark.parametrize("held", [[], ["a Result in name only"], types.SimpleNamespace(stage="numpy")])
def test_store_refuses_what_only_looks_like_a_result(ip, names, held: object) -> None:  # type: ignore[no-untyped-def]
    names["mine"] = held
    assert "would replace your" in _refused(ip, f"{_QUICK} --store mine")
    assert names["mine"] is held


def test_store_replaces_an_earlier_result_of_a_run(ip, names) -> None:  # type: ignore[no-untyped-def]
    with capture_output():
        first = ip.run_line_magic("linreg", f"{_QUICK} --store run")
        second = ip.run_line_magic("linreg", f"{_QUICK} --seed 1 --store run")
    assert isinstance(first, Result) and names["run"] is second and second is not first


def test_store_replaces_results_of_other_commands_with_each_other(ip, names) -> None:  # type: ignore[no-untyped-def]
    with capture_output():
        ladder = ip.run_line_magic("linreg", "compare numpy loss --epochs 3 --n 20 --store kept")
        assert names["kept"] is ladder and [r.stage for r in ladder] == ["numpy", "loss"]
        timings = ip.run_line_magic("linreg", "bench --stage numpy --sizes 20 --devices cpu --epochs 3 "
                                              "--store kept")
        assert isinstance(timings, BenchResult) and names["kept"] is timings
        run = ip.run_line_magic("linreg", f"{_QUICK} --store kept")
    assert names["kept"] is run


def test_a_widget_stored_by_name_can_be_replaced_by_a_run(ip, names) -> None:  # type: ignore[no-untyped-def]
    with capture_output():
        widget = ip.run_line_magic("linreg", "widget --stage numpy --epochs 3 --n 20 --store board")
        assert names["board"] is widget
        ip.run_line_magic("linreg", f"{_QUICK} --store board")
    assert isinstance(names["board"], Result)


def test_what_store_keeps_is_a_class_every_table_entry_names() -> None:
    import importlib

    for target in {RUN_KEEPS, *(c.keeps for c in COMMANDS.values() if c.keeps)}:
        module, _, attr = target.partition(":")
        assert isinstance(getattr(importlib.import_module(module, "linreg_magic"), attr), type), target
    assert not is_kept(None) and not is_kept([]) and not is_kept(np)


# -- kept before drawn ----------------------------------------------------------------------

def _broken(*args: object, **kwargs: object) -> None:
    raise RuntimeError("the renderer\nbroke")


def test_a_view_that_fails_says_so_in_one_line_and_the_others_still_show(ip, names, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(display, "plot_surface", _broken)
    with capture_output() as captured:
        result = ip.run_line_magic("linreg", "--stage loss --device cpu --epochs 5 --n 20 "
                                             "--show params,surface,code --store kept")
    texts = [o.data["text/plain"] for o in captured.outputs]
    assert "Loss surface: not drawn (RuntimeError: the renderer broke)." in texts
    assert texts[0].startswith("loss · cpu") and "def model_training" in texts[-1]
    assert isinstance(result, Result) and names["kept"] is result


def test_a_run_is_kept_in_underscore_and_store_when_drawing_fails(ip, names, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(display, "result_png", _broken)
    with capture_output() as captured:
        ip.run_cell("%linreg --stage numpy --epochs 5 --n 20 --show params,fit,loss --store kept",
                    store_history=True)
    assert isinstance(names["_"], Result) and names["kept"] is names["_"]
    assert any(o.data["text/plain"].startswith("Fit and loss figure: not drawn (RuntimeError")
               for o in captured.outputs)


def test_ctrl_c_while_drawing_keeps_the_result_and_stops_the_drawing(ip, names, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real = display.show_graph

    def interrupted(result: Result) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, delivered while this view draws
        real(result)

    monkeypatch.setattr(display, "show_graph", interrupted)
    with capture_output() as captured:
        ip.run_cell("%linreg --stage module --device cpu --epochs 5 --n 20 --show params,graph,code "
                    "--store kept", store_history=True)
    texts = [o.data["text/plain"] for o in captured.outputs]
    assert isinstance(names["_"], Result) and names["kept"] is names["_"]
    assert texts[-1] == ("Drawing stopped (Ctrl-C): graph, code not shown. The result is kept (in _, "
                         "and in --store NAME if given).")
    assert not any("def model_training" in t for t in texts)


def test_a_compare_whose_figure_fails_keeps_the_list(ip, names, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(display, "plot_compare", _broken)
    with capture_output() as captured:
        ladder = ip.run_line_magic("linreg", "compare numpy tensors --epochs 3 --n 20 --store kept")
    assert names["kept"] is ladder and len(ladder) == 2
    texts = [o.data["text/plain"] for o in captured.outputs]
    assert "Compare figure: not drawn (RuntimeError: the renderer broke)." in texts
    assert "closed form" in texts[0]
