"""The verdict on a student's code: a level, the findings behind it, and the numbers.

A verdict is data that an autograder can assert on (``assert result.verdict.passed``,
``FindingKind.LOSS_SUM in result.verdict.kinds``); its text and HTML are rendered
from it by :mod:`linreg_magic.views.verdict`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Comparison", "Edit", "Finding", "FindingKind", "Level", "Severity", "Verdict"]


class Level(enum.Enum):
    """How the code did, from best to worst."""

    CORRECT = "correct"
    NOTE = "correct, with a note"  # right numbers, but not the way the stage teaches, or own settings
    NOT_YET = "not yet"


class Severity(enum.Enum):
    """What a finding does to the level."""

    MISTAKE = "mistake"  # the level is NOT_YET
    NOTE = "note"  # the level is at best NOTE
    HINT = "hint"  # worth knowing; the level does not change


class FindingKind(enum.Enum):
    """What the code did, named once (an autograder matches on these)."""

    SYNTAX = "syntax"
    ERROR = "error"  # an exception not explained more precisely
    NAME = "name"  # a name the body does not have
    MISSING_RESULT = "missing_result"  # no b and w / model left behind
    NO_TRAINING = "no_training"  # the parameters never changed
    OPTIMIZER_PARAMS = "optimizer_params"  # an optimizer steps other tensors than the code's own
    FLIPPED_SIGN = "flipped_sign"  # the update climbs the gradient
    LOSS_SUM = "loss_sum"  # sum of squared errors instead of their mean
    SECOND_BACKWARD = "second_backward"  # backward() twice per epoch
    OWN_LR = "own_lr"  # the code sets its own learning rate
    OPTIMIZER_SETTINGS = "optimizer_settings"  # momentum, weight decay...: not the stage's optimizer
    STEP_FACTOR = "step_factor"  # every step is k times the reference's, from elsewhere
    NO_ZERO_GRAD = "no_zero_grad"  # the gradients accumulate
    REBINDING = "rebinding"  # b = b - ... makes a new tensor instead of updating b in place
    IN_PLACE_LEAF = "in_place_leaf"  # an in-place update outside torch.no_grad()
    NON_LEAF = "non_leaf"  # a parameter that is a copy (.to(device) after requires_grad)
    DEVICE = "device"  # tensors on different devices
    FORWARD_RETURN = "forward_return"  # forward() without return
    NO_PARAMETER = "no_parameter"  # a tensor attribute not wrapped in nn.Parameter
    NO_SUPER_INIT = "no_super_init"  # super().__init__() missing
    NUMPY_REQUIRES_GRAD = "numpy_requires_grad"  # .numpy() on a tensor that requires grad
    NUMPY_DATA = "numpy_data"  # the numpy x_train in a torch stage
    SHAPE = "shape"  # (80,) against (80, 1): broadcasting
    GRADIENT = "gradient"  # the gradients differ from the MSE's, cause unknown
    EPOCHS = "epochs"  # another number of epochs
    DIVERGED = "diverged"  # the options' learning rate diverges, for the reference too
    DYNAMICS = "dynamics"  # the trajectory leaves the reference's, cause unknown
    NOT_LINEAR = "not_linear"  # the model is not an affine function of x
    STAGE = "stage"  # right numbers, but not what the stage teaches
    GRAPH_GROWS = "graph_grows"  # the loss's graph spans every epoch
    EVAL_MODE = "eval_mode"
    TRAIN_MODE = "train_mode"
    FORWARD_CALL = "forward_call"  # model.forward(x) instead of model(x)
    TO_DEVICE = "to_device"  # .to(device) after requires_grad, harmless on the CPU only
    LOSSES_GRAPH = "losses_graph"  # a losses list that keeps every epoch's graph
    START = "start"  # the code starts from other parameters than the stage's
    WARNING = "warning"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Edit:
    """A change to the cell: cell line ``line`` (the %%linreg line is 1), which reads
    ``old``, becomes the lines ``new`` (none: the line is deleted)."""

    line: int
    old: str
    new: tuple[str, ...]

    def apply(self, body: str) -> str:
        """The body with this edit made (unchanged if the line no longer reads ``old``)."""
        return apply_edits(body, (self,))


def apply_edits(body: str, edits: tuple[Edit, ...]) -> str:
    """The body with every edit made at once (each names a line of the original)."""
    lines = body.splitlines()
    by_line = {e.line: e for e in edits}
    out: list[str] = []
    for number, text in enumerate(lines, 2):
        edit = by_line.get(number)
        if edit is not None and text == edit.old:
            out.extend(edit.new)
        else:
            out.append(text)
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Finding:
    """One thing the code did: what (``text``, in the code's own terms), how to fix it
    (``fix``, and where possible ``edits`` that make the fix), and where (``line``:
    a cell line, with its ``source``)."""

    kind: FindingKind
    severity: Severity
    text: str
    fix: str = ""
    line: int | None = None
    source: str = ""
    edits: tuple[Edit, ...] = ()

    def apply(self, body: str) -> str:
        """The body with this finding's fix made."""
        return apply_edits(body, self.edits)


@dataclass(frozen=True)
class Comparison:
    """Numbers of the student's run beside the reference's (what the table shows)."""

    name: str
    yours: tuple[float, ...]
    reference: tuple[float, ...]
    ok: bool


@dataclass(frozen=True)
class Verdict:
    """The level, a one-line summary, the findings (mistakes first), the numbers, and
    ``parted_at``: the first epoch where the code's trajectory left the reference
    dynamics started from the code's own starting point (None: it never did)."""

    level: Level
    summary: str
    findings: tuple[Finding, ...] = ()
    comparisons: tuple[Comparison, ...] = ()
    parted_at: int | None = None

    @property
    def passed(self) -> bool:
        """Correct, with or without a note."""
        return self.level is not Level.NOT_YET

    @property
    def kinds(self) -> tuple[FindingKind, ...]:
        return tuple(f.kind for f in self.findings)

    def of(self, severity: Severity) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is severity)

    @property
    def edits(self) -> tuple[Edit, ...]:
        """Every edit the verdict suggests, for its mistakes (else its notes)."""
        chosen = self.of(Severity.MISTAKE) or self.of(Severity.NOTE)
        return tuple(e for f in chosen for e in f.edits)

    def __repr__(self) -> str:
        kinds = ", ".join(f"{f.kind.value}({f.severity.value})" for f in self.findings)
        return f"Verdict({self.level.value}: {self.summary!r}; findings: {kinds or 'none'})"


def level_of(findings: tuple[Finding, ...]) -> Level:
    """The level the findings give."""
    if any(f.severity is Severity.MISTAKE for f in findings):
        return Level.NOT_YET
    if any(f.severity is Severity.NOTE for f in findings):
        return Level.NOTE
    return Level.CORRECT
