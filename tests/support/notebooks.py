"""Run the scenario notebooks as users do: papermill with parameters, in a real kernel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


def notebook_names() -> list[str]:
    """Every scenario notebook (by the name of its percent-format script)."""
    return sorted(p.stem for p in NOTEBOOKS.glob("*.py"))


def run_notebook(name: str, out_dir: Path, **parameters: Any) -> nbformat.NotebookNode:
    """Execute ``notebooks/<name>.ipynb`` with papermill and these parameters; return the result.

    Runs in the notebooks folder, as JupyterLab does, so relative defaults resolve the same way."""
    import papermill as pm

    out = out_dir / f"{name}.out.ipynb"
    pm.execute_notebook(
        str(NOTEBOOKS / f"{name}.ipynb"),
        str(out),
        parameters=parameters,
        cwd=str(NOTEBOOKS),
        kernel_name="python3",
        progress_bar=False,
    )
    return nbformat.read(out, as_version=4)


def text_outputs(nb: nbformat.NotebookNode) -> str:
    """All text a reader sees in the executed notebook (stream and text/plain/markdown outputs)."""
    parts: list[str] = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output.get("text", ""))
            data = output.get("data", {})
            for mime in ("text/markdown", "text/plain"):
                if mime in data:
                    parts.append(data[mime] if isinstance(data[mime], str) else "".join(data[mime]))
    return "\n".join(parts)
