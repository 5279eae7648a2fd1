"""Panel components: thin views over :mod:`workbench.analyses` and :mod:`workbench.viz`.

Each page is a :class:`panel.viewable.Viewer` that renders inline in JupyterLab and, through
its ``page()`` method, as a served dashboard (``apps/*.py``, ``workbench serve``). Shared
pieces (template, safe tables, URL sync, number formats) are in :mod:`workbench.ui.common`.

>>> import workbench as wb, workbench.ui
>>> wb.ui.Overview(wb.open("data/demo"))          # doctest: +SKIP

Page modules other than the overview are imported on first use (``workbench.ui.<page>``).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from workbench.ui.overview import Overview

_MODULES = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))

__all__ = ["Overview", *_MODULES]


def __getattr__(name: str) -> ModuleType:
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    msg = f"module {__name__!r} has no attribute {name!r}; it has: {', '.join(__all__)}"
    raise AttributeError(msg)
