"""Panel components: thin views over :mod:`workbench.analyses` and :mod:`workbench.viz`.

Each page is a :class:`panel.viewable.Viewer` that renders inline in JupyterLab and, through
its ``page()`` method, as a served dashboard (``apps/*.py``, ``workbench serve``). Shared
pieces (template, safe tables, URL sync, number formats) are in :mod:`workbench.ui.common`.

>>> import workbench as wb, workbench.ui
>>> wb.ui.Overview(wb.open("data/demo"))          # doctest: +SKIP
>>> wb.ui.TriagePage(wb.open("data/demo"))        # doctest: +SKIP

Every page's component is here by its class name (:data:`PAGE_CLASSES`); page modules other
than the overview are imported on first use (``wb.ui.TriagePage`` or ``workbench.ui.triage``).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from workbench.ui.overview import Overview

_MODULES = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))

#: The component of each dashboard page (:data:`workbench.ui.scope.PAGES`): class name → its
#: module in this package.
PAGE_CLASSES: dict[str, str] = {
    "Overview": "overview",
    "ClusterPage": "cluster",
    "ApplicationPage": "application",
    "ServiceMapPage": "servicemap",
    "ResourceBrowser": "resources",
    "PodView": "podview",
    "PerformancePage": "performance",
    "PodStartPage": "podstart",
    "PendingPods": "pending",
    "ManifestHistory": "manifests",
    "AnomaliesPage": "anomalies",
    "LogsPage": "logs",
    "TriagePage": "triage",
    "RightSizingPage": "rightsizing",
}

__all__ = ["Overview", "PAGE_CLASSES", *sorted(set(PAGE_CLASSES) - {"Overview"}), *_MODULES]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in PAGE_CLASSES:
        return getattr(importlib.import_module(f"{__name__}.{PAGE_CLASSES[name]}"), name)
    msg = f"module {__name__!r} has no attribute {name!r}; it has: {', '.join(__all__)}"
    raise AttributeError(msg)
