"""Engine overhead: training through the engine (with its per-epoch recording)
against the seed's bare loop for the same stage, data and epochs.

The bare loops below are the stages' ``model_training`` loops with
``tracker.log`` taken out; data preparation and model configuration come from
the stages themselves and are not timed on either side.  The engine's time is
``Result.seconds`` (its ``model_training`` call plus a device sync).

    .venv/bin/python benchmarks/overhead.py [--epochs 1000] [--repeat 9] [--n 100]

Goal: ratio <= 1.10 for every stage and device.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import _common
from _common import goal, interleaved, median, ms, quiet, table

from linreg_magic.data import make_data
from linreg_magic.engine import prepare_namespace, run, synchronize
from linreg_magic.options import Options
from linreg_magic.plan import Plan
from linreg_magic.registry import get_stage
from linreg_magic.stage import call_step

GOAL = 1.10


# -- the seed's loops, without tracker.log ------------------------------------
def numpy_loop(x_train: Any, y_train: Any, b: Any, w: Any, lr: float, n_epochs: int) -> None:
    for _epoch in range(n_epochs):
        yhat = b + w * x_train
        error = (yhat - y_train)
        loss = (error ** 2).mean()  # noqa: F841 (the seed computes it)
        b_grad = 2 * error.mean()
        w_grad = 2 * (x_train * error).mean()
        b = b - lr * b_grad
        w = w - lr * w_grad


def tensors_loop(x_train_tensor: Any, y_train_tensor: Any, b: Any, w: Any, lr: float,
                 n_epochs: int) -> None:
    for _epoch in range(n_epochs):
        yhat = b + w * x_train_tensor
        error = (yhat - y_train_tensor)
        loss = (error ** 2).mean()  # noqa: F841
        b_grad = 2 * error.mean()
        w_grad = 2 * (x_train_tensor * error).mean()
        b = b - lr * b_grad
        w = w - lr * w_grad


def autograd_loop(x_train_tensor: Any, y_train_tensor: Any, b: Any, w: Any, lr: float,
                  n_epochs: int) -> None:
    import torch

    for _epoch in range(n_epochs):
        yhat = b + w * x_train_tensor
        error = (yhat - y_train_tensor)
        loss = (error ** 2).mean()
        loss.backward()
        with torch.no_grad():
            b -= lr * b.grad
            w -= lr * w.grad
        b.grad.zero_()
        w.grad.zero_()


def optimizer_loop(x_train_tensor: Any, y_train_tensor: Any, b: Any, w: Any, optimizer: Any,
                   n_epochs: int) -> None:
    for _epoch in range(n_epochs):
        yhat = b + w * x_train_tensor
        error = (yhat - y_train_tensor)
        loss = (error ** 2).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()


def loss_loop(x_train_tensor: Any, y_train_tensor: Any, b: Any, w: Any, optimizer: Any,
              loss_fn: Any, n_epochs: int) -> None:
    for _epoch in range(n_epochs):
        yhat = b + w * x_train_tensor
        loss = loss_fn(yhat, y_train_tensor)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()


def model_loop(x_train_tensor: Any, y_train_tensor: Any, model: Any, optimizer: Any, loss_fn: Any,
               n_epochs: int) -> None:
    for _epoch in range(n_epochs):
        model.train()
        yhat = model(x_train_tensor)
        loss = loss_fn(yhat, y_train_tensor)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    print(model.state_dict())


BARE: dict[str, Callable[..., None]] = {
    "numpy": numpy_loop, "tensors": tensors_loop, "autograd": autograd_loop,
    "optimizer": optimizer_loop, "loss": loss_loop, "module": model_loop,
    "nested": model_loop, "sequential": model_loop,
}


def bare_timer(stage_name: str, options: Options, device: str) -> Callable[[], float]:
    """Set up the stage the way the engine does, then time only the bare loop."""
    stage = get_stage(stage_name)
    data = make_data(options)

    def timer() -> float:
        ns = prepare_namespace(Plan(stage, options, device, data))
        start = time.perf_counter()
        call_step(BARE[stage_name], ns)
        synchronize(device)
        return time.perf_counter() - start

    return timer


def engine_timer(options: Options) -> Callable[[], float]:
    return lambda: run(options).seconds


def devices() -> list[str]:
    import torch

    return ["cpu", *(["cuda:0"] if torch.cuda.is_available() else [])]


def measure(epochs: int, repeat: int, n: int, stages: list[str]) -> list[list[Any]]:
    rows = []
    for device in devices():
        for name in stages:
            if name == "numpy" and device != "cpu":
                continue
            options = Options(stage=name, device=device, epochs=epochs, n=n)
            with quiet():
                times = interleaved({"bare": bare_timer(name, options, device),
                                     "engine": engine_timer(options)}, repeat)
            bare, eng = median(times["bare"]), median(times["engine"])
            ratio = eng / bare
            best = min(times["engine"]) / min(times["bare"])
            rows.append([name, device, n, epochs, ms(bare), ms(eng), round(ratio, 3),
                         round(best, 3), goal(ratio, GOAL)])
    return rows


def main(argv: list[str] | None = None) -> list[list[Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--stages", default=",".join(BARE))
    args = parser.parse_args(argv)
    rows = measure(args.epochs, args.repeat, args.n, args.stages.split(","))
    print(f"# engine overhead ({_common.machine()})")
    print(f"# median of {args.repeat} interleaved runs; ratio = engine / bare loop (of the medians; "
          f"'best' of the fastest runs), goal <= {GOAL}")
    print(table(["stage", "device", "N", "epochs", "bare ms", "engine ms", "ratio", "best", "goal"],
                rows))
    return rows


if __name__ == "__main__":
    main()
