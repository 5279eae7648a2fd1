"""Every scenario notebook is thin, paired with its percent script, committed without outputs,
and runs as-is on the demo snapshot. (Runs with other parameters live beside each scenario's
tests in this folder.)"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest

from tests.support.notebooks import NOTEBOOKS, notebook_names, run_notebook, text_outputs

NAMES = notebook_names()


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_paired_stripped_and_parameterised(name: str) -> None:
    ipynb = NOTEBOOKS / f"{name}.ipynb"
    assert ipynb.is_file(), f"{ipynb} is missing: run `.venv/bin/jupytext --to ipynb notebooks/{name}.py`"
    nb = nbformat.read(ipynb, as_version=4)
    script = jupytext.read(NOTEBOOKS / f"{name}.py")
    assert [c.source for c in nb.cells] == [c.source for c in script.cells], (
        f"{ipynb.name} and {name}.py differ: run `.venv/bin/jupytext --sync notebooks/{name}.py`"
    )
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{ipynb.name} is committed with outputs"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{ipynb.name} needs exactly one cell tagged 'parameters'"
    assert "snapshot" in tagged[0].source


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_as_is_on_the_demo(name: str, demo_snapshot: Path, tmp_path: Path) -> None:
    nb = run_notebook(name, tmp_path)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert text_outputs(nb).strip(), f"{name} printed nothing for a reader"
