"""--show picks the views; every output is a mime bundle with a text/plain fallback."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from linreg_magic import run
from linreg_magic.options import VIEWS, Options
from linreg_magic.views import plot_fit


def _kinds(captured) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return [sorted(o.data) for o in captured.outputs]


def test_the_default_views_are_params_fit_loss_and_graph(run_cell_outputs) -> None:  # type: ignore[no-untyped-def]
    assert Options().views == ("params", "fit", "loss", "graph")
    _, captured = run_cell_outputs("--stage module --device cpu")
    assert _kinds(captured) == [["text/html", "text/plain"], ["text/html", "text/plain"],
                                ["image/png", "text/plain"], ["image/svg+xml", "text/plain"]]


def test_every_view_is_shown_in_order_and_every_output_has_text(run_cell_outputs) -> None:  # type: ignore[no-untyped-def]
    _, captured = run_cell_outputs("--stage module --device cpu --show " + ",".join(reversed(VIEWS)))
    texts = [o.data["text/plain"] for o in captured.outputs]
    assert len(texts) == 7  # header, params, fit+loss, surface, graph, code, diff
    assert "fit and loss curves" in texts[2] and "loss surface" in texts[3]
    assert "autograd graph" in texts[4]
    assert texts[5].startswith("# module · module.py") and texts[6].startswith("--- loss")
    assert all(t.strip() for t in texts)


def test_only_the_views_asked_for_are_shown(run_cell_outputs) -> None:  # type: ignore[no-untyped-def]
    _, captured = run_cell_outputs("--stage loss --device cpu --show loss,code")
    texts = [o.data["text/plain"] for o in captured.outputs]
    assert len(texts) == 3 and "loss curves" in texts[1] and "fit" not in texts[1]
    assert "def model_training" in texts[2]


def test_terminal_text_shows_numbers_code_and_where_figures_were_skipped(run_cell_outputs) -> None:  # type: ignore[no-untyped-def]
    _, captured = run_cell_outputs("--stage numpy --show params,fit,surface,code")
    text = "\n".join(o.data["text/plain"] for o in captured.outputs)
    assert "b (intercept)   1.02354094" in text
    assert "[figure: numpy fit; shown as an image in a notebook]" in text
    assert "def model_training" in text


@pytest.mark.parametrize(("value", "message"), [
    ("params,fits", "unknown view 'fits'. Valid views are params, fit, loss, surface, graph, code, "
                    "diff .* Did you mean fit"),
    (",", "--show got no views"),
])
def test_a_bad_view_is_one_usage_error_listing_the_views(ip, value: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match=message) as caught:
        ip.run_line_magic("linreg", f"--show {value}")
    assert type(caught.value) is UsageError


def test_a_million_points_are_trained_on_and_a_sample_is_drawn() -> None:
    result = run(stage="numpy", n=1_000_000, epochs=3, seed=1)
    assert len(result.data.x) == 1_000_000
    ax = plot_fit(result)
    sizes = [len(c.get_offsets()) for c in ax.collections]
    assert sizes == [2000, 2000]
    assert ax.get_title().endswith("(showing 4,000 of 1,000,000 points)")


def test_a_stopped_or_checked_run_gets_no_training_advice_under_its_table():
    from linreg_magic import run
    from linreg_magic.views import data_note

    diverged = run(stage="optimizer", device="cpu", lr=1.5, epochs=200)
    assert diverged.stopped is not None and "diverged" in diverged.stopped.text
    assert "Not there yet" not in data_note(diverged)
    short = run(stage="optimizer", device="cpu", epochs=5)
    assert "Not there yet" in data_note(short)
    short = short.replace(checked=True)
    assert data_note(short) == ""


def _pictures(outputs) -> list[tuple[tuple[int, int], tuple[int, int]]]:  # type: ignore[no-untyped-def]
    """(pixels, CSS size from the metadata) of every PNG shown."""
    import base64
    import io

    from PIL import Image

    return [(Image.open(io.BytesIO(base64.b64decode(o.data["image/png"]))).size,
             (o.metadata["image/png"]["width"], o.metadata["image/png"]["height"]))
            for o in outputs if "image/png" in o.data]


@pytest.mark.parametrize("line", [
    "--stage module --device cpu --epochs 20 --show fit,loss,surface",  # the result figure, the surface
    "--stage module --device cpu --epochs 20 --show fit",  # a figure of its own
    "compare numpy module --epochs 20",
    "bench --sizes 100,200 --devices cpu --epochs 3",
])
def test_the_magics_figures_are_drawn_at_twice_the_size_they_are_shown_at(ip, line: str) -> None:  # type: ignore[no-untyped-def]
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        ip.run_line_magic("linreg", line)
    pictures = _pictures(captured.outputs)
    assert pictures
    for (pixels_w, pixels_h), (css_w, css_h) in pictures:
        assert 300 <= css_w <= 1000, css_w  # shown at its CSS size, not its pixels'
        assert abs(pixels_w - 2 * css_w) <= 2 and abs(pixels_h - 2 * css_h) <= 2
