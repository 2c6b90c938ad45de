"""The autograd graph renders with what is installed, and degrades to text."""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

import pytest
from IPython.utils.capture import capture_output

import linreg_magic
from linreg_magic.views import graph_of, render_graph
from linreg_magic.views.graph import RENDERER_ENV, find_renderer


def _graphviz_pure() -> str:
    for folder in (os.path.dirname(sys.executable), sysconfig.get_path("scripts")):
        exe = Path(folder) / "graphviz-pure"
        if exe.exists():
            return str(exe)
    found = shutil.which("graphviz-pure")
    assert found, "graphviz-pure is a dependency and must be installed"
    return found


@pytest.fixture(scope="module")
def module_result():
    return linreg_magic.run(stage="module", device="cpu", epochs=5)


def test_graph_renders_after_pip_install_without_system_graphviz(module_result, monkeypatch):
    monkeypatch.delenv(RENDERER_ENV, raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")  # no `dot`, no venv bin on PATH (a bare kernel)
    rendered = render_graph(graph_of(module_result))
    assert rendered.svg is not None, rendered.error
    assert os.path.basename(rendered.program or "") in ("graphviz-pure", "dot")
    assert "MseLossBackward0" in rendered.svg


def test_a_dot_on_path_is_preferred(module_result, monkeypatch, tmp_path):
    # a real renderer installed under the name `dot` (graphviz-pure speaks dot's flags)
    (tmp_path / "dot").symlink_to(_graphviz_pure())
    monkeypatch.delenv(RENDERER_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_renderer() == str(tmp_path / "dot")
    assert render_graph(graph_of(module_result)).svg is not None


def test_without_a_renderer_the_dot_source_and_a_hint_are_shown(ip, monkeypatch):
    monkeypatch.setenv(RENDERER_ENV, "none")
    with capture_output() as captured:
        ip.run_line_magic("linreg", "--stage loss --device cpu --epochs 3")
    graph = next(o.data["text/plain"] for o in captured.outputs
                 if "Graph not drawn" in o.data["text/plain"])
    first, rest = graph.split("\n", 1)
    assert "pip install graphviz-pure" in first and "dot" in first
    assert rest.startswith("digraph") and "MseLossBackward0" in rest
    assert not any("image/svg+xml" in o.data for o in captured.outputs)


def test_node_ids_are_numbered_so_the_same_model_renders_once(module_result):
    again = linreg_magic.run(stage="module", device="cpu", epochs=5)
    first, second = render_graph(graph_of(module_result)), render_graph(graph_of(again))
    assert first.source == second.source
    assert first is second  # the cached drawing is reused


def test_parameters_are_labelled_with_their_names_and_shapes(module_result):
    source = graph_of(module_result).source
    assert "b\n (1)" in source.replace("\\n", "\n") and "w\n (1)" in source.replace("\\n", "\n")
    assert "fontname=Courier" in source
    assert "loss\n ()" in source.replace("\\n", "\n")


def test_the_widget_and_the_magic_say_the_same_when_the_graph_cannot_be_drawn(ip, monkeypatch):
    from linreg_magic import LinregWidget
    from linreg_magic.views.graph import graph_bundle

    monkeypatch.setenv(RENDERER_ENV, "none")
    with capture_output() as captured:
        result = ip.run_line_magic("linreg", "--stage loss --device cpu --epochs 3")
    shown = next(o.data for o in captured.outputs if "Graph not drawn" in o.data["text/plain"])
    assert shown == graph_bundle(result)
    w = LinregWidget(stage="loss", device="cpu", epochs=3, tab="graph")
    assert w.result is not None
    assert w.views["graph"].value == graph_bundle(w.result)["text/html"]
    assert "pip install graphviz-pure" in w.views["graph"].value and "digraph" in w.views["graph"].value


def test_a_numpy_stage_says_why_it_has_no_graph_in_both_places(ip):
    from linreg_magic.views.graph import graph_bundle

    with capture_output() as captured:
        result = ip.run_line_magic("linreg", "--stage numpy --epochs 3")
    bundle = graph_bundle(result)
    assert bundle["text/plain"].startswith("Graph: ") and "image/svg+xml" not in bundle
    assert bundle in [o.data for o in captured.outputs]
