"""Devices as users meet them: one UsageError line for what a device refuses, and the
CUDA promises (no host sync per epoch, the tensors on the run's device, ``cuda:N``),
checked wherever a GPU is present."""

from __future__ import annotations

import contextlib
import gc
import io
import weakref
from typing import Any

import numpy as np
import pytest
import torch
from IPython.core.error import UsageError

import linreg_magic
from linreg_magic.data import make_data
from linreg_magic.device import DeviceGuard, check_device, hidden_devices_note, resolve_device
from linreg_magic.engine import prepare_namespace, stage_parameters
from linreg_magic.options import Options
from linreg_magic.plan import Plan
from linreg_magic.registry import get_stage, ladder
from linreg_magic.session import preserved_random_state
from linreg_magic.stage import Stage, call_step
from linreg_magic.tracker import Tracker

TORCH_STAGES = [s.name for s in ladder() if s.uses_torch]
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="a CUDA promise: runs wherever a CUDA GPU is present")


# -- what hides a GPU -----------------------------------------------------------------
@pytest.mark.parametrize(("visible", "note"), [
    (None, ""),
    ("", "CUDA_VISIBLE_DEVICES='' hides every GPU from this process"),
    ("-1", "CUDA_VISIBLE_DEVICES='-1' hides every GPU from this process"),
    ("2,3", "CUDA_VISIBLE_DEVICES='2,3' shows this process only those GPUs, as cuda:0 onwards"),
    ("MIG-4f1c2a", "CUDA_VISIBLE_DEVICES='MIG-4f1c2a' names a MIG slice, which a process sees as one "
                   "device, cuda:0"),
])
def test_what_hides_gpus_from_this_process_is_said_in_words(visible: str | None, note: str) -> None:
    environ = {} if visible is None else {"CUDA_VISIBLE_DEVICES": visible}
    assert hidden_devices_note(environ) == note


def test_a_device_this_machine_lacks_is_a_refusal_with_a_reason_and_its_usage_error_line() -> None:
    found = check_device("mps" if torch.cuda.is_available() else "cuda:7", True, "module")
    if found == "mps":
        pytest.skip("this machine has MPS")
    assert not isinstance(found, str)
    assert type(found.error) is UsageError and "\n" not in str(found.error)
    assert str(found.error).startswith(f"--device {'mps' if torch.cuda.is_available() else 'cuda:7'}: "
                                       f"{found.reason}")
    with pytest.raises(UsageError) as info:
        resolve_device("cuda:7", True, "module")
    assert type(info.value) is UsageError


# -- out of memory, a busy GPU: one line, the session intact ----------------------------
def _fails_holding(tensor_size: int, error: BaseException) -> tuple[str, weakref.ref[torch.Tensor]]:
    """Runs a 'stage' that holds a tensor in its frame and fails inside the guard: the line
    shown, and a weak reference to the tensor."""
    refs: list[weakref.ref[torch.Tensor]] = []

    def training() -> None:
        held = torch.zeros(tensor_size)
        refs.append(weakref.ref(held))
        raise error

    with pytest.raises(UsageError) as info, DeviceGuard("cuda:0"):
        training()
    assert type(info.value) is UsageError and "\n" not in str(info.value)
    return str(info.value), refs[0]


def test_out_of_memory_is_one_line_and_the_failed_runs_memory_is_given_back() -> None:
    error = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    message, held = _fails_holding(1000, error)
    assert message.startswith("cuda:0 ran out of memory during the run (")
    assert message.endswith("Use a smaller --n or fewer --epochs, free memory (del earlier results, stop "
                            "other notebooks on this GPU), or use --device cpu")
    gc.collect()
    assert held() is None, "the failed frames' tensors must not outlive the error"


def test_a_busy_gpu_is_one_line() -> None:
    busy = RuntimeError("CUDA error: CUDA-capable device(s) is/are busy or unavailable")
    message, _ = _fails_holding(10, busy)
    assert message.startswith("--device cuda:0 is busy or unavailable: another process holds it")
    assert message.endswith("Use --device cpu or another GPU, or wait for the other process to end")


@pytest.mark.parametrize("error", [ValueError("a bug"), RuntimeError("shape mismatch"), KeyboardInterrupt()])
def test_any_other_error_passes_through_the_guard_unchanged(error: BaseException) -> None:
    with pytest.raises(type(error)) as info, DeviceGuard("cuda:0"):
        raise error
    assert info.value is error


# -- CUDA promises ---------------------------------------------------------------------
class NoSyncBetweenEpochs:
    """The tracker, with torch's sync debug mode at "error" from the first logged epoch to
    the last: a host synchronisation anywhere in an epoch of the loop raises."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker

    def log(self, *args: Any, **kwargs: Any) -> None:
        self.tracker.log(*args, **kwargs)
        if self.tracker.epoch == 1:
            torch.cuda.set_sync_debug_mode("error")
        if self.tracker.epoch == self.tracker.n_epochs:
            torch.cuda.set_sync_debug_mode("default")


def _namespace(name: str, device: str, epochs: int = 20) -> tuple[Stage, dict[str, Any]]:
    stage = get_stage(name)
    options = Options(stage=name, device=device, epochs=epochs)
    with preserved_random_state(True, device):
        ns = prepare_namespace(Plan(stage, options, device, make_data(options)))
    return stage, ns


@needs_cuda
@pytest.mark.parametrize("name", TORCH_STAGES)
def test_on_a_gpu_no_epoch_of_any_stage_waits_for_the_host(name: str) -> None:
    stage, ns = _namespace(name, "cuda:0")
    tracker = Tracker(20)
    tracker.start(stage_parameters(stage, ns))
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            call_step(stage.model_training, {**ns, "n_epochs": 20, "tracker": NoSyncBetweenEpochs(tracker)})
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert tracker.epoch == 20
    assert np.isfinite(tracker.snapshot().losses).all()


@needs_cuda
@pytest.mark.parametrize("name", TORCH_STAGES)
def test_on_a_gpu_the_data_the_parameters_and_the_record_are_on_the_runs_device(name: str) -> None:
    stage, ns = _namespace(name, "cuda:0")
    tensors = [v for v in ns.values() if torch.is_tensor(v)]
    params = stage_parameters(stage, ns)
    assert tensors and all(t.device == torch.device("cuda:0") for t in tensors), name
    assert all(p.device == torch.device("cuda:0") for p in params.values()), name
    tracker = Tracker(5)
    tracker.start(params)
    assert tracker.table.device == torch.device("cuda:0")
    with contextlib.redirect_stdout(io.StringIO()):
        result = linreg_magic.run(stage=name, device="cuda", epochs=5)
    assert result.device == "cuda:0" and result.device_name.startswith("cuda:0 ")


@needs_cuda
def test_on_a_gpu_a_cuda_device_beyond_those_this_process_sees_is_one_line() -> None:
    count = torch.cuda.device_count()
    with pytest.raises(UsageError) as info:
        resolve_device(f"cuda:{count}", True, "module")
    assert type(info.value) is UsageError and "\n" not in str(info.value)
    assert str(info.value).startswith(f"--device cuda:{count}: this process sees {count} CUDA device(s)")


@pytest.mark.skipif(not torch.cuda.is_available() or torch.cuda.device_count() < 2,
                    reason="a CUDA promise: runs wherever two CUDA GPUs are present")
def test_on_the_second_gpu_everything_is_on_the_second_gpu() -> None:
    stage, ns = _namespace("sequential", "cuda:1")
    assert all(p.device == torch.device("cuda:1") for p in stage_parameters(stage, ns).values())
    with contextlib.redirect_stdout(io.StringIO()):
        result = linreg_magic.run(stage="module", device="cuda:1", epochs=300)
    assert result.device == "cuda:1"
    assert abs(result.b - 1.0235) < 2e-3 and abs(result.w - 1.9690) < 2e-3


@needs_cuda
def test_on_a_gpu_running_out_of_memory_is_one_line_and_the_next_run_works(ip) -> None:  # type: ignore[no-untyped-def]
    free, _total = torch.cuda.mem_get_info()

    def data_preparation(x_train: Any, y_train: Any, device: str) -> dict[str, Any]:
        return {"huge": torch.empty(2 * free, dtype=torch.uint8, device=device)}

    module = get_stage("module")
    greedy = Stage(name="greedy", title="greedy", summary="asks for more memory than is free",
                   data_preparation=data_preparation, model_configuration=module.model_configuration,
                   model_training=module.model_training, order=97)
    linreg_magic.register_stage(greedy)
    before = torch.cuda.memory_allocated()
    try:
        with pytest.raises(UsageError) as info:
            ip.run_line_magic("linreg", "--stage greedy --device cuda --epochs 3")
    finally:
        linreg_magic.unregister_stage("greedy")
    assert type(info.value) is UsageError and "ran out of memory" in str(info.value)
    assert torch.cuda.memory_allocated() <= before
    assert ip.run_line_magic("linreg", "--stage module --device cuda --epochs 3").device == "cuda:0"
