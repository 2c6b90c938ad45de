"""The ``%%linreg`` / ``%linreg`` magics: parse, run the engine, display.

No maths here.  The argument parser is generated from the option declarations in
:mod:`linreg_magic.options`, so ``%%linreg?`` lists every option with its
default and help.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from .options import Options, option_specs, unknown_option_error, usage_error

__all__ = ["LinregMagics"]


def _with_option_arguments(func: Callable[..., Any]) -> Callable[..., Any]:
    defaults = Options.__dataclass_fields__
    for spec in reversed(option_specs()):
        default = defaults[spec.name].default
        text = spec.help if default is None else f"{spec.help} (default: {default})"
        if spec.kind == "flag":
            func = argument(spec.flag, dest=spec.name, default=None, action="store_const", const=True,
                            help=spec.help.replace("%", "%%"))(func)
            continue
        func = argument(spec.flag, dest=spec.name, default=None, metavar=spec.metavar,
                        help=text.replace("%", "%%"))(func)
    func = argument("command", nargs="*", help="a command and its words (see COMMANDS: e.g. "
                    "list, the stages in ladder order); with no command, run the stage")(func)
    return magic_arguments()(func)


_UNRECOGNIZED = re.compile(r"unrecognized arguments: (\S+)")
_NEEDS_VALUE = re.compile(r"argument (--[\w-]+)(?:/[-\w]+)*: expected one argument")


def _parse(line: str, func: Any) -> Any:
    try:
        return parse_argstring(func, line)
    except UsageError as exc:
        raise _friendly(str(exc)) from None
    except ValueError as exc:  # unbalanced quotes in the line
        raise usage_error(f"Could not read the options ({exc})", "options look like --stage module",
                          "Check the quotes on the %linreg line") from None


def _friendly(message: str) -> UsageError:
    match = _UNRECOGNIZED.search(message)
    if match:
        return unknown_option_error(match.group(1))
    match = _NEEDS_VALUE.search(message)
    if match:
        spec = next(s for s in option_specs() if s.flag == match.group(1))
        return usage_error(f"{spec.flag} needs a value", spec.valid_text(),
                           f"Try {spec.flag} {spec.example}")
    return UsageError(" ".join(message.split()) + ". See %linreg? for the options")


def has_code(cell: str) -> bool:
    """Whether a cell body holds code (blank lines and comments alone do not)."""
    return any(line.strip() and not line.lstrip().startswith("#") for line in cell.splitlines())


@magics_class
class LinregMagics(Magics):
    """Run the linear-regression lesson, one stage at a time."""

    @_with_option_arguments
    @line_cell_magic
    def linreg(self, line: str, cell: str | None = None) -> Any:
        """Run one stage of the linear-regression ladder and show the result.

        %linreg --stage module              run the module stage, show the views
        %%linreg --stage sequential --device cuda
        # a body of comments only runs the stage's own code
        %linreg list                        the stages, in ladder order
        %linreg code module                 a stage's code
        %linreg diff module [loss]          what changed from the stage before (or another)
        %linreg compare                     every stage on the same data: one table, one figure
        %linreg contract autograd           what your own code for a stage gets and must leave
        %%linreg --stage autograd           with code in the body: your code, checked
        %linreg widget --stage module       the instructor widget (or: widget PRESET.json)
        %linreg lesson [NAME]               the chapter's tensor, device, autograd and model
                                            basics, run live on this machine (list: no NAME)
        %linreg lesson step --stage autograd   epoch 1 of a stage, every line with its numbers

        The value of the cell is the run's Result (so ``_`` holds it).
        """
        args = _parse(line, LinregMagics.linreg)
        values = {s.name: getattr(args, s.name) for s in option_specs()}
        body = cell if cell is not None and has_code(cell) else None
        if args.command:
            if body is not None and args.command[0] in COMMANDS:
                raise usage_error(f"%%linreg {args.command[0]} takes no cell body",
                                  "a command runs alone; a cell body is your code for a stage",
                                  f"Use %linreg {' '.join(args.command)} on a line of its own")
            store = None
            if values.get("store") is not None and args.command[0] in COMMANDS:
                if args.command[0] not in STORABLE:
                    raise usage_error(f"--store keeps what a command makes, and "
                                      f"{args.command[0]!r} makes nothing to keep",
                                      "valid with --store are a run and " + ", ".join(sorted(STORABLE)),
                                      "Drop --store")
                store = Options.from_mapping({"store": values["store"]}).store  # checked first
            made = self._command(args.command, values)
            if store is not None and self.shell is not None:
                self.shell.user_ns[store] = made
            return made
        options = Options.from_mapping(values)
        if body is not None:
            from .commands import run_student_and_show

            checked = run_student_and_show(options, body, line,
                                           self.shell.user_ns if self.shell is not None else None)
            result = checked.result
        else:
            from .commands import run_and_show

            result = run_and_show(options, self.shell.user_ns if self.shell is not None else None)
        if options.store is not None and result is not None and self.shell is not None:
            self.shell.user_ns[options.store] = result
        return result

    def _command(self, command: list[str], values: dict[str, Any]) -> Any:
        name, rest = command[0], command[1:]
        target = COMMANDS.get(name)
        if target is None:
            from .registry import available_stages

            hint = (f"Did you mean --stage {name}?" if name in available_stages()
                    else "Options start with --, e.g. %linreg --stage module")
            raise usage_error(f"Unknown command {name!r}", "valid commands are " + ", ".join(COMMANDS),
                              hint)
        module_name, _, attr = target.partition(":")
        handler = getattr(importlib.import_module(module_name, __package__), attr)
        return handler(rest, values)


#: Commands whose value ``--store NAME`` keeps (the list of results, the timings, the widget).
STORABLE = frozenset({"compare", "bench", "widget"})

#: ``%linreg COMMAND ...``: name -> "module:function" (imported on first use).
#: Each handler takes (the words after the command, the option values given).
COMMANDS: dict[str, str] = {
    "list": ".commands:list_stages",
    "code": ".commands:show_stage_code",
    "diff": ".commands:show_stage_diff",
    "compare": ".commands:compare_stages",
    "contract": ".commands:show_stage_contract",
    "widget": ".widgets:widget_command",
    "bench": ".bench:bench_command",
    "lesson": ".lessons.command:lesson_command",
}
