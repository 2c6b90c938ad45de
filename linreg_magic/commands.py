"""What a ``%linreg`` line does: run a stage (or check the student's code) or a command.

:func:`execute` takes the line as read by :mod:`linreg_magic.magic_line`, checks
everything that can be checked before anything runs (the command, its options,
the ``--store`` name), runs, keeps what was made (``--store``; the return value
becomes ``_``) and only then draws it.  The handlers of the commands in
:data:`~linreg_magic.command_table.COMMANDS` are here too (but for ``widget`` and
``bench``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from .check import contract, run_student
from .command_table import COMMANDS, Command, Made, is_kept
from .data import make_data
from .display import (
    show_code,
    show_compare,
    show_contract,
    show_diff,
    show_each,
    show_result,
    show_stage_list,
    show_student_run,
)
from .engine import ladder_plans, run_each, run_plan
from .errors import UsageError, usage_error, what_of
from .live import LiveView, live_wanted
from .magic_line import MagicLine
from .options import Options, spec_for
from .plan import Plan, check_stage_data, check_stage_options
from .registry import available_stages, ladder
from .user_namespace import user_namespace
from .views.compare import ComparedRuns

__all__ = ["compare_stages", "execute", "has_code", "list_stages", "run_stage", "show_stage_code",
           "show_stage_contract", "show_stage_diff"]


def has_code(cell: str) -> bool:
    """Whether a cell body holds code (blank lines and comments alone do not)."""
    return any(line.strip() and not line.lstrip().startswith("#") for line in cell.splitlines())


def execute(line: MagicLine, cell: str | None = None, text: str = "") -> Any:
    """Do what the line says (``text``: the line as typed, for the student's line numbers);
    the value is what the run or the command made."""
    namespace = user_namespace()
    body = cell if cell is not None and has_code(cell) else None
    command = _command(line.words)
    if command is not None and body is not None:
        raise usage_error(f"%%linreg {command.name} takes no cell body",
                          "a command runs alone; a cell body is your code for a stage",
                          f"Use %linreg {' '.join(line.words)} on a line of its own")
    values = _checked_values(command, line)
    store = _store_name(values.get("store"), command, namespace)
    if command is not None:
        made = command.load()(list(line.words[1:]), values)
    elif body is not None:
        made = check_student(Options.from_mapping(values), body, text, namespace)
    else:
        made = run_stage(Options.from_mapping(values), namespace)
    value = made.value if isinstance(made, Made) else made
    if store is not None and namespace is not None and value is not None:
        namespace[store] = value
    if isinstance(made, Made):
        made.show()
    return value


def _command(words: tuple[str, ...]) -> Command | None:
    """The command the line names (None: a run), or one UsageError line."""
    if not words:
        return None
    command = COMMANDS.get(words[0])
    if command is None:
        hint = (f"Did you mean --stage {words[0]}?" if words[0] in available_stages()
                else "Options start with --, e.g. %linreg --stage module")
        raise usage_error(f"Unknown command {words[0]!r}", "valid commands are " + ", ".join(COMMANDS),
                          hint)
    return command


def _checked_values(command: Command | None, line: MagicLine) -> dict[str, Any]:
    """The line's values, with the command's own arguments read; an argument of another
    command, or a run's option the command takes in another form, is one UsageError."""
    own = {spec.name: spec for spec in (command.arguments if command is not None else ())}
    values = dict(line.values)
    for name, raw in line.values.items():
        if name in own:
            values[name] = own[name].parse(raw)
        elif command is not None and name in command.instead:
            _refuse_instead(command, spec_for(name).flag, command.instead[name])
        elif name not in Options.__dataclass_fields__:
            _refuse_foreign(name)
    flags = {spec.flag for spec in own.values()}
    for word in line.words[1:]:
        if command is not None and "--" + word in flags:
            fixed = " ".join("--" + w if w == word else w for w in line.words)
            raise usage_error(f"{word} is an option of {command.name}: write --{word}",
                              f"valid is {command.usage}", f"Try %linreg {fixed}")
    return values


def _refuse_instead(command: Command, flag: str, own_flag: str) -> None:
    own = next(spec for spec in command.arguments if spec.flag == own_flag)
    raise usage_error(f"%linreg {command.name} takes {own.flag}, not {flag}",
                      f"{own.flag} {own.metavar} is {own.help}",
                      f"Try %linreg {command.name} {own.flag} {own.example}")


def _refuse_foreign(name: str) -> None:
    owners = [c for c in COMMANDS.values() if any(spec.name == name for spec in c.arguments)]
    spec = next(s for s in owners[0].arguments if s.name == name)
    example = f" {spec.example}" if spec.example else ""
    raise usage_error(f"{spec.flag} applies to %linreg {owners[0].name}",
                      f"it is {owners[0].name}'s own option: {spec.help}",
                      f"Drop {spec.flag}, or run %linreg {owners[0].name} {spec.flag}{example}")


def _store_name(raw: Any, command: Command | None, namespace: Mapping[str, Any] | None) -> str | None:
    """The ``--store`` name, checked before anything runs: the command makes something to
    keep, and the name holds nothing of the user's own."""
    if raw is None:
        return None
    if command is not None and not command.keeps:
        keepers = sorted(c.name for c in COMMANDS.values() if c.keeps)
        raise usage_error(f"--store keeps what a command makes, and {command.name!r} makes nothing "
                          "to keep", "valid with --store are a run and " + ", ".join(keepers),
                          "Drop --store")
    name: str = spec_for("store").parse(raw)
    if namespace is not None and name in namespace and not is_kept(namespace[name]):
        held = type(namespace[name]).__name__
        raise usage_error(f"--store {name} would replace your {held} {name!r}",
                          "--store replaces only an earlier result of %linreg (a Result, a compare "
                          "list, bench timings, a widget)",
                          f"Pick another name, e.g. --store {_free_name(namespace)}")
    return name


def _free_name(namespace: Mapping[str, Any]) -> str:
    """``result``, ``result1``, ...: the first that holds nothing of the user's own."""
    names = (f"result{i or ''}" for i in itertools.count())
    return next(name for name in names if name not in namespace or is_kept(namespace[name]))


def run_stage(options: Options, namespace: Mapping[str, Any] | None = None) -> Made:
    """Run one stage (live progress for long runs, per ``--live``); its views are drawn
    by the :class:`Made`'s ``show``."""
    plan = Plan.make(options, namespace=namespace)
    live = LiveView(delay=0.0 if options.live == "on" else 1.0) if live_wanted(options.live) else None
    try:
        result = run_plan(plan, live=live)
    except BaseException:
        if live is not None:
            live.close(stopped="stopped before the end (see the error below)")
        raise
    if live is not None:
        live.close(result.epochs, result.seconds)
    return Made(result, lambda: show_result(result))


def check_student(options: Options, body: str, text: str = "",
                  namespace: Mapping[str, Any] | None = None) -> Made:
    """Run a student's own cell body for a stage and check it; the value is its Result, or
    the checked run itself when nothing of the body's could be read as one (a syntax error,
    a model without parameters): either way ``_.verdict`` holds the verdict, for an
    autograder's ``assert _.verdict.passed``.  The drawing shows the verdict and the views."""
    checked = run_student(options, body, magic_line=text, namespace=namespace)
    value = checked if checked.result is None else checked.result
    return Made(value, lambda: show_each([("your code's check", lambda: show_student_run(checked))]))


def list_stages(rest: list[str], values: dict[str, Any]) -> None:
    """``%linreg list``: the stages in ladder order, one line each."""
    if rest:
        raise usage_error(f"list takes no arguments, got {' '.join(rest)!r}", "use it alone",
                          "Try %linreg list")
    show_stage_list()


def _stage_word(word: str) -> str:
    return str(spec_for("stage").parse(word))


def show_stage_code(rest: list[str], values: dict[str, Any]) -> None:
    """``%linreg code STAGE``: the stage's teaching code, without training."""
    words = rest or ([values["stage"]] if values.get("stage") else [])
    if len(words) != 1:
        raise usage_error(f"code takes one stage, got {len(words)} words" if words else
                          "code needs a stage", "e.g. %linreg code module (see %linreg list)",
                          "Try %linreg code module")
    show_code(_stage_word(words[0]))


def show_stage_diff(rest: list[str], values: dict[str, Any]) -> None:
    """``%linreg diff STAGE [OTHER] [--side-by-side]``: what changed, without training."""
    words = list(rest) or ([values["stage"]] if values.get("stage") else [])
    if not 1 <= len(words) <= 2:
        raise usage_error("diff takes a stage and optionally a stage to compare it with" +
                          (f", got {' '.join(rest)!r}" if rest else ""),
                          "e.g. %linreg diff module (against the stage before it) or "
                          "%linreg diff module numpy; add --side-by-side for two columns",
                          "Try %linreg diff module")
    stages = [_stage_word(w) for w in words]
    show_diff(stages[0], stages[1] if len(stages) > 1 else None,
              side_by_side=bool(values.get("side_by_side", False)))


def compare_stages(rest: list[str], values: dict[str, Any]) -> Made:
    """``%linreg compare [STAGE ...]``: every stage (or those named) on the same data.

    Which stages cannot take the options or the data is decided by
    :mod:`linreg_magic.plan`; one Ctrl-C stops the whole ladder and keeps what finished.
    """
    named = [_stage_word(w) for w in rest]
    options = Options.from_mapping({k: v for k, v in values.items() if k != "stage"})
    data = make_data(options, user_namespace())
    refused = _refusals(options, data)
    asked = [s.name for s in ladder() if not named or s.name in named]
    runnable = [name for name in asked if name not in refused]
    if not runnable:
        can = [s.name for s in ladder() if s.name not in refused]
        raise usage_error(f"None of the stages named ({', '.join(asked)}) can run: "
                          + _reason(asked, refused), "stages that can: " + (", ".join(can) or "none"),
                          f"Add {can[0] if can else 'another stage'} to the stages, or leave out what "
                          "they cannot take")
    results = run_each(ladder_plans(options, data, runnable))
    notes = [_not_run(asked, refused)] if any(name in refused for name in asked) else []
    unrun = runnable[len(results):]
    if unrun:
        notes.append(f"Stopped by Ctrl-C: {', '.join(unrun)} not run.")
    return Made(ComparedRuns(results), lambda: show_compare(results, " ".join(notes)))


def _refusals(options: Options, data: Any) -> dict[str, UsageError]:
    """Why each stage of the ladder cannot run these options on these data (plan's checks)."""
    refused: dict[str, UsageError] = {}
    for stage in ladder():
        try:
            check_stage_options(stage, options)
            check_stage_data(stage, data)
        except UsageError as error:
            refused[stage.name] = error
    return refused


def _reason(names: list[str], refused: Mapping[str, UsageError]) -> str:
    """What the refusals of these stages say, once for every stage it applies to."""
    texts: dict[str, list[str]] = {}
    for name in names:
        if name in refused:
            what = what_of(refused[name])
            shared = what.replace(f"the {name} stage", "each of these stages")
            texts.setdefault(shared, []).append(what)
    parts = [shared if len(whats) > 1 else whats[0] for shared, whats in texts.items()]
    return "; ".join(p[:1].lower() + p[1:] for p in parts)


def _not_run(asked: list[str], refused: Mapping[str, UsageError]) -> str:
    skipped = [name for name in asked if name in refused]
    return f"Not run: {', '.join(skipped)} ({_reason(skipped, refused)})."


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
    show_contract(contract(Options.from_mapping(given)))
