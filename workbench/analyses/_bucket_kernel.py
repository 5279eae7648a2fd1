"""The compiled kernel behind :func:`workbench.analyses.anomalies.metric_series` on a snapshot
(numba, cached on disk).

The samples of the ``metrics`` table arrive in storage order: each part is sorted by series and
time, the parts in time order, so a series is a few long *runs* (one per part). :func:`buckets`
walks them once, batch by batch, and keeps for every series its last sample; each sample adds
to the *cell* (series, bucket) it falls in, and since a series' buckets only grow, its open cell
is the only one it can add to. A cell holds, for a counter, the summed increase and seconds of
the pairs of samples ending in it (``increase = v`` when the counter went down, else
``v - v_prev``, comparing as polars does: NaN above every number; a pair with no time between
them counts its increase and 0 seconds; a pair with a null value counts its seconds only), for
a gauge the sum and number of its non-null values. A counter's first sample opens no cell.

A sample earlier than its series' previous one is counted (``disorder``): the caller then sorts
the samples and walks them again. The kernel has an explicit signature, so importing this
module compiles it (or loads it from numba's on-disk cache, ``__pycache__``).
"""

from __future__ import annotations

import numba as nb

from workbench.analyses._series_kernels import next_run

__all__ = ["BUCKET", "LAST_OK", "LAST_T", "OPEN", "SEEN", "STATE", "buckets"]

#: Columns of the per-series state ``state`` (int64, one row per series): whether a sample was
#: seen, the last one's time (µs since the epoch) and whether its value was not null, the open
#: cell (-1: none) and its bucket.
SEEN, LAST_T, LAST_OK, OPEN, BUCKET = range(5)
STATE = 5

_IN = {
    t: nb.types.Array(getattr(nb.types, t), 1, "C", readonly=True)
    for t in ("uint64", "int64", "float64", "boolean")
}


@nb.njit(nb.types.UniTuple(nb.int64, 3)(_IN["uint64"], _IN["int64"], _IN["float64"], _IN["boolean"], nb.int64,
                                        _IN["uint64"], _IN["boolean"], nb.int64, nb.int64[:, ::1], nb.float64[::1],
                                        nb.int64[::1], nb.int64[::1], nb.float64[::1], nb.float64[::1], nb.int64,
                                        nb.int64[::1]), cache=True, nogil=True)  # fmt: skip
def buckets(sid, ts, v, ok, i, ids, counter, every, state, last_v, cell_g, cell_b, cell_a, cell_s, k, cur):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201, PLR0912, PLR0913, PLR0915
    """Consume one batch (``sid``/``ts``/``v`` arrays in storage order; ``ok[t]``: value ``t``
    is not null, or ``ok`` empty: none is) from row ``i`` for the series ``ids`` (sorted;
    ``counter[g]`` says how to read series ``g``; samples of other series are skipped),
    ``every`` µs per bucket. Cells are appended from ``k`` to ``cell_g`` (series index),
    ``cell_b`` (bucket start, µs), ``cell_a`` (increase or value sum) and ``cell_s`` (seconds or
    value count); ``cur`` = [series index of the last run, its series id bits]. Returns the new
    ``k``, the number of samples out of time order and the row where it stopped: ``sid.size``,
    or earlier when the cells are full (grow them and call again from there)."""
    n = sid.size
    full = cell_g.size
    all_ok = ok.size == 0
    disorder = 0
    while i < n:
        j, g = next_run(sid, i, ids, cur)
        if g >= 0:
            is_counter = counter[g]
            seen = state[g, SEEN] != 0
            lt = state[g, LAST_T]
            lok = state[g, LAST_OK] != 0
            lv = last_v[g]
            c = state[g, OPEN]
            cb = state[g, BUCKET]
            t = i
            while t < j:
                tt = ts[t]
                x = v[t]
                xok = all_ok or ok[t]
                adds = seen or not is_counter
                if adds:
                    b = tt - tt % every
                    if c < 0 or cb != b:
                        if k == full:
                            break
                        c = k
                        cb = b
                        k += 1
                        cell_g[c] = g
                        cell_b[c] = b
                        cell_a[c] = 0.0
                        cell_s[c] = 0.0
                if seen and tt < lt:
                    disorder += 1
                if adds and is_counter:
                    if xok and lok:  # polars orders NaN above every number: x < NaN
                        cell_a[c] += x if x < lv or (lv != lv and x == x) else x - lv
                    cell_s[c] += (tt - lt) / 1e6
                elif adds and xok:
                    cell_a[c] += x
                    cell_s[c] += 1.0
                seen = True
                lt = tt
                lv = x
                lok = xok
                t += 1
            state[g, SEEN] = 1 if seen else 0
            state[g, LAST_T] = lt
            state[g, LAST_OK] = 1 if lok else 0
            state[g, OPEN] = c
            state[g, BUCKET] = cb
            last_v[g] = lv
            if t < j:
                return k, disorder, t
        i = j
    return k, disorder, n
