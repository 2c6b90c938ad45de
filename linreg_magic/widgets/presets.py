"""Presets: a prepared lecture widget (its options, controls, locks and tabs) in a JSON file.

``Preset.read(path)`` and ``preset.write(path)``; any file that is not a preset this
version can read (not JSON, not UTF-8, nested too deeply, a field of the wrong type,
a directory, a missing file) is one UsageError line saying what is wrong and how
to make a good one.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import usage_error
from ..options import Options, option_specs

__all__ = ["EXTRA_CONTROLS", "FORMAT", "TABS", "VERSION", "Preset", "PresetMethods", "control_names", "pick"]

FORMAT = "linreg_magic.widget"
VERSION = 1
#: The views, in tab order.
TABS = ("fit", "loss", "surface", "graph", "code", "diff")
#: Controls that are not options: the Run button and the epoch scrubber.
EXTRA_CONTROLS = ("run", "epoch")
#: The controls shown unless the constructor says otherwise.
DEFAULT_CONTROLS = ("stage", "device", "lr", "epochs", "n", "noise", "seed", "true_b", "true_w",
                    *EXTRA_CONTROLS)
_FIX = "Save one with w.save('lecture.json')"


def control_names() -> tuple[str, ...]:
    """Every name a control may have: the options, then run and epoch."""
    return (*(spec.name for spec in option_specs()), *EXTRA_CONTROLS)


def pick(given: Any, default: Iterable[str], valid: Iterable[str], what: str) -> tuple[str, ...]:
    """``given`` names (one name or several; None: ``default``), each checked against ``valid``."""
    valid = tuple(valid)
    listing = f"valid {what}s are " + ", ".join(valid)
    if given is None:
        return tuple(default)
    names = [given] if isinstance(given, str) else given
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise usage_error(f"The {what}s must be names, got {given!r}", listing,
                          f"Give a list of {what} names, e.g. [{valid[0]!r}]")
    for name in names:
        if name not in valid:
            raise usage_error(f"Unknown {what} {name!r}", listing, f"Pick {what}s from that list")
    return tuple(names)


def _field(preset: Mapping[str, Any], name: str, kinds: tuple[type, ...], shown: str) -> Any:
    value = preset.get(name)
    if value is not None and (not isinstance(value, kinds) or isinstance(value, bool) != (bool in kinds)):
        raise usage_error(f"The preset's {name!r} is {json.dumps(value)[:40]}, not {shown}",
                          f"a preset's {name!r} is {shown}", _FIX)
    return value


@dataclass(frozen=True)
class Preset:
    """Everything that makes a widget again."""

    options: Options
    controls: tuple[str, ...] = DEFAULT_CONTROLS
    lock: tuple[str, ...] = ()
    tabs: tuple[str, ...] = TABS
    tab: str = TABS[0]
    auto: bool = True

    def to_dict(self) -> dict[str, Any]:
        options = {name: (list(value) if isinstance(value, tuple) else value)
                   for name, value in dataclasses.asdict(self.options).items()}
        return {"format": FORMAT, "version": VERSION, "options": options, "controls": list(self.controls),
                "lock": list(self.lock), "tabs": list(self.tabs), "tab": self.tab, "auto": self.auto}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, preset: Any) -> Preset:
        """A preset from the JSON object a file holds; one UsageError for anything else."""
        if not isinstance(preset, dict) or preset.get("format") != FORMAT:
            raise usage_error("The preset is not a linreg_magic widget preset",
                              f"presets are JSON objects with \"format\": \"{FORMAT}\"", _FIX)
        version = preset.get("version", VERSION)
        if not isinstance(version, int) or isinstance(version, bool) or version > VERSION:
            raise usage_error(f"The preset has version {version!r}, newer than this linreg_magic reads",
                              f"this version reads presets up to version {VERSION}",
                              "Upgrade linreg_magic, or save the preset again here")
        options = Options.from_mapping(_field(preset, "options", (dict,), "an object of options") or {})
        names = control_names()
        tabs = pick(_field(preset, "tabs", (list,), "a list of tab names"), TABS, TABS, "tab")
        tab = _field(preset, "tab", (str,), "a tab name")
        return cls(options,
                   controls=pick(_field(preset, "controls", (list,), "a list of control names"),
                                 DEFAULT_CONTROLS, names, "control"),
                   lock=pick(_field(preset, "lock", (list,), "a list of control names") or [], (), names,
                             "control"),
                   tabs=tabs, tab=pick(tab, tabs[:1], tabs, "tab")[0] if tabs else TABS[0],
                   auto=bool(_field(preset, "auto", (bool,), "true or false") in (None, True)))

    @classmethod
    def from_json(cls, text: str) -> Preset:
        try:
            preset = json.loads(text)
        except json.JSONDecodeError as exc:
            raise usage_error(f"The preset is not JSON ({exc})", "presets are written by LinregWidget.save",
                              _FIX) from None
        except RecursionError:
            raise usage_error("The preset is nested too deeply to read", "presets are written by "
                              "LinregWidget.save", _FIX) from None
        return cls.from_dict(preset)

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Preset:
        """The preset in a file written by :meth:`write`."""
        where = _path(path)
        try:
            with open(where, "rb") as fh:
                raw = fh.read()
        except OSError as exc:
            raise usage_error(f"Cannot read the preset {where!r} ({exc.strerror or exc})",
                              "a preset is a JSON file written by LinregWidget.save",
                              "Check the path") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise usage_error(f"The preset {where!r} is not UTF-8 text", "presets are UTF-8 JSON "
                              "written by LinregWidget.save", _FIX) from None
        return cls.from_json(text)

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the preset as JSON to ``path`` (a file; its folder must exist)."""
        where = _path(path)
        try:
            with open(where, "w", encoding="utf-8") as fh:
                fh.write(self.to_json() + "\n")
        except OSError as exc:
            raise usage_error(f"Cannot write the preset to {where!r} ({exc.strerror or exc})",
                              "a preset is written to a file in a folder that exists",
                              "Give a file name, e.g. w.save('lecture.json')") from None


def _path(path: Any) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise usage_error(f"A preset path must be text, got {type(path).__name__}",
                          "a preset path is a file name such as 'lecture.json'",
                          "Try w.save('lecture.json')")
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]  # quoted on a magic line: IPython keeps the quotes
    return os.path.expanduser(text)



class PresetMethods:
    """What a widget does with presets (mixed into :class:`~linreg_magic.LinregWidget`)."""

    shown: tuple[str, ...]
    locked: tuple[str, ...]
    tab_names: tuple[str, ...]
    auto: bool

    @property
    def options(self) -> Options:
        raise NotImplementedError

    @property
    def open_tab(self) -> str:
        raise NotImplementedError

    def as_preset(self) -> Preset:
        """Everything needed to make this widget again, as a :class:`Preset`."""
        return Preset(self.options, self.shown, self.locked, self.tab_names, self.open_tab, self.auto)

    def preset(self) -> dict[str, Any]:
        """Everything needed to make this widget again, as JSON-ready values."""
        return self.as_preset().to_dict()

    def to_json(self) -> str:
        return self.as_preset().to_json()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the preset to a JSON file, for ``LinregWidget.load(path)`` in a lecture."""
        self.as_preset().write(path)

    @classmethod
    def from_preset(cls, preset: Preset, **values: Any) -> Any:
        return cls(preset.options, controls=preset.controls, lock=preset.lock,  # type: ignore[call-arg]
                   tabs=preset.tabs, tab=preset.tab, auto=preset.auto, **values)

    @classmethod
    def from_json(cls, text: str, **values: Any) -> Any:
        """A widget from a preset's JSON text; keywords override its options."""
        return cls.from_preset(Preset.from_json(text), **values)

    @classmethod
    def load(cls, path: str | os.PathLike[str], **values: Any) -> Any:
        """A widget from a preset file written by :meth:`save`; keywords override its options."""
        return cls.from_preset(Preset.read(path), **values)

