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
