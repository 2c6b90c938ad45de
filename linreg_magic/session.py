"""The user's session is left as it was: what a run may change in the process's
global state is saved before and put back after, failed or not."""

from __future__ import annotations

import contextlib
import random
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["preserved_random_state"]


@contextlib.contextmanager
def preserved_random_state(uses_torch: bool, device: str = "cpu") -> Iterator[None]:
    """Restore ``random``, numpy's and torch's global generators afterwards."""
    py_state = random.getstate()
    np_state = np.random.get_state()
    torch_states: tuple[Any, Any, int] | None = None
    if uses_torch or "torch" in sys.modules:
        import torch

        if device.startswith("cuda"):
            torch.cuda.init()  # so that the state saved is the one the user would draw from
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
        torch_states = (torch.random.get_rng_state(), cuda, torch.initial_seed())
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        if torch_states is not None:
            import torch

            torch.random.set_rng_state(torch_states[0])
            if torch_states[1] is not None:
                torch.cuda.set_rng_state_all(torch_states[1])
            elif torch.cuda.is_available() and not torch.cuda.is_initialized():
                # A stage's torch.manual_seed(seed) also queues that seed for CUDA's first
                # use; queue the user's own seed again (what their manual_seed queued, or
                # torch's default) rather than start CUDA on a CPU run.
                torch.cuda.manual_seed_all(torch_states[2])
