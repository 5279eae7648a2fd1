"""The compiled kernel behind the baselines of :func:`workbench.analyses.anomalies.score` (numba,
cached on disk).

:func:`past_quantiles` gives, for every point of series laid out one after another (sorted by
series and time), quantiles of the non-null values among the ``window`` points *before* it in its
series, or null when fewer than ``min_samples`` of them are not null — what
``col.rolling_quantile(q, window_size=window, min_samples=min_samples, interpolation="linear")
.shift(1).over(keys)`` gives in polars, bit for bit (the median is the 0.5 quantile). The window's
values are kept sorted in a small buffer: each step inserts the point that enters and removes
the one that leaves (a binary search and a shift of at most ``window`` values).

The kernel has an explicit signature, so importing this module compiles it (or loads it from
numba's on-disk cache, ``__pycache__``).
"""

from __future__ import annotations

import numba as nb
import numpy as np
import polars as pl

__all__ = ["past_quantiles", "quantiles_before"]

_F8 = nb.types.Array(nb.float64, 1, "C", readonly=True)
_B1 = nb.types.Array(nb.boolean, 1, "C", readonly=True)
_I8 = nb.types.Array(nb.int64, 1, "C", readonly=True)


@nb.njit(cache=True, nogil=True, inline="always")
def _lower_bound(buf, k, v):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202
    """The first position of sorted ``buf[:k]`` whose value is not below ``v``."""
    lo, hi = 0, k
    while lo < hi:
        mid = (lo + hi) >> 1
        if buf[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@nb.njit(nb.void(_F8, _B1, _I8, nb.int64, nb.int64, _F8, nb.float64[:, ::1], nb.boolean[:, ::1]),
         cache=True, nogil=True)  # fmt: skip
def past_quantiles(x, ok, starts, window, min_samples, qs, out, valid):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201, PLR0912, PLR0913
    """Fill ``out[c, i]`` with the ``qs[c]`` quantile (linear interpolation between the two
    nearest ranks) of the values ``x[j]`` with ``ok[j]`` among the ``window`` points before ``i``
    in its series, and ``valid[c, i]`` with whether at least ``min_samples`` (and one) such
    values exist. Series ``g`` is rows ``starts[g]`` to ``starts[g + 1]`` (exclusive)."""
    buf = np.empty(max(window, 1))
    for g in range(starts.size - 1):
        a, b = starts[g], starts[g + 1]
        k = 0
        for i in range(a, b):
            if i > a:
                j = i - 1  # enters the window
                if ok[j]:
                    v = x[j]
                    lo = _lower_bound(buf, k, v)
                    for t in range(k, lo, -1):
                        buf[t] = buf[t - 1]
                    buf[lo] = v
                    k += 1
                j = i - 1 - window  # leaves it
                if j >= a and ok[j]:
                    v = x[j]
                    lo = _lower_bound(buf, k, v)
                    for t in range(lo, k - 1):
                        buf[t] = buf[t + 1]
                    k -= 1
            enough = k >= min_samples and k > 0
            for c in range(qs.size):
                valid[c, i] = enough
                if enough:
                    f = qs[c] * (k - 1)
                    lo = int(np.floor(f))
                    hi = int(np.ceil(f))
                    if lo == hi:
                        out[c, i] = buf[lo]
                    else:
                        out[c, i] = buf[lo] + (f - lo) * (buf[hi] - buf[lo])
                else:
                    out[c, i] = np.nan


def quantiles_before(values: pl.Series, starts: np.ndarray, qs: tuple[float, ...], *, window: int,
                     min_samples: int) -> list[pl.Series]:  # fmt: skip
    """:func:`past_quantiles` of a polars column (nulls are skipped): one Float64 series per
    quantile in ``qs``, null where too few values precede a point. ``starts`` (int64) holds the
    first row of every series and, last, the number of rows."""
    n = len(values)
    x = np.ascontiguousarray(values.cast(pl.Float64).fill_null(0.0).to_numpy(), dtype=np.float64)
    ok = np.ascontiguousarray(values.is_not_null().to_numpy(), dtype=np.bool_)
    out = np.empty((len(qs), n), dtype=np.float64)
    valid = np.empty((len(qs), n), dtype=np.bool_)
    past_quantiles(x, ok, np.ascontiguousarray(starts, dtype=np.int64), window, min_samples,
                   np.asarray(qs, dtype=np.float64), out, valid)  # fmt: skip
    return [
        pl.select(pl.when(pl.Series(valid[c])).then(pl.Series(out[c]))).to_series() for c in range(len(qs))
    ]
