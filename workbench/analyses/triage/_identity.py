"""Who is who: a pod's workload, a controller's top owner, a traced service's workload.

The ``pods`` table says which workload a pod belongs to (ReplicaSet resolved to its Deployment,
Job to its CronJob). A snapshot with only metrics and traces has no pods table; then a pod's
workload is read off its name, as the controllers make them:

- ``<deployment>-<pod-template-hash>-<5 chars>`` (hash and suffix from Kubernetes' safe
  alphabet ``bcdfghjklmnpqrstvwxz2456789``) → Deployment;
- ``<statefulset>-<ordinal>`` → StatefulSet;
- ``<owner>-<5 chars>`` → a workload of unknown kind (DaemonSet, Job…).

A traced service belongs to the workload that most of its spans' pods belong to; without pod
names on spans, to the workload its Kubernetes Service selects, else to a workload of the same
name in its cluster; else it stays a Service.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from collections import Counter
from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

import polars as pl

from workbench.analyses.triage._context import kept, signature
from workbench.analyses.triage._context import spans_named as _named
from workbench.store import Dataset

__all__ = ["Identity", "infer_workload"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_SAFE = "[bcdfghjklmnpqrstvwxz2456789]"
_DEPLOYMENT_POD = re.compile(rf"^(?P<name>.+)-{_SAFE}{{6,10}}-{_SAFE}{{5}}$")
_REPLICASET = re.compile(rf"^(?P<name>.+)-{_SAFE}{{6,10}}$")
_STATEFUL_POD = re.compile(r"^(?P<name>.+)-\d+$")
_OWNED_POD = re.compile(rf"^(?P<name>.+)-{_SAFE}{{5}}$")

Key = tuple[str | None, str | None, str]


def infer_workload(pod: str) -> tuple[str, str] | None:
    """``(kind, name)`` of the workload a pod name was made by, or None.

    >>> infer_workload("checkout-l5fbg7jgpp-47vfn")
    ('Deployment', 'checkout')
    >>> infer_workload("orders-db-1")
    ('StatefulSet', 'orders-db')
    >>> infer_workload("node-agent-x2k4p")
    ('Workload', 'node-agent')
    >>> infer_workload("standalone") is None
    True
    """
    for pattern, kind in (
        (_DEPLOYMENT_POD, "Deployment"),
        (_STATEFUL_POD, "StatefulSet"),
        (_OWNED_POD, "Workload"),
    ):
        m = pattern.match(pod)
        if m:
            return kind, m.group("name")
    return None


def _per_cluster(compute: Callable[[Identity], T]) -> cached_property[T]:
    """A cached property of an :class:`Identity` that depends on nothing but the snapshot
    (version) and the cluster: kept for both, shared by every namespace and window of it."""
    name = compute.__name__

    @functools.wraps(compute)
    def get(self: Identity) -> T:
        shared: dict[str, Any] = kept("identity tables", (signature(self.ds), self.cluster), dict, size=8)
        if name not in shared:
            shared[name] = compute(self)
        return shared[name]  # type: ignore[no-any-return]

    return cached_property(get)


class Identity:
    """Looks up workloads of pods, controllers and services within one triage scope."""

    def __init__(
        self, ds: Dataset, *, cluster: str | None, namespace: str | None, start: dt.datetime, end: dt.datetime,
        span_start: dt.datetime, spans: Any = None,
    ) -> None:  # fmt: skip
        self.ds, self.cluster, self.namespace = ds, cluster, namespace
        self.start, self.end, self.span_start = start, end, span_start
        #: the snapshot's spans linked once (:class:`~workbench.analyses.servicemap.LinkedSpans`,
        #: kept with their pods), to count the traced services' pods from instead of a read; or None
        self.spans = spans

    # -- tables ---------------------------------------------------------------------------------
    @_per_cluster
    def pods(self) -> pl.DataFrame:
        """cluster, namespace, pod, workload_kind, workload_name, node, created, deleted."""
        return (
            self.ds.scan("pods", cluster=self.cluster)
            .select(
                "cluster",
                "namespace",
                pl.col("name").alias("pod"),
                "workload_kind",
                "workload_name",
                "node",
                "created",
                "deleted",
                "observed_at",
            )
            .sort("observed_at", nulls_last=False)
            .collect()
        )

    @_per_cluster
    def _pod_map(self) -> dict[tuple[str, str, str], tuple[str, str]]:
        out: dict[tuple[str, str, str], tuple[str, str]] = {}
        for r in self.pods.filter(pl.col("workload_name").is_not_null()).iter_rows(named=True):
            out[(r["cluster"], r["namespace"], r["pod"])] = (
                r["workload_kind"] or "Workload",
                r["workload_name"],
            )
        return out

    @_per_cluster
    def _owners(self) -> dict[tuple[str, str | None, str, str], tuple[str, str]]:
        """(cluster, namespace, kind, name) of a ReplicaSet/Job → its owning Deployment/CronJob."""
        w = (
            self.ds.scan("workloads", cluster=self.cluster)
            .select(
                "cluster", "namespace", pl.col("kind").cast(pl.String), "name", "owner_kind", "owner_name"
            )
            .collect()
        )
        out = {}
        for r in w.filter(pl.col("owner_name").is_not_null()).iter_rows(named=True):
            if r["owner_kind"] in ("Deployment", "CronJob", "StatefulSet", "DaemonSet"):
                out[(r["cluster"], r["namespace"], r["kind"], r["name"])] = (r["owner_kind"], r["owner_name"])
        return out

    @_per_cluster
    def _workload_names(self) -> dict[tuple[str, str], list[tuple[str, str]]]:
        """(cluster, name) → [(namespace, kind)] of the workloads known by name."""
        out: dict[tuple[str, str], list[tuple[str, str]]] = {}
        w = (
            self.ds.scan("workloads", cluster=self.cluster)
            .select("cluster", "namespace", pl.col("kind").cast(pl.String), "name", "owner_name")
            .collect()
        )
        for r in w.filter(pl.col("owner_name").is_null()).iter_rows(named=True):
            out.setdefault((r["cluster"], r["name"]), []).append((r["namespace"], r["kind"]))
        for (c, ns, _p), (kind, name) in self._pod_map.items():
            if (ns, kind) not in out.setdefault((c, name), []):
                out[(c, name)].append((ns, kind))
        seen = (
            self.ds.scan("series", cluster=self.cluster)
            .select("cluster", "namespace", "pod")
            .unique()
            .collect()
        )
        for c, ns, pod in sorted(
            seen.filter(pl.col("pod").is_not_null()).rows(), key=lambda r: tuple(map(str, r))
        ):
            wl = self.workload_of(c, ns, pod)
            if wl is not None and (ns, wl[0]) not in out.setdefault((c, wl[1]), []):
                out[(c, wl[1])].append((ns, wl[0]))
        return out

    @cached_property
    def _service_pods(self) -> dict[tuple[str, str | None, str], Counter[tuple[str, str, str]]]:
        """(cluster, namespace, service) of the traces → span counts per (namespace, kind, workload)."""
        scope = {"cluster": self.cluster, "start": self.span_start, "end": self.end}
        if self.spans is not None and "pod" in self.spans.keep and _named(self.ds):
            # the spans a scan of the scope gives, from those linked once (their services named)
            lf = self.spans.select(self.ds.predicates("spans", **scope), columns=("cluster", "namespace",
                                                                                "pod")).lazy()  # fmt: skip
        else:
            lf = self.ds.scan("spans", **scope)
        got = (
            lf.filter(pl.col("pod").is_not_null())
            .group_by("cluster", "namespace", "service", "pod")
            .agg(pl.len().alias("n"))
            .collect()
        )
        out: dict[tuple[str, str | None, str], Counter[tuple[str, str, str]]] = {}
        for r in got.iter_rows(named=True):
            wl = self.workload_of(r["cluster"], r["namespace"], r["pod"])
            if wl is None or r["service"] is None:
                continue
            out.setdefault((r["cluster"], r["namespace"], r["service"]), Counter())[
                (r["namespace"], *wl)
            ] += r["n"]
        return out

    @_per_cluster
    def _k8s_services(self) -> dict[tuple[str, str, str], list[str]]:
        s = (
            self.ds.scan("services", cluster=self.cluster)
            .select("cluster", "namespace", "name", "pods")
            .collect()
        )
        return {
            (r["cluster"], r["namespace"], r["name"]): list(r["pods"] or []) for r in s.iter_rows(named=True)
        }

    # -- lookups --------------------------------------------------------------------------------
    def workload_of(self, cluster: str, namespace: str | None, pod: str) -> tuple[str, str] | None:
        """``(kind, name)`` of a pod's workload (from the pods table, else from its name)."""
        got = self._pod_map.get((cluster, namespace, pod))  # type: ignore[arg-type]
        if got is not None:
            return got
        if not self.pods.is_empty() and (cluster, namespace, pod) in self._known_bare:
            return None  # the pods table knows it and says it has no workload
        return infer_workload(pod)

    @_per_cluster
    def _known_bare(self) -> set[tuple[str, str, str]]:
        bare = self.pods.filter(pl.col("workload_name").is_null())
        return {(r["cluster"], r["namespace"], r["pod"]) for r in bare.iter_rows(named=True)}

    def controller_owner(
        self, cluster: str, namespace: str | None, kind: str, name: str
    ) -> tuple[str, str] | None:
        """The workload a controller rolls up to: a ReplicaSet's Deployment, a Job's CronJob;
        a top-level workload is itself; None for other kinds."""
        got = self._owners.get((cluster, namespace, kind, name))  # type: ignore[arg-type]
        if got is not None:
            return got
        if kind == "ReplicaSet":
            m = _REPLICASET.match(name)
            return ("Deployment", m.group("name")) if m else ("ReplicaSet", name)
        if kind in ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job"):
            return kind, name
        return None

    def service_target(
        self, cluster: str, namespace: str | None, service: str
    ) -> tuple[str, str | None, str, str | None]:
        """Where a traced service's evidence goes: ``(level, namespace, name, workload_kind)``."""
        counts: Counter[tuple[str, str, str]] = Counter()
        for (c, ns, s), got in self._service_pods.items():
            if c == cluster and s == service and (namespace is None or ns == namespace):
                counts.update(got)
        if counts:
            (ns, kind, name), _ = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
            return "Workload", ns, name, kind
        for (c, ns, name), pods in sorted(
            self._k8s_services.items(), key=lambda kv: (kv[0][1] or "", kv[0][2])
        ):
            if c == cluster and name == service and (namespace is None or ns == namespace) and pods:
                wl = Counter(w for p in pods if (w := self.workload_of(c, ns, p)) is not None)
                if wl:
                    (kind, wname), _ = sorted(wl.items(), key=lambda kv: (-kv[1], kv[0]))[0]
                    return "Workload", ns, wname, kind
        same = sorted(self._workload_names.get((cluster, service), []), key=lambda x: (x[0] or "", x[1]))
        if namespace is not None:
            same = [x for x in same if x[0] == namespace] or same
        if same:
            return "Workload", same[0][0], service, same[0][1]
        return "Service", namespace, service, None

    def alive_pods(self, cluster: str, namespace: str | None, kind: str, name: str) -> int:
        """How many pods of a workload existed during the window (0 when unknown)."""
        return len(self._alive.get((cluster, namespace, kind, name), ()))

    @cached_property
    def _alive(self) -> dict[tuple[str, str | None, str, str], set[str]]:
        out: dict[tuple[str, str | None, str, str], set[str]] = {}
        pods = self.pods.filter(
            (pl.col("created").is_null() | (pl.col("created") <= self.end))
            & (pl.col("deleted").is_null() | (pl.col("deleted") >= self.start))
        )
        rows = [(r["cluster"], r["namespace"], r["pod"]) for r in pods.iter_rows(named=True)]
        if not rows:  # no pods table: the pods that reported CPU in the window
            seen = (
                self.ds.scan_metrics(
                    metric="container_cpu_usage_seconds_total",
                    cluster=self.cluster,
                    namespace=self.namespace,
                    start=self.start,
                    end=self.end,
                )
                .select("cluster", "namespace", "pod")
                .unique()
                .collect()
            )
            rows = [(r["cluster"], r["namespace"], r["pod"]) for r in seen.iter_rows(named=True) if r["pod"]]
        for c, ns, pod in rows:
            wl = self.workload_of(c, ns, pod)
            if wl is not None:
                out.setdefault((c, ns, *wl), set()).add(pod)
        return out
