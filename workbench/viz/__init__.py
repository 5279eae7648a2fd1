"""Visualisations: analysis results → HoloViews objects (and, for served pages that redraw them
in place, Bokeh figures: ``workbench.viz._figures``). No widgets, no I/O.

One module per scenario (``workbench.viz.overview``, …), imported on first use.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

__all__ = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def __getattr__(name: str) -> ModuleType:
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    msg = f"module {__name__!r} has no attribute {name!r}; the modules are: {', '.join(__all__)}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
