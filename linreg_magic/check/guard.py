"""What the reference runs of a check print is not shown: the student's output is theirs,
the stage's own is not part of the check."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator

__all__ = ["quiet"]


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """What the stage's own code prints (a reference run) is not shown."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield
