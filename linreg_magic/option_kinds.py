"""What values an option takes: small objects that read a value and say which are valid.

Each option (see :mod:`linreg_magic.options`) and each command's own argument
(see :mod:`linreg_magic.command_table`) has a kind.  A kind reads a value typed on
the magic line (text) or given from Python, and refuses a bad one with one
:class:`~IPython.core.error.UsageError` line: what is wrong, what is valid, the fix.
Its :attr:`~OptionKind.control` says which control shows it in a widget.

Light: no torch, no numpy.
"""

from __future__ import annotations

import builtins
import difflib
import keyword
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Any, ClassVar

from .device import available_devices
from .errors import usage_error
from .registry import available_stages
from .text import format_number
from .user_namespace import SHELL_NAMES

__all__ = ["SWITCH_WORDS", "Choice", "Control", "Device", "ListOf", "Number", "OptionKind", "PythonName",
           "Refused", "Stage", "Switch", "Text", "Whole", "split_list"]


class Control(Enum):
    """Which control fits a kind's values (a widget picks one per option)."""

    MENU = "menu"  #: one of a few words, ``kind.menu()``
    WHOLE = "whole"  #: a whole number, bounded by ``kind.low`` and ``kind.high``
    NUMBER = "number"  #: a number, bounded by ``kind.low`` and ``kind.high``
    NUMBERS = "numbers"  #: numbers separated by commas, each bounded like ``kind.item``
    SWITCH = "switch"  #: on or off
    TEXT = "text"  #: free text (a name, words separated by commas)


class Refused(Exception):
    """A value a kind does not take: ``value`` is the part that is wrong; ``what``,
    ``valid`` and ``fix`` replace the kind's own wording when given."""

    def __init__(self, value: object, *, what: str = "", valid: str = "", fix: str = "") -> None:
        super().__init__(value)
        self.value, self.what, self.valid, self.fix = value, what, valid, fix


def split_list(raw: object) -> list[Any]:
    """The items of a list value: text split at commas and spaces, or a Python iterable."""
    if isinstance(raw, str):
        return [item for item in re.split(r"[,\s]+", raw) if item]
    if isinstance(raw, Iterable):
        return list(raw)
    return [raw]


class OptionKind:
    """Reads one value and says which values are valid.

    Subclasses implement :meth:`read` (raise :class:`Refused` for a bad value) and
    :meth:`valid`; :meth:`parse` turns a refusal into one UsageError line.  A
    refusal's wording may hold ``{flag}``, filled in with the option's flag.
    """

    #: Whether the option needs a value after its flag on the magic line (a switch does not).
    takes_value: ClassVar[bool] = True
    CONTROL: ClassVar[Control] = Control.TEXT

    @property
    def control(self) -> Control:
        """Which control shows this kind's values."""
        return self.CONTROL

    @property
    def low(self) -> float | None:
        """The smallest valid number (numbers only)."""
        return None

    @property
    def high(self) -> float | None:
        """The largest valid number (numbers only)."""
        return None

    def read(self, raw: object) -> Any:
        """The value of ``raw`` (text from the magic line, or a Python value)."""
        raise NotImplementedError

    def valid(self, flag: str) -> str:
        """The valid values in words, for help and error messages."""
        raise NotImplementedError

    def menu(self) -> tuple[str, ...]:
        """The words a menu offers (``Control.MENU`` kinds)."""
        return ()

    def suggest(self, bad: object) -> str | None:
        """The valid value closest to a bad one, if one is close."""
        return None

    def what(self, flag: str, bad: object) -> str:
        return f"{flag} got {bad!r}"

    def fix(self, flag: str, example: str, bad: object) -> str:
        close = self.suggest(bad)
        return f"Did you mean {flag} {close}?" if close else f"Try {flag} {example}".rstrip()

    def parse(self, raw: object, flag: str, example: str) -> Any:
        """The value, read and checked; a bad one is one UsageError line."""
        try:
            return self.read(raw)
        except Refused as refused:
            bad = refused.value
            raise usage_error((refused.what or self.what(flag, bad)).replace("{flag}", flag),
                              (refused.valid or self.valid(flag)).replace("{flag}", flag),
                              (refused.fix or self.fix(flag, example, bad)).replace("{flag}", flag)) from None


@dataclass(frozen=True)
class _Bounded(OptionKind):
    """A number from ``low`` (or above it, when ``low_open``) to ``high``."""

    NOUN: ClassVar[str] = "a number"
    PLURAL: ClassVar[str] = "numbers"
    low: float | None = None
    high: float | None = None
    low_open: bool = False

    def read(self, raw: object) -> Any:
        """``raw`` as this kind's number (:meth:`convert`), in range; True and False are
        not numbers here."""
        if isinstance(raw, bool):
            raise Refused(raw)
        try:
            value = self.convert(raw)
        except (TypeError, ValueError, OverflowError):
            raise Refused(raw) from None
        self.check(value, raw)
        return value

    def convert(self, raw: object) -> float:
        """The number ``raw`` is (TypeError, ValueError or OverflowError if none)."""
        raise NotImplementedError

    def check(self, value: float, raw: object) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            raise Refused(raw)
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            raise Refused(raw)
        if self.high is not None and value > self.high:
            raise Refused(raw)

    def bounds(self) -> str:
        """The range in words: ``from 1 to 1,000,000``, ``> 0 up to 100`` ("" if unbounded)."""
        if self.low is None or self.high is None:
            return ""
        low, high = format_number(self.low), format_number(self.high)
        return f"> {low} up to {high}" if self.low_open else f"from {low} to {high}"

    def valid(self, flag: str) -> str:
        return f"valid values are {self.NOUN} {self.bounds()}".rstrip()


def _whole(raw: object) -> int:
    if isinstance(raw, str):
        text = raw.strip().replace("_", "")
        looks_float = any(c in text for c in ".eE") and not text.lower().startswith(("0x", "-0x"))
        number: Any = float(text) if looks_float else int(text)
    else:
        number = raw
    if isinstance(number, float) and not number.is_integer():
        raise ValueError(raw)
    return int(number)


@dataclass(frozen=True)
class Whole(_Bounded):
    """A whole number from ``low`` to ``high`` (``1e3`` and ``1_000`` read as 1000)."""

    NOUN: ClassVar[str] = "a whole number"
    PLURAL: ClassVar[str] = "whole numbers"
    CONTROL: ClassVar[Control] = Control.WHOLE

    def convert(self, raw: object) -> int:
        return _whole(raw)


@dataclass(frozen=True)
class Number(_Bounded):
    """A finite number from ``low`` (or above it, when ``low_open``) to ``high``."""

    CONTROL: ClassVar[Control] = Control.NUMBER

    def convert(self, raw: object) -> float:
        return float(raw.strip() if isinstance(raw, str) else raw)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Text(OptionKind):
    """Any text, kept as given (``--x`` and ``--y`` name data: :mod:`linreg_magic.data`
    looks the name up and never evaluates it)."""

    def read(self, raw: object) -> str:
        return str(raw)

    def valid(self, flag: str) -> str:
        return "valid values are text"


@dataclass(frozen=True)
class PythonName(OptionKind):
    """A variable name of the user's own: not a keyword, a built-in or IPython's."""

    def read(self, raw: object) -> str:
        text = str(raw).strip()
        if not text.isidentifier() or keyword.iskeyword(text):
            raise Refused(raw)
        shells = text in SHELL_NAMES or text.startswith("_")
        if shells or hasattr(builtins, text):
            owner = "IPython's own" if shells else "Python's built-in"
            raise Refused(raw, what=f"{{flag}} {text} would replace {owner} {text!r}",
                          valid="valid names are your own variable names", fix="Try {flag} result")
        return text

    def valid(self, flag: str) -> str:
        return "valid values are Python names (letters, digits and _, not starting with a digit)"


def _closest(word: str, words: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(words), n=1)
    return close[0] if close else None


@dataclass(frozen=True)
class Choice(OptionKind):
    """One of a few words (case does not matter); ``noun`` names one, e.g. ``view``."""

    words: tuple[str, ...] = ()
    noun: str = ""

    CONTROL: ClassVar[Control] = Control.MENU

    def read(self, raw: object) -> str:
        text = str(raw).strip().lower()
        if text not in self.words:
            raise Refused(raw)
        return text

    def menu(self) -> tuple[str, ...]:
        return self.words

    def suggest(self, bad: object) -> str | None:
        return _closest(str(bad).strip().lower(), self.words)

    def what(self, flag: str, bad: object) -> str:
        return f"{flag}: unknown {self.noun} {bad!r}" if self.noun else super().what(flag, bad)

    def valid(self, flag: str) -> str:
        return f"valid {self.noun + 's' if self.noun else 'values'} are " + ", ".join(self.words)


@dataclass(frozen=True)
class Stage(OptionKind):
    """The name of a stage in the registry (the built-in ladder and plugins)."""

    CONTROL: ClassVar[Control] = Control.MENU

    def read(self, raw: object) -> str:
        text = str(raw).strip()
        if text not in available_stages():
            raise Refused(text)
        return text

    def menu(self) -> tuple[str, ...]:
        return tuple(available_stages())

    def suggest(self, bad: object) -> str | None:
        return _closest(str(bad), available_stages())

    def what(self, flag: str, bad: object) -> str:
        return f"Unknown stage {bad!r}"

    def fix(self, flag: str, example: str, bad: object) -> str:
        close = self.suggest(bad)
        return f"Did you mean {flag} {close}?" if close else f"Try {flag} {available_stages()[0]}"

    def valid(self, flag: str) -> str:
        return "valid stages are " + ", ".join(available_stages())


_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


@dataclass(frozen=True)
class Device(OptionKind):
    """A device's spelling: auto, cpu, cuda, cuda:N or mps (whether it exists here is
    decided when a run resolves it)."""

    CONTROL: ClassVar[Control] = Control.MENU

    def read(self, raw: object) -> str:
        text = str(raw).strip().lower()
        if not _DEVICE.match(text):
            raise Refused(raw)
        return text

    def menu(self) -> tuple[str, ...]:
        return ("auto", *available_devices())

    def fix(self, flag: str, example: str, bad: object) -> str:
        return f"Try {flag} auto to use the best device this machine has"

    def valid(self, flag: str) -> str:
        return "valid devices are auto, cpu, cuda, cuda:N and mps"


#: The words a switch takes after its flag.
SWITCH_WORDS = MappingProxyType({"on": True, "true": True, "yes": True, "1": True,
                                 "off": False, "false": False, "no": False, "0": False})


@dataclass(frozen=True)
class Switch(OptionKind):
    """On or off: the flag alone, or followed by on/off (True/False from Python)."""

    takes_value: ClassVar[bool] = False

    CONTROL: ClassVar[Control] = Control.SWITCH

    def read(self, raw: object) -> bool:
        if isinstance(raw, bool):
            return raw
        word = SWITCH_WORDS.get(str(raw).strip().lower())
        if word is None:
            raise Refused(raw)
        return word

    def fix(self, flag: str, example: str, bad: object) -> str:
        return f"Write {flag} alone"

    def valid(self, flag: str) -> str:
        return f"it is a switch: {flag} alone turns it on (or on/off, True/False from Python)"


@dataclass(frozen=True)
class ListOf(OptionKind):
    """Values of one kind separated by commas (or spaces), each read by ``item``.

    ``joined`` gives words back as one text, each once, in the order given.
    """

    item: OptionKind = Text()
    joined: bool = False

    @property
    def control(self) -> Control:
        return Control.NUMBERS if isinstance(self.item, _Bounded) else Control.TEXT

    @property
    def low(self) -> float | None:
        return self.item.low

    @property
    def high(self) -> float | None:
        return self.item.high

    def read(self, raw: object) -> Any:
        items = split_list(raw)
        if not items:
            noun = getattr(self.item, "noun", "")
            raise Refused(raw, what=f"{{flag}} got no {noun}s" if noun else "")
        values = tuple(self.item.read(item) for item in items)
        return ",".join(dict.fromkeys(values)) if self.joined else values

    def menu(self) -> tuple[str, ...]:
        return self.item.menu()

    def suggest(self, bad: object) -> str | None:
        return self.item.suggest(bad)

    def what(self, flag: str, bad: object) -> str:
        return self.item.what(flag, bad)

    def fix(self, flag: str, example: str, bad: object) -> str:
        close = self.suggest(bad)  # one word of the list: not the whole option
        return f"Did you mean {close}?" if close else f"Try {flag} {example}"

    def valid(self, flag: str) -> str:
        if isinstance(self.item, _Bounded):
            bounds = self.item.bounds()
            return (f"valid values are {self.item.PLURAL} separated by commas"
                    + (f", each {bounds}" if bounds else ""))
        return f"{self.item.valid(flag)} (separated by commas)"
