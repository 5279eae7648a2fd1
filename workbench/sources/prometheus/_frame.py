"""The wide metric frame (what ``SnapshotWriter.write_metrics`` takes), built efficiently from
series (one label set each) and samples (series index, time, value)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import polars as pl

__all__ = ["COLUMN_LABELS", "WIDE_SCHEMA", "SeriesRow", "build_wide", "empty_wide", "series_row"]

#: Labels stored as columns rather than in the ``labels`` JSON.
COLUMN_LABELS = ("namespace", "pod", "container", "node")

WIDE_SCHEMA = pl.Schema(
    {
        "cluster": pl.String,
        "metric": pl.String,
        "ts": pl.Datetime("us", "UTC"),
        "value": pl.Float64,
        "namespace": pl.String,
        "pod": pl.String,
        "container": pl.String,
        "node": pl.String,
        "labels": pl.String,
    }
)

#: cluster, metric, namespace, pod, container, node, labels JSON (None when no other label).
SeriesRow = tuple[str, str, str | None, str | None, str | None, str | None, str | None]


def empty_wide() -> pl.DataFrame:
    """A wide metric frame with no rows (no data is never ``None``)."""
    return pl.DataFrame(schema=WIDE_SCHEMA)


def series_row(cluster: str, metric: str, labels: Mapping[str, str], *, node: str | None = None) -> SeriesRow:
    """Split a label set into the column labels and the JSON of the others. Empty values are
    absent labels (Prometheus semantics) and become null. ``node`` fills a missing node."""
    kept = {k: v for k, v in labels.items() if v != "" and k != "__name__"}
    rest = {k: v for k, v in kept.items() if k not in COLUMN_LABELS}
    text = json.dumps(rest, sort_keys=True, separators=(",", ":")) if rest else None
    return (
        cluster,
        metric,
        kept.get("namespace"),
        kept.get("pod"),
        kept.get("container"),
        kept.get("node", node),
        text,
    )


def build_wide(
    series: Sequence[SeriesRow], index: Sequence[int], ts_us: Sequence[int], values: Sequence[float]
) -> pl.DataFrame:
    """Samples ``(series[index[i]], ts_us[i], values[i])`` as a wide frame."""
    if not index:
        return empty_wide()
    keys = pl.DataFrame(
        list(series),
        schema={
            c: pl.String for c in ("cluster", "metric", "namespace", "pod", "container", "node", "labels")
        },
        orient="row",
    )
    picked = keys.select(pl.all().gather(pl.Series(index, dtype=pl.UInt32)))
    return picked.with_columns(
        pl.Series("ts", ts_us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
        pl.Series("value", values, dtype=pl.Float64),
    ).select(list(WIDE_SCHEMA))
