"""The code view and the diff view: read from the stages' own files, highlighted."""

from __future__ import annotations

import html
import re
import sys

import pytest
from IPython.core.error import UsageError

from linreg_magic.registry import get_stage
from linreg_magic.views import code_html, code_text, diff_html, diff_text


def _text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def _file_lines(stage: str) -> list[str]:
    module = sys.modules[get_stage(stage).model_training.__module__]
    with open(module.__file__ or "", encoding="utf-8") as f:
        return f.read().splitlines()


def _diff_rows(markup: str) -> list[tuple[str, str, str, str]]:
    """(old number, new number, kind, code) of each row of a unified HTML diff."""
    rows = []
    for row in markup.split("<tr>")[1:]:
        numbers = re.findall(r"class='linreg-diff-(?:old|new)'[^>]*>(\d*)</td>", row)
        kind = re.search(r"class='linreg-diff-(added|removed|same|instrumentation)'", row)
        code = re.search(r"<pre[^>]*>(.*?)</pre>", row)
        if len(numbers) == 2 and kind and code:
            rows.append((numbers[0], numbers[1], kind.group(1), _text(code.group(1))))
    return rows


LADDER = ["numpy", "tensors", "autograd", "optimizer", "loss", "module", "nested", "sequential"]


def test_the_code_shown_is_the_file_that_runs() -> None:
    lines = _file_lines("module")
    text = code_text("module")
    registration = next(i for i, line in enumerate(lines) if line.startswith("STAGE = Stage("))
    for number, line in enumerate(lines[:registration], 1):
        if line.strip() and "linreg_magic.stage import" not in line:
            assert re.search(rf"^\s*{number} [ ·] {re.escape(line)}$", text, flags=re.M), line
    assert lines[20] in _text(code_html("module"))


def test_code_html_is_highlighted_with_inline_styles() -> None:
    markup = code_html("loss")
    assert 'style="color:' in markup  # pygments colours, inline
    assert "class=\"k\"" not in markup and "class=\"n\"" not in markup  # no stylesheet classes
    assert "nn.MSELoss(reduction=&#39;mean&#39;)" in markup or "MSELoss" in _text(markup)


def test_the_code_view_greys_the_recording_and_the_hand_off_and_says_what_they_do() -> None:
    markup = code_html("module")
    set_apart = re.findall(r"<span class='linreg-instrumentation'[^>]*>(.*?)</span><span[^>]*>\s*"
                           r"\u25c2 ([^<]*)</span>", markup)
    texts = [(_text(code).strip(), purpose) for code, purpose in set_apart]
    assert ("tracker.log(loss, model)", "records the epoch for the views") in texts
    assert ("return dict(model=model, loss=loss)", "hands these names to the next step") in texts
    assert len(texts) == 4  # three steps' returns and one tracker.log
    assert "are not the book&#x27;s code" in markup or "are not the book's code" in markup
    text = code_text("module")
    assert re.search(r"^\s*\d+ · +tracker\.log\(loss, model\)$", text, flags=re.M)
    assert re.search(r"^\s*\d+   +print\(model\.state_dict\(\)\)$", text, flags=re.M)


def test_the_registration_is_folded_under_the_code_not_shown_as_the_lesson() -> None:
    markup = code_html("autograd")
    listing, folded = markup.split("<details", 1)
    assert "STAGE" not in _text(listing) and "linreg_magic.stage" not in _text(listing)
    assert "STAGE = Stage(" in _text(folded) and "registration, folded" in _text(folded)
    *listed, summary = code_text("autograd").splitlines()
    assert not any("STAGE" in line or "linreg_magic.stage" in line for line in listed)
    lines = _file_lines("autograd")
    first = lines.index("STAGE = Stage(") + 1
    imported = lines.index("from linreg_magic.stage import Stage") + 1
    assert summary == f"# registration, folded: lines {imported}, {first}-{len(lines)} (STAGE = Stage(...))"


@pytest.mark.parametrize("stage", LADDER[1:])
def test_no_diff_shows_the_registration_or_the_docstring(stage: str) -> None:
    for other in (None, "numpy"):
        text = diff_text(stage, other)
        markup = _text(diff_html(stage, other)) + _text(diff_html(stage, other, side_by_side=True))
        for shown in (text, markup):
            assert "STAGE" not in shown and "Stage(" not in shown and "order=" not in shown
            assert "linreg_magic.stage" not in shown and "summary=" not in shown
            assert '"""' not in shown


def test_module_against_loss_adds_nn_parameter_and_removes_the_hand_made_b_and_w() -> None:
    from linreg_magic.views.diff import changed_lines

    removed, added = (list(map(str.strip, side)) for side in changed_lines("module", "loss"))
    assert "self.b = nn.Parameter(torch.randn(1, requires_grad=True, dtype=torch.float))" in added
    assert "self.w = nn.Parameter(torch.randn(1, requires_grad=True, dtype=torch.float))" in added
    assert "b = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)" in removed
    assert "w = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)" in removed
    assert not any("nn.Parameter" in line for line in removed)
    assert not any("tracker.log" in line or "return dict" in line for line in removed + added)


def test_a_changed_recording_line_is_greyed_and_not_counted_as_a_change() -> None:
    markup = diff_html("module", "loss")
    rows = _diff_rows(markup)
    (log,) = [r for r in rows if "tracker.log" in r[3]]
    assert log[2] == "instrumentation" and log[3].strip().startswith("tracker.log(loss, model)")
    added = sum(1 for r in rows if r[2] == "added")
    removed = sum(1 for r in rows if r[2] == "removed")
    assert f">+{added}</span>" in markup and f"&minus;{removed}</span>" in markup


def test_the_diff_numbers_old_and_new_lines_in_their_own_columns() -> None:
    old_file, new_file = _file_lines("loss"), _file_lines("module")
    rows = _diff_rows(diff_html("module", "loss"))
    assert rows
    for old, new, kind, code in rows:
        if kind == "added":
            assert old == "" and new_file[int(new) - 1] == code
        elif kind == "removed":
            assert new == "" and old_file[int(old) - 1] == code
        else:
            assert new_file[int(new) - 1].startswith(code.split("   \u25c2")[0].rstrip())
            assert old != "" and (kind == "instrumentation" or old_file[int(old) - 1] == code)
    assert any(kind == "same" and old != new for old, new, kind, _ in rows)  # the files shifted
    text_rows = [line for line in diff_text("module", "loss").splitlines() if line[:1] in "+- "
                 and not line.startswith(("---", "+++"))]
    added = next(line for line in text_rows if "self.b = nn.Parameter" in line)
    assert re.match(r"^\+ {5}\s*(\d+)   ", added)
    number = int(re.match(r"^\+\s+(\d+)", added).group(1))  # type: ignore[union-attr]
    assert new_file[number - 1].strip() == "self.b = nn.Parameter(torch.randn(1, requires_grad=True, " \
                                           "dtype=torch.float))"


def test_the_html_diff_colours_the_same_added_and_removed_lines() -> None:
    markup = diff_html("module", "loss")
    rows = _diff_rows(markup)
    added = [code.strip() for _, _, kind, code in rows if kind == "added"]
    removed = [code.strip() for _, _, kind, code in rows if kind == "removed"]
    assert "self.w = nn.Parameter(torch.randn(1, requires_grad=True, dtype=torch.float))" in added
    assert "b = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)" in removed
    assert "#e6ffec" in markup and "#ffebe9" in markup
    text_lines = diff_text("module", "loss").splitlines()
    assert len(added) == sum(1 for line in text_lines if line.startswith("+") and not line.startswith("+++"))


def test_the_diff_defaults_to_the_previous_stage_in_the_ladder() -> None:
    assert diff_text("module") == diff_text("module", "loss")
    assert diff_text("tensors").startswith("--- numpy")


def test_side_by_side_shows_both_versions_on_one_row() -> None:
    markup = diff_html("module", side_by_side=True)
    row = next(r for r in markup.split("<tr>") if "optim.SGD([b, w], lr=lr)" in _text(r))
    assert "(now retrieved directly from the model)" in _text(row)
    assert "linreg-diff-removed" in row and "linreg-diff-added" in row
    inserted = next(r for r in markup.split("<tr>") if "self.b = nn.Parameter" in _text(r))
    assert len(re.findall("linreg-diff-(?:added|removed|same)", inserted)) == 1  # nothing on its left


def test_a_stage_against_itself_has_no_changes() -> None:
    assert "same code" in diff_html("module", "module")


def test_the_text_diff_of_a_stage_against_itself_says_the_code_is_the_same() -> None:
    assert diff_text("module", "module") == "module \u2192 module\nThe two stages have the same code.\n"


def test_percent_linreg_diff_of_a_stage_with_itself_says_so_in_both_formats(ip) -> None:  # type: ignore[no-untyped-def]
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        ip.run_line_magic("linreg", "diff module module")
    (out,) = captured.outputs
    assert "The two stages have the same code." in out.data["text/html"]
    assert "The two stages have the same code." in out.data["text/plain"]


def test_the_first_stage_has_nothing_to_diff_against() -> None:
    with pytest.raises(UsageError, match="first stage"):
        diff_text("numpy")


def test_percent_linreg_diff_shows_the_diff_without_training(ip, capsys) -> None:  # type: ignore[no-untyped-def]
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        value = ip.run_line_magic("linreg", "diff module")
    assert value is None
    (out,) = captured.outputs
    assert set(out.data) == {"text/html", "text/plain"}
    assert re.search(r"^\+ +\d+     +self\.b = nn\.Parameter", out.data["text/plain"], flags=re.M)


def test_percent_linreg_diff_takes_another_stage_and_side_by_side(ip) -> None:  # type: ignore[no-untyped-def]
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        ip.run_line_magic("linreg", "diff sequential numpy --side-by-side")
    (out,) = captured.outputs
    assert out.data["text/plain"].startswith("--- numpy")
    assert "<b>numpy</b> &rarr; <b>sequential</b>" in out.data["text/html"]


def test_percent_linreg_diff_of_the_first_stage_is_a_note(ip) -> None:  # type: ignore[no-untyped-def]
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        ip.run_line_magic("linreg", "diff numpy")
    (out,) = captured.outputs
    assert "first stage" in out.data["text/plain"]


def test_percent_linreg_code_shows_the_stage(ip) -> None:  # type: ignore[no-untyped-def]
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        ip.run_line_magic("linreg", "code nested")
    (out,) = captured.outputs
    assert "class MyLinearRegression" in out.data["text/plain"]
    assert "MyLinearRegression" in _text(out.data["text/html"])


@pytest.mark.parametrize(("line", "message"), [
    ("code modul", "Unknown stage 'modul'.*Did you mean --stage module"),
    ("code", "code needs a stage"),
    ("code module loss", "code takes one stage"),
    ("diff a b c", "diff takes a stage"),
])
def test_bad_code_and_diff_commands_are_one_usage_error(ip, line: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match=message) as caught:
        ip.run_line_magic("linreg", line)
    assert type(caught.value) is UsageError
    assert "\n" not in str(caught.value)


@pytest.mark.changes_session("user namespace")
def test_a_stage_defined_in_the_notebook_shows_its_code_and_its_diff(ip) -> None:  # type: ignore[no-untyped-def]
    from IPython.utils.capture import capture_output

    import linreg_magic

    cell = '''
import numpy as np
from linreg_magic import Stage, register_stage

def zero_training(x_train, y_train, lr, n_epochs, tracker):
    b, w = np.zeros(1), np.zeros(1)  # starts from zero
    for epoch in range(n_epochs):
        error = b + w * x_train - y_train
        b = b - lr * 2 * error.mean()
        w = w - lr * 2 * (x_train * error).mean()
        tracker.log((error ** 2).mean(), b=b, w=w)
    return dict(b=b, w=w)

register_stage(Stage(name="zero", title="Zero", summary="from zero", model_training=zero_training,
                     uses_torch=False, returns="bw", order=15))
'''
    try:
        ip.run_cell(cell).raise_error()
        assert code_text("zero").startswith("# zero · defined in the notebook\n")
        assert re.search(r"^ *\d+ {7}b, w = np.zeros\(1\), np.zeros\(1\)  # starts from zero$",
                         code_text("zero"), flags=re.M)
        with capture_output() as captured:
            ip.run_line_magic("linreg", "diff zero")
        text = captured.outputs[0].data["text/plain"]
        assert text.startswith("--- numpy (numpy_gd.py)\n+++ zero (defined in the notebook)")
        assert re.search(r"^\+ +\d+ {7}b, w = np.zeros\(1\), np.zeros\(1\)  # starts from zero$",
                         text, flags=re.M)
    finally:
        linreg_magic.unregister_stage("zero")
        for name in ("np", "Stage", "register_stage", "zero_training"):
            ip.user_ns.pop(name, None)


def test_diff_keeps_indentation_through_nbconvert_html_export():
    import nbformat
    from nbconvert import HTMLExporter

    from linreg_magic.views import diff_html

    cell = nbformat.v4.new_code_cell("%linreg diff module")
    cell.outputs = [nbformat.v4.new_output("display_data",
                                           data={"text/html": diff_html("module"), "text/plain": ""})]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [cell]
    body, _ = HTMLExporter().from_notebook_node(notebook)
    assert ">    <span style=\"color: #008000; font-weight: bold\">def</span>" in body
