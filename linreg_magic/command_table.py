"""Every ``%linreg COMMAND``, in one table: its words, its help, its handler and its own options.

The table generates the command list of ``%linreg?`` and the parser's knowledge
of each command's own options; the handlers are imported on first use, so
loading the extension stays light.  Adding a command is one line in
:data:`COMMANDS`.

A handler is called as ``handler(words, values)``: the words after the command's
name, and the values given on the line (options as typed; the command's own
arguments already read by their kinds).  It returns what the command made, or a
:class:`Made` when it has something to draw: then the magic keeps the value
(``--store``, the cell's value ``_``) before anything is drawn.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .option_kinds import Device, ListOf, OptionKind, Switch, Whole
from .options import OptionSpec

__all__ = ["COMMANDS", "Command", "Made", "command_arguments", "command_option", "is_kept"]


@dataclass(frozen=True)
class Made:
    """What a command made, and how to show it: the magic keeps ``value`` first
    (``--store``, ``_``), then calls ``show`` (so a view that fails loses nothing)."""

    value: Any
    show: Callable[[], None]


def command_option(flag: str, kind: OptionKind, help: str, metavar: str = "", example: str = "",
             default: Any = None) -> OptionSpec:
    """A command's own option, declared like the run's options."""
    return OptionSpec(name=flag.removeprefix("--").replace("-", "_"), flag=flag, help=help,
                      metavar=metavar, kind=kind, group="", default=default, example=example)


@dataclass(frozen=True)
class Command:
    """One ``%linreg`` command.

    ``handler`` and ``keeps`` are ``"module:attribute"`` (relative to the package);
    ``keeps`` names the class of what the command makes when ``--store`` may keep it
    ("" : it makes nothing to keep).  ``instead`` maps a run's option that the command
    does not take to its own argument to use instead.
    """

    name: str
    words: str
    summary: str
    handler: str
    arguments: tuple[OptionSpec, ...] = ()
    keeps: str = ""
    instead: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def usage(self) -> str:
        flags = " ".join(f"[{a.flag}{' ' + a.metavar if a.metavar else ''}]" for a in self.arguments)
        return " ".join(filter(None, ("%linreg", self.name, self.words, flags)))

    def load(self) -> Callable[[list[str], dict[str, Any]], Any]:
        """The handler (its module is imported now)."""
        module_name, _, attr = self.handler.partition(":")
        handler: Callable[[list[str], dict[str, Any]], Any] = getattr(
            importlib.import_module(module_name, __package__), attr)
        return handler


SIDE_BY_SIDE = command_option("--side-by-side", Switch(), "the two stages in two columns", default=False)
SIZES = command_option("--sizes", ListOf(Whole(2, 100_000_000)), "the data sizes to time, "
                 "separated by commas (default 1e2,1e4,1e6,1e7)", "N[,N...]", "1e2,1e4,1e6")
DEVICES = command_option("--devices", ListOf(Device()), "the devices to time, separated by commas "
                   "(default cpu,cuda; one this machine lacks is skipped with a note)", "D[,D...]",
                   "cpu,cuda")

_TABLE = (
    Command("list", "", "the stages, in ladder order", ".commands:list_stages"),
    Command("code", "STAGE", "a stage's teaching code (the file that runs)", ".commands:show_stage_code"),
    Command("diff", "STAGE [OTHER]", "what changed from the stage before (or from OTHER)",
            ".commands:show_stage_diff", arguments=(SIDE_BY_SIDE,)),
    Command("compare", "[STAGE ...]", "every stage (or those named) on the same data: one table, "
            "one figure", ".commands:compare_stages", keeps=".result:Result"),
    Command("contract", "STAGE", "what your own code for a stage is given and must leave",
            ".commands:show_stage_contract"),
    Command("widget", "[PRESET.json]", "the instructor widget (options as controls, views as tabs)",
            ".widgets:widget_command", keeps=".widgets:LinregWidget"),
    Command("bench", "", "time a stage across data sizes and devices", ".bench:bench_command",
            arguments=(SIZES, DEVICES), keeps=".bench:BenchResult",
            instead=MappingProxyType({"n": "--sizes", "device": "--devices"})),
    Command("lesson", "[NAME]", "the chapter's tensor, device, autograd and model code, run on this "
            "machine (no NAME: the list; step --stage STAGE: epoch 1, line by line)",
            ".lessons.command:lesson_command"),
)

#: ``%linreg COMMAND ...``: name -> :class:`Command`, in the order the help lists them.
COMMANDS: Mapping[str, Command] = MappingProxyType({command.name: command for command in _TABLE})

#: What a run keeps with ``--store``.
RUN_KEEPS = ".result:Result"
#: What a checked cell body keeps when nothing of the student's could be read as a Result
#: (its verdict still says why).
CHECK_KEEPS = ".check.student:StudentRun"


def command_arguments() -> tuple[OptionSpec, ...]:
    """Every command's own options, each once."""
    found: dict[str, OptionSpec] = {}
    for command in COMMANDS.values():
        for spec in command.arguments:
            found.setdefault(spec.flag, spec)
    return tuple(found.values())


def _kept_classes() -> list[type]:
    """The classes of what ``--store`` keeps, among the modules imported so far (a
    value of a class whose module was never imported cannot exist)."""
    classes = []
    for target in {RUN_KEEPS, CHECK_KEEPS, *(c.keeps for c in COMMANDS.values() if c.keeps)}:
        module_name, _, attr = target.partition(":")
        module = sys.modules.get(__package__ + module_name)
        cls = getattr(module, attr, None)
        if isinstance(cls, type):
            classes.append(cls)
    return classes


def is_kept(value: object) -> bool:
    """Whether ``value`` is something a run or a command made (a Result, a list of them,
    the timings, a widget): the only values ``--store`` may replace."""
    classes = tuple(_kept_classes())
    if isinstance(value, list):
        return bool(value) and all(isinstance(item, classes) for item in value)
    return isinstance(value, classes)
