"""A latest-wins worker: one background thread that does only the newest work.

The widget asks for two kinds of work: a *run* (train new options and draw them)
and a *frame* (draw the finished run at another epoch).  While the thread is busy,
a new run replaces a waiting one and drops waiting frames (they belong to the old
result); a new frame replaces a waiting frame; an *idle* job (keeping a static copy up to
date) waits until nothing else does.  A run that is going on learns that
a newer one waits through :meth:`LatestWins.superseded` (the widget checks it
at each progress report and stops).  Nothing here knows about widgets, so it is
tested on its own.
"""

from __future__ import annotations

import contextvars
import sys
import threading
from collections.abc import Callable

__all__ = ["LatestWins", "Superseded"]


class Superseded(Exception):
    """Raised by a run that stops because newer work is waiting."""


Job = Callable[[], None]


class LatestWins:
    """Runs submitted jobs on one daemon thread, newest first, older ones dropped."""

    def __init__(self, on_error: Callable[[BaseException], None], name: str = "linreg-widget") -> None:
        # jobs run in the context of the code that made the worker: in a kernel, what they
        # print goes to the widget's own cell, never to a cell the user runs meanwhile
        self._context = contextvars.copy_context()
        self._on_error = on_error
        self._name = name
        self._lock = threading.Lock()
        self._run: Job | None = None
        self._frame: Job | None = None
        self._idle_job: Job | None = None
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self.done_runs = 0  # runs that finished (superseded ones excluded)
        self.dropped = 0  # jobs replaced before they started

    def submit_run(self, job: Job) -> None:
        """Do ``job`` next, in place of any waiting run and frame."""
        with self._lock:
            self.dropped += (self._run is not None) + (self._frame is not None)
            self._run, self._frame = job, None
            self._start()

    def submit_frame(self, job: Job) -> None:
        """Do ``job`` once no run waits, in place of any waiting frame."""
        with self._lock:
            self.dropped += self._frame is not None
            self._frame = job
            self._start()

    def submit_idle(self, job: Job) -> None:
        """Do ``job`` once nothing else waits, in place of any waiting idle job."""
        with self._lock:
            self.dropped += self._idle_job is not None
            self._idle_job = job
            self._start()

    def superseded(self) -> bool:
        """Whether a newer run waits (the run going on should stop)."""
        return self._run is not None

    @property
    def busy(self) -> bool:
        return not self._idle.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until nothing waits or runs; False if ``timeout`` seconds passed first."""
        return self._idle.wait(timeout)

    def _start(self) -> None:
        """With the lock held: make sure a thread drains what waits."""
        self._idle.clear()
        if self._thread is None:
            self._thread = threading.Thread(target=self._drain, name=self._name, daemon=True)
            self._thread.start()

    def _next(self) -> tuple[Job | None, bool]:
        with self._lock:
            job: Job | None = self._run
            if job is not None:
                self.dropped += self._frame is not None  # a frame of the result this run replaces
                self._run = self._frame = None
                return job, True
            job, self._frame = self._frame, None
            if job is None:
                job, self._idle_job = self._idle_job, None
            if job is None:
                self._thread = None
                self._idle.set()
            return job, False

    def _drain(self) -> None:
        while True:
            job, is_run = self._next()
            if job is None:
                return
            try:
                self._context.run(_quietly, job)
            except Superseded:
                continue
            except BaseException as exc:  # the widget shows it; the worker goes on
                self._on_error(exc)
                continue
            if is_run:
                self.done_runs += 1


def _quietly(job: Job) -> None:
    """Run ``job`` with what it prints sent to no cell: in a kernel, a stage's own prints
    (``print(model.state_dict())``) would pile up under the widget, or land in a cell the
    user runs meanwhile.  (The widget shows the numbers; errors go to the widget.)"""
    for stream in (sys.stdout, sys.stderr):
        set_parent = getattr(stream, "set_thread_parent", None)  # ipykernel's streams
        if set_parent is not None:
            set_parent({})
    job()
