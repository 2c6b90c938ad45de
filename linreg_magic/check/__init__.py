"""A student's own code for a stage, run and judged by what it does.

The ``%%linreg`` cell body is the student's code (:mod:`.contract` says what it is
given and must leave).  It runs recorded (:mod:`.running`, :mod:`.recording`):
every epoch of its training loop, whatever it is called, without the student
writing anything for it.  The verdict (:mod:`.verdict`) compares that trajectory
with the stage's own code started from the student's own starting point
(:mod:`.dynamics`), epoch by epoch, on the function the model computes, and names
what the code did (:mod:`.diagnose`, :mod:`.explain`, :mod:`.hints`) with the
student's line and a fix.  All rendering is in :mod:`linreg_magic.views.verdict`.
"""

from .contract import Contract, contract
from .running import StudentError
from .student import StudentRun, run_student
from .verdict import Comparison, Edit, Finding, FindingKind, Level, Severity, Verdict

__all__ = ["Comparison", "Contract", "Edit", "Finding", "FindingKind", "Level", "Severity", "StudentError",
           "StudentRun", "Verdict", "contract", "run_student"]
