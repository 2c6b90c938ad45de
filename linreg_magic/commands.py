"""``%linreg COMMAND`` handlers, and running a stage from the shell with its views."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import usage_error
from .options import Options, option_specs

if TYPE_CHECKING:
    from .check import StudentRun
    from .data import Dataset
    from .result import Result

__all__ = [
    "compare_stages",
    "list_stages",
    "run_and_show",
    "run_student_and_show",
    "show_stage_code",
    "show_stage_contract",
    "show_stage_diff",
]


def list_stages(rest: list[str], values: dict[str, Any]) -> None:
    """``%linreg list``: the stages in ladder order, one line each."""
    if rest:
        raise usage_error(f"list takes no arguments, got {' '.join(rest)!r}", "use it alone",
                          "Try %linreg list")
    from .display import show_stage_list

    show_stage_list()


def _user_namespace() -> Mapping[str, Any] | None:
    from IPython import get_ipython

    shell = get_ipython()
    return shell.user_ns if shell is not None else None


def _data(options: Options, namespace: Mapping[str, Any] | None) -> Dataset | None:
    """The user's arrays for ``--data user`` (None: the engine makes the data)."""
    if options.data != "user":
        return None
    from .data import make_data

    return make_data(options, namespace)


def run_and_show(options: Options, namespace: Mapping[str, Any] | None = None) -> Result:
    """Run one stage (live progress for long runs, per ``--live``), then show its views."""
    from .display import show_result
    from .engine import run_options
    from .live import LiveView, live_wanted

    data = _data(options, namespace)
    live = LiveView(delay=0.0 if options.live == "on" else 1.0) if live_wanted(options.live) else None
    try:
        result = run_options(options, data=data, live=live)
    except BaseException:
        if live is not None:
            live.close(stopped="stopped before the end (see the error below)")
        raise
    if live is not None:
        live.close(result.epochs, result.seconds)
    show_result(result)
    return result


def run_student_and_show(options: Options, body: str, magic_line: str = "",
                         namespace: Mapping[str, Any] | None = None) -> StudentRun:
    """Run a student's own cell body for a stage, check it, and show the verdict."""
    from .check import run_student
    from .display import show_student_run

    checked = run_student(options, body, magic_line=magic_line, namespace=namespace)
    show_student_run(checked)
    return checked


def _stage_word(word: str) -> str:
    spec = next(s for s in option_specs() if s.kind == "stage")
    return str(spec.parse(word))


def show_stage_code(rest: list[str], values: dict[str, Any]) -> None:
    """``%linreg code STAGE``: the stage's teaching code, without training."""
    words = rest or ([values["stage"]] if values.get("stage") else [])
    if len(words) != 1:
        raise usage_error(f"code takes one stage, got {len(words)} words" if words else
                          "code needs a stage", "e.g. %linreg code module (see %linreg list)",
                          "Try %linreg code module")
    from .display import show_code

    show_code(_stage_word(words[0]))


def show_stage_diff(rest: list[str], values: dict[str, Any]) -> None:
    """``%linreg diff STAGE [OTHER] [side-by-side]``: what changed, without training."""
    words = list(rest)
    side_by_side = "side-by-side" in words
    words = [w for w in words if w != "side-by-side"]
    if not words and values.get("stage"):
        words = [values["stage"]]
    if not 1 <= len(words) <= 2:
        raise usage_error("diff takes a stage and optionally a stage to compare it with" +
                          (f", got {' '.join(rest)!r}" if rest else ""),
                          "e.g. %linreg diff module (against the stage before it) or "
                          "%linreg diff module numpy; add side-by-side for two columns",
                          "Try %linreg diff module")
    from .display import show_diff

    stages = [_stage_word(w) for w in words]
    show_diff(stages[0], stages[1] if len(stages) > 1 else None, side_by_side=side_by_side)


def compare_stages(rest: list[str], values: dict[str, Any]) -> list[Result]:
    """``%linreg compare [STAGE ...]``: every stage (or those named) on the same data."""
    from .display import show_compare
    from .engine import run_ladder

    stages = [_stage_word(w) for w in rest] or None
    options = Options.from_mapping({**values, "stage": None})
    data = _data(options, _user_namespace())
    results = run_ladder(options, data=data, stages=stages)
    from .registry import ladder

    n_features = data.n_features if data is not None else options.features
    needs = [f"one feature only; the data have {n_features}"] if n_features != 1 else []
    if options.hidden:
        needs.append(f"no hidden layer for --hidden {options.hidden}")
    if not results:
        asked = " and ".join(filter(None, (f"{n_features} features" if n_features != 1 else "",
                                           f"--hidden {options.hidden}" if options.hidden else "")))
        raise usage_error(f"None of the stages named ({', '.join(stages or ())}) can run with {asked}",
                          "stages that can: " + ", ".join(s.name for s in ladder() if s.multi_feature),
                          "Add sequential to the stages, or leave out what they cannot take")
    ran = {r.stage for r in results}
    skipped = [s.name for s in ladder() if s.name not in ran and (stages is None or s.name in stages)]
    note = f"Not run: {', '.join(skipped)} ({'; '.join(needs)})." if skipped else ""
    from .result import StopKind

    last = results[-1].stopped
    if last is not None and last.kind is StopKind.INTERRUPTED:  # Ctrl-C stopped the whole ladder
        note = "Stopped by Ctrl-C" + (f": {', '.join(skipped)} did not run." if skipped else ".")
    show_compare(results, note)
    return results


def show_stage_contract(rest: list[str], values: dict[str, Any]) -> None:
    """``%linreg contract STAGE``: what a cell body for STAGE is given and must leave."""
    if len(rest) > 1:
        raise usage_error(f"contract takes one stage, got {' '.join(rest)!r}",
                          "e.g. %linreg contract autograd", "Name one stage")
    given = dict(values)
    if rest:
        if given.get("stage") is not None and given["stage"] != rest[0]:
            raise usage_error(f"contract got two stages, {rest[0]!r} and --stage {given['stage']}",
                              "name the stage once", f"Try %linreg contract {rest[0]}")
        given["stage"] = rest[0]
    options = Options.from_mapping(given)
    from .check import contract
    from .display import show_contract

    show_contract(contract(options))
