"""A run's header says how many epochs ran and how it stopped, in plain words; every
count of epochs on screen has its plural right; a body that failed shows where it stopped,
not what it "learned"."""

from __future__ import annotations

import re
import textwrap

from linreg_magic.text import count

LOOP = textwrap.dedent("""\
    for epoch in range(n_epochs):
        yhat = b + w * x_train_tensor
        error = (yhat - y_train_tensor)
        loss = (error ** 2).mean()
        loss.backward()
        with torch.no_grad():
            b -= lr * b.grad
            w -= lr * w.grad
        b.grad.zero_()
        w.grad.zero_()
""")


def _plain(captured) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(o.data.get("text/plain", "") for o in captured.outputs)


def _html(captured) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(o.data.get("text/html", "") for o in captured.outputs)


def _header(captured) -> str:  # type: ignore[no-untyped-def]
    return next(line for line in _plain(captured).splitlines() if line.startswith("autograd · "))


def _learned_column(captured) -> str:  # type: ignore[no-untyped-def]
    head = next(line for line in _plain(captured).splitlines() if line.startswith("parameter "))
    return re.split(r"\s{2,}", head)[1]


def test_count_says_one_epoch_and_many_epochs() -> None:
    assert [count(n, "epoch") for n in (0, 1, 2, 1000)] == ["0 epochs", "1 epoch", "2 epochs", "1,000 epochs"]


def test_a_body_that_fails_before_its_first_epoch_says_so_and_labels_its_starting_values(
        run_cell_outputs) -> None:
    body = LOOP.replace("w * x_train_tensor", "w * x_train")  # .numpy() of a tensor that requires grad
    result, captured = run_cell_outputs("--stage autograd --device cpu", body)
    assert result.epochs == 0
    header = _header(captured)
    assert header.endswith("your code stopped with RuntimeError before its first epoch"), header
    assert "not recorded" not in _plain(captured) and "0 epochs" not in header
    assert _learned_column(captured) == "where your code stopped"
    head = "<th style='text-align:right;font-family:monospace'>where your code stopped</th>"
    assert head in _html(captured)
    assert "learned" not in _html(captured).split("linreg-params")[1].split("</thead>")[0]


def test_a_body_that_fails_after_one_epoch_says_1_epoch_then_the_error(run_cell_outputs) -> None:
    body = LOOP + "    if epoch == 0:\n        raise ValueError('stop here')\n"
    result, captured = run_cell_outputs("--stage autograd --device cpu", body)
    assert result.epochs == 1
    header = _header(captured)
    assert header.endswith("· 1 epoch, then your code stopped with ValueError"), header
    assert "1 epochs" not in _plain(captured)
    assert "1 epoch, then your code stopped with ValueError</span>" in _html(captured)
    assert _learned_column(captured) == "where your code stopped"


def test_a_one_epoch_run_says_1_epoch_in_the_header_the_verdict_and_the_note(run_cell_outputs) -> None:
    _, reference = run_cell_outputs("--stage autograd --device cpu --epochs 1")
    _, student = run_cell_outputs("--stage autograd --device cpu --epochs 1", LOOP)
    for captured in (reference, student):
        text = _plain(captured)
        assert " · 1 epoch · " in _header(captured)
        assert "1 epochs" not in text and "1 epochs" not in _html(captured)
        assert _learned_column(captured) == "learned"
    assert "after 1 epoch the line's predictions" in _plain(reference)
    assert "epoch by epoch (1 epoch, within" in _plain(student)


def test_a_run_that_finished_keeps_its_plain_header(run_cell_outputs) -> None:
    _, captured = run_cell_outputs("--stage autograd --device cpu --epochs 20", LOOP)
    assert re.search(r"^autograd · .* · 20 epochs · \d+ ms training$", _header(captured), flags=re.M)
    assert "then" not in _header(captured)


def test_a_diverged_run_says_where_it_diverged_after_its_training_time(run_cell_outputs) -> None:
    _, captured = run_cell_outputs("--stage autograd --device cpu --lr 1.5")
    header = _header(captured)
    assert re.search(r"· \d+ ms training · diverged at epoch \d+", header), header
