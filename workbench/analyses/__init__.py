"""Analyses: pure functions from a :class:`workbench.Dataset` (and keyword parameters) to polars
DataFrames. No plotting, no widgets, no I/O beyond reading the snapshot.

One module per scenario (``workbench.analyses.overview``, …). Each is imported on first use,
so ``import workbench.analyses as an; an.overview.problem_pods(ds)`` works for every module
without loading them all.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

__all__ = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def __getattr__(name: str) -> ModuleType:
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    msg = f"module {__name__!r} has no attribute {name!r}; the analyses are: {', '.join(__all__)}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
