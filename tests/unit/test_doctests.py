"""The examples in the library's docstrings run, from the repository root, on the demo snapshot."""

from __future__ import annotations

import doctest
import importlib
import os
import pkgutil
from pathlib import Path

import pytest

import workbench

ROOT = Path(__file__).resolve().parents[2]
MODULES = [
    "workbench",
    *sorted(
        m.name
        for m in pkgutil.walk_packages(workbench.__path__, "workbench.")
        if not m.name.startswith(("workbench.ui", "workbench.cli.__main__"))
    ),
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str, demo_snapshot: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # examples open "data/demo" as a user in the repository would
    module = importlib.import_module(name)
    result = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples failed in {name}"


def test_the_ui_examples_run(demo_snapshot: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    for m in pkgutil.walk_packages(importlib.import_module("workbench.ui").__path__, "workbench.ui."):
        module = importlib.import_module(m.name)
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, f"docstring examples failed in {m.name}"
    assert os.getcwd() == str(ROOT)
