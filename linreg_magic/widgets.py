"""The instructor widget: controls -> options -> engine -> views.

``LinregWidget(stage="module", lr=0.05)`` shows one control per option (built
from the declarations in :mod:`linreg_magic.options`), a Run button and the
views as tabs: fit, loss, loss surface, graph, code and diff.  The widget holds
no training or plotting logic: a control change makes a new :class:`Options`,
the engine runs it, and the view functions draw the result into PNG images and
HTML.

Runs happen on one background thread, so the kernel keeps reading slider
messages while a stage trains.  Only the newest options run: changes that
arrive during a run replace each other, and the run that is going on stops at
its next progress check.  The epoch scrubber replays a finished run without
training again.

Figures are PNG images inside the widget (so a notebook saved with widget state
shows them), and the widget's own output also carries a static HTML copy of the
figures, which ``jupyter nbconvert --to html`` shows when no widget state was
saved.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import math
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from IPython.core.error import UsageError

from .option_kinds import Control
from .options import Options, OptionSpec, default_true_w, option_specs, usage_error

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

    from .result import Result
    from .tracker import Tracker

__all__ = ["CONTROLS", "TABS", "LinregWidget", "widget_command"]

#: The views, in tab order.
TABS = ("fit", "loss", "surface", "graph", "code", "diff")
#: The views drawn as PNG images (the others are HTML).
FIGURE_TABS = ("fit", "loss", "surface")
#: Controls that are not options: the Run button and the epoch scrubber.
EXTRA_CONTROLS = ("run", "epoch")
#: The controls shown unless the constructor says otherwise.
CONTROLS = ("stage", "device", "lr", "epochs", "n", "noise", "seed", "true_b", "true_w", *EXTRA_CONTROLS)

PRESET_FORMAT = "linreg_magic.widget"
PRESET_VERSION = 1


@dataclass(frozen=True)
class _Look:
    """How an option looks as a control: its label and, for a slider, its range."""

    label: str
    low: float | None = None
    high: float | None = None
    step: float = 1.0
    log: bool = False  # a log-scale slider; low and high are values, step is in decades


#: Slider ranges for the lesson (the options' declarations bound what is valid;
#: a slider widens to include a valid starting value outside its range).
_LOOKS: dict[str, _Look] = {
    "stage": _Look("stage"),
    "device": _Look("device"),
    "lr": _Look("learning rate", 1e-4, 10.0, 0.05, log=True),
    "epochs": _Look("epochs", 1, 5000),
    "n": _Look("N points", 10, 5000, 10),
    "noise": _Look("noise σ", 0.0, 1.0, 0.01),
    "seed": _Look("seed"),
    "true_b": _Look("true b", -5.0, 5.0, 0.1),
    "true_w": _Look("true w", -5.0, 5.0, 0.1),
    "val_split": _Look("validation", 0.0, 0.9, 0.05),
    "features": _Look("features", 1, 8),
    "hidden": _Look("hidden units", 0, 16),
}

_STYLE = """<style>
.linreg-widget .linreg-summary table {border-collapse: collapse; font-size: 12px; margin-top: 4px}
.linreg-widget .linreg-summary th, .linreg-widget .linreg-summary td {
  padding: 2px 10px; text-align: right; border-bottom: 1px solid #e4e4e4}
.linreg-widget .linreg-summary th:first-child, .linreg-widget .linreg-summary td:first-child {
  text-align: left}
.linreg-widget .linreg-graph svg {max-width: 100%; height: auto}
</style>"""


class _Superseded(Exception):
    """Raised inside a run's progress check when newer options are waiting."""


def _note(text: str) -> str:
    return f"<p style='color:#666;font-style:italic'>{html.escape(text)}</p>"


def _figure_png(fig: Figure | SubFigure) -> bytes:
    from .views import figure_png

    return figure_png(fig)


def _slider_bounds(spec: OptionSpec, low: float, high: float, value: float) -> tuple[float, float]:
    """A slider's range: ``low..high`` widened to hold ``value``, inside the valid range."""
    low, high = min(low, value), max(high, value)
    if spec.low is not None:
        low = max(low, spec.low)
    if spec.high is not None:
        high = min(high, spec.high)
    return low, high


def _control(spec: OptionSpec, value: Any) -> widgets.ValueWidget:
    """One control for one option, labelled and bounded by its declaration."""
    look = _LOOKS.get(spec.name, _Look(spec.name.replace("_", " ")))
    common: dict[str, Any] = {"description": look.label, "tooltip": spec.help,
                              "style": {"description_width": "96px"},
                              "layout": widgets.Layout(width="100%")}
    control = spec.kind.control
    if control is Control.MENU:
        choices = list(spec.kind.menu())
        if value not in choices:
            choices.append(value)
        return widgets.Dropdown(options=choices, value=value, **common)
    numeric = control in (Control.WHOLE, Control.NUMBER, Control.NUMBERS)
    if numeric and look.low is not None and look.high is not None:
        low, high = _slider_bounds(spec, look.low, look.high, value)
        if look.log:
            return widgets.FloatLogSlider(value=value, base=10, min=math.log10(low), max=math.log10(high),
                                          step=look.step, readout_format=".3g", **common)
        if control is Control.WHOLE:
            return widgets.IntSlider(value=value, min=int(low), max=int(high), step=int(look.step), **common)
        return widgets.FloatSlider(value=value, min=low, max=high, step=look.step, readout_format=".2f",
                                   **common)
    if control is Control.SWITCH:
        return widgets.Checkbox(value=bool(value), indent=False, **common)
    if control is Control.WHOLE:
        return widgets.BoundedIntText(value=value, min=spec.low, max=spec.high, **common)
    if control is Control.NUMBER:
        return widgets.BoundedFloatText(value=value, min=spec.low, max=spec.high, **common)
    return widgets.Text(value=str(value), continuous_update=False, **common)


def _read(control: widgets.ValueWidget) -> Any:
    """A moved control's value as an option: a float slider gives the digits it shows."""
    value = control.value
    if isinstance(control, widgets.Text):
        return value.strip() or None
    if not isinstance(value, float):
        return value
    digits = 3 if isinstance(control, widgets.FloatLogSlider) else 10  # 10: drop float noise
    return float(f"{value:.{digits}g}")


def magic_line(options: Options) -> str:
    """The ``%linreg`` line that runs these options."""
    flags = {spec.name: spec.flag for spec in option_specs()}
    switches = {spec.name for spec in option_specs() if spec.kind.control is Control.SWITCH}
    words = ["%linreg", "--stage", options.stage]
    for name, value in options.changed().items():
        if name in switches:
            words += [flags[name]] if value else []
        elif name != "stage":
            values = value if isinstance(value, tuple) else (value,)
            words += [flags[name], ",".join(repr(v) if isinstance(v, float) else str(v) for v in values)]
    return " ".join(words)


def _control_value(options: Options, name: str) -> Any:
    """What the control for ``name`` shows for these options."""
    if name == "true_w":
        return options.slopes[0]  # the slider sets the first slope; the others follow the options
    value = getattr(options, name)
    return "" if value is None else value


def _names(given: Iterable[str] | None, default: Iterable[str], valid: Iterable[str],
           what: str) -> tuple[str, ...]:
    names = tuple(default if given is None else ([given] if isinstance(given, str) else given))
    valid = tuple(valid)
    for name in names:
        if name not in valid:
            raise usage_error(f"Unknown {what} {name!r}", f"valid {what}s are " + ", ".join(valid),
                              f"Pick {what}s from that list")
    return names


class LinregWidget(widgets.VBox):  # type: ignore[misc]
    """Controls for one stage of the lesson and its views, for a lecture.

    ``LinregWidget(stage="module", lr=0.05, controls=("lr", "epochs", "run"),
    lock=("stage",))``: keywords are options (see :class:`Options`), or pass an
    ``Options`` object; ``controls`` picks the controls shown, in order
    (:data:`CONTROLS` by default; any option name, ``"run"`` and ``"epoch"``),
    ``lock`` disables some, ``tabs`` picks the views, ``tab`` the one open
    first, and ``auto`` says whether changing a control re-runs (else only Run
    does).  The first run happens in the constructor, so the widget opens with
    its figures; later runs happen in the background (:meth:`wait` blocks until
    they are done).

    ``save(path)`` / ``LinregWidget.load(path)`` keep all of that in a JSON
    preset file.

    Like every run, a widget's run restores the global random states when it
    ends; a cell that draws random numbers while a widget run is going on can
    see its draws undone.
    """

    def __init__(self, options: Options | None = None, *, controls: Iterable[str] | None = None,
                 lock: Iterable[str] = (), tabs: Iterable[str] | None = None, tab: str | None = None,
                 auto: bool = True, **values: Any) -> None:
        options = Options.from_mapping(values) if options is None else options.replace(**values)
        names = [spec.name for spec in option_specs()] + list(EXTRA_CONTROLS)
        self.shown = _names(controls, CONTROLS, names, "control")
        self.locked = _names(lock, (), names, "control")
        self.tab_names = _names(tabs, TABS, TABS, "tab")
        if not self.tab_names:
            raise usage_error("No tabs to show", "valid tabs are " + ", ".join(TABS), "Give at least one tab")
        first_tab = _names(tab, self.tab_names[:1], self.tab_names, "tab")[0]
        self.auto = auto
        self._base = options
        self.result: Result | None = None
        self.error: BaseException | None = None
        self.figures: dict[str, Figure | SubFigure] = {}  # the last figure of each figure view
        self.runs = 0  # runs finished since the widget was made (superseded ones excluded)

        self._lock = threading.Lock()
        self._pending_run: Options | None = None
        self._pending_epoch: int | None = None
        self._worker: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._quiet = False  # set while the widget itself moves the option controls
        self._moving_scrubber = False  # set while a new result resets the scrubber
        self._code_stage: str | None = None

        self.controls: dict[str, widgets.ValueWidget] = {
            spec.name: _control(spec, _control_value(options, spec.name)) for spec in option_specs()}
        #: What each control showed for the options it started from: unmoved controls keep
        #: those options' exact values.
        self._start = {name: control.value for name, control in self.controls.items()}
        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play",
                                         tooltip="run the stage with these options",
                                         layout=widgets.Layout(width="100%"))
        self.scrubber = widgets.IntSlider(value=0, min=0, max=1, description="epoch",
                                          tooltip="replay the finished run: the fit and the point on "
                                                  "the loss surface after this epoch",
                                          style={"description_width": "48px"},
                                          layout=widgets.Layout(width="100%"))
        self.status = widgets.HTML(layout=widgets.Layout(min_height="22px"))
        self.summary = widgets.HTML()
        self.summary.add_class("linreg-summary")
        self.views: dict[str, widgets.DOMWidget] = {}
        self.notes: dict[str, widgets.HTML] = {}
        pages = []
        for name in self.tab_names:
            if name in FIGURE_TABS:
                view = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto"))
                self.notes[name] = widgets.HTML()
                pages.append(widgets.VBox([self.notes[name], view]))
            else:
                view = widgets.HTML()
                pages.append(view)
            view.add_class(f"linreg-{name}")
            self.views[name] = view
        self.tabs = widgets.Tab(children=pages, titles=list(self.tab_names),
                                selected_index=self.tab_names.index(first_tab))

        extra = {"run": self.run_button, "epoch": self.scrubber}
        for name in self.locked:
            (extra.get(name) or self.controls[name]).disabled = True
        panel = [self.controls[n] if n in self.controls else extra[n] for n in self.shown if n != "epoch"]
        right = [self.tabs, *([self.scrubber] if "epoch" in self.shown else [])]
        super().__init__(children=[
            widgets.HTML(_STYLE), self.summary,
            widgets.HBox([widgets.VBox(panel, layout=widgets.Layout(width="340px", min_width="340px",
                                                                    margin="0 12px 0 0")),
                          widgets.VBox(right, layout=widgets.Layout(flex="1 1 auto", min_width="0"))],
                         layout=widgets.Layout(width="100%")),
            self.status])
        self.add_class("linreg-widget")

        for control in self.controls.values():
            control.observe(self._on_control, names="value")
        self.run_button.on_click(lambda _button: self.run())
        self.scrubber.observe(self._on_scrub, names="value")
        self._run_now(options)  # raises: a widget that cannot run its first options is not made

    # -- the options the controls describe --------------------------------------------
    @property
    def options(self) -> Options:
        """The options the controls show now (a UsageError if they do not fit together)."""
        base = self._base
        changes = {name: _read(control) for name, control in self.controls.items()
                   if control.value != self._start[name]}
        features = changes.get("features", base.features)
        if "true_w" in changes or len(base.slopes) != features:
            tail = base.slopes[1:] if len(base.slopes) == features else default_true_w(features)[1:]
            slopes = (float(changes.pop("true_w", base.slopes[0])), *tail)
            changes["true_w"] = (None if base.true_w is None and slopes == default_true_w(features)
                                 else slopes)
        return base.replace(**changes) if changes else base

    def set_options(self, options: Options | None = None, **values: Any) -> None:
        """Show these options in the controls (and run them, as a change would)."""
        options = self.options.replace(**values) if options is None else options.replace(**values)
        self._quiet = True
        try:
            self._base = options
            for name, control in self.controls.items():
                control.value = _control_value(options, name)
            self._start = {name: control.value for name, control in self.controls.items()}
        finally:
            self._quiet = False
        self.run()

    # -- running ------------------------------------------------------------------------
    def run(self) -> None:
        """Run the options the controls show (what the Run button does), in the background."""
        try:
            options = self.options
        except UsageError as exc:
            self._show_error(exc)
            return
        with self._lock:
            self._pending_run = options
            self._pending_epoch = None
            self._start_worker()

    def wait(self, timeout: float = 120.0) -> bool:
        """Block until no run is waiting or going on; False if ``timeout`` s passed first."""
        return self._idle.wait(timeout)

    @property
    def busy(self) -> bool:
        return not self._idle.is_set()

    def _on_control(self, change: Mapping[str, Any]) -> None:
        if not self._quiet and self.auto:
            self.run()

    def _on_scrub(self, change: Mapping[str, Any]) -> None:
        if self._moving_scrubber or self.result is None:
            return
        with self._lock:
            self._pending_epoch = int(change["new"])
            self._start_worker()

    def _start_worker(self) -> None:
        """Called with the lock held: make sure one worker drains what is pending."""
        self._idle.clear()
        if self._worker is None:
            self._worker = threading.Thread(target=self._drain, name="linreg-widget", daemon=True)
            self._worker.start()

    def _drain(self) -> None:
        while True:
            with self._lock:
                options, self._pending_run = self._pending_run, None
                epoch, self._pending_epoch = self._pending_epoch, None
                if options is None and epoch is None:
                    self._worker = None
                    self._idle.set()
                    return
            try:
                if options is not None:
                    self._run_now(options)
                elif epoch is not None:
                    self._show_epoch(epoch)
            except _Superseded:
                continue
            except Exception as exc:  # shown in the status line; the widget stays usable
                self._show_error(exc)

    def _progress(self, tracker: Tracker) -> None:
        if self._pending_run is not None:
            raise _Superseded
        self.status.value = (f"<span style='color:#666'>training… epoch {tracker.epoch:,} of "
                             f"{tracker.n_epochs:,}</span>")

    def _run_now(self, options: Options) -> None:
        from .engine import run_options

        self.status.value = "<span style='color:#666'>training…</span>"
        result = run_options(options, progress=self._progress)
        self._show_result(result)
        self.result, self.error = result, None
        self.runs += 1
        if self._pending_run is None:  # else the next run says "training…" at once
            self.status.value = (f"<code style='color:#666;background:none'>same as: "
                                 f"{html.escape(magic_line(options))}</code>")

    def _show_error(self, exc: BaseException) -> None:
        self.error = exc
        text = str(exc) if isinstance(exc, UsageError) else f"{type(exc).__name__}: {exc}"
        self.status.value = f"<span style='color:#b00020'>{html.escape(text)}</span>"

    # -- drawing ------------------------------------------------------------------------
    def _show_result(self, result: Result) -> None:
        from .views import header_html, params_html, plot_loss

        pngs = self._epoch_pngs(result, None)
        if "loss" in self.views:
            pngs["loss"] = self._png("loss", plot_loss(result))
        self.summary.value = header_html(result) + params_html(result)
        for name, png in pngs.items():
            self.views[name].value = png
        if "graph" in self.views:
            self.views["graph"].value = _graph_html(result)
        if self._code_stage != result.stage:
            self._show_code(result.stage)
        self._moving_scrubber = True
        try:
            self.scrubber.max = result.epochs
            self.scrubber.value = result.epochs
        finally:
            self._moving_scrubber = False

    def _show_epoch(self, epoch: int) -> None:
        if self.result is None:
            return
        shown = None if epoch >= self.result.epochs else epoch
        for name, png in self._epoch_pngs(self.result, shown).items():
            self.views[name].value = png

    def _epoch_pngs(self, result: Result, epoch: int | None) -> dict[str, bytes]:
        """The fit and the loss surface after ``epoch`` (None: the end)."""
        from .views import plot_fit, plot_surface

        pngs = {}
        if "fit" in self.views:
            pngs["fit"] = self._png("fit", plot_fit(result, epoch=epoch))
        if "surface" in self.views:
            if result.coef_path.shape[1] == 1:
                self.notes["surface"].value = ""
                pngs["surface"] = self._png("surface", plot_surface(result, epoch=epoch))
            else:
                self.notes["surface"].value = _note("The loss surface is drawn for one-feature models only.")
                self.figures.pop("surface", None)
                pngs["surface"] = b""
        return pngs

    def _png(self, name: str, ax: Axes) -> bytes:
        """Keep the figure a view drew (for inspection) and return it as PNG."""
        self.figures[name] = ax.figure
        return _figure_png(ax.figure)

    def _show_code(self, stage: str) -> None:
        from .registry import previous_stage
        from .views import code_html, diff_html

        for name, view in (("code", code_html), ("diff", diff_html)):
            if name not in self.views:
                continue
            if name == "diff" and previous_stage(stage) is None:
                text = _note(f"{stage} is the first stage of the ladder: there is no stage before it "
                             "to compare with.")
            else:
                try:
                    text = view(stage)
                except UsageError as exc:  # e.g. a stage whose source cannot be read
                    text = _note(str(exc))
            self.views[name].value = text
        self._code_stage = stage

    # -- saved notebooks and the terminal -------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The live widget, plus a static copy for nbconvert, GitHub and the terminal."""
        bundle: dict[str, Any] = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = self._text()
        bundle["text/html"] = self.snapshot_html()
        if "fit" in self.figures:
            bundle["image/png"] = base64.b64encode(self.views["fit"].value).decode("ascii")
        return bundle

    def snapshot(self) -> Any:
        """A static copy of the summary and the figures as they are now, to display in a cell.

        The widget's own output keeps the figures it had when it was displayed; a
        snapshot cell keeps the ones after the lecture's changes in a notebook
        saved without widget state.
        """
        from IPython.display import HTML

        return HTML(self.snapshot_html())

    def snapshot_html(self) -> str:
        """The summary and the current figures as static HTML (PNG images inline)."""
        parts = [f"{_STYLE}<div class='linreg-widget linreg-snapshot'><div class='linreg-summary'>"
                 f"{self.summary.value}</div>"]
        for name in FIGURE_TABS:
            png = self.views[name].value if name in self.views else b""
            if png:
                data = base64.b64encode(png).decode("ascii")
                parts.append(f"<img alt='{name}' style='max-width:32%;display:inline-block;"
                             f"vertical-align:top' src='data:image/png;base64,{data}'/>")
        parts.append("</div>")
        return "".join(parts)

    def _text(self) -> str:
        if self.result is None:
            return "LinregWidget (no run yet)"
        from .views import header_text, params_text

        return f"LinregWidget: {header_text(self.result)}\n{params_text(self.result)}"

    # -- presets ------------------------------------------------------------------------
    def preset(self) -> dict[str, Any]:
        """Everything needed to make this widget again, as JSON-ready values."""
        options = {name: (list(value) if isinstance(value, tuple) else value)
                   for name, value in dataclasses.asdict(self.options).items()}
        return {"format": PRESET_FORMAT, "version": PRESET_VERSION, "options": options,
                "controls": list(self.shown), "lock": list(self.locked), "tabs": list(self.tab_names),
                "tab": self.tab_names[self.tabs.selected_index or 0], "auto": self.auto}

    def to_json(self) -> str:
        return json.dumps(self.preset(), indent=2)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the preset to a JSON file, for ``LinregWidget.load(path)`` in a lecture."""
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.to_json() + "\n")

    @classmethod
    def from_json(cls, text: str, **values: Any) -> LinregWidget:
        """A widget from a preset's JSON text; keywords override its options."""
        try:
            preset = json.loads(text)
        except json.JSONDecodeError as exc:
            raise usage_error(f"The preset is not JSON ({exc})", "presets are written by "
                              "LinregWidget.save", "Save one with w.save('lecture.json')") from None
        if not isinstance(preset, dict) or preset.get("format") != PRESET_FORMAT:
            raise usage_error("The preset is not a linreg_magic widget preset",
                              f"presets are JSON objects with \"format\": \"{PRESET_FORMAT}\"",
                              "Save one with w.save('lecture.json')")
        options = Options.from_mapping(preset.get("options", {}))
        return cls(options, controls=preset.get("controls"), lock=preset.get("lock", ()),
                   tabs=preset.get("tabs"), tab=preset.get("tab"), auto=bool(preset.get("auto", True)),
                   **values)

    @classmethod
    def load(cls, path: str | os.PathLike[str], **values: Any) -> LinregWidget:
        """A widget from a preset file written by :meth:`save`; keywords override its options."""
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise usage_error(f"Cannot read the preset {os.fspath(path)!r} ({exc.strerror})",
                              "a preset is a JSON file written by LinregWidget.save",
                              "Check the path") from None
        return cls.from_json(text, **values)


def _graph_html(result: Result) -> str:
    from .views import graph_of, render_graph

    dot = graph_of(result)
    if dot is None:
        why = result.graph_note or "no autograd graph: the loss does not require gradients"
        return _note(f"Graph: {why}.")
    rendered = render_graph(dot)
    if rendered.svg is None:
        from .views.graph import INSTALL_HINT

        return _note(f"Graph not drawn ({rendered.error}): {INSTALL_HINT}.")
    return rendered.svg


def widget_command(rest: list[str], values: dict[str, Any]) -> LinregWidget:
    """``%linreg widget [PRESET.json] --stage module ...``: the instructor widget."""
    if len(rest) > 1:
        raise usage_error(f"widget takes at most one preset file, got {' '.join(rest)!r}",
                          "give a JSON preset saved with LinregWidget.save, or none",
                          "Try %linreg widget lecture.json --lr 0.05")
    given = {name: value for name, value in values.items() if value is not None}
    return LinregWidget.load(rest[0], **given) if rest else LinregWidget(**given)
