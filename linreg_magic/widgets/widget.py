"""``LinregWidget``: controls -> options -> engine -> views, for a lecture.

The widget holds no training or plotting logic: a control change makes new
:class:`~linreg_magic.Options`, the engine runs them, the views draw the result.

Runs happen on a latest-wins worker thread (:mod:`.worker`), so the kernel keeps
reading slider messages while a stage trains.  The process-wide state a run needs
(the random draws of the stage's set-up) is prepared on the kernel's own thread,
between cells, with the session's random states saved and restored around it; the
worker then trains without touching any process-wide state, so a cell the user
runs meanwhile is left alone.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..device import DeviceGuard
from ..engine import prepare_namespace, run_plan, train_prepared
from ..errors import UsageError, usage_error
from ..option_kinds import Control
from ..options import Options, option_specs
from ..plan import Plan
from ..printed import capture_prints
from ..session import guarded
from .controls import control_value, make_controls, options_shown
from .drawing import Drawing, ViewAccess, error_html, summary_html
from .layout import build_layout, figure_column, figure_page
from .presets import DEFAULT_CONTROLS, TABS, PresetMethods, control_names, pick
from .static import StaticOutputs
from .worker import LatestWins, Superseded

if TYPE_CHECKING:

    from ..result import Result
    from ..tracker import Tracker

__all__ = ["LinregWidget", "magic_line"]


def magic_line(options: Options) -> str:
    """The ``%linreg`` line that runs these options (floats written as they read back)."""
    words = ["%linreg", "--stage", options.stage]
    flags = {spec.name: spec for spec in option_specs()}
    for name, value in options.changed().items():
        spec = flags[name]
        if spec.kind.control is Control.SWITCH:
            words += [spec.flag] if value else []
        elif name != "stage":
            values = value if isinstance(value, tuple) else (value,)
            words += [spec.flag, ",".join(repr(v) if isinstance(v, float) else str(v) for v in values)]
    return " ".join(words)


def options_line(options: Options) -> str:
    """The status line under a finished run: the magic line that makes the same run."""
    return (f"<code style='color:#666;background:none;white-space:normal'>same as: "
            f"{html.escape(magic_line(options))}</code>")


class LinregWidget(PresetMethods, StaticOutputs, ViewAccess, widgets.VBox):  # type: ignore[misc]
    """Controls for one stage of the lesson and its views, for a lecture.

    ``LinregWidget(stage="module", lr=0.05, controls=("lr", "epochs", "run"), lock=("stage",))``:
    keywords are options (or pass an ``Options``); ``controls`` picks the controls shown, in
    order (option names, ``"run"``, ``"epoch"``), ``lock`` disables some, ``tabs`` picks the
    views, ``tab`` the one open first, ``auto`` whether a change re-runs (else only Run does),
    ``pixel_ratio`` the figures' device pixels per CSS pixel.  For scripts: :meth:`set_options`,
    :meth:`wait`, :attr:`result`, :attr:`ran_options`, :attr:`error`, :attr:`epoch`, :meth:`save`,
    :meth:`load`, :meth:`snapshot`.  The first run happens in the constructor.
    """

    def __init__(self, options: Options | None = None, *, controls: Iterable[str] | None = None,
                 lock: Iterable[str] = (), tabs: Iterable[str] | None = None, tab: str | None = None,
                 auto: bool = True, pixel_ratio: float = 2.0, **values: Any) -> None:
        options = Options.from_mapping(values) if options is None else options.replace(**values)
        self.shown = pick(controls, DEFAULT_CONTROLS, control_names(), "control")
        self.locked = pick(lock, (), control_names(), "control")
        self.tab_names = pick(tabs, TABS, TABS, "tab")
        if not self.tab_names:
            raise usage_error("No tabs to show", "valid tabs are " + ", ".join(TABS), "Give at least one tab")
        first_tab = pick(tab, self.tab_names[:1], self.tab_names, "tab")[0]
        self.auto = bool(auto)
        self._base = options
        self.result: Result | None = None
        self.error: BaseException | None = None
        self._quiet = False  # set while the widget itself moves the controls
        self._moving = False  # set while a new result moves the scrubber
        self._copy = None
        self._worker = LatestWins(self._show_error)
        self.controls = make_controls(options)
        self._start = {name: control.value for name, control in self.controls.items()}
        self._drawing = Drawing(self.tab_names, pixel_ratio)
        self._build(first_tab)
        self._run_first(options)

    # -- parts ------------------------------------------------------------------------
    def _build(self, first_tab: str) -> None:
        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play",
                                         tooltip="run the stage with these options",
                                         layout=widgets.Layout(width="100%"))
        self.scrubber = widgets.IntSlider(value=0, min=0, max=1, description="epoch",
                                          tooltip="replay the finished run: the fit and the point on the "
                                                  "loss surface after this epoch",
                                          style={"description_width": "48px"},
                                          layout=widgets.Layout(width="100%"))
        self.status = widgets.HTML(layout=widgets.Layout(min_height="20px"))
        self.summary = widgets.HTML()
        self.summary.add_class("linreg-summary")
        kept = self._drawing.kept
        pages = {name: (figure_page(self._drawing.images[name], self._drawing.notes[name],
                                    kept[name].css_width) if name in kept else self._drawing.views[name])
                 for name in self.tab_names}
        extra = {"run": self.run_button, "epoch": self.scrubber}
        for name in self.locked:
            (extra.get(name) or self.controls[name]).disabled = True
        panel = [self.controls[n] if n in self.controls else extra[n] for n in self.shown if n != "epoch"]
        below = [self.scrubber] if "epoch" in self.shown else []
        figures, self.tabs = figure_column(pages, first_tab, below, max([k.css_width for k in kept.values()],
                                                                        default=432))
        super().__init__(children=build_layout(panel, figures, [self.summary, self.status]),
                         layout=widgets.Layout(width="100%"))
        self.add_class("linreg-widget")
        for control in self.controls.values():
            control.observe(self._on_control, names="value")
            if hasattr(control, "error"):
                control.observe(self._on_typed_error, names="error")
        self.run_button.on_click(lambda _button: self.run())
        self.scrubber.observe(self._on_scrub, names="value")
        self.tabs.observe(lambda _change: self._worker.submit_frame(self._refresh_open_tab),
                          names="selected_index")

    # -- the options the controls describe --------------------------------------------
    @property
    def options(self) -> Options:
        """The options the controls show now (a UsageError if they do not fit together)."""
        return options_shown(self._base, self.controls, self._start)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle: dict[str, Any] = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = self._text()
        return bundle

    @property
    def ran_options(self) -> Options | None:
        """The options of the last run that finished (what :attr:`result` ran)."""
        return None if self.result is None else self.result.options

    def set_options(self, options: Options | None = None, **values: Any) -> None:
        """Show these options in the controls and run them, as moving the controls would."""
        options = (self.options if options is None else options).replace(**values)
        self._quiet = True
        try:
            self._base = options
            for name, control in self.controls.items():
                control.value = control_value(options, name)
            self._start = {name: control.value for name, control in self.controls.items()}
        finally:
            self._quiet = False
        self.run()

    # -- running ------------------------------------------------------------------------
    def run(self) -> None:
        """Run the options the controls show (what the Run button does), in the background."""
        try:
            options = self.options
            plan = Plan.make(options)
            with DeviceGuard(plan.device), guarded(device=plan.device, uses_torch=plan.stage.uses_torch):
                namespace = prepare_namespace(plan)  # the stage's random draws: on this thread
        except Exception as exc:  # one line in place of the numbers; the kernel goes on
            self._show_error(exc)
            return
        self.status.value = "<span style='color:#666'>training…</span>"
        self._worker.submit_run(lambda: self._train(plan, namespace))

    def wait(self, timeout: float | None = 120.0) -> bool:
        """Block until no run or redraw waits or goes on; False if ``timeout`` s passed first."""
        return self._worker.wait(timeout)

    @property
    def busy(self) -> bool:
        """Whether a run or a redraw waits or goes on."""
        return self._worker.busy

    @property
    def runs(self) -> int:
        """How many runs finished since the widget was made (superseded ones excluded)."""
        return self._worker.done_runs + 1

    def _run_first(self, options: Options) -> None:
        result = run_plan(Plan.make(options))  # raises: a widget that cannot run its options is not made
        self._show_result(result, options_line(options))

    def _train(self, plan: Plan, namespace: dict[str, Any]) -> None:
        with DeviceGuard(plan.device), capture_prints() as printed:  # the CUDA device is per thread
            result = train_prepared(plan, namespace, progress=self._progress)
        result = result.replace(printed=printed.text) if printed.text else result
        if self._worker.superseded():
            raise Superseded
        self._show_result(result, options_line(plan.options))

    def _progress(self, tracker: Tracker) -> None:
        if self._worker.superseded():
            raise Superseded
        self.status.value = (f"<span style='color:#666'>training… epoch {tracker.epoch:,} of "
                             f"{tracker.n_epochs:,}</span>")

    def _on_control(self, change: Mapping[str, Any]) -> None:
        if not self._quiet and self.auto:
            self.run()

    def _on_typed_error(self, change: Mapping[str, Any]) -> None:
        if change["new"]:
            self._show_error(UsageError(change["new"]))

    # -- drawing ------------------------------------------------------------------------
    @property
    def open_tab(self) -> str:
        return self.tab_names[self.tabs.selected_index or 0]

    def _show_result(self, result: Result, line: str) -> None:
        self.result, self.error = result, None
        self._quiet_scrub(result.epochs)
        self._drawing.show(result, self.open_tab)
        self.summary.value = summary_html(result)
        if not self._worker.superseded():
            self.status.value = line
        self._update_copy()

    def _quiet_scrub(self, epochs: int) -> None:
        """The scrubber at the end of a new run, without replaying anything."""
        self._moving = True
        try:
            with self.scrubber.hold_trait_notifications():
                self.scrubber.max = max(epochs, 1)
                self.scrubber.value = epochs
        finally:
            self._moving = False

    def _show_error(self, exc: BaseException) -> None:
        """An error in place of the numbers (the figures stay, dimmed, from the last good run)."""
        self.error = exc
        self.summary.value = error_html(exc)
        self.status.value = ""
        self._drawing.mark_stale()

    def _on_scrub(self, change: Mapping[str, Any]) -> None:
        if not self._moving and self.result is not None:
            self._worker.submit_frame(self._refresh_open_tab)

    def _refresh_open_tab(self) -> None:
        """Bring the open tab up to date with the scrubber (whatever moved last)."""
        result = self.result
        if result is None:
            return
        value = int(self.scrubber.value)
        self._drawing.move_to(None if value >= result.epochs else value, self.open_tab)

