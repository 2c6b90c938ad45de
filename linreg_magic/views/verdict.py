"""The check of a student's code as text and HTML: the verdict, their traceback, and
the contract of a stage's cell body.  Rendered from the data only
(:class:`~linreg_magic.check.Verdict` and friends); nothing here decides anything."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..check import Comparison, Contract, Finding, StudentError, Verdict
    from ..check.verdict import Edit

__all__ = ["contract_html", "contract_text", "error_html", "error_text", "verdict_html", "verdict_text"]

_MARK = {"correct": "✔", "correct, with a note": "✔", "not yet": "✘"}
_COLOR = {"correct": "#1a7f37", "correct, with a note": "#9a6700", "not yet": "#b00020"}
_LABEL = {"mistake": "Mistake", "note": "Note", "hint": "Hint"}


def _numbers(values: tuple[float, ...]) -> str:
    flat = np.ravel(np.asarray(values, dtype=np.float64))
    def one(v: float) -> str:
        if abs(v) >= 1e6 or not np.isfinite(v):
            return f"{v:.3g}"
        return f"{v:,.0f}" if float(v).is_integer() and abs(v) >= 10 else f"{v:.6g}"
    return ", ".join(one(v) for v in flat[:3]) + (", …" if flat.size > 3 else "")


def _table_rows(comparisons: tuple[Comparison, ...]) -> list[tuple[str, str, str, str]]:
    return [(c.name, _numbers(c.yours), _numbers(c.reference), "ok" if c.ok else "differs")
            for c in comparisons]


def _where(finding: Finding) -> str:
    return f"cell line {finding.line}: {finding.source}" if finding.line and finding.source else ""


def _finding_lines(finding: Finding) -> list[str]:
    lines = [f"{_LABEL[finding.severity.value]}: {finding.text}"]
    if finding.fix:
        lines.append(f"  Fix: {finding.fix}")
    for edit in finding.edits:
        lines.extend("    " + line for line in _edit_lines(edit))
    return lines


def _edit_lines(edit: Edit) -> list[str]:
    """A suggested edit as lines: the cell's line, then what it becomes (each new line
    on its own, indented as it would be written)."""
    head = f"cell line {edit.line}: "
    base = min(len(t) - len(t.lstrip()) for t in (edit.old, *edit.new) if t.strip())
    new = [n[base:] for n in edit.new] or ["(delete the line)"]
    return [head + edit.old.strip(), " " * (len(head) - 9) + "becomes: " + new[0],
            *(" " * len(head) + n for n in new[1:])]


def verdict_text(verdict: Verdict) -> str:
    """The verdict for a terminal: the summary, the numbers, each finding with its fix."""
    lines = [f"{_MARK[verdict.level.value]} {verdict.summary}"]
    rows = _table_rows(verdict.comparisons)
    if rows:
        table = [("", "yours", "reference", ""), *rows]
        widths = [max(len(r[i]) for r in table) for i in range(4)]
        for row in table:
            cells = [row[0].ljust(widths[0]), row[1].rjust(widths[1]), row[2].rjust(widths[2]), row[3]]
            lines.append(("  " + "  ".join(cells)).rstrip())
    if verdict.parted_at is not None:
        lines.append(f"  Your trajectory leaves the reference's at epoch {verdict.parted_at}.")
    for finding in verdict.findings:
        lines.extend(_finding_lines(finding))
    return "\n".join(lines)


def _finding_html(finding: Finding) -> str:
    label = _LABEL[finding.severity.value]
    fix = f"<br><i>Fix:</i> {html.escape(finding.fix)}" if finding.fix else ""
    edits = "".join(
        "<pre style='margin:4px 0;font-size:90%'>" + html.escape("\n".join(_edit_lines(e))) + "</pre>"
        for e in finding.edits)
    return f"<li><b>{label}:</b> {html.escape(finding.text)}{fix}{edits}</li>"


def verdict_html(verdict: Verdict) -> str:
    """The verdict for a notebook."""
    color = _COLOR[verdict.level.value]
    rows = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{html.escape(y)}</td><td>{html.escape(r)}</td>"
        f"<td style='color:{'#1a7f37' if ok == 'ok' else '#b00020'}'>{ok}</td></tr>"
        for n, y, r, ok in _table_rows(verdict.comparisons))
    head = "<thead><tr><th></th><th>yours</th><th>reference</th><th></th></tr></thead>"
    table = f"<table class='linreg-verdict'>{head}<tbody>{rows}</tbody></table>" if rows else ""
    parted = (f"<p>Your trajectory leaves the reference's at epoch {verdict.parted_at}.</p>"
              if verdict.parted_at is not None else "")
    items = "".join(_finding_html(f) for f in verdict.findings)
    return (f"<div class='linreg-verdict' style='font-family:sans-serif;border-left:4px solid {color};"
            f"padding-left:8px'><b style='color:{color}'>{_MARK[verdict.level.value]} "
            f"{html.escape(verdict.summary)}</b>{table}{parted}{f'<ul>{items}</ul>' if items else ''}</div>")


def error_text(error: StudentError) -> str:
    """The student's traceback, shortened to the frames of their cell."""
    lines = ["Traceback (your code, most recent call last):"]
    for lineno, name, source in error.frames:
        lines.append(f"  Cell line {lineno}, in {name}")
        if source:
            lines.append(f"    {source}")
    if error.hidden:
        lines.append(f"  ({error.hidden} frame(s) inside torch/numpy not shown)")
    lines.append(f"{error.kind}: {error.message}" if error.message else error.kind)
    return "\n".join(lines)


def error_html(error: StudentError) -> str:
    return f"<pre class='linreg-error' style='color:#b00020'>{html.escape(error_text(error))}</pre>"


def contract_text(contract: Contract) -> str:
    """What a stage's cell body is given and must leave behind, for a terminal."""
    width = max(len(n) for n, _ in (*contract.provided, *contract.expected, *contract.optional))

    def rows(items: tuple[tuple[str, str], ...]) -> list[str]:
        return [f"  {name.ljust(width)}  {what}" for name, what in items]

    return "\n".join([
        f"%%linreg --stage {contract.stage}: your code for '{contract.title}'",
        "Provided (a fresh namespace, as the reference has it before its training loop):",
        *rows(contract.provided),
        "The reference's training code uses: " + ", ".join(contract.reference_uses),
        "Expected after your code:",
        *rows(contract.expected),
        "Optional:",
        *rows(contract.optional),
        f"Recorded for you: {contract.recorded}",
    ])


def contract_html(contract: Contract) -> str:
    def table(items: tuple[tuple[str, str], ...]) -> str:
        body = "".join(f"<tr><td><code>{html.escape(n)}</code></td><td>{html.escape(w)}</td></tr>"
                       for n, w in items)
        return f"<table class='linreg-contract'><tbody>{body}</tbody></table>"

    uses = ", ".join(f"<code>{html.escape(n)}</code>" for n in contract.reference_uses)
    return (f"<div><b>%%linreg --stage {html.escape(contract.stage)}</b>: your code for "
            f"<i>{html.escape(contract.title)}</i>"
            f"<p>Provided (a fresh namespace, as the reference has it before its training "
            f"loop):</p>{table(contract.provided)}<p>The reference's training code uses: {uses}</p>"
            f"<p>Expected after your code:</p>{table(contract.expected)}"
            f"<p>Optional:</p>{table(contract.optional)}"
            f"<p>Recorded for you: {html.escape(contract.recorded)}</p></div>")
