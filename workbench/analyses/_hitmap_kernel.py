"""The compiled kernel behind the hitmap's dense count (numba, cached on disk).

:func:`count` bins transactions into the dense grid in one pass: each one's time column
(``(end − t0) // step``), its response-time row (the number of row thresholds its duration
reaches, counted from a small table of the rows of every slice of a few µs, which stays in
the CPU's first cache; see :mod:`._hitmap_bins`, which builds both from the definition of the
rows) and the cell's count
and error count. It gives exactly what :func:`._hitmap_bins.cell_indexes` and ``numpy.bincount``
give, without their intermediate arrays.

The kernel has explicit signatures, so importing this module compiles it (or loads it from
numba's on-disk cache, ``__pycache__``): the cost is paid once per process, at import.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["count"]

_IN = {
    t: nb.types.Array(getattr(nb.types, t), 1, "C", readonly=True)
    for t in ("int16", "int32", "int64", "boolean")
}
_SIGS = [nb.int64(_IN["int64"], _IN["int64"], _IN["boolean"], nb.int64, nb.int64, nb.int64, _IN[table], nb.int64,
                  _IN["int64"], nb.int64[::1], nb.int64[::1]) for table in ("int16", "int32")]  # fmt: skip


@nb.njit(_SIGS, cache=True, nogil=True)
def count(e, d, f, t0, step, n_rt, coarse, shift, thresholds, counts, errors):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201
    """Add each transaction (finish time ``e`` in µs, duration ``d`` in µs, failed ``f``) to
    ``counts``/``errors`` at cell ``column × n_rt + row``: column ``(e − t0) // step``, row the
    number of ``thresholds`` ≤ ``max(d, 0)``, counted from ``coarse[max(d, 0) >> shift]`` (the
    row of the first duration of its slice of ``1 << shift`` µs; ``searchsorted`` beyond the
    table). Returns how many transactions fell outside the grid (not counted; none expected)."""
    size = counts.size
    limit = coarse.size << shift
    nth = thresholds.size
    inv = 1.0 / step
    outside = 0
    for i in range(e.size):
        x = max(d[i], 0)
        if x < limit:
            r = np.int64(coarse[x >> shift])
            while r < nth and thresholds[r] <= x:
                r += 1
        else:
            r = np.int64(np.searchsorted(thresholds, x, side="right"))
        y = e[i] - t0
        c = np.int64(y * inv)  # a float guess of the floor division, made exact below
        while c * step > y:
            c -= 1
        while (c + 1) * step <= y:
            c += 1
        k = c * n_rt + r
        if k < 0 or k >= size:
            outside += 1
            continue
        counts[k] += 1
        if f[i]:
            errors[k] += 1
    return outside
