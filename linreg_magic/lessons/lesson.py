"""Running a lesson: its cells, in order, on the device and data the options describe."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ..options import Options
from ..plan import Plan
from ..session import preserved_random_state
from . import LessonEntry, lesson_entry
from .notebook import CellRun, lesson_namespace, run_cell

__all__ = ["LessonRun", "lesson_module", "lesson_plan", "run_lesson"]


@dataclass(frozen=True)
class LessonRun:
    """One lesson as it ran: what it started with (name -> how it is shown), each
    cell's output, and the namespace the cells left (for a look at the objects)."""

    entry: LessonEntry
    device: str
    given: tuple[tuple[str, str], ...]
    cells: tuple[CellRun, ...]
    namespace: Mapping[str, Any]

    def cell(self, name: str) -> CellRun:
        """The run of the cell whose function is called ``name``."""
        return next(c for c in self.cells if c.code.name == name)


def lesson_module(entry: LessonEntry) -> ModuleType:
    return importlib.import_module(entry.module, __package__)


def lesson_plan(entry: LessonEntry, options: Options, namespace: Mapping[str, Any] | None = None) -> Plan:
    """The run a lesson's numbers come from: its own stage (or ``--stage`` for the step
    lesson), on the device and data the options ask for."""
    stage = options.stage if entry.name == "step" else entry.stage
    return Plan.make(options.replace(stage=stage), namespace=namespace)


def describe_given(name: str, value: Any) -> str:
    """How the header shows a name a lesson starts with."""
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        return f"numpy array, shape {tuple(shape)}, {dtype}"
    return repr(value)


def run_lesson(name: str, options: Options | None = None,
               namespace: Mapping[str, Any] | None = None) -> LessonRun:
    """Run the lesson called ``name`` and keep what each cell showed.

    The session is left as it was: the cells' ``np.random.seed`` and
    ``torch.manual_seed`` are undone, and nothing is written into ``namespace``
    (where ``--data user`` finds the arrays)."""
    entry = lesson_entry(name)
    options = options or Options()
    module = lesson_module(entry)
    plan = lesson_plan(entry, options, namespace)
    starts: Callable[[Plan], dict[str, Any]] = getattr(module, "given", default_given)
    with preserved_random_state(True, plan.device):
        given = starts(plan)
        cells_ns = lesson_namespace(module, given)
        runs = tuple(run_cell(cell, cells_ns, getattr(module, "show", repr)) for cell in module.CELLS)
    described: Callable[[str, Any], str] = getattr(module, "describe", describe_given)
    used = {name for run in runs for name in run.code.needs}
    return LessonRun(entry, plan.device, tuple((k, described(k, v)) for k, v in given.items() if k in used),
                     runs, cells_ns)


def default_given(plan: Plan) -> dict[str, Any]:
    """What most lessons start with: the device, the seed, the learning rate and the
    book's training data."""
    ns = plan.namespace()
    return {name: ns[name] for name in ("device", "seed", "lr", "x_train", "y_train")}
