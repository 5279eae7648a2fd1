"""A buffer of metric series sampled on one time grid, turned into the store's wide form
(``cluster, metric, ts, value, namespace, pod, container, node, labels``)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl

__all__ = ["SeriesBuffer", "STEP"]

#: Scrape interval, seconds.
STEP = 15.0


class SeriesBuffer:
    """Series of one cluster over one chunk of the grid; samples only where ``mask`` is set."""

    def __init__(self, cluster: str, start: dt.datetime, grid: np.ndarray) -> None:
        self.cluster = cluster
        self.start = start
        self.grid = grid  # seconds after ``start``
        self._attrs: list[tuple[str, str | None, str | None, str | None, str | None, str | None]] = []
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
        vals = np.broadcast_to(np.asarray(values, dtype=np.float64), self.grid.shape)
        self._values.append(vals)
        self._masks.append(mask)

    def frame(self) -> pl.DataFrame:
        """The samples in the wide form the store's ``write_metrics`` takes."""
        cols = ("metric", "namespace", "pod", "container", "node", "labels")
        if not self._attrs:
            return pl.DataFrame(schema={"cluster": pl.String, **dict.fromkeys(cols, pl.String),
                                        "ts": pl.Datetime("us", "UTC"), "value": pl.Float64})  # fmt: skip
        masks = np.stack(self._masks)
        values = np.stack(self._values)
        si, ki = np.nonzero(masks)
        attrs = pl.DataFrame([list(c) for c in zip(*self._attrs, strict=True)], schema=dict.fromkeys(cols, pl.String),
                             orient="col")  # fmt: skip
        start_us = int(self.start.timestamp() * 1_000_000)
        ts = (start_us + np.round(self.grid[ki] * 1_000_000)).astype(np.int64)
        return attrs[si].with_columns(
            pl.lit(self.cluster).alias("cluster"),
            pl.Series("ts", ts).cast(pl.Datetime("us", "UTC")),
            pl.Series("value", values[si, ki]),
        ).select("cluster", *cols, "ts", "value")
