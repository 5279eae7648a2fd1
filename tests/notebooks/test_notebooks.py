"""Every scenario notebook is paired with its percent script, committed without outputs, and has
one parameters cell. (nbval runs each as-is on the demo: `--nbval-lax` in pyproject.toml; runs
with other parameters live beside each scenario's tests in this folder.)"""

from __future__ import annotations

import jupytext
import nbformat
import pytest

from tests.support.notebooks import NOTEBOOKS, notebook_names

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
            assert not cell.outputs and cell.execution_count is None, (
                f"{ipynb.name} is committed with outputs"
            )
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{ipynb.name} needs exactly one cell tagged 'parameters'"
    assert "snapshot" in tagged[0].source
