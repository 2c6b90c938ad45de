"""Every place in the magic, the line parser, the options and the commands that refuses
input is reached by a case below that ends in exactly one UsageError line.

The sites are found in the source (every statement that builds a ``usage_error`` or a
kind's ``Refused``), and the cases run under a line tracer: a new refusal without a
case fails :func:`test_every_refusal_in_these_modules_is_reached_by_a_case`, and
turning one into another exception type fails the case that reaches it.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

import linreg_magic
from linreg_magic.options import Options, spec_for

PACKAGE = Path(linreg_magic.__file__).parent
MODULES = ["options.py", "option_kinds.py", "magic_line.py", "commands.py", "command_table.py", "magic.py",
           "display.py", "errors.py"]
_BUILDERS = {"usage_error", "Refused", "UsageError", "unknown_option_error", "_unknown_option", "_unclosed"}


def _line(ip: Any, line: str, body: str | None = None) -> Callable[[], object]:
    if body is None:
        return lambda: ip.run_line_magic("linreg", line)
    return lambda: ip.run_cell_magic("linreg", line, body)


def _cases(ip: Any) -> dict[str, Callable[[], object]]:
    """What users (and Python callers) do wrong, one case per kind of refusal."""
    lines = {
        # the line itself
        "an unclosed quote": "--lr '0.1",
        "a flag without its value": "--seed",
        "an unknown flag": "--colour red",
        # option kinds
        "a number out of range": "--epochs 0",
        "a number above its range": "--epochs 2000000",
        "a number that is not finite": "--lr inf",
        "a whole number that is not a number": "--epochs ten",
        "a number that is not a number": "--lr fast",
        "a name that is not a Python name": "--store 1abc",
        "a name that is IPython's": "--store In",
        "a word that is not a choice": "--live sometimes",
        "an unknown stage": "--stage modul",
        "an unknown device": "--device gpu",
        "a switch given another word": "--cuda-graph=maybe",
        "an empty list": "--true-w ,",
        # combinations of options
        "user data without --y": "--data user --x xs",
        "--x with the synthetic data": "--x xs",
        "--n with other data": "--data diabetes --n 50",
        "a split that leaves one training point": "--n 2",
        "a split that leaves an empty validation set": "--n 10 --val-split 1e-8",
        "a parameter path too large": "--stage sequential --features 100 --hidden 4096 --epochs 1000000",
        "data too large": "--stage sequential --features 100 --n 100000000",
        "slopes that do not match the features": "--true-w 1,2",
        # commands
        "an unknown command": "run",
        "a command's option written as a word": "diff module side-by-side",
        "a run's option a command takes in another form": "bench --n 100",
        "a command's option without its command": "--sizes 100",
        "--store on a command that makes nothing": "list --store r",
        "--store over the user's own object": "--store taken",
        "list with words": "list extra",
        "code without a stage": "code",
        "diff with three stages": "diff numpy loss module",
        "compare of stages none of which can run": "compare numpy module --hidden 5",
        "contract with two stages": "contract numpy autograd",
        "contract named twice": "contract numpy --stage module",
    }
    cases = {name: _line(ip, line) for name, line in lines.items()}
    cases["a command with a cell body"] = _line(ip, "list", "x = 1\n")
    cases["None for an option with a default"] = lambda: Options().replace(lr=None)
    cases["an unknown option from Python"] = lambda: Options().replace(colour="red")
    cases["an unknown option in a mapping"] = lambda: Options.from_mapping({"colour": "red"})
    cases["True for a whole number"] = lambda: spec_for("epochs").parse(True)
    cases["True for a number"] = lambda: spec_for("lr").parse(True)
    return cases


def _statement_sites(path: Path) -> dict[tuple[str, int], range]:
    """Each statement that builds a refusal: (file, first line) -> the lines it spans."""
    tree = ast.parse(path.read_text())
    sites: dict[tuple[str, int], range] = {}
    compound = (ast.FunctionDef, ast.ClassDef, ast.If, ast.For, ast.While, ast.Try, ast.With)
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt) or isinstance(node, compound):
            continue
        for call in ast.walk(node):
            func = getattr(call, "func", None)
            name = getattr(func, "id", None) or getattr(func, "attr", None)
            if isinstance(call, ast.Call) and name in _BUILDERS:
                sites[(str(path), node.lineno)] = range(node.lineno, (node.end_lineno or node.lineno) + 1)
                break
    return sites


def _lines_run(call: Callable[[], object]) -> tuple[set[tuple[str, int]], BaseException | None]:
    files = {str(PACKAGE / name) for name in MODULES}
    seen: set[tuple[str, int]] = set()

    def local(frame: FrameType, event: str, arg: object) -> Any:
        if event == "line":
            seen.add((frame.f_code.co_filename, frame.f_lineno))
        return local

    def start(frame: FrameType, event: str, arg: object) -> Any:
        return local if frame.f_code.co_filename in files else None

    raised: BaseException | None = None
    sys.settrace(start)
    try:
        with capture_output():
            call()
    except BaseException as error:  # the case's outcome, checked by the caller
        raised = error
    finally:
        sys.settrace(None)
    return seen, raised


@pytest.fixture
def shell(ip):  # type: ignore[no-untyped-def]
    ip.user_ns.update(xs=[1.0, 2.0, 3.0], taken={"mine": 1})
    yield ip
    for name in ("xs", "taken"):
        ip.user_ns.pop(name, None)


_NAMES = list(_cases(None))


@pytest.mark.parametrize("name", _NAMES)
def test_each_case_is_exactly_one_usage_error_line(shell, name: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError) as caught, capture_output() as captured:
        _cases(shell)[name]()
    assert type(caught.value) is UsageError, name
    message = str(caught.value)
    assert "\n" not in message and message.count(". ") >= 2, message
    assert not any("image/png" in o.data for o in captured.outputs)


def test_every_refusal_in_these_modules_is_reached_by_a_case(shell) -> None:  # type: ignore[no-untyped-def]
    sites: dict[tuple[str, int], range] = {}
    for module in MODULES:
        sites.update(_statement_sites(PACKAGE / module))
    assert len(sites) > 40
    reached: set[tuple[str, int]] = set()
    for name, call in _cases(shell).items():
        seen, raised = _lines_run(call)
        assert type(raised) is UsageError, (name, raised)
        reached |= {site for site, span in sites.items() if any((site[0], n) in seen for n in span)}
    missing = sorted(f"{Path(f).name}:{n}" for f, n in set(sites) - reached)
    assert not missing, f"refusals no case reaches: {missing}"
