"""Resource browser: a table per kind (Pod, Container, Node, Namespace, Deployment, ReplicaSet,
DaemonSet, StatefulSet, Job, CronJob, Service) and a detail view per object with the tabs
Detail, YAML, Events, Logs and Performance.

>>> from workbench.analyses import browser
>>> browser.table(ds, "Deployment", cluster="eks-prod-us-east-1", namespace="shop")   # doctest: +SKIP
>>> d = browser.detail(ds, "Pod", "shop", "cart-nbmt2wb6c8-b9lh5")                     # doctest: +SKIP
>>> print(d.yaml)                                                                   # doctest: +SKIP

Every table has :data:`BASE_COLUMNS` (cluster, kind, namespace, name, status, age, ready,
restarts, and CPU and memory usage, request, limit and usage as % of request and of limit)
followed by the kind's own columns (:data:`COLUMNS`). Objects are those that exist at the
snapshot's end. Usage is the mean over the last ``usage_minutes`` of the window, from the raw
``container_cpu_usage_seconds_total`` counters (resets handled) and
``container_memory_working_set_bytes`` (see :mod:`workbench.analyses.browser._usage`); a pod's
request and limit are the sums over its app containers (a container without a limit makes the
pod's limit, and so its % of limit, empty); a workload's, namespace's, node's or service's are
the sums over its pods. ``ready`` reads ``ready/desired`` for workloads, ``1/2`` containers for
pods, ``ready pods/pods`` for namespaces and services, ``True``/``False`` for nodes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import polars as pl

from workbench.analyses.browser._detail import DETAIL_CONTAINER_COLUMNS, PERFORMANCE_COLUMNS, Detail, detail
from workbench.analyses.browser._tables import (
    BASE_COLUMNS,
    COLUMNS,
    KINDS,
    WORKLOAD_KINDS,
    build,
    workload_status,
)
from workbench.analyses.browser._usage import (
    CPU_METRIC,
    MEMORY_METRIC,
    SERIES_COLUMNS,
    USAGE_COLUMNS,
    read_samples,
    usage_frame,
    usage_series,
)
from workbench.analyses.manifests._objects import as_time, canonical_kind, resolve_params, snapshot_end
from workbench.analyses.params import Params, closest, field, require_one_of
from workbench.errors import ParameterError
from workbench.store import Dataset

__all__ = [
    "BASE_COLUMNS",
    "COLUMNS",
    "CPU_METRIC",
    "DETAIL_CONTAINER_COLUMNS",
    "KINDS",
    "MEMORY_METRIC",
    "PERFORMANCE_COLUMNS",
    "SERIES_COLUMNS",
    "USAGE_COLUMNS",
    "WORKLOAD_KINDS",
    "BrowserParams",
    "Detail",
    "detail",
    "table",
    "usage",
    "usage_frame",
    "usage_series",
    "workload_status",
]


@dataclasses.dataclass(frozen=True, kw_only=True)
class BrowserParams(Params):
    """What the resource browser lists."""

    cluster: str | None = field(None, "cluster to list (all when empty)")
    namespace: str | None = field(None, "namespace to list (all when empty)")
    end: dt.datetime | str | None = field(None, "usage up to this time, UTC (the snapshot's end when empty)")
    usage_minutes: float = field(
        5.0, "usage is the mean over this many minutes before `end`", ge=0.5, le=24 * 60
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "end", as_time(self.end, what="end"))
        for name in ("cluster", "namespace"):
            if getattr(self, name) == "":
                object.__setattr__(self, name, None)

    def window(self, ds: Dataset) -> tuple[dt.datetime, dt.datetime]:
        end = self.end or snapshot_end(ds)
        return end - dt.timedelta(minutes=self.usage_minutes), end


def _kind(kind: str) -> str:
    name = canonical_kind(kind, KINDS)
    if name not in KINDS:
        near = closest(name, KINDS)
        hint = f"did you mean {', '.join(near)}? " if near else ""
        msg = f"the resource browser has no table of {kind!r}; {hint}the kinds are {', '.join(KINDS)}"
        raise ParameterError(msg)
    return name


def _check_scope(ds: Dataset, p: BrowserParams) -> None:
    if p.cluster is not None:
        require_one_of("cluster", p.cluster, ds.clusters)
    if p.namespace is not None:
        names = (
            ds.scan("pods", cluster=p.cluster).select("namespace").unique().collect()["namespace"].to_list()
        )
        names += (
            ds.scan("workloads", cluster=p.cluster)
            .select("namespace")
            .unique()
            .collect()["namespace"]
            .to_list()
        )
        names += (
            ds.scan("services", cluster=p.cluster)
            .select("namespace")
            .unique()
            .collect()["namespace"]
            .to_list()
        )
        require_one_of("namespace", p.namespace, [n for n in names if n])


def table(ds: Dataset, kind: str, params: BrowserParams | None = None, **changes: Any) -> pl.DataFrame:
    """The table of one kind (``"Deployment"``, ``"deploy"``, ``"pods"``…): :data:`COLUMNS` of
    that kind, sorted by cluster, namespace and name."""
    p = resolve_params(BrowserParams, params, changes)
    name = _kind(kind)
    _check_scope(ds, p)
    start, end = p.window(ds)
    return build(ds, name, cluster=p.cluster, namespace=p.namespace, end=end, start=start)


def usage(ds: Dataset, params: BrowserParams | None = None, **changes: Any) -> pl.DataFrame:
    """Mean CPU (cores) and memory (bytes) per container over the last ``usage_minutes``
    (:data:`USAGE_COLUMNS`)."""
    p = resolve_params(BrowserParams, params, changes)
    _check_scope(ds, p)
    start, end = p.window(ds)
    samples = read_samples(ds, cluster=p.cluster, namespace=p.namespace, pods=None, start=start, end=end)
    return usage_frame(samples, start=start, end=end)
