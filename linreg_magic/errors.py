"""The one way a user's mistake is reported: a single :class:`UsageError` line.

``usage_error(what, valid, fix)`` says what is wrong, what is valid and how to fix
it.  IPython prints a ``UsageError`` as that one line (never a traceback), and the
kernel keeps running.  The error keeps its three parts (:func:`what_of`), so that a
caller can reuse the sentence that says what is wrong.  Light: imports only
IPython's error class and the standard library.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from IPython.core.error import UsageError

__all__ = ["UsageError", "unknown_option_error", "usage_error", "what_of"]


def usage_error(what: str, valid: str, fix: str) -> UsageError:
    """One line for the user: what is wrong, what is valid, how to fix it."""
    error = UsageError(f"{what}. {valid[:1].upper()}{valid[1:]}. {fix}")
    error.what = what  # type: ignore[attr-defined]
    return error


def what_of(error: BaseException) -> str:
    """What is wrong, as :func:`usage_error` was told (the whole message otherwise)."""
    what = getattr(error, "what", None)
    return what if isinstance(what, str) else str(error)


def unknown_option_error(flag: str, flags: Sequence[str]) -> UsageError:
    """An option nobody declared: the valid ones, and the closest as the fix."""
    close = difflib.get_close_matches(flag, list(flags), n=1)
    fix = f"Did you mean {close[0]}?" if close else "See %linreg? for help"
    return usage_error(f"Unknown option {flag}", "valid options are " + ", ".join(flags), fix)
