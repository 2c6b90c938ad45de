"""What a stage's own code prints, kept instead of written to the screen.

The book's stages end with ``print(model.state_dict())``.  A run keeps those lines
in ``Result.printed`` so that the views can show them labelled as the stage's
output, and ``linreg_magic.run()`` in a script prints nothing.

Capturing is routed by thread.  The instructor widget trains on a background
thread while the kernel's thread keeps running the user's cells: replacing
``sys.stdout`` for everyone (``contextlib.redirect_stdout``) would swallow the
user's own prints meanwhile.  Instead, while any capture is active, ``sys.stdout``
is a :class:`ThreadRoutedStdout`: writes from a capturing thread go to that
thread's buffer, every other thread's go to the stream that was there before.
The stream is put back when the last capture ends.
"""

from __future__ import annotations

import contextlib
import functools
import io
import sys
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any, ParamSpec, TypeVar

__all__ = ["Printed", "ThreadRoutedStdout", "capture_prints", "uncaptured"]

_P = ParamSpec("_P")
_T = TypeVar("_T")

_lock = threading.Lock()
#: thread id -> stack of where that thread's writes go (None: the real stream again)
_routes: dict[int, list[io.StringIO | None]] = {}


class Printed:
    """The text one capture collected."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    @property
    def text(self) -> str:
        return self.buffer.getvalue()


class ThreadRoutedStdout(io.TextIOBase):
    """``sys.stdout`` while a capture is active: each thread's writes go to its
    innermost capture, or to ``target`` (the stream that was ``sys.stdout``)."""

    def __init__(self, target: IO[str] | Any) -> None:
        super().__init__()
        self.target = target

    def _stream(self) -> Any:
        stack = _routes.get(threading.get_ident())
        if stack and stack[-1] is not None:
            return stack[-1]
        return self.target

    def write(self, text: str) -> int:
        self._stream().write(text)
        return len(text)

    def flush(self) -> None:
        self._stream().flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return bool(self._stream() is self.target and self.target.isatty())

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> Any:  # type: ignore[override]
        return getattr(self.target, "encoding", "utf-8")

    @property
    def errors(self) -> Any:  # type: ignore[override]
        return getattr(self.target, "errors", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)


@contextlib.contextmanager
def capture_prints() -> Iterator[Printed]:
    """Collect what this thread writes to ``sys.stdout``; other threads print as usual."""
    printed = Printed()
    ident = threading.get_ident()
    with _lock:
        if not isinstance(sys.stdout, ThreadRoutedStdout):
            sys.stdout = ThreadRoutedStdout(sys.stdout)
        _routes.setdefault(ident, []).append(printed.buffer)
    try:
        yield printed
    finally:
        with _lock:
            stack = _routes[ident]
            stack.pop()
            if not stack:
                del _routes[ident]
            if not _routes:
                # nobody captures any more: every router left is a pass-through
                while isinstance(sys.stdout, ThreadRoutedStdout):
                    sys.stdout = sys.stdout.target


def uncaptured(call: Callable[_P, _T]) -> Callable[_P, _T]:
    """``call``, writing to the real stream even from a capturing thread (a live
    view or progress display called from inside a stage's loop)."""

    @functools.wraps(call)
    def released(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        ident = threading.get_ident()
        with _lock:
            stack = _routes.get(ident)
            if stack is not None:
                stack.append(None)
        try:
            return call(*args, **kwargs)
        finally:
            if stack is not None:
                with _lock:
                    stack.pop()

    return released
