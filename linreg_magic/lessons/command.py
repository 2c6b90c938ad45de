"""``%linreg lesson [NAME]``: the list of lessons, or one lesson run live."""

from __future__ import annotations

from typing import Any

from IPython.display import display

from ..errors import usage_error
from ..options import Options
from ..user_namespace import user_namespace
from . import LESSONS, lesson_entry
from .lesson import lesson_plan, run_lesson
from .render import lesson_bundles, lessons_html, lessons_text, step_bundle
from .step import first_step

__all__ = ["lesson_command"]


def lesson_command(rest: list[str], values: dict[str, Any]) -> None:
    """``%linreg lesson`` lists the lessons; ``%linreg lesson NAME [options]`` runs one
    on this machine (``--device``, ``--seed``, ``--lr``, the data options; ``--stage``
    for the step lesson) and shows each cell's code and real output."""
    if not rest:
        display({"text/html": lessons_html(), "text/plain": lessons_text()}, raw=True)
        return
    if len(rest) > 1:
        raise usage_error(f"lesson takes one name, got {' '.join(rest)!r}",
                          "valid lessons are " + ", ".join(e.name for e in LESSONS),
                          f"Try %linreg lesson {rest[0]}")
    entry = lesson_entry(rest[0])
    given = dict(values)
    if entry.name == "step" and given.get("stage") is None:
        given["stage"] = entry.stage  # the chapter walks through the numpy stage's first step
    namespace = user_namespace()
    options = Options.from_mapping(given)
    if entry.name == "step":
        display(step_bundle(first_step(lesson_plan(entry, options, namespace))), raw=True)
        return
    for bundle in lesson_bundles(run_lesson(entry.name, options, namespace)):
        display(bundle, raw=True)
