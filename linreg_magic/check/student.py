"""``run_student``: a student's cell body, run and judged against the reference.

1. The body is compiled with its loops instrumented (a syntax error is the verdict).
2. The stage's own code runs on the same options (Ctrl-C there: the body does not run).
3. The body runs, recorded and observed (:mod:`.running`).
4. The reference dynamics from the body's own start, the stage's features and the
   body's are gathered (:mod:`.evidence`); the verdict is drawn from them (:mod:`.judge`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..options import Options
from ..plan import Plan
from ..result import Result, Stop, StopKind
from ..session import Guard
from .contract import result_names
from .evidence import gather, reference_run
from .instrument import instrument, normalise, parse, remember_source
from .judge import judge, not_run
from .reading import Source
from .running import StudentError, execute
from .verdict import FindingKind, Verdict

__all__ = ["StudentRun", "run_student"]


@dataclass(frozen=True)
class StudentRun:
    """A checked student run: their Result (None if nothing of theirs could be read),
    the verdict, the stage's own run on the same options (``reference``) and the stage's
    code from the student's own start (``expected``: what the views draw beside theirs)."""

    stage: str
    result: Result | None
    reference: Result | None
    verdict: Verdict
    error: StudentError | None = None
    stopped: Stop | None = None
    warnings: tuple[str, ...] = ()
    expected: Result | None = None
    guard: Guard | None = None  # holds the figures the body drew, to show as a cell's own

    def __repr__(self) -> str:
        has = "its Result in .result" if self.result is not None else "no Result of the student's"
        return f"StudentRun(stage={self.stage!r}, {has}, verdict={self.verdict!r})"


_counter = itertools.count(1)


def run_student(options: Options, body: str, *, magic_line: str = "",
                namespace: Mapping[str, Any] | None = None) -> StudentRun:
    """Run ``body`` as the student's code for ``options.stage`` and judge it.

    Every option is checked (stage, device, combinations) before anything runs.
    ``namespace`` is where ``--data user`` finds ``--x`` and ``--y``.
    """
    plan = Plan.make(options, namespace=namespace)
    body = normalise(body)
    filename = f"<linreg cell {next(_counter)}>"
    remember_source(body, filename, magic_line)
    source = Source.of(body)
    try:
        code = instrument(parse(body), filename)
    except (SyntaxError, ValueError) as exc:
        return _syntax(plan, source, exc)
    reference = reference_run(plan)
    stopped = reference.result.stopped
    if stopped is not None and stopped.kind is StopKind.INTERRUPTED:
        verdict = not_run(FindingKind.INTERRUPTED, f"Interrupted while the reference ran ({stopped}); "
                          "your code did not run", "run the cell again")
        return StudentRun(plan.name, None, reference.result, verdict, stopped=stopped)
    called = source.called_names()
    aliases = source.aliases(result_names(plan.stage))
    run = execute(plan, code, filename, [n for n in source.functions() if n not in called], aliases)
    try:
        evidence = gather(plan, source, run, reference, code.loops)
        verdict = judge(evidence)
    except Exception as exc:  # the check itself failed: say so, never a traceback from our code
        verdict = not_run(FindingKind.ERROR, f"linreg_magic could not judge this run "
                          f"({type(exc).__name__}: {str(exc)[:200]}); please report it with your cell",
                          "the run itself is shown above")
        return StudentRun(plan.name, None, reference.result, verdict, run.error, run.stopped, run.warnings)
    result = evidence.student.replace(verdict=verdict) if evidence.student is not None else None
    expected = evidence.expected.result if evidence.expected is not None else None
    return StudentRun(plan.name, result, reference.result, verdict, run.error, run.stopped, run.warnings,
                      expected, run.guard)


def _syntax(plan: Plan, source: Source, exc: SyntaxError | ValueError) -> StudentRun:
    if isinstance(exc, SyntaxError):
        line = exc.lineno if exc.lineno and exc.lineno > 1 else None
        error = StudentError(type(exc).__name__, exc.msg, ((line, "<cell>", source.text(line).strip()),)
                             if line else ())
    else:  # e.g. a NUL character pasted into the cell
        error = StudentError("SyntaxError", str(exc), ())
    where = f" at cell line {error.line}" if error.line else ""
    text = source.text(error.line).strip()
    fix = ("IPython's %magics and !commands do not run inside a %%linreg body: run that line in a cell "
           "of its own" if text.startswith(("%", "!")) else "fix the line the error points at")
    verdict = not_run(FindingKind.SYNTAX, f"your code did not run: {error.kind}{where}: {error.message}",
                      fix, error.line, text)
    return StudentRun(plan.name, None, None, verdict, error=error)
