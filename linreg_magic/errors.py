"""The one way a user's mistake is reported: a single :class:`UsageError` line.

``usage_error(what, valid, fix)`` says what is wrong, what is valid and how to fix
it.  IPython prints a ``UsageError`` as that one line (never a traceback), and the
kernel keeps running.  Light: imports only IPython's error class.
"""

from __future__ import annotations

from IPython.core.error import UsageError

__all__ = ["UsageError", "usage_error"]


def usage_error(what: str, valid: str, fix: str) -> UsageError:
    """One line for the user: what is wrong, what is valid, how to fix it."""
    return UsageError(f"{what}. {valid[:1].upper()}{valid[1:]}. {fix}")
