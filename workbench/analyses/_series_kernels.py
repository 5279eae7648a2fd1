"""Compiled kernels behind :func:`workbench.analyses.usage.series_stats` (numba, cached on disk).

The samples of the ``metrics`` table arrive in storage order: each part is sorted by series and
time, so a series is a few long *runs* (one per part). :func:`scan` walks them once, per batch,
and keeps for every series its count, sum, min, max, NaN count, counter increase and last
sample; the values to rank (a gauge's samples, a counter's per-second rates) are appended to one
buffer and each run's place in it is recorded. :func:`quantiles` then ranks each series' values
without moving or sorting them: a histogram of the values between the series' min and max finds
the buckets holding the wanted ranks, and only those buckets' members are sorted.

The kernels have explicit signatures, so importing this module compiles them (or loads them
from numba's on-disk cache, ``__pycache__``): the cost is paid once per process, at import.

The rules are those of :func:`workbench.analyses.usage.counter_rate`: a counter's rate between
consecutive samples is ``increase / seconds`` with ``increase = v`` when the counter went down (a
reset) else ``v - v_prev``; pairs with no time between them are skipped. Percentiles interpolate
linearly between the two nearest ranks with NaN ranked last, as polars' ``quantile`` does.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["ACC", "CNT", "INC", "MAX", "MIN", "NAN", "SUM", "quantiles", "scan"]

#: Columns of the per-series accumulator ``acc`` (float64, one row per series; ``LAST_T`` holds
#: microseconds since the epoch, exact in a float64 until the year 2255).
CNT, SUM, MIN, MAX, NAN, INC, LAST_T, LAST_V, SEEN = range(9)
ACC = 9
#: Histogram buckets used to locate a rank.
_BUCKETS = 4096


_IN = {
    t: nb.types.Array(getattr(nb.types, t), 1, "C", readonly=True)
    for t in ("uint64", "int64", "float64", "boolean")
}


@nb.njit(cache=True, nogil=True, inline="always")
def next_run(sid, i, ids, cur):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201
    """The end ``j`` of the run of samples of one series that starts at row ``i`` of ``sid``
    (storage order), and that series' index ``g`` in the sorted ``ids`` (-1: not wanted).
    ``cur[0]``/``cur[1]`` remember the last series found (index, id bits) and are updated."""
    n = sid.size
    s = sid[i]
    j = i + 1
    while j < n and sid[j] == s:
        j += 1
    if cur[0] >= 0 and s == np.uint64(cur[1]):
        return j, cur[0]
    p = np.searchsorted(ids, s)
    g = p if (p < ids.size and ids[p] == s) else -1
    cur[0] = g
    cur[1] = np.int64(s)
    return j, g


@nb.njit(nb.types.UniTuple(nb.int64, 3)(_IN["uint64"], _IN["int64"], _IN["float64"], nb.int64, _IN["uint64"],
                                        _IN["boolean"], nb.float64[:, ::1], nb.float64[::1], nb.int64,
                                        nb.int64[:, ::1], nb.int64, nb.int64[::1]), cache=True, nogil=True)  # fmt: skip
def scan(sid, ts, v, i, ids, counter, acc, out, k, runs, nrun, cur):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201, PLR0912, PLR0915
    """Consume one batch (``sid``/``ts``/``v`` arrays in storage order) from row ``i`` for the
    series ``ids`` (sorted; ``counter[g]`` says how to read series ``g``; samples of other series
    are skipped). Appends the values to rank to ``out`` from ``k`` and the runs ``(g, start,
    end)`` to ``runs`` from ``nrun``; ``cur`` = [series index of the last run, its series id
    bits, samples found out of time order]. Returns the new ``k`` and ``nrun`` and the row where
    it stopped: ``sid.size``, or earlier when ``runs`` is full (grow it and call again)."""
    n = sid.size
    while i < n:
        if nrun == runs.shape[0]:
            return k, nrun, i
        j, g = next_run(sid, i, ids, cur)
        if g >= 0:
            runs[nrun, 0] = g
            runs[nrun, 1] = k
            c = 0
            total = 0.0
            lo = np.inf
            hi = -np.inf
            nans = 0
            if counter[g]:
                seen = acc[g, SEEN] > 0.0
                lt = np.int64(acc[g, LAST_T])
                lv = acc[g, LAST_V]
                isum = 0.0
                disorder = 0
                # the last interval and its seconds: most intervals repeat (a division saved)
                pdt = np.int64(0)
                secs = 0.0
                for t in range(i, j):
                    x = v[t]
                    tt = ts[t]
                    if seen:
                        dt = tt - lt
                        if dt > 0:
                            d = x if x < lv else x - lv
                            if dt != pdt:
                                pdt = dt
                                secs = dt / 1e6
                            y = d / secs
                            out[k] = y
                            k += 1
                            c += 1
                            total += y
                            isum += d
                            if y != y:
                                nans += 1
                            else:
                                hi = max(hi, y)
                                lo = min(lo, y)
                        elif dt < 0:
                            disorder += 1
                    seen = True
                    lt = tt
                    lv = x
                acc[g, SEEN] = 1.0
                acc[g, LAST_T] = lt
                acc[g, LAST_V] = lv
                acc[g, INC] += isum
                cur[2] += disorder
            else:
                for t in range(i, j):
                    x = v[t]
                    out[k] = x
                    k += 1
                    total += x
                    if x != x:
                        nans += 1
                    else:
                        hi = max(hi, x)
                        lo = min(lo, x)
                c = j - i
            acc[g, CNT] += c
            acc[g, SUM] += total
            acc[g, NAN] += nans
            acc[g, MIN] = min(acc[g, MIN], lo)
            acc[g, MAX] = max(acc[g, MAX], hi)
            runs[nrun, 2] = k
            nrun += 1
        i = j
    return k, nrun, n


@nb.njit(cache=True, nogil=True)
def _ranks(out, starts, ends, nn, lo, hi, want, got, hist, hists, scratch):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202, PLR0912
    """``got[j]`` = the ``want[j]``-th smallest (0-based, ``want`` sorted, all < ``nn``) of the
    ``nn`` non-NaN values in ``out[starts[r]:ends[r]]``, whose min and max are ``lo``/``hi``."""
    m = want.size
    span = hi - lo
    if span == 0.0:
        got[:] = lo
        return
    exact = not np.isfinite(span)
    scale = 0.0 if exact else (_BUCKETS - 1) / span
    if exact:  # an infinite value: sort the series (rare)
        p = 0
        for r in range(starts.size):
            for t in range(starts[r], ends[r]):
                x = out[t]
                if x == x:
                    scratch[p] = x
                    p += 1
        srt = np.sort(scratch[:p])
        for q in range(m):
            got[q] = srt[want[q]]
        return
    # four histograms filled in turn: neighbouring values often share a bucket, and one count
    # waiting on the previous one's increment would serialise the loop
    hists[:] = 0
    for r in range(starts.size):
        t = starts[r]
        e = ends[r]
        while t + 4 <= e:
            x0, x1, x2, x3 = out[t], out[t + 1], out[t + 2], out[t + 3]
            if x0 == x0:
                hists[0, int((x0 - lo) * scale)] += 1
            if x1 == x1:
                hists[1, int((x1 - lo) * scale)] += 1
            if x2 == x2:
                hists[2, int((x2 - lo) * scale)] += 1
            if x3 == x3:
                hists[3, int((x3 - lo) * scale)] += 1
            t += 4
        while t < e:
            x = out[t]
            if x == x:
                hists[0, int((x - lo) * scale)] += 1
            t += 1
    for b in range(_BUCKETS):
        hist[b] = hists[0, b] + hists[1, b] + hists[2, b] + hists[3, b]
    # the bucket of each wanted rank, and the rank of that bucket's first member
    bucket = np.empty(m, dtype=np.int64)
    first = np.empty(m, dtype=np.int64)
    below = 0
    q = 0
    for b in range(_BUCKETS):
        h = hist[b]
        while q < m and want[q] < below + h:
            bucket[q] = b
            first[q] = below
            q += 1
        below += h
    if below != nn or q < m:  # the runs do not hold this series' values (never expected): no answer
        got[:] = np.nan
        return
    # gather the members of those buckets into consecutive slots of scratch
    slot = np.full(_BUCKETS, -1, dtype=np.int64)
    offset = np.zeros(m + 1, dtype=np.int64)
    nslots = 0
    for q in range(m):
        b = bucket[q]
        if slot[b] < 0:
            slot[b] = nslots
            offset[nslots + 1] = offset[nslots] + hist[b]
            nslots += 1
    fill = offset[:nslots].copy()
    for r in range(starts.size):
        for t in range(starts[r], ends[r]):
            x = out[t]
            if x == x:
                s = slot[int((x - lo) * scale)]
                if s >= 0:
                    scratch[fill[s]] = x
                    fill[s] += 1
    for s in range(nslots):
        scratch[offset[s] : offset[s + 1]] = np.sort(scratch[offset[s] : offset[s + 1]])
    for q in range(m):
        got[q] = scratch[offset[slot[bucket[q]]] + want[q] - first[q]]


@nb.njit(nb.void(_IN["float64"], _IN["int64"], _IN["int64"], _IN["int64"], nb.types.Array(nb.float64, 2, "C", readonly=True),
                 nb.types.Array(nb.float64, 2, "C", readonly=True), _IN["int64"], nb.int64, nb.int64, nb.float64[:, ::1]),
         cache=True, nogil=True)  # fmt: skip
def quantiles(out, starts, ends, gptr, acc, qsets, qset_of, g0, g1, res):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201
    """Fill ``res[g, j]`` with percentile ``qsets[qset_of[g], j]`` (a fraction; NaN = none) of
    series ``g`` for ``g0 <= g < g1``; series ``g``'s runs are ``starts/ends[gptr[g]:gptr[g+1]]``."""
    nq = qsets.shape[1]
    hist = np.zeros(_BUCKETS, dtype=np.int64)
    hists = np.zeros((4, _BUCKETS), dtype=np.int64)
    largest = 0
    for g in range(g0, g1):
        largest = max(largest, int(acc[g, CNT]))
    scratch = np.empty(largest, dtype=np.float64)
    want = np.empty(2 * nq, dtype=np.int64)
    got = np.empty(2 * nq, dtype=np.float64)
    for g in range(g0, g1):
        n = int(acc[g, CNT])
        nn = n - int(acc[g, NAN])
        qs = qsets[qset_of[g]]
        if n == 0 or qs.size == 0 or qs[0] != qs[0]:
            continue
        # distinct ranks needed, sorted (NaN ranks last: ranks >= nn are NaN)
        m = 0
        for j in range(nq):
            if qs[j] != qs[j]:
                break
            h = qs[j] * (n - 1)
            for r in (int(np.floor(h)), int(np.ceil(h))):
                if r < nn:
                    want[m] = r
                    m += 1
        w = np.unique(want[:m])
        if w.size:
            _ranks(out, starts[gptr[g]:gptr[g + 1]], ends[gptr[g]:gptr[g + 1]], nn, acc[g, MIN], acc[g, MAX],
                   w, got[:w.size], hist, hists, scratch)  # fmt: skip
        for j in range(nq):
            if qs[j] != qs[j]:
                break
            h = qs[j] * (n - 1)
            a, b = int(np.floor(h)), int(np.ceil(h))
            va = got[np.searchsorted(w, a)] if a < nn else np.nan
            if a == b:
                res[g, j] = va
            else:
                vb = got[np.searchsorted(w, b)] if b < nn else np.nan
                res[g, j] = va + (vb - va) * (h - a)
