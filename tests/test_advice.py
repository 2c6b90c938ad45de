"""Advice under a run's table helps: following it gets there, and it never offers
what cannot help (scaling a constant feature, more epochs on the stability limit,
a percentage of a closed-form value of 0)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import linreg_magic
from linreg_magic.data import make_data
from linreg_magic.lr import largest_stable_lr
from linreg_magic.options import Options
from linreg_magic.views import data_note


def _suggested_epochs(note: str) -> int:
    found = re.search(r"\(--epochs ([\d,]+)\)", note)
    assert found, note
    return int(found.group(1).replace(",", ""))


@pytest.mark.parametrize(("lr", "epochs"), [(0.01, 300), (0.1, 30), (0.3, 10)])
def test_the_epochs_a_note_suggests_get_there(lr: float, epochs: int) -> None:
    note = data_note(linreg_magic.run(stage="numpy", lr=lr, epochs=epochs))
    assert note.startswith("Not there yet")
    suggested = _suggested_epochs(note)
    assert "Not there yet" not in data_note(linreg_magic.run(stage="numpy", lr=lr, epochs=suggested))


def test_at_an_lr_on_the_stability_limit_the_note_says_more_epochs_cannot_help() -> None:
    limit = largest_stable_lr(make_data(Options()))
    result = linreg_magic.run(stage="numpy", lr=limit, epochs=2000)
    assert result.stopped is None and not result.diverging  # it oscillates for ever
    note = data_note(result)
    assert "Not there yet" in note and "more epochs cannot help; try --lr 0.5." in note
    assert "--epochs" not in note


def test_just_under_the_limit_the_note_suggests_a_smaller_lr() -> None:
    limit = largest_stable_lr(make_data(Options()))
    note = data_note(linreg_magic.run(stage="numpy", lr=0.999 * limit, epochs=300))
    assert "the steepest direction oscillates and settles slowly" in note
    assert "a smaller --lr such as 0.5 settles faster" in note


def test_a_constant_feature_gets_no_advice_to_standardize(ip) -> None:  # type: ignore[no-untyped-def]
    rs = np.random.RandomState(2)
    a = rs.rand(60)
    ip.user_ns.update(table=np.column_stack([a, np.full(60, 3.0)]), target=1 + 2 * a)
    try:
        result = ip.run_line_magic("linreg", "--data user --x table --y target --stage sequential "
                                   "--epochs 20 --device cpu --show params")
    finally:
        del ip.user_ns["table"], ip.user_ns["target"]
    note = data_note(result)
    assert "Not there yet" in note and "--scale standard" not in note
    plain = data_note(linreg_magic.run(stage="numpy", epochs=20))
    assert "--scale standard" in plain  # where it can help, it is offered


def test_a_closed_form_value_of_zero_gives_no_absurd_percentage(ip) -> None:  # type: ignore[no-untyped-def]
    x = np.linspace(0, 1, 50)
    ip.user_ns.update(xs=x, ys=2 * x)  # through the origin: the closed-form b is 0
    try:
        result = ip.run_line_magic("linreg", "--data user --x xs --y ys --stage numpy --epochs 30 "
                                   "--show params")
    finally:
        del ip.user_ns["xs"], ip.user_ns["ys"]
    assert abs(result.reference.intercept) < 1e-12
    note = data_note(result)
    shares = [int(p) for p in re.findall(r"(\d+)% of y's standard deviation", note)]
    assert len(shares) == 1 and 1 < shares[0] < 100, note
    assert "%" not in note.replace(f"{shares[0]}%", "")
