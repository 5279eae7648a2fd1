"""The one rule for when an analysis counts by its compiled kernel (:func:`_kernels.kernel`):
a big input loads it, a small one uses it only once it is loaded."""

from __future__ import annotations

import sys

import pytest

from workbench.analyses import _kernels

NAMES = ["_hitmap_kernel", "_active_kernel"]


@pytest.mark.parametrize("name", NAMES)
def test_a_kernel_is_loaded_for_a_big_input_and_then_used_for_small_ones(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    module = f"workbench.analyses.{name}"
    monkeypatch.delitem(sys.modules, module, raising=False)  # as if not loaded yet
    assert _kernels.kernel(name, _kernels.KERNEL_ROWS - 1) is None
    assert module not in sys.modules  # a small input does not load it
    loaded = _kernels.kernel(name, _kernels.KERNEL_ROWS)
    assert loaded is not None and loaded is sys.modules[module]
    assert _kernels.kernel(name, 0) is loaded  # loaded: small inputs use it too


def test_a_kernel_another_thread_is_loading_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """A small input asking for a kernel while a big one's thread imports it (the module is in
    ``sys.modules`` while numba compiles it) gets the module once it is whole, not half of it."""
    import importlib.abc
    import importlib.machinery
    import threading
    import time

    name = "_test_slow_kernel"
    module = f"workbench.analyses.{name}"
    go = threading.Event()

    class Slow(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        """Imports ``module``: its body waits for ``go``, then defines ``count``."""

        def find_spec(
            self, fullname: str, path: object, target: object = None
        ) -> importlib.machinery.ModuleSpec | None:
            return importlib.machinery.ModuleSpec(fullname, self) if fullname == module else None

        def exec_module(self, mod: object) -> None:
            go.wait(10)
            mod.count = len  # type: ignore[attr-defined]

    monkeypatch.setattr(sys, "meta_path", [Slow(), *sys.meta_path])
    monkeypatch.delitem(sys.modules, module, raising=False)
    got: dict[str, bool] = {}
    big = threading.Thread(target=_kernels.kernel, args=(name, _kernels.KERNEL_ROWS))
    big.start()
    for _ in range(1000):
        if module in sys.modules:
            break
        time.sleep(0.01)
    small = threading.Thread(
        target=lambda: got.setdefault("whole", hasattr(_kernels.kernel(name, 10), "count"))
    )
    small.start()
    time.sleep(0.2)  # the small input's call is under way (or done, were it not waiting)
    go.set()
    big.join(10)
    small.join(10)
    sys.modules.pop(module, None)
    assert got == {"whole": True}
