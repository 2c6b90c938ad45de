"""The package as a student installs it: one ``pip install`` of the built wheel into an
environment that already has torch and Jupyter, then the demo notebook runs there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.notebook


def _clean_env() -> dict[str, str]:
    """This process's environment without anything that would find the source tree."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["MPLBACKEND"] = "Agg"
    return env


def _student_env(root: Path) -> Path:
    """A new venv that sees this environment's packages (torch, Jupyter) but not its
    editable linreg_magic: a plain path in a .pth file adds the folder, not its .pth files."""
    venv = root / "student"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "existing-environment.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def test_the_built_wheel_installs_with_one_pip_install_and_runs_the_demo(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    env = _clean_env()
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(dist), str(ROOT)], check=True, env=env, timeout=300, cwd=tmp_path)
    [wheel] = dist.glob("linreg_magic-*.whl")
    python = _student_env(tmp_path)
    installed = subprocess.run([python, "-m", "pip", "install", "--no-index", "-q", str(wheel)],
                               capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr[-2000:]  # no download: torch & co are there
    where = subprocess.run([python, "-c", "import linreg_magic; print(linreg_magic.__file__)"],
                           capture_output=True, text=True, check=True, env=env, cwd=tmp_path).stdout
    assert where.startswith(str(tmp_path / "student")), where

    nb = nbformat.read(ROOT / "demo.ipynb", as_version=4)
    spec = tmp_path / "jupyter" / "kernels" / "student"
    spec.mkdir(parents=True)
    scripts = f"{sysconfig.get_path('scripts')}{os.pathsep}{env.get('PATH', '')}"  # graphviz-pure's program
    spec.joinpath("kernel.json").write_text(json.dumps(
        {"argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
         "display_name": "student", "language": "python",
         "env": {"PYTHONPATH": "", "PATH": scripts, "MPLBACKEND": "Agg"}}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    NotebookClient(nb, kernel_name="student", timeout=300,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[0]
    shown = {m for c in nb.cells if c.cell_type == "code" for o in c.outputs for m in o.get("data", {})}
    assert {"image/png", "image/svg+xml", "application/vnd.jupyter.widget-view+json"} <= shown
