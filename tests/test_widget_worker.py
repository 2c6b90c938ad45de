"""The widget's latest-wins worker on its own, with no widget: plain jobs and events."""

from __future__ import annotations

import threading

import pytest

from linreg_magic.widgets.worker import LatestWins, Superseded


def test_while_a_run_goes_on_only_the_newest_waiting_run_follows_and_it_drops_waiting_frames() -> None:
    errors: list[BaseException] = []
    worker = LatestWins(errors.append)
    gate, started, done = threading.Event(), threading.Event(), []

    def first() -> None:
        started.set()
        assert gate.wait(30)
        done.append("first")

    worker.submit_run(first)
    assert started.wait(30)
    worker.submit_frame(lambda: done.append("frame before"))
    for name in ("second", "third"):
        worker.submit_run(lambda name=name: done.append(name))
    assert worker.superseded() and worker.busy
    worker.submit_frame(lambda: done.append("frame after"))
    worker.submit_idle(lambda: done.append("idle"))
    gate.set()
    assert worker.wait(30)
    assert done == ["first", "third", "idle"]  # the frames were of the result "third" replaces
    assert worker.done_runs == 2 and worker.dropped == 3 and not errors and not worker.busy


def test_a_superseded_run_is_not_counted_and_an_error_is_reported_once() -> None:
    errors: list[BaseException] = []
    worker = LatestWins(errors.append)

    def superseded() -> None:
        raise Superseded

    def failing() -> None:
        raise ValueError("a stage that fails")

    worker.submit_run(superseded)
    assert worker.wait(30) and worker.done_runs == 0
    worker.submit_run(failing)
    assert worker.wait(30) and worker.done_runs == 0
    assert [str(e) for e in errors] == ["a stage that fails"]
    worker.submit_run(lambda: None)
    assert worker.wait(30) and worker.done_runs == 1


def test_a_job_that_raises_keyboard_interrupt_leaves_the_worker_usable() -> None:
    errors: list[BaseException] = []
    worker = LatestWins(errors.append)

    def interrupted() -> None:
        raise KeyboardInterrupt

    worker.submit_run(interrupted)
    assert worker.wait(30) and isinstance(errors[0], KeyboardInterrupt)
    ran = threading.Event()
    worker.submit_frame(ran.set)
    assert worker.wait(30) and ran.is_set()


def test_wait_gives_up_after_its_timeout_when_a_job_does_not_end() -> None:
    worker = LatestWins(lambda exc: None)
    gate = threading.Event()
    worker.submit_run(lambda: gate.wait(30) and None)
    try:
        assert worker.wait(0.05) is False and worker.busy
    finally:
        gate.set()
    assert worker.wait(30)


@pytest.mark.parametrize("kind", ["submit_run", "submit_frame", "submit_idle"])
def test_jobs_run_on_one_background_thread(kind: str) -> None:
    worker = LatestWins(lambda exc: None)
    seen: list[str] = []
    getattr(worker, kind)(lambda: seen.append(threading.current_thread().name))
    assert worker.wait(30) and seen == ["linreg-widget"]
