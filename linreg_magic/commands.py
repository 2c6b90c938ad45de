"""``%linreg COMMAND`` handlers that do not run a stage."""

from __future__ import annotations

from typing import Any

from .options import usage_error

__all__ = ["list_stages"]


def list_stages(rest: list[str], values: dict[str, Any]) -> None:
    """``%linreg list``: the stages in ladder order, one line each."""
    if rest:
        raise usage_error(f"list takes no arguments, got {' '.join(rest)!r}", "use it alone",
                          "Try %linreg list")
    from .display import show_stage_list

    show_stage_list()
