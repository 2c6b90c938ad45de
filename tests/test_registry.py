"""Stages come through one door: built-ins, entry-point plugins, notebook stages."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from IPython.core.error import UsageError

import linreg_magic
from linreg_magic import registry

PLUGIN = '''
import torch
import torch.nn as nn
import torch.optim as optim

from linreg_magic.stage import Stage


def data_preparation(x_train, y_train, device):
    x_train_tensor = torch.as_tensor(x_train).float().to(device)
    y_train_tensor = torch.as_tensor(y_train).float().to(device)
    return dict(x_train_tensor=x_train_tensor, y_train_tensor=y_train_tensor)


def model_configuration(seed, device, lr):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(1, 1)).to(device)
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    return dict(model=model, optimizer=optimizer, loss_fn=nn.MSELoss())


def model_training(x_train_tensor, y_train_tensor, model, optimizer, loss_fn, n_epochs, tracker):
    for epoch in range(n_epochs):
        loss = loss_fn(model(x_train_tensor), y_train_tensor)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        tracker.log(loss, model)
    return dict(model=model)


STAGE = Stage(name="momentum", title="Momentum", summary="SGD with momentum 0.9",
              data_preparation=data_preparation, model_configuration=model_configuration,
              model_training=model_training, order=90)
'''


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An installed distribution (a dist-info on sys.path) declaring two stages."""
    (tmp_path / "momentum_stage.py").write_text(PLUGIN)
    (tmp_path / "broken_stage.py").write_text("raise ImportError('needs a package that is missing')\n")
    info = tmp_path / "momentum_stage-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: momentum-stage\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent("""
        [linreg_magic.stages]
        momentum = momentum_stage:STAGE
        broken = broken_stage:STAGE
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.refresh()
    yield tmp_path
    monkeypatch.undo()
    registry.refresh()


def test_builtins_are_declared_as_entry_points_of_the_installed_package():
    from importlib.metadata import entry_points

    declared = {ep.name: ep.value for ep in entry_points(group=registry.ENTRY_POINT_GROUP)}
    assert declared.items() >= dict(registry.BUILTIN_STAGES).items()


def test_available_stages_lists_the_ladder_without_importing_stage_modules():
    names = linreg_magic.available_stages()
    assert names[:8] == ["numpy", "tensors", "autograd", "optimizer", "loss", "module", "nested",
                         "sequential"]


def test_an_entry_point_plugin_joins_the_ladder_after_the_builtins(plugin_dir, ip):
    with pytest.warns(UserWarning, match="'broken' failed to load"):
        stages = registry.ladder()
    assert [s.name for s in stages][-1] == "momentum"
    result = ip.run_line_magic("linreg", "--stage momentum --device cpu --epochs 300")
    assert result.b == pytest.approx(1.0235, abs=1e-3)
    assert "momentum=0.9" in registry.get_stage("momentum").source()


def test_a_broken_plugin_is_one_line_and_the_others_still_run(plugin_dir, ip):
    with pytest.warns(UserWarning, match="needs a package that is missing"), \
            pytest.raises(UsageError) as excinfo:
        ip.run_line_magic("linreg", "--stage broken --device cpu")
    assert type(excinfo.value) is UsageError
    assert "could not be loaded" in str(excinfo.value)
    assert ip.run_line_magic("linreg", "--stage module --device cpu --epochs 2").stage == "module"


@pytest.mark.changes_session("user namespace")
def test_a_stage_defined_in_a_notebook_cell_can_be_registered_and_shown(ip):
    cell = textwrap.dedent('''
        import numpy as np
        from linreg_magic import Stage, register_stage

        def halving_configuration(seed):
            # starts from zero instead of random values
            return dict(b=np.zeros(1), w=np.zeros(1))

        def halving_training(x_train, y_train, b, w, lr, n_epochs, tracker):
            for epoch in range(n_epochs):
                error = b + w * x_train - y_train
                loss = (error ** 2).mean()
                b = b - lr * 2 * error.mean()
                w = w - lr * 2 * (x_train * error).mean()
                tracker.log(loss, b=b, w=w)
            return dict(b=b, w=w)

        register_stage(Stage(name="from_zero", title="From zero", summary="numpy from b = w = 0",
                             model_configuration=halving_configuration,
                             model_training=halving_training, uses_torch=False, returns="bw",
                             order=15))
    ''')
    try:
        ip.run_cell(cell).raise_error()
        assert "from_zero" in linreg_magic.available_stages()
        result = ip.run_line_magic("linreg", "--stage from_zero --epochs 1000")
        assert result.initial["b"][0] == 0.0
        assert result.b == pytest.approx(1.0235, abs=1e-3)
        assert [s.name for s in registry.ladder()][:3] == ["numpy", "from_zero", "tensors"]
        assert "starts from zero instead of random values" in registry.get_stage("from_zero").source()
    finally:
        linreg_magic.unregister_stage("from_zero")


def test_registering_a_builtin_name_is_refused():
    stage = registry.get_stage("numpy")
    with pytest.raises(ValueError, match="built-in"):
        linreg_magic.register_stage(stage)
