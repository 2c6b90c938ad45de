"""The one options object behind the magic, the widgets and the Python API.

Every option is declared once, below, as a field of :class:`Options` with its
default, its kind (:mod:`linreg_magic.option_kinds`: how a value is read and which
values are valid), its group and its help text.  The magic's line parser, the
``%%linreg?`` help, the widgets' controls, the README's table and
:func:`linreg_magic.run` are all built from these declarations.  Validation turns
bad values into one :class:`~IPython.core.error.UsageError` line: what is wrong,
what is valid, and how to fix it.

``None`` means one thing: an option whose default is ``None`` (``--true-w``,
``--feature``, ``--x``, ``--y``, ``--store``) is not set; any other option refuses
``None`` (leave it out for its default).

This module must stay light: it imports neither torch nor matplotlib.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from IPython.core.error import UsageError

from .errors import unknown_option_error as _unknown_option
from .errors import usage_error
from .option_kinds import (
    Choice,
    Control,
    Device,
    ListOf,
    Number,
    OptionKind,
    PythonName,
    Stage,
    Switch,
    Text,
    Whole,
)
from .text import format_number

__all__ = ["DATA_SOURCES", "GROUPS", "VIEWS", "OptionSpec", "Options", "option_specs", "spec_for",
           "usage_error"]

#: The groups the help shows the options in: key -> title.
GROUPS = {
    "run": "the stage, its model and its training",
    "data": "the data",
    "output": "what is shown and kept",
}


@dataclass(frozen=True)
class OptionSpec:
    """How one option is spelled, read, grouped and explained."""

    name: str
    flag: str
    help: str
    metavar: str
    kind: OptionKind
    group: str
    default: Any = None
    example: str = ""

    @property
    def optional(self) -> bool:
        """Whether the option may be left unset (its default is None)."""
        return self.default is None

    @property
    def low(self) -> float | None:
        return self.kind.low

    @property
    def high(self) -> float | None:
        return self.kind.high

    def valid_text(self) -> str:
        """The valid values in words, for help and error messages."""
        return self.kind.valid(self.flag)

    def parse(self, raw: Any) -> Any:
        """Convert and check one value (text from the magic line, or a Python value)."""
        if raw is None:
            if self.optional:
                return None
            raise usage_error(f"{self.flag} got None", self.valid_text(),
                              f"Leave {self.name} out for its default, {self.default_text()}")
        return self.kind.parse(raw, self.flag, self.example)

    def default_text(self) -> str:
        """The default as the help shows it."""
        if self.kind.control is Control.SWITCH:
            return "on" if self.default else "off"
        return "—" if self.default is None else str(self.default)


#: Every view a run can show (``--show``), in the order they are shown.
VIEWS = ("params", "fit", "loss", "surface", "graph", "code", "diff")

#: Where the data come from (``--data``).
DATA_SOURCES = ("synthetic", "diabetes", "user")


def _opt(default: Any, kind: OptionKind, group: str, metavar: str, example: str, help: str) -> Any:
    spec = {"kind": kind, "group": group, "metavar": metavar, "example": example, "help": help}
    return field(default=default, metadata={"spec": spec})


def default_true_w(features: int) -> tuple[float, ...]:
    """The book's slope 2 for the first feature, then a fixed, varied pattern."""
    pattern = (2.0, -1.0, 0.5, 1.5, -0.5, 3.0, -2.0, 1.0)
    return tuple(pattern[i % len(pattern)] for i in range(features))


@dataclass(frozen=True)
class Options:
    """Everything that defines one run. Frozen: derive variants with ``replace``."""

    stage: str = _opt("module", Stage(), "run", "STAGE", "module",
                      "which stage of the ladder to run (see %linreg list)")
    device: str = _opt("auto", Device(), "run", "DEVICE", "cpu",
                       "auto (cuda if available, else mps, else cpu), cpu, cuda, cuda:N or mps")
    epochs: int = _opt(1000, Whole(1, 1_000_000), "run", "N", "1000",
                       "number of passes of batch gradient descent")
    lr: float = _opt(0.1, Number(0.0, 100.0, low_open=True), "run", "LR", "0.1",
                     "learning rate (the book's eta)")
    n: int = _opt(100, Whole(2, 100_000_000), "data", "N", "100", "number of synthetic data points")
    noise: float = _opt(0.1, Number(0.0, 1e6), "data", "SIGMA", "0.1",
                        "standard deviation of the Gaussian noise added to y")
    true_b: float = _opt(1.0, Number(-1e6, 1e6), "data", "B", "1", "true intercept of the synthetic data")
    true_w: tuple[float, ...] | None = _opt(None, ListOf(Number(-1e6, 1e6)), "data", "W[,W...]", "2",
                                            "true slope, one per feature "
                                            "(default 2 for one feature; 2,-1,0.5,... for more)")
    seed: int = _opt(42, Whole(0, 2**32 - 1), "run", "SEED", "42",
                     "seed for the data, the split and the initial parameters")
    val_split: float = _opt(0.2, Number(0.0, 0.9), "data", "FRAC", "0.2",
                            "fraction of the points held out for validation")
    features: int = _opt(1, Whole(1, 100), "data", "F", "3", "number of input features (sequential stage)")
    hidden: int = _opt(0, Whole(0, 4096), "run", "H", "5",
                       "hidden units of a two-layer Sequential (0: one Linear layer)")
    show: str = _opt("params,fit,loss,graph", ListOf(Choice(VIEWS, noun="view"), joined=True), "output",
                     "VIEW[,VIEW...]", "params,fit,loss,surface", "the views to show: " + ", ".join(VIEWS))
    live: str = _opt("auto", Choice(("auto", "on", "off")), "output", "WHEN", "on",
                     "live progress, fit and loss while training: auto (in a "
                     "notebook, runs longer than a second), on, off")
    data: str = _opt("synthetic", Choice(DATA_SOURCES), "data", "SOURCE", "diabetes",
                     "synthetic (the book's line), diabetes (scikit-learn's "
                     "diabetes set, one --feature), user (--x and --y name your arrays)")
    feature: str | None = _opt(None, Text(), "data", "NAME", "bmi",
                               "the diabetes feature to regress on (bmi when not given)")
    x: str | None = _opt(None, Text(), "data", "NAME", "x",
                         "with --data user: the features, a name in your namespace "
                         "(array, list, Series, DataFrame, or df.column / df['column'])")
    y: str | None = _opt(None, Text(), "data", "NAME", "y", "with --data user: the targets, like --x")
    scale: str = _opt("none", Choice(("none", "standard")), "data", "HOW", "standard",
                      "feature scaling: none, or standard (training "
                      "mean 0, standard deviation 1)")
    store: str | None = _opt(None, PythonName(), "output", "NAME", "result",
                             "also store what the run or command made in this variable (never "
                             "replacing one of your own objects)")
    cuda_graph: bool = _opt(False, Switch(), "run", "", "",
                            "on CUDA, capture one training step as a CUDA graph and replay it "
                            "every epoch (torch stages; the header shows the gain)")

    def __post_init__(self) -> None:
        for spec in option_specs():
            object.__setattr__(self, spec.name, spec.parse(getattr(self, spec.name)))
        check_data_options(self)
        n_train, n_val = split_sizes(self.n, self.val_split)
        if n_train < 2 or (self.val_split > 0 and n_val < 1):
            what = ("an empty training set" if n_train < 1 else "a single training point"
                    if n_train < 2 else "an empty validation set")
            raise usage_error(
                f"--n {self.n} with --val-split {self.val_split} leaves {what}",
                "valid splits leave at least two points to fit a line and one to validate",
                "Raise --n or change --val-split (0 turns validation off)",
            )
        self._check_size()
        if self.true_w is not None and len(self.true_w) != self.features:
            raise usage_error(
                f"--true-w has {len(self.true_w)} value(s) but --features is {self.features}",
                "valid values are one slope per feature, separated by commas",
                f"Try --true-w {','.join(format_number(v) for v in default_true_w(self.features))}",
            )

    def _check_size(self) -> None:
        """Runs whose data or recorded parameter path would not fit in memory."""
        n_params = (self.features * self.hidden + 2 * self.hidden + 1 if self.hidden
                    else self.features + 1)
        path_bytes = (self.epochs + 1) * n_params * 8
        data_bytes = self.n * (self.features + 1) * 8 * 3  # x, y, and the split copies
        if path_bytes > _MAX_BYTES:
            raise usage_error(
                f"--epochs {self.epochs} with {n_params:,} parameters would record a "
                f"{path_bytes / 2**30:.1f} GiB parameter path",
                f"valid runs record at most {_MAX_BYTES / 2**30:.0f} GiB "
                "(epochs x parameters x 8 bytes)",
                "Lower --epochs, --hidden or --features")
        if self.data == "synthetic" and data_bytes > _MAX_BYTES:
            raise usage_error(
                f"--n {self.n:,} with --features {self.features} needs about "
                f"{data_bytes / 2**30:.1f} GiB for the data",
                f"valid sizes need at most {_MAX_BYTES / 2**30:.0f} GiB", "Lower --n or --features")

    @property
    def slopes(self) -> tuple[float, ...]:
        """The true slopes, one per feature (the default pattern when not given)."""
        return self.true_w if self.true_w is not None else default_true_w(self.features)

    @property
    def views(self) -> tuple[str, ...]:
        """The views to show (``--show``), in display order."""
        chosen = set(self.show.split(","))
        return tuple(v for v in VIEWS if v in chosen)

    def replace(self, **changes: Any) -> Options:
        """A copy with some options changed, validated like any other."""
        unknown = sorted(set(changes) - {s.name for s in option_specs()})
        if unknown:
            raise unknown_option_error(unknown[0].replace("_", "-"))
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Options:
        """Options from keyword values (names as the fields spell them)."""
        unknown = sorted(set(values) - {s.name for s in option_specs()})
        if unknown:
            raise unknown_option_error(unknown[0].replace("_", "-"))
        return cls(**values)

    def changed(self) -> dict[str, Any]:
        """The options that differ from their defaults."""
        default = Options.__dataclass_fields__
        return {
            name: getattr(self, name)
            for name, f in default.items()
            if getattr(self, name) != f.default
        }


def check_data_options(options: Options) -> None:
    """--feature, --x and --y each belong to one --data source."""
    if options.data == "user" and (options.x is None or options.y is None):
        missing = "--x" if options.x is None else "--y"
        raise usage_error(f"--data user needs {missing}", "--x and --y name arrays, lists, Series "
                          "or DataFrame columns in your namespace", "Try --data user --x x --y y")
    for flag, value, source in (("--x", options.x, "user"), ("--y", options.y, "user"),
                                ("--feature", options.feature, "diabetes")):
        if value is not None and options.data != source:
            raise usage_error(f"{flag} applies to --data {source}, not --data {options.data}",
                              f"with --data {options.data}, leave {flag} out",
                              f"Add --data {source}, or drop {flag}")
    if options.data != "synthetic":
        defaults = Options.__dataclass_fields__
        for name in ("n", "noise", "true_b", "true_w", "features"):
            value, default = getattr(options, name), defaults[name].default
            if value != default and not (name == "true_w" and value == default_true_w(1)):
                flag = "--" + name.replace("_", "-")
                raise usage_error(
                    f"{flag} describes the synthetic data; --data {options.data} brings its own",
                    "valid with --data " + options.data + " are --seed, --val-split, --scale, "
                    "--hidden and the training options",
                    f"Drop {flag}, or use --data synthetic")


#: The largest data set or recorded path a run may make (bytes).
_MAX_BYTES = 4 * 2**30


def split_sizes(n: int, val_split: float) -> tuple[int, int]:
    """Training and validation sizes: the book's ``int(N * .8)`` for training.

    The product is rounded to 6 decimals first, so that float error in ``1 - split``
    (``10 * (1 - 0.9) = 0.999...``) does not take a point from the training set.
    """
    n_train = int(round(n * (1 - val_split), 6)) if val_split else n
    return n_train, n - n_train


def option_specs() -> tuple[OptionSpec, ...]:
    """The declaration of every option, in order."""
    return _SPECS


def spec_for(name: str) -> OptionSpec:
    """The declaration of one option, by its field name (``true_w``)."""
    return _BY_NAME[name]


def unknown_option_error(name: str) -> UsageError:
    """An option that :class:`Options` does not have (``name`` as a field or a flag)."""
    flag = name if name.startswith("-") else "--" + name
    return _unknown_option(flag, [s.flag for s in option_specs()])


def _build_specs() -> tuple[OptionSpec, ...]:
    return tuple(OptionSpec(name=f.name, flag="--" + f.name.replace("_", "-"), default=f.default,
                            **f.metadata["spec"]) for f in dataclasses.fields(Options))


_SPECS = _build_specs()
_BY_NAME = {spec.name: spec for spec in _SPECS}
