"""When an analysis counts by one of its compiled kernels (numba) rather than by numpy or
polars: one rule for the kernels loaded on demand (:func:`kernel`; the hitmap's dense count,
:mod:`._hitmap_kernel`, and the active transactions' binning, :mod:`._active_kernel`).

Importing a kernel module compiles it (or loads it from numba's on-disk cache): a fraction of a
second, once per process. That is worth it for a big input (:data:`KERNEL_ROWS` rows or more);
a smaller one uses the kernel once it is loaded, else the plain path (both give the same
answer, which their tests check).
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

__all__ = ["KERNEL_ROWS", "kernel"]

#: From this many rows an analysis loads its compiled kernel; smaller inputs use it only once it
#: is loaded.
KERNEL_ROWS = 1 << 20


def kernel(name: str, rows: int) -> ModuleType | None:
    """The compiled kernel module ``workbench.analyses.<name>`` to count ``rows`` rows with:
    the module when it is loaded already or ``rows`` is at least :data:`KERNEL_ROWS` (then it
    is imported: compiled, or loaded from the cache), else None (use the plain path). A module
    another thread is importing (it is in ``sys.modules`` before its kernel is compiled) is
    waited for, as ``import`` waits for it."""
    module = f"{__package__}.{name}"
    if rows < KERNEL_ROWS and module not in sys.modules:
        return None
    return importlib.import_module(module)
