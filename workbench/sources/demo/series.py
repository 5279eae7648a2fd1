"""A buffer of metric series sampled on one time grid, turned into the store's ``series`` and
``metrics`` tables.

The demo knows each series' identity when it adds it, so it computes the id once per series
with the store's own :func:`workbench.store.series_id` (the same id ``write_metrics`` would
give) and builds the samples as ``(cluster, series_id, ts, value)`` straight from the arrays:
no string keys per sample, no join.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl

from workbench.schema import SCHEMAS
from workbench.store import series_id

__all__ = ["SeriesBuffer", "STEP", "metrics_frame"]

#: Scrape interval, seconds.
STEP = 15.0

_SERIES_COLS = ("metric", "namespace", "pod", "container", "node", "labels")


class SeriesBuffer:
    """Series of one cluster over one chunk of the grid; samples only where ``mask`` is set."""

    def __init__(self, cluster: str, start: dt.datetime, grid: np.ndarray) -> None:
        self.cluster = cluster
        self.start = start
        self.grid = grid  # seconds after ``start``
        self._attrs: list[tuple[str, str | None, str | None, str | None, str | None, str | None]] = []
        self._ids: list[int] = []
        self._values: list[np.ndarray] = []
        self._masks: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self._attrs)

    def add(self, metric: str, values: np.ndarray | float, mask: np.ndarray, *, namespace: str | None = None,
            pod: str | None = None, container: str | None = None, node: str | None = None,
            labels: dict[str, str] | None = None) -> None:  # fmt: skip
        """One series: ``values`` (an array on the grid, or a constant) kept where ``mask``."""
        if not mask.any():
            return
        text = json.dumps(labels, sort_keys=True, separators=(",", ":")) if labels else None
        self._attrs.append((metric, namespace, pod, container, node, text))
        keys = {"namespace": namespace, "pod": pod, "container": container, "node": node, **(labels or {})}
        self._ids.append(series_id(self.cluster, metric, keys))
        self._values.append(np.broadcast_to(np.asarray(values, dtype=np.float64), self.grid.shape))
        self._masks.append(mask)

    def new_series(self, seen: set[int]) -> pl.DataFrame:
        """The ``series`` rows of the series whose id is not in ``seen`` (which is updated)."""
        rows, fresh = [], []
        for sid, attrs in zip(self._ids, self._attrs, strict=True):
            if sid not in seen:
                seen.add(sid)
                rows.append(attrs)
                fresh.append(sid)
        return pl.DataFrame(
            {"cluster": [self.cluster] * len(fresh), "series_id": pl.Series(fresh, dtype=pl.UInt64),
             **{c: [r[i] for r in rows] for i, c in enumerate(_SERIES_COLS)}},
            schema=SCHEMAS["series"],
        )  # fmt: skip

    def samples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(series_id, ts in µs since the epoch, value)`` of every sample, each series' samples
        in time order, series in the order they were added."""
        if not self._attrs:
            return np.empty(0, np.uint64), np.empty(0, np.int64), np.empty(0, np.float64)
        si, ki = np.nonzero(np.stack(self._masks))
        ids = np.asarray(self._ids, dtype=np.uint64)
        start_us = int(self.start.timestamp() * 1_000_000)
        ts = (start_us + np.round(self.grid[ki] * 1_000_000)).astype(np.int64)
        return ids[si], ts, np.stack(self._values)[si, ki]


def metrics_frame(cluster: str, ids: np.ndarray, ts: np.ndarray, values: np.ndarray) -> pl.DataFrame:
    """A ``metrics`` frame sorted by ``(series_id, ts)`` from samples whose every series is
    already in time order (a stable sort by id keeps that order: the store's sort then finds
    the rows in place)."""
    order = np.argsort(ids, kind="stable")
    return pl.DataFrame({
        "cluster": pl.Series([cluster], dtype=pl.String).new_from_index(0, ids.size),
        "series_id": pl.Series(ids[order], dtype=pl.UInt64),
        "ts": pl.Series(ts[order]).cast(pl.Datetime("us", "UTC")),
        "value": pl.Series(values[order], dtype=pl.Float64),
    })  # fmt: skip
