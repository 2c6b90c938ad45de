"""What a run produced. Views are functions of a :class:`Result`."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .data import Dataset
from .mse import QuadraticMSE
from .options import Options

__all__ = ["BOOK", "Reference", "Result", "Stop", "StopKind"]

#: The book's published end points (float64 numpy; float32 torch on the CPU).
BOOK = {"numpy": (1.02354094, 1.96896411), "torch": (1.0235, 1.9690)}


@dataclass(frozen=True)
class Reference:
    """scikit-learn's closed-form least-squares answer on the same training data."""

    intercept: float
    coef: tuple[float, ...]
    train_loss: float
    val_loss: float | None


class StopKind(enum.Enum):
    """Why a run ended before its last epoch."""

    INTERRUPTED = "interrupted"  # Ctrl-C (KeyboardInterrupt)
    DIVERGED = "diverged"  # the loss or a parameter became inf or NaN
    SUPERSEDED = "superseded"  # a newer run took its place (the widget)
    FAILED = "failed"  # an error in the code that ran (a student's body)


@dataclass(frozen=True)
class Stop:
    """How a run stopped early: its kind, the 1-based epoch it stopped at (0: before
    the first), and the sentence the views show."""

    kind: StopKind
    epoch: int
    text: str

    @classmethod
    def interrupted(cls, epoch: int, n_epochs: int) -> Stop:
        text = (f"stopped at epoch {epoch} of {n_epochs} (interrupted)" if epoch
                else "stopped before the first epoch (interrupted)")
        return cls(StopKind.INTERRUPTED, epoch, text)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, repr=False, eq=False)
class Result:
    """One run of one stage.

    ``b`` and ``w`` are the learned intercept and slope (``w`` for one-feature
    models; ``intercept`` and ``coef`` always).  ``params`` holds each named
    parameter's final value and ``path`` its value after every epoch (row 0 is
    the start).  ``losses`` and ``val_losses`` are per epoch, measured before the
    epoch's update (as the loop computes them).
    """

    stage: str
    options: Options
    device: str
    device_name: str
    seconds: float
    losses: np.ndarray
    val_losses: np.ndarray
    params: dict[str, np.ndarray]
    initial: dict[str, np.ndarray]
    path: dict[str, np.ndarray]
    intercept_path: np.ndarray  # (epochs + 1,)
    coef_path: np.ndarray  # (epochs + 1, features)
    data: Dataset
    reference: Reference
    book: tuple[float, float] | None = None
    graph_note: str = ""
    stopped: Stop | None = None
    autograd: dict[str, Any] | None = field(default=None)  # {"loss": tensor, "params": {...}}
    notes: tuple[str, ...] = ()  # short lines for the header, e.g. what a CUDA graph gained
    checked: bool = False  # a student's own code for the stage, judged by a verdict
    printed: str = ""  # what the stage's own code printed (e.g. print(model.state_dict()))

    def replace(self, **changes: Any) -> Result:
        """A copy with some fields changed (a Result itself never changes)."""
        return dataclasses.replace(self, **changes)

    @property
    def epochs(self) -> int:
        return len(self.losses)

    @property
    def intercept(self) -> float:
        return float(self.intercept_path[-1])

    @property
    def coef(self) -> np.ndarray:
        return np.asarray(self.coef_path[-1])

    @property
    def b(self) -> float:
        """The learned intercept."""
        return self.intercept

    @property
    def w(self) -> float:
        """The learned slope (one-feature models; see ``coef`` for more)."""
        if self.coef.size != 1:
            raise AttributeError(f"this model has {self.coef.size} features: use .coef for its slopes")
        return float(self.coef[0])

    @property
    def diverging(self) -> bool:
        """Whether the training loss grew tenfold or more over the recorded epochs (a run
        that did not blow up to inf/NaN, yet moved away from the answer)."""
        losses = self.losses
        return bool(len(losses) > 1 and np.isfinite(losses[-1]) and losses[-1] > 10 * losses[0])

    @property
    def train_loss(self) -> float:
        """The last epoch's training loss (at the final parameters if none was recorded)."""
        if len(self.losses):
            return float(self.losses[-1])
        return self._final_mse(self.data.x_train, self.data.y_train)

    @property
    def val_loss(self) -> float | None:
        if len(self.val_losses):
            return float(self.val_losses[-1])
        if not len(self.data.val_idx):
            return None
        return self._final_mse(self.data.x_val, self.data.y_val)

    def _final_mse(self, x: np.ndarray, y: np.ndarray) -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            return float(QuadraticMSE.of(x, y)(self.intercept, self.coef))

    def __repr__(self) -> str:
        def num(value: float, digits: int = 4) -> str:  # a diverged run's huge values stay short
            return f"{value:.{digits}f}" if abs(value) < 1e6 else f"{value:.4g}"

        slope = f"w={num(self.w)}" if self.coef.size == 1 else "coef=[" + ", ".join(
            num(v) for v in self.coef) + "]"
        stopped = f", stopped={self.stopped.text!r}" if self.stopped else ""
        return (f"Result(stage={self.stage!r}, device={self.device!r}, b={num(self.b)}, {slope}, "
                f"train_loss={num(self.train_loss, 5)}, epochs={self.epochs}, "
                f"seconds={self.seconds:.3f}{stopped})")
