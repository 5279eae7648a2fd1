"""Collect the query catalogue from a Prometheus-compatible server into a snapshot.

Partial failure warns and names what failed (the query and the window it could not fetch);
everything fetched before is kept. Only total failure raises: the server never answered, or
it refused the credentials or a query (4xx other than 422).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from workbench.errors import ParameterError
from workbench.sources.prometheus._frame import SeriesRow, build_wide, series_row
from workbench.sources.prometheus.catalogue import CATALOGUE, QuerySpec
from workbench.sources.prometheus.client import (
    PrometheusClient,
    PrometheusQueryError,
    PrometheusUnavailable,
    choose_step,
    plan_chunks,
)
from workbench.sources.prometheus.settings import PrometheusSettings
from workbench.store import SnapshotWriter, to_utc

__all__ = ["ChunkProgress", "CollectStats", "collect_prometheus", "matrix_to_wide"]

log = logging.getLogger(__name__)

SOURCE = "prometheus"
#: Buffered samples written as one batch (bounds memory on long, wide collections).
FLUSH_ROWS = 2_000_000
#: Default cluster name when neither ``cluster`` nor a ``cluster_label`` value gives one.
DEFAULT_CLUSTER = "default"


@dataclass(frozen=True)
class ChunkProgress:
    """Reported after every request window: which query, which chunk, how far overall."""

    query: str
    chunk: int
    chunks: int
    start: dt.datetime
    end: dt.datetime
    samples: int
    done: int
    total: int


@dataclass
class CollectStats:
    """What a collection did."""

    step: float = 0.0
    queries: int = 0
    chunks: int = 0
    requests: int = 0
    retries: int = 0
    series: int = 0
    samples: int = 0
    failed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def collect_prometheus(
    writer: SnapshotWriter,
    settings: PrometheusSettings,
    *,
    start: dt.datetime | str,
    end: dt.datetime | str,
    namespaces: Sequence[str] | None = None,
    cluster: str | Sequence[str] | None = None,
    progress: Callable[[ChunkProgress], None] | None = None,
    step: float | None = None,
    queries: Sequence[QuerySpec] | None = None,
    client: PrometheusClient | None = None,
) -> CollectStats:
    """Run the catalogue's range queries over ``[start, end]`` and write the samples.

    ``namespaces`` filters namespaced metrics (node metrics are always collected). Without a
    ``settings.cluster_label``, ``cluster`` is the name stored for every sample (default
    ``"default"``); with one, ``cluster`` (one name or several) filters on that label and each
    sample's cluster is the label's value. ``step`` defaults to :func:`choose_step`. Long
    windows are split under ``settings.max_points_per_request``; ``progress`` is called after
    every request window. ``queries`` defaults to :data:`CATALOGUE`.
    """
    lo, hi = to_utc(start), to_utc(end)
    if lo is None or hi is None:
        msg = "collect_prometheus needs a start and an end"
        raise ParameterError(msg)
    step = float(step) if step is not None else float(choose_step(lo, hi))
    if step <= 0:
        msg = f"step must be positive, not {step}"
        raise ParameterError(msg)
    specs = list(CATALOGUE if queries is None else queries)
    names = [cluster] if isinstance(cluster, str) else list(cluster or [])
    if not settings.cluster_label and len(names) > 1:
        msg = "several clusters need settings.cluster_label (the label that names the cluster on the server)"
        raise ParameterError(msg)
    default_cluster = names[0] if len(names) == 1 else DEFAULT_CLUSTER
    chunks = plan_chunks(lo, hi, step=step, max_points=settings.max_points_per_request)
    if not chunks:
        msg = f"the window {lo.isoformat()} → {hi.isoformat()} holds no multiple of the {step:g} s step; widen it"
        raise ParameterError(msg)
    stats = CollectStats(step=step)
    writer.add_source(
        SOURCE,
        url=settings.display_url,
        auth=settings.auth_kind,
        step_seconds=step,
        start=lo.isoformat(),
        end=hi.isoformat(),
        namespaces=list(namespaces) if namespaces else None,
        cluster_label=settings.cluster_label,
        clusters=names or None,
        queries=[s.metric for s in specs],
    )
    own = client is None
    client = client or PrometheusClient(settings)
    answered = False
    done, total = 0, len(chunks) * len(specs)
    before = (client.stats.requests, client.stats.retries)
    try:
        for spec in specs:
            query = spec.promql(
                namespaces=namespaces, cluster_label=settings.cluster_label, clusters=names or None
            )
            stats.queries += 1
            buffer: list[pl.DataFrame] = []
            buffered = 0
            series_seen: set[tuple] = set()
            try:
                for i, (c_lo, c_hi) in enumerate(chunks):
                    data = client.query_range(query, start=c_lo, end=c_hi, step=step, name=spec.metric)
                    answered = True
                    stats.chunks += 1
                    for text in data.get("warnings", []):
                        _warn(writer, stats, f"query {spec.metric!r}: the server warned: {text}", spec.metric)
                    frame = matrix_to_wide(
                        data["result"],
                        metric=spec.metric,
                        cluster=default_cluster,
                        cluster_label=settings.cluster_label,
                        node_from_instance=spec.node_from_instance,
                    )
                    buffer.append(frame)
                    buffered += frame.height
                    series_seen.update(
                        frame.select("cluster", "namespace", "pod", "container", "node", "labels")
                        .unique()
                        .iter_rows()
                    )
                    done += 1
                    if progress is not None:
                        progress(
                            ChunkProgress(
                                spec.metric, i + 1, len(chunks), c_lo, c_hi, frame.height, done, total
                            )
                        )
                    if buffered >= FLUSH_ROWS:
                        stats.samples += _flush(writer, buffer)
                        buffered = 0
            except PrometheusUnavailable as err:
                if not answered:
                    raise
                stats.failed.append(spec.metric)
                done += len(chunks) - i - 1
                _warn(
                    writer,
                    stats,
                    f"query {spec.metric!r} failed for {c_lo.isoformat()} → {hi.isoformat()} "
                    f"(kept what was fetched before): {err}",
                    spec.metric,
                )
            except PrometheusQueryError as err:
                if err.status != 422:
                    raise
                stats.failed.append(spec.metric)
                done += len(chunks) - i
                _warn(writer, stats, f"query {spec.metric!r} could not be executed: {err}", spec.metric)
            finally:
                stats.samples += _flush(writer, buffer)
                stats.series += len(series_seen)
    finally:
        stats.requests = client.stats.requests - before[0]
        stats.retries = client.stats.retries - before[1]
        if own:
            client.close()
    log.info(
        "Prometheus %s: %d queries, %d requests, %d series, %d samples, %d failed",
        settings.display_url,
        stats.queries,
        stats.requests,
        stats.series,
        stats.samples,
        len(stats.failed),
    )
    return stats


def _warn(writer: SnapshotWriter, stats: CollectStats, message: str, what: str) -> None:
    stats.warnings.append(message)
    writer.warn(SOURCE, message, what=what)


def _flush(writer: SnapshotWriter, buffer: list[pl.DataFrame]) -> int:
    if not buffer:
        return 0
    frame = pl.concat(buffer, how="vertical")
    buffer.clear()
    if frame.height:
        writer.write_metrics(frame)
    return frame.height


def matrix_to_wide(
    result: Sequence[dict[str, Any]],
    *,
    metric: str,
    cluster: str,
    cluster_label: str | None = None,
    node_from_instance: bool = False,
) -> pl.DataFrame:
    """A ``matrix`` result (``[{"metric": {labels}, "values": [[ts, "v"], …]}, …]``) as a wide
    metric frame stored under ``metric``. With ``cluster_label``, that label's value is the
    ``cluster`` column (``cluster`` when absent) and leaves the labels."""
    rows: list[SeriesRow] = []
    index: list[int] = []
    ts_us: list[int] = []
    values: list[float] = []
    for item in result:
        labels = dict(item.get("metric") or {})
        name = labels.pop(cluster_label, None) if cluster_label else None
        node = _instance_host(labels.get("instance")) if node_from_instance else None
        points = item.get("values") or []
        rows.append(series_row(name or cluster, metric, labels, node=node))
        n = len(rows) - 1
        index.extend([n] * len(points))
        ts_us.extend(round(float(t) * 1_000_000) for t, _v in points)
        values.extend(float(v) for _t, v in points)
    return build_wide(rows, index, ts_us, values)


def _instance_host(instance: str | None) -> str | None:
    """The host of ``instance`` when it is a name (kube-prometheus relabels it to the node
    name), None when it is an IP address or absent."""
    if not instance:
        return None
    host = instance
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host or None
    return None
