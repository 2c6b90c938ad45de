"""The README's tables cannot drift from the registry, the options and the commands.

``python tests/test_readme.py`` rewrites the generated tables in README.md.
"""

from __future__ import annotations

import re
from pathlib import Path

from linreg_magic.command_table import COMMANDS
from linreg_magic.options import GROUPS, OptionSpec, option_specs
from linreg_magic.registry import BUILTIN_STAGES, get_stage

README = Path(__file__).resolve().parents[1] / "README.md"


def _row(spec: OptionSpec) -> str:
    default = spec.default_text()
    shown = default if default in ("—", "on", "off") else f"`{default}`"
    return f"| `{spec.flag}` | {shown} | {spec.help} |"


def options_table() -> str:
    """The options in their groups, then each command's own options."""
    lines = ["| option | default | meaning |", "|---|---|---|"]
    for group, title in GROUPS.items():
        lines.append(f"| *{title}* | | |")
        lines += [_row(spec) for spec in option_specs() if spec.group == group]
    for command in COMMANDS.values():
        if command.arguments:
            lines.append(f"| *`%linreg {command.name}` only* | | |")
            lines += [_row(spec) for spec in command.arguments]
    return "\n".join(lines)


def commands_table() -> str:
    lines = ["| command | what it does |", "|---|---|"]
    lines += [f"| `{command.usage}` | {command.summary} |" for command in COMMANDS.values()]
    return "\n".join(lines)


def _block(text: str, name: str) -> str:
    return text.split(f"<!-- {name}")[1].split("-->", 1)[1].split(f"<!-- end {name} -->")[0].strip()


def test_readme_starts_with_the_two_commands():
    text = README.read_text()
    first_block = text.split("```")[1]
    assert "make lab" in first_block and "make test" in first_block


def test_readme_stages_table_matches_the_registry():
    text = README.read_text()
    table = text.split("<!-- stages-table")[1].split("<!-- end stages-table -->")[0]
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \| (.+) \|$", table, flags=re.M)
    expected = [(str(i), name, get_stage(name).summary)
                for i, name in enumerate(BUILTIN_STAGES, 1)]
    assert rows == expected


def test_ci_runs_the_readmes_test_command():
    ci = (README.parent / ".ci" / "run").read_text()
    assert "make test" in ci


def test_readme_options_table_is_the_one_the_declarations_make():
    assert _block(README.read_text(), "options-table") == options_table(), \
        "run: python tests/test_readme.py"


def test_readme_options_table_lists_every_option_and_command_option_once():
    flags = re.findall(r"^\| `(--[\w-]+)` \|", options_table(), flags=re.M)
    declared = [spec.flag for spec in option_specs()]
    assert sorted(flags) == sorted([*declared, "--side-by-side", "--sizes", "--devices"])


def test_readme_commands_table_is_the_one_the_command_table_makes():
    text = _block(README.read_text(), "commands-table")
    assert text == commands_table(), "run: python tests/test_readme.py"
    assert "`%linreg bench [--sizes N[,N...]] [--devices D[,D...]]`" in text


def _rewrite() -> None:
    text = README.read_text()
    for name, table in (("options-table", options_table()), ("commands-table", commands_table())):
        head, rest = text.split(f"<!-- {name}")
        marker, rest = rest.split("-->", 1)
        _, tail = rest.split(f"<!-- end {name} -->")
        text = f"{head}<!-- {name}{marker}-->\n{table}\n<!-- end {name} -->{tail}"
    README.write_text(text)


if __name__ == "__main__":
    _rewrite()
