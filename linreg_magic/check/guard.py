"""What the reference runs of a check print is not shown: the student's output is theirs,
the stage's own is not part of the check."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ..printed import capture_prints

__all__ = ["quiet"]


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """What the stage's own code prints (a reference run) is not shown: this thread's
    prints are captured and dropped, another thread's still show."""
    with capture_prints():
        yield
