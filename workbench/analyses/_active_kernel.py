"""The compiled kernel behind :func:`workbench.analyses.apm.active_series` on big inputs (numba,
cached on disk).

:func:`bin_times` walks start or finish times once and adds each to its group's grid: how many
fall before each grid time, on it, and how far each in a bucket is from the bucket's end. It
gives exactly what the ``numpy.bincount`` passes of :func:`workbench.analyses.apm._binned` give
(the same sums, added in the same order), without their intermediate arrays.

The kernel has an explicit signature, so importing this module compiles it (or loads it from
numba's on-disk cache, ``__pycache__``): the cost is paid once per process, at import.
"""

from __future__ import annotations

import numba as nb

__all__ = ["bin_times"]

_IN = nb.types.Array(nb.int64, 1, "C", readonly=True)


@nb.njit(nb.void(_IN, _IN, nb.int64, nb.int64, nb.int64, nb.int64[::1], nb.int64[::1], nb.float64[::1]),
         cache=True, nogil=True)  # fmt: skip
def bin_times(code, x, g0, n, step, cnt, on, tail):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201
    """Add each time ``x`` (µs) of group ``code`` to the grid ``g0 + k·step`` (``k < n``):
    ``cnt[code·(n+2) + j]`` counts it in slot ``j`` (0: before the grid, ``k + 1``: bucket
    ``k``, ``n + 1``: after it); in bucket ``k``, ``on[code·n + k]`` counts it when it is the
    bucket's start and ``tail[code·n + k]`` adds its distance to the bucket's end."""
    for i in range(x.size):
        rel = x[i] - g0
        raw = rel // step
        g = code[i]
        if raw < 0:
            cnt[g * (n + 2)] += 1
        elif raw >= n:
            cnt[g * (n + 2) + n + 1] += 1
        else:
            cnt[g * (n + 2) + raw + 1] += 1
            k = g * n + raw
            r = rel - raw * step
            if r == 0:
                on[k] += 1
            tail[k] += float(step - r)
