"""One control per option, built from the option declarations, that holds exact values.

A browser slider computes its value from the handle's position and rounds it to
its step (a log slider sets lr=0.05 to 0.0501 once it renders).  Here the browser
never computes a number: a numeric option is a slider over a list of exact values
(the browser sends only which one) beside a box to type any valid value, which
joins the list.  What a control shows is the value that runs.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import traitlets

from ..errors import UsageError
from ..option_kinds import Control
from ..options import Options, OptionSpec, default_true_w, option_specs

__all__ = ["LOOKS", "Look", "ValueSlider", "control_value", "make_control", "value_text"]

DESCRIPTION_WIDTH = "92px"


@dataclass(frozen=True)
class Look:
    """How an option looks as a control: its label and, for a slider, the values on it."""

    label: str
    values: tuple[float, ...] = ()


def _nice(low: float, high: float, mantissas: tuple[float, ...] = (1, 1.5, 2, 3, 5, 7)) -> tuple[float, ...]:
    """Round numbers from ``low`` to ``high``, a few per decade (1, 1.5, 2, 3, 5, 7 x 10^k)."""
    values = []
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        for m in mantissas:
            value = float(f"{m * 10.0 ** exponent:.12g}")
            if low <= value <= high:
                values.append(value)
    return tuple(values)


def _steps(low: float, high: float, step: float) -> tuple[float, ...]:
    count = round((high - low) / step)
    return tuple(float(f"{low + i * step:.10g}") for i in range(count + 1))


def _ints(values: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(sorted({float(round(v)) for v in values}))


#: The controls' labels and slider values for the lesson; an option without values
#: here gets a box (numbers, text) or a dropdown (stage, device, choices).
LOOKS: dict[str, Look] = {
    "stage": Look("stage"),
    "device": Look("device"),
    "lr": Look("learning rate", _nice(1e-4, 10.0)),
    "epochs": Look("epochs", _ints(_nice(1, 20_000, (1, 2, 3, 5, 7)))),
    "n": Look("N points", _ints(_nice(10, 10_000, (1, 2, 3, 5, 7)))),
    "noise": Look("noise σ", _steps(0.0, 1.0, 0.01)),
    "seed": Look("seed"),
    "true_b": Look("true b", _steps(-5.0, 5.0, 0.1)),
    "true_w": Look("true w", _steps(-5.0, 5.0, 0.1)),
    "val_split": Look("validation", _steps(0.0, 0.9, 0.05)),
    "features": Look("features", _steps(1, 8, 1)),
    "hidden": Look("hidden units", _steps(0, 16, 1)),
}


def value_text(value: Any) -> str:
    """How a control writes a value: the shortest text that reads back as the same number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or (float(value).is_integer() and abs(value) < 1e15):
        return str(int(value))
    return repr(float(value))


class ValueSlider(widgets.HBox):  # type: ignore[misc]
    """A slider over exact values and a box to type one; ``value`` is the exact value.

    The browser moves an index; typing a valid value that is not on the slider adds
    it there.  A typed value that is not valid is refused in one line (``error``)
    and the box shows the value again.
    """

    value = traitlets.Any(help="the exact value shown and run")
    error = traitlets.Unicode("", help="why the last typed value was refused ('' when it was not)")

    def __init__(self, spec: OptionSpec, values: tuple[float, ...], value: Any, label: str) -> None:
        self.spec = spec
        self._values: list[Any] = []
        self._quiet = False
        self.slider = widgets.SelectionSlider(options=[("", 0)], description=label, readout=False,
                                              continuous_update=True, tooltip=spec.help,
                                              style={"description_width": DESCRIPTION_WIDTH},
                                              layout=widgets.Layout(flex="1 1 auto", min_width="120px"))
        self.text = widgets.Text(continuous_update=False, tooltip=f"type a value: {spec.valid_text()}",
                                 layout=widgets.Layout(width="72px", flex="0 0 auto"))
        self.text.add_class("linreg-value")
        super().__init__([self.slider, self.text], layout=widgets.Layout(width="100%"))
        self.add_class("linreg-control")
        self._set_values([self._exact(v) for v in values], self._exact(value))
        self.value = self._exact(value)
        self.slider.observe(self._on_slide, names="index")
        self.text.observe(self._on_type, names="value")
        self.observe(self._on_value, names="value")

    @property
    def values(self) -> tuple[Any, ...]:
        """The values on the slider, in order."""
        return tuple(self._values)

    @property
    def disabled(self) -> bool:
        return bool(self.slider.disabled)

    @disabled.setter
    def disabled(self, disabled: bool) -> None:
        self.slider.disabled = self.text.disabled = disabled

    def _exact(self, value: Any) -> Any:
        return int(value) if self.spec.kind.control is Control.WHOLE else float(value)

    def _set_values(self, values: list[Any], value: Any) -> None:
        """The slider's values (``value`` among them), and its handle at ``value``."""
        if value not in values:
            bisect.insort(values, value)
        self._values = values
        self._quiet = True
        try:
            labels = [(value_text(v), i) for i, v in enumerate(values)]
            if list(self.slider.options) != labels:
                self.slider.options = labels
            self.slider.index = values.index(value)
            self.text.value = value_text(value)
        finally:
            self._quiet = False

    def _on_slide(self, change: Mapping[str, Any]) -> None:
        if not self._quiet and change["new"] is not None:
            self.value = self._values[int(change["new"])]

    def _on_type(self, change: Mapping[str, Any]) -> None:
        if self._quiet:
            return
        try:
            value = self._exact(self.spec.parse(str(change["new"]).strip()))
        except UsageError as exc:
            self.error = str(exc)
            self._set_values(self._values, self.value)
            return
        self.error = ""
        self.value = value

    def _on_value(self, change: Mapping[str, Any]) -> None:
        self._set_values(list(self._values), self._exact(change["new"]))


def _common(spec: OptionSpec, look: Look) -> dict[str, Any]:
    return {"description": look.label, "tooltip": spec.help,
            "style": {"description_width": DESCRIPTION_WIDTH}, "layout": widgets.Layout(width="100%")}


def make_control(spec: OptionSpec, value: Any) -> widgets.DOMWidget:
    """One control for one option, labelled and bounded by its declaration."""
    look = LOOKS.get(spec.name, Look(spec.name.replace("_", " ")))
    control = spec.kind.control
    if look.values and control in (Control.WHOLE, Control.NUMBER, Control.NUMBERS):
        return ValueSlider(spec, look.values, value, look.label)
    common = _common(spec, look)
    if control is Control.MENU:
        choices = list(spec.kind.menu())
        return widgets.Dropdown(options=[*choices, *([value] if value not in choices else [])],
                                value=value, **common)
    if control is Control.SWITCH:
        return widgets.Checkbox(value=bool(value), indent=False, **common)
    if control is Control.WHOLE:
        return widgets.BoundedIntText(value=value, min=spec.low, max=spec.high, **common)
    if control is Control.NUMBER:
        return widgets.BoundedFloatText(value=value, min=spec.low, max=spec.high, **common)
    return widgets.Text(value=str(value), continuous_update=False, **common)


def control_value(options: Options, name: str) -> Any:
    """What the control for ``name`` shows for these options."""
    if name == "true_w":
        return options.slopes[0]  # the slider sets the first slope; the others follow the options
    value = getattr(options, name)
    return "" if value is None else value


def read_control(control: widgets.DOMWidget) -> Any:
    """A control's value as an option value (an empty text box: not given)."""
    value = control.value
    if isinstance(control, widgets.Text):
        return value.strip() or None
    return value


def make_controls(options: Options) -> dict[str, widgets.DOMWidget]:
    """A control for every option, showing these options."""
    return {spec.name: make_control(spec, control_value(options, spec.name)) for spec in option_specs()}


def options_shown(base: Options, controls: Mapping[str, widgets.DOMWidget],
                  start: Mapping[str, Any]) -> Options:
    """The options that ``controls`` show: ``base``, with the controls moved since ``start``.

    With several features the true-w control sets the first slope; the others follow
    ``base`` (or the default pattern when the number of features changed)."""
    changes = {name: read_control(control) for name, control in controls.items()
               if control.value != start[name]}
    features = changes.get("features", base.features)
    if "true_w" in changes or len(base.slopes) != features:
        tail = base.slopes[1:] if len(base.slopes) == features else default_true_w(features)[1:]
        slopes = (float(changes.pop("true_w", base.slopes[0])), *tail)
        changes["true_w"] = None if base.true_w is None and slopes == default_true_w(features) else slopes
    return base.replace(**changes) if changes else base
