"""The corpus of student bodies: each file is a %%linreg cell body with two header lines,

    # %%linreg --stage autograd --epochs 100
    # expect: correct | note: KIND | not yet: KIND

plus the mistakes made mechanically from every correct body (:func:`mutations`), and the
stages' own code as the code view shows it (:func:`pasted_stage_code`).
"""

from __future__ import annotations

import inspect
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Case:
    """One body, the %%linreg line it runs under, and the verdict it must get."""

    name: str
    line: str
    body: str
    level: str  # "correct", "correct, with a note" or "not yet"
    kind: str | None  # the first mistake's (or note's) kind; None for correct
    fix_in_words: bool = False  # the verdict's fix cannot be an edit of the lines (no update at all)

    @property
    def stage(self) -> str:
        return re.search(r"--stage (\S+)", self.line).group(1)  # type: ignore[union-attr]


_LEVELS = {"correct": "correct", "note": "correct, with a note", "not yet": "not yet"}


def _parse(path: Path) -> Case:
    text = path.read_text()
    first, second, body = text.split("\n", 2)
    words = body.startswith("# fix: in words\n")
    body = body.removeprefix("# fix: in words\n")
    line = first.removeprefix("# %%linreg").strip()
    expect = second.removeprefix("# expect:").strip()
    level, _, kind = expect.partition(":")
    return Case(f"{path.parent.name}/{path.stem}", line, body, _LEVELS[level.strip()],
                kind.strip() or None, words)


def written_cases() -> list[Case]:
    """The hand-written bodies, every stage."""
    return [_parse(p) for p in sorted(HERE.glob("*/*.py"))]


# -- mechanical mistakes --------------------------------------------------------------
@dataclass(frozen=True)
class Mutation:
    name: str
    kind: str
    level: str = "not yet"


def _mean_to_sum(body: str) -> str | None:
    changed = body.replace(".mean()", ".sum()").replace("reduction='mean'", "reduction='sum'")
    return changed if changed != body else None


def _flip(body: str) -> str | None:
    changed = re.sub(r"^(\s*)(b|w) -= ", r"\1\2 += ", body, flags=re.M)
    changed = re.sub(r"^(\s*)(b|w) = \2 - lr", r"\1\2 = \2 + lr", changed, flags=re.M)
    return changed if changed != body else None


def _lr_times(factor: float) -> object:
    def mutate(body: str) -> str | None:
        own = re.search(r"^lr = ([0-9.]+)$", body, flags=re.M)
        if own:
            return body.replace(own.group(0), f"lr = {float(own.group(1)) * factor:g}")
        code = "\n".join(line.split("#")[0] for line in body.splitlines())
        if not re.search(r"\blr\b", code):  # the body's steps do not use lr (the optimizer provided)
            return None
        return f"lr = {0.1 * factor:g}\n" + body
    return mutate


def _drop_zero_grad(body: str) -> str | None:
    kept = [line for line in body.splitlines() if not re.search(r"zero_grad\(|\.grad\.zero_\(\)|grad = None",
                                                                line)]
    return "\n".join(kept) + "\n" if len(kept) != len(body.splitlines()) else None


def _second_backward(body: str) -> str | None:
    lines = body.splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"^(\s+)(\w+)\.backward\(\)\s*$", line)
        if match:
            indent, loss = match.groups()
            lines[i] = f"{indent}{loss}.backward(retain_graph=True)\n{indent}{loss}.backward()"
            return "\n".join(lines) + "\n"
    return None


def _rebind(body: str) -> str | None:
    changed = re.sub(r"^(\s+)(b|w) -= (lr \* \2\.grad)$", r"\1\2 = \2 - \3", body, flags=re.M)
    return changed if changed != body else None


MUTATIONS: dict[str, tuple[object, Mutation]] = {
    "mean_to_sum": (_mean_to_sum, Mutation("mean_to_sum", "loss_sum")),
    "flipped_sign": (_flip, Mutation("flipped_sign", "flipped_sign")),
    "lr_times_10": (_lr_times(10), Mutation("lr_times_10", "own_lr")),
    "lr_times_2": (_lr_times(2), Mutation("lr_times_2", "own_lr", "correct, with a note")),
    "no_zero_grad": (_drop_zero_grad, Mutation("no_zero_grad", "no_zero_grad")),
    "second_backward": (_second_backward, Mutation("second_backward", "second_backward")),
    "rebinding": (_rebind, Mutation("rebinding", "rebinding")),
}


def mutations(case: Case) -> list[Case]:
    """The mistakes made mechanically from a correct body (those that apply to it)."""
    made = []
    for name, (mutate, what) in MUTATIONS.items():
        body = mutate(case.body)  # type: ignore[operator]
        if body is None or body == case.body:
            continue
        if name == "mean_to_sum" and not _sum_reaches_the_update(case.body, body):
            continue
        made.append(Case(f"{case.name}+{name}", case.line, body, what.level, what.kind))
    return made


def _sum_reaches_the_update(before: str, after: str) -> bool:
    """With hand-written gradients the loss's value does not move the parameters: a sum
    there is a mistake only where a gradient or an update sums too."""
    if ".backward(" in before:
        return True
    changed = [new for old, new in zip(before.splitlines(), after.splitlines()) if old != new]
    return any("grad" in line or "-=" in line or " - lr" in line for line in changed)


def pasted_stage_code() -> list[Case]:
    """Each stage's loop as the code view shows it (with tracker.log and return), and
    each stage's whole teaching file, pasted as a body: both are the stage's code."""
    from linreg_magic.registry import BUILTIN_STAGES, get_stage

    cases = []
    for name in BUILTIN_STAGES:
        stage = get_stage(name)
        source = textwrap.dedent(inspect.getsource(stage.model_training))
        loop = textwrap.dedent("\n".join(source.splitlines()[1:])) + "\n"
        device = "" if name == "numpy" else " --device cpu"
        line = f"--stage {name}{device} --epochs 60"
        cases.append(Case(f"pasted/{name}-loop", line, loop, "correct", None))
        cases.append(Case(f"pasted/{name}-file", line, stage.source(), "correct", None))
    return cases
