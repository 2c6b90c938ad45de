"""A :class:`Plan`: what one run is, decided once before anything trains.

The stage, the options, the concrete device and the data travel together from
here on.  Every check that a stage can honour the options and the data happens
in :meth:`Plan.make`, so that a run that cannot work is one UsageError line
before any training starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .data import Dataset, make_data
from .device import resolve_device, why_no_cuda
from .errors import usage_error
from .options import Options
from .registry import get_stage, ladder
from .stage import Stage

__all__ = ["Plan", "check_stage_data", "check_stage_options", "multi_feature_stages"]


@dataclass(frozen=True, eq=False)
class Plan:
    """One run: a stage, its options, the concrete device (``cpu``, ``cuda:0``,
    ``mps``) and the data it trains on."""

    stage: Stage
    options: Options
    device: str
    data: Dataset

    @classmethod
    def make(cls, options: Options, data: Dataset | None = None,
             namespace: Mapping[str, Any] | None = None) -> Plan:
        """Resolve the stage and the device, make the data (or take ``data``), and check
        that they fit together; ``namespace`` holds the user's arrays for ``--data user``."""
        stage, device = resolve(options)
        if data is None:
            data = make_data(options, namespace)
        check_stage_data(stage, data)
        return cls(stage, options, device, data)

    @property
    def name(self) -> str:
        return self.stage.name

    def namespace(self) -> dict[str, Any]:
        """What every teaching function may ask for by name, before the stage's own steps."""
        data, options = self.data, self.options
        return {
            "x_train": data.x_train, "y_train": data.y_train,
            "x_val": data.x_val, "y_val": data.y_val,
            "device": self.device, "lr": options.lr, "n_epochs": options.epochs,
            "seed": options.seed, "n_features": data.n_features, "n_hidden": options.hidden,
        }


def resolve(options: Options) -> tuple[Stage, str]:
    """The stage and the concrete device, after every check that needs no data."""
    stage = get_stage(options.stage)
    check_stage_options(stage, options)
    device = resolve_device(options.device, stage.uses_torch, stage.name)
    if options.cuda_graph:
        check_cuda_graph(stage, device)
    return stage, device


def multi_feature_stages() -> list[str]:
    """The stages that build their model from the data's shape (several features, --hidden)."""
    return [s.name for s in ladder() if s.multi_feature]


def check_stage_options(stage: Stage, options: Options) -> None:
    """Options that the stage cannot honour, as one UsageError."""
    if not stage.multi_feature and (options.features != 1 or options.hidden):
        flag = "--features" if options.features != 1 else "--hidden"
        raise usage_error(
            f"{flag} applies to stages that build their model from the data's shape; "
            f"the {stage.name} stage has one feature and no hidden layer",
            "valid stages for it are " + ", ".join(multi_feature_stages()),
            f"Use --stage sequential, or drop {flag}",
        )


def check_stage_data(stage: Stage, data: Dataset) -> None:
    """Data with more features than the stage's model takes, as one UsageError."""
    if data.n_features != 1 and not stage.multi_feature:
        raise usage_error(
            f"The data have {data.n_features} features; the {stage.name} stage fits one",
            "valid stages for several features are " + ", ".join(multi_feature_stages()),
            "Use --stage sequential, or pass one column as --x",
        )


def check_cuda_graph(stage: Stage, device: str) -> None:
    """``--cuda-graph`` needs a torch stage on a CUDA device: else one UsageError line."""
    if not stage.uses_torch:
        raise usage_error(f"--cuda-graph captures torch code; the {stage.name} stage is numpy",
                          "valid stages for it are " + ", ".join(s.name for s in ladder() if s.uses_torch),
                          "Drop --cuda-graph, or pick a torch stage such as --stage module")
    if not device.startswith("cuda"):
        import torch

        why = (f"CUDA is not available ({why_no_cuda()})" if not torch.cuda.is_available()
               else f"this run is on {device}")
        raise usage_error(f"--cuda-graph needs a CUDA GPU: {why}",
                          "valid devices for it are cuda and cuda:N on a machine with an NVIDIA GPU",
                          "Drop --cuda-graph here, or run with --device cuda on a machine with a GPU")
