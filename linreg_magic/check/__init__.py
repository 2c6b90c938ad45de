"""A student's own code for a stage, run and judged by what it does.

The ``%%linreg`` cell body is the student's code.  The concerns, in the order a check
meets them:

contract
    :mod:`.contract`: what a body is given (the stage's namespace before its training
    loop, ``make_dot``, ``tracker``, the stage's model classes) and what it must leave.
running
    :mod:`.instrument` compiles the body with its loops recorded; :mod:`.running` runs
    it contained (errors as the student's own traceback, Ctrl-C, the session restored);
    :mod:`.probes` watch its backward passes, optimizer steps and first epochs' torch
    operations.
recording
    :mod:`.recording`: every epoch of the body's training loop, whatever it is called
    and however it updates the parameters, without the student writing anything.
findings
    :mod:`.evidence` gathers the student's run as a Result and the reference dynamics
    from their own start (:mod:`.dynamics`: the stage's own code, replayed);
    :mod:`.diagnose` and :mod:`.scaling` read the trajectory, :mod:`.explain` an
    exception, :mod:`.hints` the rest; :mod:`.reading` finds the student's lines and
    :mod:`.fixes` the edits that fix them.
verdict
    :mod:`.verdict` holds the nouns (Level, FindingKind, Finding, Edit, Verdict);
    :mod:`.judge` puts a verdict together; :mod:`.student` is ``run_student``.

All rendering is in :mod:`linreg_magic.views.verdict` and :mod:`linreg_magic.views.student`.
"""

from .contract import Contract, contract
from .running import StudentError
from .student import StudentRun, run_student
from .verdict import Comparison, Edit, Finding, FindingKind, Level, Severity, Verdict

__all__ = ["Comparison", "Contract", "Edit", "Finding", "FindingKind", "Level", "Severity", "StudentError",
           "StudentRun", "Verdict", "contract", "run_student"]
