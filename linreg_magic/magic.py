"""The ``%%linreg`` / ``%linreg`` magics: read the line, hand it to the commands.

No maths here.  The help (``%linreg?``) is generated from the declarations: the
options in their groups (:mod:`linreg_magic.options`) and every command with its
own options (:mod:`linreg_magic.command_table`).  The line is read by
:mod:`linreg_magic.magic_line` (quotes, comments, negative numbers), not by
``parse_argstring``, whose splitting keeps quotes and reads ``-1e3`` as a flag.
"""

from __future__ import annotations

import importlib
import textwrap
from collections.abc import Callable, Mapping
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, argument_group, magic_arguments
from IPython.display import display

from .command_table import COMMANDS, command_arguments
from .magic_line import read_line
from .options import GROUPS, OptionSpec, option_specs

__all__ = ["COMMANDS", "LinregMagics", "help_text"]

_RUNS = (
    ("%linreg [OPTIONS]", "run a stage (--stage, default module) and show its views"),
    ("%%linreg [OPTIONS] + a cell body", "your own code for the stage, checked against the "
                                         "reference (a body of comments runs the stage's own code)"),
)

_LINE = """\
The value of the cell is what the run or the command made (so _ holds it), kept
before anything is drawn; --store NAME keeps it in a variable too, and replaces
only an earlier result of %linreg, never one of your own objects.

How the line is read: values are text, parsed and never evaluated (--x "df['col']"
names a column of df). Quote a value with spaces (widget "my preset.json"); # starts
a comment; negative numbers need nothing special (--true-b -1e3); --flag=value works
too. Before %linreg sees the line, IPython expands $name and {expression} as it does
for every magic (%linreg --lr $lr in a loop); write $$ and {{ }} for a literal $ or braces.
"""


def help_text() -> str:
    """What ``%linreg?`` says before the options: the runs and every command, from the table."""
    rows = [*_RUNS, *((c.usage, c.summary) for c in COMMANDS.values())]
    lines = [f"  {usage}\n" + textwrap.fill(summary, 84, initial_indent=" " * 6, subsequent_indent=" " * 6)
             for usage, summary in rows]
    return ("Run one stage of the linear-regression ladder and show the result; or a command.\n\n"
            + "\n".join(lines) + "\n\n" + _LINE)


def _argument(spec: OptionSpec) -> argument:
    text = spec.help.replace("%", "%%")
    if spec.kind.takes_value:
        default = "" if spec.default is None else f" (default: {spec.default_text()})"
        return argument(spec.flag, metavar=spec.metavar, help=text + default)
    return argument(spec.flag, nargs="?", metavar="on|off", help=text)


def _with_help(func: Callable[..., Any]) -> Callable[..., Any]:
    """The help as magic_arguments formats it: the options in their groups, then each
    command's own options."""
    func.__doc__ = help_text()
    decorators: list[Any] = [argument("-h", "--help", action="store_true", help="show this help"),
                             argument("command", nargs="*", help="a command and its words (see above)")]
    for group, title in GROUPS.items():
        decorators.append(argument_group(title))
        decorators += [_argument(spec) for spec in option_specs() if spec.group == group]
    for command in COMMANDS.values():
        if command.arguments:
            decorators.append(argument_group(f"%linreg {command.name}"))
            decorators += [_argument(spec) for spec in command.arguments]
    for decorator in reversed(decorators):  # applied innermost first; shown in source order
        func = decorator(func)
    return magic_arguments()(func)


def arguments() -> Mapping[str, OptionSpec]:
    """Every flag a line may hold: the options, then the commands' own."""
    return {spec.flag: spec for spec in (*option_specs(), *command_arguments())}


@magics_class
class LinregMagics(Magics):
    """Run the linear-regression lesson, one stage at a time."""

    @_with_help
    @line_cell_magic
    def linreg(self, line: str, cell: str | None = None) -> Any:
        read = read_line(line, arguments())
        if read.help:
            text = LinregMagics.linreg.__doc__ or ""
            display({"text/plain": text}, raw=True)
            return None
        commands = importlib.import_module(".commands", __package__)  # heavy: imported on first use
        return commands.execute(read, cell, line)
