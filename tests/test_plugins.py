"""The plugin contract (docs/plugins.md), tested with a stage from a separately built wheel.

The test builds a small plugin package with setuptools, installs its wheel into a
folder of its own with pip (no index, no network), puts that folder on ``sys.path``
and finds the stages through the ``linreg_magic.stages`` entry points, as a kernel
would after ``pip install``.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from importlib.metadata import distribution
from pathlib import Path

import pytest
from IPython.core.error import UsageError

import linreg_magic
from linreg_magic import registry
from linreg_magic.stage import CONTRACT_VERSION, SUPPORTED_CONTRACTS, Stage, contract_problem

DOCS = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"

PYPROJECT = """
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "linreg-momentum-plugin"
version = "0.1"
requires-python = ">=3.11"

[project.entry-points."linreg_magic.stages"]
momentum = "momentum_plugin.momentum:STAGE"
broken = "momentum_plugin.broken:STAGE"
future = "momentum_plugin.future:STAGE"

[tool.setuptools]
packages = ["momentum_plugin"]
"""

FUTURE = """
from linreg_magic.stage import Stage

from .momentum import model_configuration, model_training, data_preparation

STAGE = Stage(name="future", title="From the future", summary="written for a later contract",
              data_preparation=data_preparation, model_configuration=model_configuration,
              model_training=model_training, order=92, contract_version=99)
"""


def _documented_stage() -> str:
    """The stage file of docs/plugins.md, as a plugin author would copy it."""
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("```python\n") + len("```python\n")
    return text[start:text.index("```\n", start)]


def _pip(*args: str, cwd: Path) -> None:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    done = subprocess.run([sys.executable, "-m", "pip", *args, "--no-index", "--quiet"], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the installed plugin wheel: its modules and its dist-info."""
    root = tmp_path_factory.mktemp("plugin")
    package = root / "src" / "momentum_plugin"
    package.mkdir(parents=True)
    (root / "src" / "pyproject.toml").write_text(PYPROJECT)
    (package / "__init__.py").write_text("")
    (package / "momentum.py").write_text(_documented_stage())
    (package / "broken.py").write_text("raise ImportError('needs a package that is missing')\n")
    (package / "future.py").write_text(textwrap.dedent(FUTURE))
    _pip("wheel", "--no-build-isolation", "--no-deps", "--wheel-dir", str(root / "dist"),
         str(root / "src"), cwd=root)
    wheels = list((root / "dist").glob("linreg_momentum_plugin-0.1-*.whl"))
    assert len(wheels) == 1, wheels
    _pip("install", "--no-deps", "--target", str(root / "site"), str(wheels[0]), cwd=root)
    return root / "site"


@pytest.fixture
def installed(plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(plugin_site))
    registry.refresh()
    try:
        yield plugin_site
    finally:
        monkeypatch.undo()
        for name in [m for m in sys.modules if m.split(".")[0] == "momentum_plugin"]:
            del sys.modules[name]
        registry.refresh()


def test_the_wheel_is_an_installed_distribution_declaring_its_stages(installed: Path) -> None:
    dist = distribution("linreg-momentum-plugin")
    assert Path(str(dist.locate_file(""))).resolve() == installed.resolve()
    declared = {ep.name: ep.value for ep in dist.entry_points if ep.group == registry.ENTRY_POINT_GROUP}
    assert declared == {name: f"momentum_plugin.{name}:STAGE" for name in ("momentum", "broken", "future")}
    assert {"momentum", "broken", "future"} <= set(linreg_magic.available_stages())


def test_a_stage_from_the_wheel_loads_through_the_entry_point_and_runs(installed: Path, ip) -> None:  # type: ignore[no-untyped-def]
    stage = registry.get_stage("momentum")
    assert stage.contract_version == CONTRACT_VERSION
    where = Path(inspect.getsourcefile(stage.model_training) or "").resolve()
    assert where.is_relative_to(installed.resolve())
    assert "momentum=0.9" in stage.source()
    result = ip.run_line_magic("linreg", "--stage momentum --device cpu --epochs 300")
    assert result.stage == "momentum" and result.epochs == 300
    assert result.b == pytest.approx(1.0235, abs=1e-3) and result.w == pytest.approx(1.9690, abs=1e-3)


def test_a_broken_plugin_warns_and_every_other_stage_still_loads(installed: Path) -> None:
    with pytest.warns(UserWarning) as warned:
        names = [s.name for s in registry.ladder()]
    messages = sorted(str(w.message) for w in warned)
    assert messages == [
        "linreg_magic: stage 'broken' failed to load: ImportError: needs a package that is missing",
        "linreg_magic: stage 'future' is not loaded: it was written for plugin contract 99, and this "
        "linreg_magic speaks 1 (see docs/plugins.md): upgrade linreg_magic",
    ]
    assert names == ["numpy", "tensors", "autograd", "optimizer", "loss", "module", "nested", "sequential",
                     "momentum"]


@pytest.mark.parametrize("name", ["broken", "future"])
def test_asking_for_a_plugin_that_did_not_load_is_one_usage_error_line(installed, ip, name: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.warns(UserWarning), pytest.raises(UsageError) as info:
        ip.run_line_magic("linreg", f"--stage {name} --device cpu")
    assert type(info.value) is UsageError and "\n" not in str(info.value)
    assert str(info.value).startswith(f"Stage {name!r} could not be loaded (see the warning above)")
    assert ip.run_line_magic("linreg", "--stage momentum --device cpu --epochs 2").stage == "momentum"


def test_the_contract_version_is_checked_when_a_stage_declares_one() -> None:
    module = registry.get_stage("module")

    def declaring(version: int | None) -> Stage:
        return Stage(name="declared", title="d", summary="d", model_training=module.model_training,
                     contract_version=version)

    assert CONTRACT_VERSION in SUPPORTED_CONTRACTS
    assert contract_problem(declaring(None)) == contract_problem(declaring(CONTRACT_VERSION)) == ""
    assert contract_problem(declaring(0)).endswith("upgrade the plugin")
    with pytest.raises(ValueError, match="written for plugin contract 99"):
        linreg_magic.register_stage(declaring(99))
    assert "declared" not in linreg_magic.available_stages()


@pytest.mark.parametrize(("fields", "message"), [
    ({"name": "two words"}, "a stage's name is a word"),
    ({"returns": "weights"}, "is 'bw' or 'model', not 'weights'"),
    ({"model_training": "not code"}, "is not a function"),
])
def test_a_stage_that_breaks_the_contract_is_refused_when_it_is_made(fields: dict[str, object],
                                                                      message: str) -> None:
    given = {"name": "bad", "title": "t", "summary": "s", "model_training": registry.get_stage("module")
             .model_training, **fields}
    with pytest.raises((TypeError, ValueError), match=message):
        Stage(**given)  # type: ignore[arg-type]


def test_the_contract_page_carries_the_version_it_describes() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert text.splitlines()[0] == f"# Writing a stage: the plugin contract (version {CONTRACT_VERSION})"
    for name in ("tracker.log(loss, model)", "tracker.log(loss, b=b, w=w)", "contract_version",
                 "linreg_magic.stages", "capturable=True"):
        assert name in text
    assert f"contract_version={CONTRACT_VERSION})" in _documented_stage()
