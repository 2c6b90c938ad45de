"""The user's session is left as it was: what a run (or a student's cell body) may
change in the process's global state is saved before and put back after, failed,
interrupted or not.

``with guarded(device=..., uses_torch=...) as guard:`` saves every piece of state
below and restores each one that changed:

* random generators: ``random``, numpy's, torch's CPU generator (with its initial
  seed), CUDA's (when initialised, or when the run is on CUDA) and MPS's;
* torch's modes: grad mode, inference mode, anomaly mode, deterministic
  algorithms, default dtype and device, thread count, float32 matmul precision,
  cuDNN flags and print options;
* numpy's error handling and print options; ``warnings.filters``;
  ``sys.stdout``/``sys.stderr``; the recursion limit; the working directory;
  ``os.environ``; the names in ``builtins``; the SIGINT handler;
* matplotlib's backend and rcParams (styles included), and pyplot's figures: the
  figures the block opened are closed in pyplot and kept in ``guard.figures``, so
  that ``guard.show_figures()`` shows them as a cell's own figures would be shown.

A CPU run on a machine with CUDA does not start CUDA: the seed the user's
``torch.manual_seed`` queued for CUDA is queued again instead.

**Threads.**  Some state is per thread (torch's grad and inference modes; numpy's
error and print options live in context variables): it is always restored, on
the thread that ran the block.  The rest is process-wide.  A block on the main
thread restores it unconditionally.  A block on another thread (the widget's
worker) runs while the user's cells may run on the main thread: there, the
process-wide state is restored when nothing else can have changed it (no cell
was running or ran in the shell, and no other thread entered a guarded block,
while the block ran); otherwise a piece is restored only if it still holds what
the run set, as :meth:`Guard.mark` recorded it (the engine marks after a stage's
set-up, where it seeds the generators), and the user's values stand.
``sys.stdout``/``sys.stderr`` are never written from another thread (they belong
to the kernel's thread).
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import random
import signal
import sys
import threading
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

__all__ = ["Guard", "Piece", "guarded", "pieces", "preserved_random_state"]


@dataclass(frozen=True)
class Piece:
    """One piece of global state: how to read it, write it back and compare it.
    ``per_thread`` pieces belong to the thread that reads them."""

    name: str
    read: Callable[[], Any]
    write: Callable[[Any], Any]
    per_thread: bool = False
    same: Callable[[Any, Any], bool] = lambda a, b: bool(a == b)
    #: Only the main thread may write it (``signal.signal``), or only it owns it (streams).
    main_thread_only: bool = False


def _same_identity(a: Any, b: Any) -> bool:
    return a is b


def _same_namespace(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(a[k] is b[k] for k in a)


def _same_arrays(a: Any, b: Any) -> bool:
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same_arrays(x, y) for x, y in zip(a, b))
    if hasattr(a, "shape") or hasattr(b, "shape"):
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    return bool(a == b)


def _write_mapping(target: Any, saved: dict[str, Any]) -> None:
    for key in [k for k in target if k not in saved]:
        del target[key]
    for key, value in saved.items():
        if key not in target or target[key] is not value:
            target[key] = value


def _write_warning_filters(saved: list[Any]) -> None:
    warnings.resetwarnings()  # empties the list and invalidates the warning registries
    cast("list[Any]", warnings.filters).extend(saved)


def _write_cwd(saved: str) -> None:
    with contextlib.suppress(OSError):  # the old directory may have been removed
        os.chdir(saved)


def _read_cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:
        return None


def _python_pieces() -> list[Piece]:
    return [
        Piece("random", random.getstate, random.setstate, same=_same_arrays),
        Piece("numpy.random", np.random.get_state, lambda s: np.random.set_state(s), same=_same_arrays),
        Piece("numpy.errstate", np.geterr, lambda s: np.seterr(**s), per_thread=True),
        Piece("numpy.printoptions", np.get_printoptions, lambda s: np.set_printoptions(**s),
              per_thread=True),
        Piece("warnings.filters", lambda: list(warnings.filters), _write_warning_filters),
        Piece("sys.stdout", lambda: sys.stdout, lambda s: setattr(sys, "stdout", s),
              same=_same_identity, main_thread_only=True),
        Piece("sys.stderr", lambda: sys.stderr, lambda s: setattr(sys, "stderr", s),
              same=_same_identity, main_thread_only=True),
        Piece("recursion limit", sys.getrecursionlimit, sys.setrecursionlimit),
        Piece("cwd", _read_cwd, _write_cwd),
        Piece("os.environ", lambda: dict(os.environ), lambda s: _write_mapping(os.environ, s)),
        Piece("builtins", lambda: dict(vars(builtins)), lambda s: _write_mapping(vars(builtins), s),
              same=_same_namespace),
        Piece("SIGINT handler", lambda: signal.getsignal(signal.SIGINT),
              lambda h: signal.signal(signal.SIGINT, h), same=_same_identity, main_thread_only=True),
    ]


_CUDNN_FLAGS = ("enabled", "benchmark", "deterministic")


def _set_all(target: Any, names: tuple[str, ...], values: tuple[Any, ...]) -> None:
    for name, value in zip(names, values):
        setattr(target, name, value)


#: Guards that re-entered inference mode's old value; kept alive so that it stays.
_INFERENCE_RESETS: list[Any] = []


def _torch_pieces(device: str) -> list[Piece]:
    import torch

    cudnn = torch.backends.cudnn

    def write_inference(mode: bool) -> None:
        context = torch.inference_mode(mode)
        context.__enter__()
        _INFERENCE_RESETS.append(context)

    # the accelerators' first: the CUDA seed queued is read from the CPU generator
    return [
        *_accelerator_generators(device),
        Piece("torch.random", torch.random.get_rng_state, torch.random.set_rng_state, same=_same_arrays),
        # inference mode before grad mode: entering it sets grad mode too
        Piece("torch.inference_mode", torch.is_inference_mode_enabled, write_inference, per_thread=True),
        Piece("torch.grad_mode", torch.is_grad_enabled, torch.set_grad_enabled, per_thread=True),
        Piece("torch.anomaly_mode", lambda: (torch.is_anomaly_enabled(),
                                             torch.is_anomaly_check_nan_enabled()),
              lambda s: torch.set_anomaly_enabled(*s)),
        Piece("torch.deterministic", lambda: (torch.are_deterministic_algorithms_enabled(),
                                              torch.is_deterministic_algorithms_warn_only_enabled()),
              lambda s: torch.use_deterministic_algorithms(s[0], warn_only=s[1])),
        Piece("torch.default_dtype", torch.get_default_dtype, torch.set_default_dtype),
        Piece("torch.num_threads", torch.get_num_threads, torch.set_num_threads),
        Piece("torch.matmul_precision", torch.get_float32_matmul_precision,
              torch.set_float32_matmul_precision),
        Piece("torch.cudnn", lambda: tuple(getattr(cudnn, k) for k in _CUDNN_FLAGS),
              lambda s: _set_all(cudnn, _CUDNN_FLAGS, s)),
        Piece("torch.printoptions", lambda: dict(vars(torch._tensor_str.PRINT_OPTS)),
              lambda s: torch.set_printoptions(**s)),
        Piece("torch.default_device", torch.get_default_device,  # "cpu" is the default: None
              lambda s: torch.set_default_device(None if s.type == "cpu" else s)),
    ]


def _accelerator_generators(device: str) -> list[Piece]:
    """CUDA's and MPS's generators: a stage's ``torch.manual_seed`` seeds them too."""
    import torch

    out = []
    if device.startswith("cuda"):
        torch.cuda.init()  # so that the state saved is the one the user would draw from
    if torch.cuda.is_initialized():
        out.append(Piece("torch.cuda.random", torch.cuda.get_rng_state_all,
                         torch.cuda.set_rng_state_all, same=_same_arrays))
    elif torch.cuda.is_available():
        # A stage's torch.manual_seed(seed) also queues that seed for CUDA's first use;
        # queue the user's own seed again (what their manual_seed queued, or torch's
        # default) rather than start CUDA on a CPU run.
        out.append(Piece("torch.cuda.queued_seed", torch.initial_seed, torch.cuda.manual_seed_all,
                         same=lambda a, b: not torch.cuda.is_initialized() and bool(a == b)))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append(Piece("torch.mps.random", torch.mps.get_rng_state, torch.mps.set_rng_state,
                         same=_same_arrays))
    return out


def _matplotlib_pieces() -> list[Piece]:
    import matplotlib

    rc: Any = matplotlib.rcParams
    had_pyplot = "matplotlib.pyplot" in sys.modules

    def write_rc(saved: dict[str, Any]) -> None:
        if not had_pyplot and "matplotlib.pyplot" in sys.modules:
            # pyplot's first import loaded a backend, and IPython's inline backend then
            # turned interactive mode on so that figures show: that stands
            saved = {**saved, "interactive": dict.__getitem__(rc, "interactive")}
        dict.update(rc, saved)  # as rc_context does, without re-validating

    return [
        # the raw value: reading it through get_backend() would pick a backend
        Piece("matplotlib.backend", lambda: dict.__getitem__(rc, "backend"), _write_backend,
              same=_same_backend),
        Piece("matplotlib.rcParams", lambda: {k: v for k, v in dict.items(rc) if k != "backend"},
              write_rc),
    ]


def _same_backend(a: Any, b: Any) -> bool:
    # None is matplotlib's "not chosen yet"; choosing one on first use is no change
    return bool(a == b) or not isinstance(a, str)


def _write_backend(saved: Any) -> None:
    import matplotlib

    matplotlib.use(saved)


def pieces(*, uses_torch: bool = True, device: str = "cpu",
           watch_matplotlib: bool = False) -> list[Piece]:
    """Every piece of global state a run may change: torch's when the run uses torch
    or torch is imported, matplotlib's when it is imported (``watch_matplotlib``
    imports it, for code that may import it first, such as a cell body)."""
    out = _python_pieces()
    if uses_torch or "torch" in sys.modules:
        out += _torch_pieces(device)
    if watch_matplotlib:
        import matplotlib  # noqa: F401
    if "matplotlib" in sys.modules:
        out += _matplotlib_pieces()
    return out


#: Guarded blocks entered, by thread: a block on another thread that saw none
#: entered elsewhere knows that no other run changed the state meanwhile.
_ENTERED: Counter[int] = Counter()
_ENTERED_LOCK = threading.Lock()


def _activity(thread: int) -> tuple[Any, ...]:
    """What changes whenever the user's shell runs a cell or another thread starts a
    guarded block; ``executing`` is True while a cell runs."""
    with _ENTERED_LOCK:
        others = sum(n for t, n in _ENTERED.items() if t != thread)
    shell = None
    if "IPython" in sys.modules:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None:
        return (others, None, None, False)
    executing = getattr(shell.displayhook, "exec_result", None) is not None
    return (others, shell.execution_count, id(shell.last_execution_result), executing)


@dataclass
class Guard:
    """What :func:`guarded` saw: the figures its block opened (closed in pyplot,
    kept here to show), the pieces it restored and those it could not."""

    figures: list[Any] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    block_rc: dict[str, Any] = field(default_factory=dict)
    parts: list[Piece] = field(default_factory=list)
    marked: list[Any] | None = None

    def mark(self) -> None:
        """Record what the block has set so far (call it on the block's thread, right
        after the block's own set-up): off the main thread, a piece that still holds
        this value at the end is put back even if a cell ran meanwhile."""
        self.marked = [part.read() for part in self.parts]

    def show_figures(self) -> None:
        """Show the block's figures (PNG, with the rcParams they were made under),
        as a cell's own figures are shown, then forget them."""
        import matplotlib
        from IPython.display import Image, display

        figures, self.figures = self.figures, []
        for figure in figures:
            buffer = io.BytesIO()
            with matplotlib.rc_context(cast(Any, self.block_rc)):
                figure.savefig(buffer, format="png")
            display(Image(buffer.getvalue()))

    def close_figures(self) -> None:
        """Forget the block's figures without showing them (e.g. after a failed body)."""
        self.figures = []


@contextlib.contextmanager
def guarded(*, device: str = "cpu", uses_torch: bool = True, watch_matplotlib: bool = False,
            concurrent: bool | None = None) -> Iterator[Guard]:
    """Save the session's global state, run the block, put back what it changed.

    ``device`` and ``uses_torch`` say which generators the block may draw from;
    ``watch_matplotlib`` saves matplotlib's state even before anything imported it
    (for a cell body).  ``concurrent`` says the block runs while the user's cells
    may run on another thread (default: when called off the main thread); see the
    module's notes.
    """
    if concurrent is None:
        concurrent = threading.current_thread() is not threading.main_thread()
    thread = threading.get_ident()
    parts = pieces(uses_torch=uses_torch, device=device, watch_matplotlib=watch_matplotlib)
    before = [part.read() for part in parts]
    figures = _open_figures()
    with _ENTERED_LOCK:
        _ENTERED[thread] += 1
    activity = _activity(thread) if concurrent else ()
    guard = Guard(parts=parts)
    try:
        yield guard
    finally:
        alone = not concurrent or (not activity[-1] and _activity(thread) == activity)
        if alone:  # else a figure opened meanwhile may be the user's
            _detach_figures(guard, figures)
        _restore(guard, before, alone=alone, main=not concurrent)


def _restore(guard: Guard, before: list[Any], *, alone: bool, main: bool) -> None:
    on_main = threading.current_thread() is threading.main_thread()
    marked = guard.marked if guard.marked is not None else [None] * len(before)
    for part, saved, ours in zip(guard.parts, before, marked):
        if part.main_thread_only and not (main and on_main):
            continue
        try:
            now = part.read()
            if part.same(saved, now):
                continue
            if part.per_thread or alone or (guard.marked is not None and part.same(ours, now)):
                part.write(saved)
                guard.restored.append(part.name)
        except Exception as exc:  # the others are still put back
            guard.failed.append(f"{part.name} ({type(exc).__name__})")


def _open_figures() -> frozenset[int] | None:
    pyplot = sys.modules.get("matplotlib.pyplot")
    return frozenset(pyplot.get_fignums()) if pyplot is not None else None


def _detach_figures(guard: Guard, before: frozenset[int] | None) -> None:
    """Close in pyplot the figures the block opened; keep them on the guard."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return
    opened = [n for n in pyplot.get_fignums() if before is None or n not in before]
    if not opened:
        return
    import matplotlib

    guard.block_rc = {k: v for k, v in dict.items(matplotlib.rcParams) if k != "backend"}
    for number in opened:
        guard.figures.append(pyplot.figure(number))
        pyplot.close(number)


@contextlib.contextmanager
def preserved_random_state(uses_torch: bool, device: str = "cpu") -> Iterator[None]:
    """Restore ``random``, numpy's and torch's (CUDA's, MPS's) generators afterwards."""
    parts = [p for p in pieces(uses_torch=uses_torch, device=device)
             if p.name.endswith(("random", "queued_seed"))]
    before = [part.read() for part in parts]
    try:
        yield
    finally:
        for part, saved in zip(parts, before):
            if not part.same(saved, part.read()):
                part.write(saved)
