"""The README's Stages table cannot drift from the registry."""

from __future__ import annotations

import re
from pathlib import Path

from linreg_magic.registry import BUILTIN_STAGES, get_stage

README = Path(__file__).resolve().parents[1] / "README.md"


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


def test_readme_options_table_lists_every_option_with_its_help():
    from linreg_magic.options import option_specs

    text = README.read_text()
    table = text.split("<!-- options-table")[1].split("<!-- end options-table -->")[0]
    rows = re.findall(r"^\| `(--[\w-]+)` \| [^|]+ \| (.+) \|$", table, flags=re.M)
    assert rows == [(spec.flag, spec.help) for spec in option_specs()]
