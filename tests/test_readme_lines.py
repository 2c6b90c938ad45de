"""Every ``%linreg`` line in the README's code blocks runs as written in a real IPython
shell (a ``%%linreg`` line with the rest of its block as the cell body)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from IPython.utils.capture import capture_output

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_cells() -> list[str]:
    """The ``%linreg`` lines of the README's python blocks, each as the cell it is: a
    ``%linreg`` line on its own, a ``%%linreg`` line with the rest of its block."""
    cells: list[str] = []
    for block in re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S):
        lines = block.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("%%linreg"):
                cells.append("\n".join(lines[i:]) + "\n")
                break
            if line.startswith("%linreg"):
                cells.append(line)
    return cells


def _needs_a_gpu(cell: str) -> bool:
    first = cell.splitlines()[0].split("#")[0]
    return bool(re.search(r"--device[ =]cuda|--cuda-graph(?! off)", first))


def _param(cell: str) -> object:
    marks = []
    if _needs_a_gpu(cell) and not torch.cuda.is_available():
        reason = f"needs a CUDA GPU, and none is visible: {cell.splitlines()[0]}"
        marks.append(pytest.mark.skip(reason=reason))
    return pytest.param(cell, id=cell.splitlines()[0], marks=marks)


def test_the_readme_has_linreg_lines_in_its_code_blocks() -> None:
    firsts = [cell.splitlines()[0] for cell in readme_cells()]
    assert "%linreg list                                          # the stages, in ladder order" in firsts
    assert any(line.startswith("%%linreg --stage autograd") for line in firsts)
    assert len(firsts) >= 5


@pytest.mark.parametrize("cell", [_param(cell) for cell in readme_cells()])
def test_each_readme_linreg_line_runs_as_written(ip, cell) -> None:
    with capture_output() as captured:
        outcome = ip.run_cell(cell, store_history=False)
    assert outcome.error_before_exec is None, (cell, outcome.error_before_exec)
    assert outcome.error_in_exec is None, (cell, outcome.error_in_exec)
    plain = "".join(o.data.get("text/plain", "") for o in captured.outputs)
    shown = captured.stdout + captured.stderr + plain
    assert "UsageError" not in shown and "Traceback" not in shown, (cell, shown)
    assert shown.strip() or ip.user_ns.get("_") is not None, cell


def test_a_line_that_needs_a_gpu_is_told_from_one_that_does_not() -> None:
    assert _needs_a_gpu("%%linreg --stage module --device cuda\n# body")
    assert _needs_a_gpu("%%linreg --stage module --cuda-graph")
    assert not _needs_a_gpu("%linreg --stage module --cuda-graph off")
    assert not _needs_a_gpu("%linreg bench --devices cpu,cuda   # --device cuda")
