"""The compiled kernel behind :mod:`._usage_cells` (numba, cached on disk): per series and
bucket, the sum, number and highest of the values (gauges) or of the per-sample rates
(counters, as :func:`~workbench.analyses._rates.stream_rates` computes them) that
:func:`~workbench.analyses.usage.bucketed` averages.

The samples arrive in storage order (each part sorted by series and time, the parts in time
order): :func:`cells` walks them once, batch by batch, and keeps for every series its last
sample. A counter's sample has a rate when the series has an earlier sample with a value and
time passed since (``increase = v`` when the counter went down, else ``v - v_prev``, comparing
as polars does: NaN above every number); a rate whose sample follows its predecessor by more
than ``gap`` µs is not added to a cell but listed (a *head*: a window whose read starts between
the two gives it no rate). The highest value ignores NaN unless all are, as polars' ``max``.

A sample earlier than its series' previous one is counted (``disorder``): the caller then uses
another path. The kernel has an explicit signature, so importing this module compiles it (or
loads it from numba's on-disk cache, ``__pycache__``).
"""

from __future__ import annotations

import numba as nb

from workbench.analyses._series_kernels import next_run

__all__ = ["BUCKET", "LAST_T", "OPEN", "SEEN", "STATE", "cells"]

#: Columns of the per-series state ``state`` (int64, one row per series): whether a sample was
#: seen, the last one's time (µs since the epoch), the open cell (-1: none) and its bucket.
SEEN, LAST_T, OPEN, BUCKET = range(4)
STATE = 4

_IN = {
    t: nb.types.Array(getattr(nb.types, t), 1, "C", readonly=True)
    for t in ("uint64", "int64", "float64", "boolean")
}
_I64, _F64 = nb.int64[::1], nb.float64[::1]


@nb.njit(nb.types.UniTuple(nb.int64, 4)(_IN["uint64"], _IN["int64"], _IN["float64"], nb.int64, _IN["uint64"],
                                        _IN["boolean"], nb.int64, nb.int64, nb.int64[:, ::1], _F64, _I64, _I64, _F64,
                                        _I64, _F64, nb.int64, _I64, _I64, _I64, _F64, nb.int64, _I64),
         cache=True, nogil=True)  # fmt: skip
def cells(sid, ts, v, i, ids, counter, every, gap, state, last_v, cell_g, cell_b, cell_sum, cell_n, cell_max, k,  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201, PLR0912, PLR0913, PLR0915
          head_g, head_t, head_prev, head_rate, h, cur):  # fmt: skip
    """Consume one batch (``sid``/``ts``/``v`` arrays in storage order, no null value) from row
    ``i`` for the series ``ids`` (sorted; ``counter[g]`` says how to read series ``g``; samples of
    other series are skipped), ``every`` µs per bucket. Cells are appended from ``k`` (series
    index, bucket start in µs, sum, number, highest), heads from ``h`` (series index, time,
    predecessor's time, rate); ``cur`` = [series index of the last run, its series id bits].
    Returns the new ``k`` and ``h``, the number of samples out of time order and the row where
    it stopped: ``sid.size``, or earlier when the cells or heads are full (grow them and call
    again from there)."""
    n = sid.size
    full, full_h = cell_g.size, head_g.size
    disorder = 0
    while i < n:
        j, g = next_run(sid, i, ids, cur)
        if g >= 0:
            is_counter = counter[g]
            seen = state[g, SEEN] != 0
            lt = state[g, LAST_T]
            lv = last_v[g]
            c = state[g, OPEN]
            cb = state[g, BUCKET]
            t = i
            while t < j:
                tt = ts[t]
                x = v[t]
                if seen and tt < lt:
                    disorder += 1
                adds = not is_counter
                y = x
                if is_counter and seen and tt > lt:
                    y = (x if x < lv or (lv != lv and x == x) else x - lv) / ((tt - lt) / 1e6)
                    if tt - lt > gap:
                        if h == full_h:
                            break
                        head_g[h] = g
                        head_t[h] = tt
                        head_prev[h] = lt
                        head_rate[h] = y
                        h += 1
                    else:
                        adds = True
                if adds:
                    if c < 0 or tt < cb or tt - cb >= every:  # not in the open cell: a new one
                        if k == full:
                            break
                        c = k
                        cb = tt - tt % every
                        k += 1
                        cell_g[c] = g
                        cell_b[c] = cb
                        cell_sum[c] = 0.0
                        cell_n[c] = 0
                        cell_max[c] = y
                    cell_sum[c] += y
                    cell_n[c] += 1
                    m = cell_max[c]
                    if m != m or y > m:
                        cell_max[c] = y
                seen = True
                lt = tt
                lv = x
                t += 1
            state[g, SEEN] = 1 if seen else 0
            state[g, LAST_T] = lt
            state[g, OPEN] = c
            state[g, BUCKET] = cb
            last_v[g] = lv
            if t < j:
                return k, h, disorder, t
        i = j
    return k, h, disorder, n
