"""The instructor widget: controls -> options -> engine -> views.

``LinregWidget(stage="module", lr=0.05)`` shows one control per option (built
from the declarations in :mod:`linreg_magic.options`), a Run button, an epoch
scrubber and the views as tabs: fit, loss, loss surface, graph, code and diff.

- :mod:`.controls`: one control per option, holding exact values;
- :mod:`.worker`: the latest-wins background worker (no widgets in it);
- :mod:`.drawing`: the views of a result in the widget, drawn fast;
- :mod:`.layout`: where the parts sit, side by side or stacked;
- :mod:`.presets`: prepared lectures in JSON files;
- :mod:`.static`: the copy that exported notebooks and terminals show;
- :mod:`.widget`: :class:`LinregWidget` itself, and ``%linreg widget``.
"""

from __future__ import annotations

from .command import widget_command
from .presets import DEFAULT_CONTROLS, TABS, Preset
from .widget import LinregWidget, magic_line

#: The controls shown unless the constructor says otherwise.
CONTROLS = DEFAULT_CONTROLS

__all__ = ["CONTROLS", "TABS", "LinregWidget", "Preset", "magic_line", "widget_command"]
