"""``wb.ui.<Page>(ds)``: every dashboard page's component is reachable by its class name from
the package, as in a notebook, and renders inline."""

from __future__ import annotations

import importlib
from pathlib import Path

import panel as pn
import pytest

import workbench as wb
import workbench.ui
from tests.support.snapshots import write_small_snapshot
from workbench.ui.scope import PAGES


def test_every_page_has_its_component_by_class_name() -> None:
    assert len(wb.ui.PAGE_CLASSES) == len(PAGES)  # one component per served page
    for name, module in wb.ui.PAGE_CLASSES.items():
        cls = getattr(wb.ui, name)
        assert cls is getattr(importlib.import_module(f"workbench.ui.{module}"), name)
        assert issubclass(cls, pn.viewable.Viewer), name
        assert name in wb.ui.__all__
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchPage'"):
        _ = wb.ui.NoSuchPage


def test_a_page_from_the_package_renders_inline(tmp_path: Path) -> None:
    ds = wb.open(write_small_snapshot(tmp_path / "small"))
    page = wb.ui.PendingPods(ds)
    assert pn.panel(page).get_root() is not None  # what JupyterLab displays
