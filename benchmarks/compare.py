"""Do two cases give the same answer? Tables are compared on the columns they share: the
non-float columns exactly (they are the keys), float columns within a relative tolerance."""

from __future__ import annotations

import numpy as np
import polars as pl

from benchmarks import Answer

__all__ = ["RTOL", "agree"]

#: Relative tolerance for floats: engines add in different orders, nothing more.
RTOL = 1e-9


def _is_float(dtype: pl.DataType) -> bool:
    return dtype in (pl.Float32, pl.Float64)


def agree(a: Answer, b: Answer, *, rtol: float = RTOL) -> list[str]:
    """What differs between answers ``a`` and ``b`` (empty: they agree)."""
    problems: list[str] = []
    shared = [t for t in a if t in b]
    if not shared:
        return [f"no table in common ({', '.join(a)} vs {', '.join(b)})"]
    for table in shared:
        x, y = a[table], b[table]
        cols = [c for c in x.columns if c in y.columns]
        keys = [c for c in cols if not _is_float(x.schema[c])]
        floats = [c for c in cols if _is_float(x.schema[c])]
        if x.height != y.height:
            problems.append(f"{table}: {x.height} rows vs {y.height}")
            continue
        if not cols:
            continue
        x = x.select(cols).sort(keys or cols, nulls_last=True)
        y = y.select(cols).cast({c: x.schema[c] for c in cols}).sort(keys or cols, nulls_last=True)  # type: ignore[dict-item]
        for c in keys:
            diff = (x[c].ne_missing(y[c])).sum()
            if diff:
                i = int(x[c].ne_missing(y[c]).arg_true()[0])
                problems.append(
                    f"{table}.{c}: {diff} values differ (first at row {i}: {x[c][i]!r} vs {y[c][i]!r})"
                )
        for c in floats:
            u, v = x[c].to_numpy(), y[c].to_numpy()
            close = np.isclose(u, v, rtol=rtol, atol=0.0, equal_nan=True)
            if not close.all():
                i = int(np.flatnonzero(~close)[0])
                problems.append(f"{table}.{c}: {int((~close).sum())} values differ beyond {rtol:g} "
                                f"(first at row {i}: {u[i]!r} vs {v[i]!r})")  # fmt: skip
    return problems
