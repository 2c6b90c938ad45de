"""The one options object behind the magic, the widgets and the Python API.

Every option is declared once, below, as a field of :class:`Options` with its
default, its valid range and its help text.  The magic's argument parser, the
``%%linreg?`` help, the widgets' controls and :func:`linreg_magic.run` are all
built from these declarations.  Validation turns bad values into one
:class:`~IPython.core.error.UsageError` line: what is wrong, what is valid, and
how to fix it.

This module must stay light: it imports neither torch nor matplotlib.
"""

from __future__ import annotations

import builtins
import dataclasses
import difflib
import keyword
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from IPython.core.error import UsageError

from .errors import usage_error
from .registry import available_stages

__all__ = ["DATA_SOURCES", "VIEWS", "OptionSpec", "Options", "option_specs", "usage_error"]

#: Names IPython keeps in the user namespace; --store never replaces them.
_RESERVED_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit"})

_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


@dataclass(frozen=True)
class OptionSpec:
    """How one option is spelled, parsed, bounded and explained."""

    name: str
    flag: str
    help: str
    metavar: str
    kind: str  # "int", "float", "floats", "str", "name", "device", "stage", "choice", "views", "flag"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    example: str = ""
    choices: tuple[str, ...] = ()

    def valid_text(self) -> str:
        """The valid values in words, for help and error messages."""
        if self.kind == "device":
            return "valid devices are auto, cpu, cuda, cuda:N and mps"
        if self.kind == "stage":
            return "valid stages are " + ", ".join(available_stages())
        if self.kind == "choice":
            return "valid values are " + ", ".join(self.choices)
        if self.kind == "views":
            return "valid views are " + ", ".join(self.choices) + " (separated by commas)"
        if self.kind == "name":
            return "valid values are Python names (letters, digits and _, not starting with a digit)"
        if self.kind == "flag":
            return f"it is a switch: {self.flag} alone turns it on (or on/off, True/False from Python)"
        number = {"int": "a whole number", "float": "a number", "floats": "numbers separated by commas"}
        text = number.get(self.kind, "text")
        if self.low is not None and self.high is not None:
            lo = ">" if self.low_open else "from"
            if self.low_open:
                return f"valid values are {text} {lo} {_fmt(self.low)} up to {_fmt(self.high)}"
            return f"valid values are {text} {lo} {_fmt(self.low)} to {_fmt(self.high)}"
        return f"valid values are {text}"

    def parse(self, raw: Any) -> Any:
        """Convert and check one value (a string from the magic, or a Python value)."""
        if self.kind == "device":
            return _parse_device(self, raw)
        if self.kind == "stage":
            return _parse_stage(self, raw)
        if self.kind == "choice":
            return _parse_choice(self, raw)
        if self.kind == "views":
            return _parse_views(self, raw)
        if self.kind == "name":
            text = str(raw)
            if not text.isidentifier() or keyword.iskeyword(text):
                raise self._bad(raw)
            if text in _RESERVED_NAMES or hasattr(builtins, text) or text.startswith("_"):
                raise usage_error(f"{self.flag} {text} would replace "
                                  + ("IPython's own " if text in _RESERVED_NAMES or text.startswith("_")
                                     else "Python's built-in ") + f"{text!r}",
                                  "valid names are your own variable names", f"Try {self.flag} result")
            return text
        if self.kind == "flag":
            return _parse_flag(self, raw)
        if self.kind == "floats":
            items = _split_floats(raw)
            values = tuple(self._number(item, float) for item in items)
            if not values:
                raise self._bad(raw)
            return values
        if self.kind == "int":
            return self._number(raw, int)
        if self.kind == "float":
            return self._number(raw, float)
        return _unquote(str(raw))

    def _number(self, raw: Any, to: Callable[[Any], Any]) -> Any:
        if isinstance(raw, bool):
            raise self._bad(raw)
        try:
            if to is int:
                if isinstance(raw, str):
                    value = float(raw.replace("_", "")) if _looks_float(raw) else int(raw.replace("_", ""))
                else:
                    value = raw
                if isinstance(value, float):
                    if not value.is_integer():
                        raise ValueError
                    value = int(value)
                if not isinstance(value, int):
                    value = int(value)
            else:
                value = float(raw)
        except (TypeError, ValueError, OverflowError):
            raise self._bad(raw) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self._bad(raw)
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            raise self._bad(raw)
        if self.high is not None and value > self.high:
            raise self._bad(raw)
        return value

    def _bad(self, raw: Any) -> UsageError:
        shown = raw if isinstance(raw, str) else repr(raw)
        return usage_error(
            f"{self.flag} got {shown!r}" if isinstance(raw, str) else f"{self.flag} got {shown}",
            self.valid_text(),
            f"Try {self.flag} {self.example}",
        )


def _unquote(text: str) -> str:
    """A value the user quoted on the magic line (IPython keeps the quotes) without them:
    ``--x "df['my col']"`` names ``df['my col']``."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _fmt(value: float) -> str:
    if float(value).is_integer() and abs(value) >= 1e6:
        return f"{int(value):,}"
    if float(value).is_integer():
        return str(int(value))
    return repr(value)


def _looks_float(text: str) -> bool:
    return any(c in text for c in ".eE") and not text.strip().lower().startswith(("0x", "-0x"))


def _split_floats(raw: Any) -> list[Any]:
    if isinstance(raw, str):
        return [item for item in raw.replace(" ", ",").split(",") if item]
    if isinstance(raw, (int, float)):
        return [raw]
    if isinstance(raw, Iterable):
        return list(raw)
    return [raw]


def _parse_device(spec: OptionSpec, raw: Any) -> str:
    text = str(raw).strip().lower()
    if not _DEVICE_RE.match(text):
        raise usage_error(
            f"{spec.flag} got {raw!r}",
            spec.valid_text(),
            "Try --device auto to use the best device this machine has",
        )
    return text


_FLAG_WORDS = {"on": True, "true": True, "yes": True, "1": True,
               "off": False, "false": False, "no": False, "0": False}


def _parse_flag(spec: OptionSpec, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = _FLAG_WORDS.get(str(raw).strip().lower())
    if word is None:
        raise usage_error(f"{spec.flag} got {raw!r}", spec.valid_text(), f"Write {spec.flag} alone")
    return word


def _parse_stage(spec: OptionSpec, raw: Any) -> str:
    text = str(raw).strip()
    names = available_stages()
    if text in names:
        return text
    close = difflib.get_close_matches(text, names, n=1)
    fix = f"Did you mean --stage {close[0]}?" if close else f"Try --stage {names[0]}"
    raise usage_error(f"Unknown stage {text!r}", spec.valid_text(), fix)


def _parse_choice(spec: OptionSpec, raw: Any) -> str:
    text = str(raw).strip().lower()
    if text in spec.choices:
        return text
    close = difflib.get_close_matches(text, spec.choices, n=1)
    fix = f"Did you mean {spec.flag} {close[0]}?" if close else f"Try {spec.flag} {spec.example}"
    raise usage_error(f"{spec.flag} got {raw!r}", spec.valid_text(), fix)


def _parse_views(spec: OptionSpec, raw: Any) -> str:
    items = raw.replace(" ", ",").split(",") if isinstance(raw, str) else [str(v) for v in raw]
    names = [item.strip().lower() for item in items if item.strip()]
    for name in names:
        if name not in spec.choices:
            close = difflib.get_close_matches(name, spec.choices, n=1)
            fix = f"Did you mean {close[0]}?" if close else f"Try {spec.flag} {spec.example}"
            raise usage_error(f"{spec.flag}: unknown view {name!r}", spec.valid_text(), fix)
    if not names:
        raise usage_error(f"{spec.flag} got no views", spec.valid_text(), f"Try {spec.flag} {spec.example}")
    return ",".join(dict.fromkeys(names))


#: Every view a run can show (``--show``), in the order they are shown.
VIEWS = ("params", "fit", "loss", "surface", "graph", "code", "diff")

#: Where the data come from (``--data``).
DATA_SOURCES = ("synthetic", "diabetes", "user")


def _opt(default: Any, **spec: Any) -> Any:
    return field(default=default, metadata={"spec": spec})


def default_true_w(features: int) -> tuple[float, ...]:
    """The book's slope 2 for the first feature, then a fixed, varied pattern."""
    pattern = (2.0, -1.0, 0.5, 1.5, -0.5, 3.0, -2.0, 1.0)
    return tuple(pattern[i % len(pattern)] for i in range(features))


@dataclass(frozen=True)
class Options:
    """Everything that defines one run. Frozen: derive variants with ``replace``."""

    stage: str = _opt("module", kind="stage", metavar="STAGE", example="module",
                      help="which stage of the ladder to run (see %linreg list)")
    device: str = _opt("auto", kind="device", metavar="DEVICE", example="cpu",
                       help="auto (cuda if available, else mps, else cpu), cpu, cuda, cuda:N or mps")
    epochs: int = _opt(1000, kind="int", low=1, high=1_000_000, metavar="N", example="1000",
                       help="number of passes of batch gradient descent")
    lr: float = _opt(0.1, kind="float", low=0.0, high=100.0, low_open=True, metavar="LR",
                     example="0.1", help="learning rate (the book's eta)")
    n: int = _opt(100, kind="int", low=2, high=100_000_000, metavar="N", example="100",
                  help="number of synthetic data points")
    noise: float = _opt(0.1, kind="float", low=0.0, high=1e6, metavar="SIGMA", example="0.1",
                        help="standard deviation of the Gaussian noise added to y")
    true_b: float = _opt(1.0, kind="float", low=-1e6, high=1e6, metavar="B", example="1",
                         help="true intercept of the synthetic data")
    true_w: tuple[float, ...] | None = _opt(None, kind="floats", low=-1e6, high=1e6, metavar="W[,W...]",
                                            example="2", help="true slope, one per feature "
                                            "(default 2 for one feature; 2,-1,0.5,... for more)")
    seed: int = _opt(42, kind="int", low=0, high=2**32 - 1, metavar="SEED", example="42",
                     help="seed for the data, the split and the initial parameters")
    val_split: float = _opt(0.2, kind="float", low=0.0, high=0.9, metavar="FRAC", example="0.2",
                            help="fraction of the points held out for validation")
    features: int = _opt(1, kind="int", low=1, high=100, metavar="F", example="3",
                         help="number of input features (sequential stage)")
    hidden: int = _opt(0, kind="int", low=0, high=4096, metavar="H", example="5",
                       help="hidden units of a two-layer Sequential (0: one Linear layer)")
    show: str = _opt("params,fit,loss,graph", kind="views", choices=VIEWS, metavar="VIEW[,VIEW...]",
                     example="params,fit,loss,surface", help="the views to show: " + ", ".join(VIEWS))
    live: str = _opt("auto", kind="choice", choices=("auto", "on", "off"), metavar="WHEN",
                     example="on", help="live progress, fit and loss while training: auto (in a "
                     "notebook, runs longer than a second), on, off")
    data: str = _opt("synthetic", kind="choice", choices=DATA_SOURCES, metavar="SOURCE",
                     example="diabetes", help="synthetic (the book's line), diabetes (scikit-learn's "
                     "diabetes set, one --feature), user (--x and --y name your arrays)")
    feature: str | None = _opt(None, kind="str", metavar="NAME", example="bmi",
                               help="the diabetes feature to regress on (bmi when not given)")
    x: str | None = _opt(None, kind="str", metavar="NAME", example="x",
                         help="with --data user: the features, a name in your namespace "
                         "(array, list, Series, DataFrame, or df.column / df['column'])")
    y: str | None = _opt(None, kind="str", metavar="NAME", example="y",
                         help="with --data user: the targets, like --x")
    scale: str = _opt("none", kind="choice", choices=("none", "standard"), metavar="HOW",
                      example="standard", help="feature scaling: none, or standard (training "
                      "mean 0, standard deviation 1)")
    store: str | None = _opt(None, kind="name", metavar="NAME", example="result",
                             help="also store the run's Result in this variable")
    cuda_graph: bool = _opt(False, kind="flag", metavar="", example="",
                            help="on CUDA, capture one training step as a CUDA graph and replay it "
                            "every epoch (torch stages; the header shows the gain)")

    def __post_init__(self) -> None:
        for spec in option_specs():
            value = getattr(self, spec.name)
            if value is None:
                continue
            object.__setattr__(self, spec.name, spec.parse(value))
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
                f"Try --true-w {','.join(_fmt(v) for v in default_true_w(self.features))}",
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
        """Options from keyword values; ``None`` means "use the default"."""
        given = {k: v for k, v in values.items() if v is not None}
        unknown = sorted(set(given) - {s.name for s in option_specs()})
        if unknown:
            raise unknown_option_error(unknown[0].replace("_", "-"))
        return cls(**given)

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


def unknown_option_error(name: str) -> UsageError:
    flags = [s.flag for s in option_specs()]
    flag = name if name.startswith("-") else "--" + name
    close = difflib.get_close_matches(flag, flags, n=1)
    fix = f"Did you mean {close[0]}?" if close else "See %linreg? for help"
    return usage_error(f"Unknown option {flag}", "valid options are " + ", ".join(flags), fix)


def _build_specs() -> tuple[OptionSpec, ...]:
    specs = []
    for f in dataclasses.fields(Options):
        meta = dict(f.metadata["spec"])
        specs.append(OptionSpec(name=f.name, flag="--" + f.name.replace("_", "-"), **meta))
    return tuple(specs)


_SPECS = _build_specs()
