"""``%linreg widget [PRESET.json] --stage module ...``: the instructor widget from the magic."""

from __future__ import annotations

import os
from typing import Any

from ..errors import usage_error
from .widget import LinregWidget

__all__ = ["widget_command"]


def _preset_path(rest: list[str]) -> str | None:
    """The preset file named after ``widget``: one word, a quoted path, or a path with spaces."""
    if not rest:
        return None
    if len(rest) == 1 or os.path.isfile(os.path.expanduser(" ".join(rest))):
        return " ".join(rest)
    raise usage_error(f"widget takes at most one preset file, got {' '.join(rest)!r}",
                      "give a JSON preset saved with LinregWidget.save, or none (quote a path with spaces)",
                      "Try %linreg widget lecture.json --lr 0.05")


def widget_command(rest: list[str], values: dict[str, Any]) -> LinregWidget:
    """``%linreg widget [PRESET.json] --stage module ...``: the instructor widget."""
    path = _preset_path(rest)
    given = {name: value for name, value in values.items() if value is not None}
    return LinregWidget.load(path, **given) if path is not None else LinregWidget(**given)
