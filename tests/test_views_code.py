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


def _rows(markup: str, kind: str) -> list[str]:
    cells = re.findall(rf"class='linreg-diff-{kind}'.*?</td><td[^>]*>(.*?)</td>", markup)
    return [_text(cell) for cell in cells]


def test_the_code_shown_is_the_file_that_runs() -> None:
    module = sys.modules[get_stage("module").model_training.__module__]
    with open(module.__file__ or "", encoding="utf-8") as f:
        source = f.read()
    assert source.rstrip() in code_text("module")
    assert source.splitlines()[20] in _text(code_html("module"))


def test_code_html_is_highlighted_with_inline_styles() -> None:
    markup = code_html("loss")
    assert 'style="color:' in markup  # pygments colours, inline
    assert "class=\"k\"" not in markup and "class=\"n\"" not in markup  # no stylesheet classes
    assert "nn.MSELoss(reduction=&#39;mean&#39;)" in markup or "MSELoss" in _text(markup)


def test_module_against_loss_adds_nn_parameter_and_removes_the_hand_made_b_and_w() -> None:
    lines = diff_text("module", "loss").splitlines()
    added = [line[1:].strip() for line in lines if line.startswith("+") and not line.startswith("+++")]
    removed = [line[1:].strip() for line in lines if line.startswith("-") and not line.startswith("---")]
    assert "self.b = nn.Parameter(torch.randn(1, requires_grad=True, dtype=torch.float))" in added
    assert "self.w = nn.Parameter(torch.randn(1, requires_grad=True, dtype=torch.float))" in added
    assert "b = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)" in removed
    assert "w = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)" in removed
    assert not any("nn.Parameter" in line for line in removed)


def test_the_html_diff_colours_the_same_added_and_removed_lines() -> None:
    markup = diff_html("module", "loss")
    added = [line.strip() for line in _rows(markup, "added")]
    removed = [line.strip() for line in _rows(markup, "removed")]
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
    assert inserted.count("linreg-diff-") == 1  # nothing on the left of an added line


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
    assert "+        self.b = nn.Parameter" in out.data["text/plain"]


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
        assert "b, w = np.zeros(1), np.zeros(1)  # starts from zero" in code_text("zero")
        with capture_output() as captured:
            ip.run_line_magic("linreg", "diff zero")
        text = captured.outputs[0].data["text/plain"]
        assert text.startswith("--- numpy (numpy_gd.py)\n+++ zero (defined in the notebook)")
        assert "+    b, w = np.zeros(1), np.zeros(1)  # starts from zero" in text
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
