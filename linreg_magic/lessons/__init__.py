"""Lessons: the chapter's code around the ladder, run live on this machine.

``%linreg lesson NAME`` runs one lesson: short cells of the book's code (tensor
basics, devices, autograd, the dynamic graph, a model's parameters and state) on
the user's own machine, each shown with what it really printed (their GPUs, the
``data_ptr`` that really matches).  ``%linreg lesson step --stage STAGE`` walks
through epoch 1 of a stage's own training code with the numbers of every line.

This table is the one place that names the lessons; it imports nothing heavy.
Each lesson's cells live in their own file in :mod:`.cells`; the step lesson,
which follows a stage's own code, is :mod:`.step`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ..errors import usage_error

__all__ = ["LESSONS", "LessonEntry", "lesson_entry", "lessons_for"]


@dataclass(frozen=True)
class LessonEntry:
    """A lesson's name, the stage where a student meets it, what it shows, and the
    module (in this package) that holds its cells."""

    name: str
    stage: str
    title: str
    module: str


#: Every lesson, in the order the chapter meets them.
LESSONS: tuple[LessonEntry, ...] = (
    LessonEntry("data", "numpy", "the book's data: generating it and the train/validation split",
                ".cells.data"),
    LessonEntry("step", "numpy", "one step of gradient descent with its numbers, for any --stage", ".step"),
    LessonEntry("tensors", "tensors", "creating tensors, .size() and .shape, view shares storage, "
                "new_tensor and clone().detach() copy", ".cells.tensors"),
    LessonEntry("devices", "tensors", "as_tensor shares numpy's memory, .float(), your GPUs by name, "
                ".to(device), back to numpy, detach() and .item()", ".cells.devices"),
    LessonEntry("parameters", "autograd", "parameters with requires_grad: created on the device, or "
                ".to(device) after (not a leaf), and requires_grad_()", ".cells.parameters"),
    LessonEntry("autograd", "autograd", "backward() and .grad, gradients accumulate, zero_(), and the "
                "three attempts at the update", ".cells.autograd"),
    LessonEntry("graph", "autograd", "the dynamic graph autograd builds, drawn for yhat and for the loss",
                ".cells.graph"),
    LessonEntry("model", "module", "parameters() and state_dict(), optimizer.state_dict(), what "
                "model.train() switches, nested and Sequential models", ".cells.model"),
)


def lesson_entry(name: str) -> LessonEntry:
    """The lesson called ``name``; one UsageError line if there is none."""
    for entry in LESSONS:
        if entry.name == name:
            return entry
    names = [entry.name for entry in LESSONS]
    close = difflib.get_close_matches(name, names, n=1)
    raise usage_error(f"Unknown lesson {name!r}", "valid lessons are " + ", ".join(names),
                      f"Did you mean %linreg lesson {close[0]}?" if close else "See %linreg lesson")


def lessons_for(stage: str) -> list[LessonEntry]:
    """The lessons a student meets at ``stage`` (the step lesson fits every stage)."""
    return [entry for entry in LESSONS if entry.stage == stage or entry.name == "step"]
