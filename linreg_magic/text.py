"""Numbers and tables as plain text reads them (terminal IPython, ``text/plain``).

Light: the standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["count", "duration", "format_number", "text_table"]


def count(n: int, noun: str) -> str:
    """``1 epoch``, ``2 epochs``, ``1,000 epochs``: a number and its noun, in the plural unless one."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def duration(seconds: float) -> str:
    """How long a run took: ``98 ms``, ``2.35 s``."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def format_number(value: float) -> str:
    """A bound or a setting as people write it: ``1,000,000``, ``0``, ``0.9``, ``1e-06``."""
    if float(value).is_integer():
        return f"{int(value):,}" if abs(value) >= 1e6 else str(int(value))
    return repr(float(value))


def text_table(rows: Sequence[Sequence[str]], gap: str = "  ") -> str:
    """Rows of cells as lines, each column left-aligned to its widest cell."""
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(max(map(len, rows), default=0))]
    return "\n".join(gap.join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)
