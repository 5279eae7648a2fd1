"""Each node's free allocatable at a moment, and whether a pod could go there.

Free allocatable = the node's allocatable (from its revision at that moment) minus the requests
of the pods bound to it and not finished at that moment (from the pods' revisions), as the
scheduler counts it. Both come from the ``objects`` table, so the answer is "as it was then",
not as it is at the snapshot's end.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import polars as pl

from workbench.analyses.manifests._objects import TS
from workbench.kube.quantity import count, cpu_cores, effective_pod_resources, memory_bytes
from workbench.store import Dataset

__all__ = ["HEADROOM_COLUMNS", "Capacities", "Capacity", "host_ports", "node_blockers"]

log = logging.getLogger(__name__)

HEADROOM_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "node": pl.String(),
    "at": TS,
    "ready": pl.Boolean(),
    "unschedulable": pl.Boolean(),
    "taints": pl.String(),
    "labels": pl.String(),
    "cpu_allocatable": pl.Float64(),
    "memory_allocatable": pl.Int64(),
    "pods_allocatable": pl.Int64(),
    "pods_bound": pl.Int64(),
    "cpu_requested": pl.Float64(),
    "memory_requested": pl.Int64(),
    "cpu_free": pl.Float64(),
    "memory_free": pl.Int64(),
    "pods_free": pl.Int64(),
    "host_ports": pl.List(pl.String()),
}

_NODE_SCHEMA = {
    "cluster": pl.String, "node": pl.String, "observed_at": TS, "deleted": pl.Boolean, "ready": pl.Boolean,
    "unschedulable": pl.Boolean, "taints": pl.String, "labels": pl.String, "cpu_allocatable": pl.Float64,
    "memory_allocatable": pl.Int64, "pods_allocatable": pl.Int64,
}  # fmt: skip


def _node_revision(row: Mapping[str, Any]) -> dict[str, Any]:
    obj = json.loads(row["manifest"])
    status = obj.get("status") or {}
    spec = obj.get("spec") or {}
    alloc = status.get("allocatable") or {}
    ready = next(
        (
            c.get("status") == "True"
            for c in status.get("conditions") or []
            if isinstance(c, dict) and c.get("type") == "Ready"
        ),
        None,
    )
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return {
        "cluster": row["cluster"], "node": row["name"], "observed_at": row["observed_at"], "deleted": row["deleted"],
        "ready": ready, "unschedulable": bool(spec.get("unschedulable")),
        "taints": json.dumps(spec.get("taints") or [], sort_keys=True), "labels": json.dumps(labels, sort_keys=True),
        "cpu_allocatable": cpu_cores(alloc.get("cpu")), "memory_allocatable": memory_bytes(alloc.get("memory")),
        "pods_allocatable": count(alloc.get("pods")),
    }  # fmt: skip


class Capacity:
    """Nodes and bound pods of a snapshot over time; :meth:`at` gives the headroom at a moment."""

    def __init__(self, ds: Dataset, *, cluster: str | None = None, end: dt.datetime | None = None) -> None:
        objects = ds.scan("objects", cluster=cluster, end=end, latest=False)
        node_rows = objects.filter(pl.col("kind") == "Node").select(
            "cluster", "name", "observed_at", "deleted", "manifest").collect()  # fmt: skip
        self.nodes = pl.DataFrame(
            [_node_revision(r) for r in node_rows.iter_rows(named=True)], schema=_NODE_SCHEMA
        )
        known = set(self.nodes["cluster"].unique().to_list())
        table = ds.nodes(cluster=cluster).filter(~pl.col("cluster").is_in(list(known)))
        if table.height:  # no Node revisions for these clusters: the nodes table's latest state
            self.nodes = pl.concat([self.nodes, table.select(
                "cluster", pl.col("name").alias("node"), pl.lit(None, dtype=TS).alias("observed_at"),
                pl.lit(value=False).alias("deleted"), "ready", "unschedulable", pl.col("taints").fill_null("[]"),
                pl.col("labels").fill_null("{}"), "cpu_allocatable", "memory_allocatable", "pods_allocatable",
            ).cast(_NODE_SCHEMA)])  # type: ignore[arg-type]  # fmt: skip
        self.pods = (
            objects.filter(pl.col("kind") == "Pod")
            .select(
                "cluster", "uid", "observed_at", "deleted",
                pl.col("manifest").str.json_path_match("$.spec.nodeName").alias("node"),
                pl.col("manifest").str.json_path_match("$.status.phase").alias("phase"),
                pl.when(pl.col("manifest").str.contains('"hostPort"', literal=True)).then(pl.col("manifest"))
                .alias("_ports_json"),
            )
            .collect()
        )  # fmt: skip
        ports = [
            None if text is None else _manifest_host_ports(text)
            for text in self.pods["_ports_json"].to_list()
        ]
        self.pods = self.pods.drop("_ports_json").with_columns(
            pl.Series("host_ports", ports, dtype=pl.List(pl.String))
        )
        with_revisions = set(self.pods["cluster"].unique().to_list())
        table_pods = ds.pods(cluster=cluster)
        fallback = table_pods.filter(
            ~pl.col("cluster").is_in(list(with_revisions)), pl.col("uid").is_not_null()
        )
        if fallback.height:  # no Pod revisions for these clusters: the pods table's binding times
            self.pods = pl.concat([self.pods, _revisions_from_table(fallback)])
        self.requests = table_pods.select("cluster", "uid", "cpu_request", "memory_request")
        missing = (
            self.pods.select("cluster", "uid").unique().join(self.requests, on=["cluster", "uid"], how="anti")
        )
        if missing.height:
            self.requests = pl.concat([self.requests, self._requests_from_manifests(ds, missing, cluster)])
        self.requests = self.requests.unique(["cluster", "uid"], keep="last")

    @staticmethod
    def _requests_from_manifests(ds: Dataset, missing: pl.DataFrame, cluster: str | None) -> pl.DataFrame:
        rows = (
            ds.scan("objects", cluster=cluster, latest=False)
            .filter(pl.col("kind") == "Pod")
            .join(missing.lazy(), on=["cluster", "uid"], how="semi")
            .sort("observed_at")
            .group_by("cluster", "uid")
            .agg(pl.col("manifest").last())
            .collect()
        )
        out = []
        for r in rows.iter_rows(named=True):
            res = effective_pod_resources(json.loads(r["manifest"]).get("spec") or {})
            out.append({"cluster": r["cluster"], "uid": r["uid"], "cpu_request": res["cpu_request"],
                        "memory_request": res["memory_request"]})  # fmt: skip
        return pl.DataFrame(out, schema={"cluster": pl.String, "uid": pl.String, "cpu_request": pl.Float64,
                                         "memory_request": pl.Int64})  # fmt: skip

    def bound_at(self, at: dt.datetime) -> pl.DataFrame:
        """The pods bound to a node and not finished at ``at``: cluster, uid, node, requests."""
        latest = (
            self.pods.filter(pl.col("observed_at") <= at)
            .sort("observed_at", maintain_order=True)
            .group_by("cluster", "uid", maintain_order=True)
            .last()
        )
        bound = latest.filter(
            ~pl.col("deleted"), pl.col("node").is_not_null(), ~pl.col("phase").is_in(["Succeeded", "Failed"])
        )
        return bound.join(self.requests, on=["cluster", "uid"], how="left")

    def at(self, at: dt.datetime) -> pl.DataFrame:
        """Every node that exists at ``at`` with its free allocatable (:data:`HEADROOM_COLUMNS`)."""
        nodes = (
            self.nodes.filter(pl.col("observed_at").is_null() | (pl.col("observed_at") <= at))
            .sort("observed_at", nulls_last=False, maintain_order=True)
            .group_by("cluster", "node", maintain_order=True)
            .last()
            .filter(~pl.col("deleted"))
        )
        used = (
            self.bound_at(at)
            .group_by("cluster", "node")
            .agg(
                pl.len().cast(pl.Int64).alias("pods_bound"),
                pl.col("cpu_request").fill_null(0).sum().alias("cpu_requested"),
                pl.col("memory_request").fill_null(0).sum().cast(pl.Int64).alias("memory_requested"),
                pl.col("host_ports")
                .list.explode(keep_nulls=False, empty_as_null=False)
                .drop_nulls()
                .unique()
                .sort()
                .alias("host_ports"),
            )
        )
        out = nodes.join(used, on=["cluster", "node"], how="left").with_columns(
            pl.lit(at, dtype=TS).alias("at"),
            pl.col("pods_bound").fill_null(0),
            pl.col("cpu_requested").fill_null(0.0),
            pl.col("memory_requested").fill_null(0),
            pl.col("host_ports").fill_null([]),
        )
        out = out.with_columns(
            (pl.col("cpu_allocatable") - pl.col("cpu_requested")).alias("cpu_free"),
            (pl.col("memory_allocatable") - pl.col("memory_requested")).alias("memory_free"),
            (pl.col("pods_allocatable") - pl.col("pods_bound")).alias("pods_free"),
        )
        return out.select(list(HEADROOM_COLUMNS)).cast(HEADROOM_COLUMNS).sort("cluster", "node")  # type: ignore[arg-type]


class Capacities:
    """The :class:`Capacity` of each (cluster, end) asked for, built once and kept (the last
    ``size``): what a page passes to :func:`~workbench.analyses.pending.fit`,
    :func:`~workbench.analyses.pending.shortfall` and :func:`~workbench.analyses.pending.headroom`
    so that a new namespace or workload reads no node or pod revision again."""

    def __init__(self, ds: Dataset, *, size: int = 4) -> None:
        self.ds = ds
        self.size = size
        self._kept: OrderedDict[tuple[str | None, dt.datetime | None], Capacity] = OrderedDict()

    def __call__(self, cluster: str | None, end: dt.datetime | None) -> Capacity:
        """``Capacity(ds, cluster=cluster, end=end)``, kept."""
        key = (cluster, end)
        if key in self._kept:
            self._kept.move_to_end(key)
        else:
            self._kept[key] = Capacity(self.ds, cluster=cluster, end=end)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return self._kept[key]


def _revisions_from_table(pods: pl.DataFrame) -> pl.DataFrame:
    """Pod "revisions" made from the pods table where no revision was stored: bound from the
    scheduled (else created) time, gone at the deletion time."""
    bound = pods.select(
        "cluster", "uid", pl.coalesce("scheduled", "created").alias("observed_at"), pl.lit(value=False).alias("deleted"),
        "node", pl.col("phase").cast(pl.String), pl.lit(None, dtype=pl.List(pl.String)).alias("host_ports"),
    ).filter(pl.col("observed_at").is_not_null())  # fmt: skip
    gone = pods.filter(pl.col("deleted").is_not_null()).select(
        "cluster", "uid", pl.col("deleted").alias("observed_at"), pl.lit(value=True).alias("deleted"), "node",
        pl.col("phase").cast(pl.String), pl.lit(None, dtype=pl.List(pl.String)).alias("host_ports"),
    )  # fmt: skip
    return pl.concat([bound, gone])


def host_ports(spec: Mapping[str, Any]) -> list[str]:
    """The host ports a pod spec asks for, as ``"TCP/80"``."""
    out = []
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        for port in (container or {}).get("ports") or [] if isinstance(container, dict) else []:
            if isinstance(port, dict) and port.get("hostPort"):
                out.append(f"{port.get('protocol') or 'TCP'}/{port['hostPort']}")
    return sorted(set(out))


def _manifest_host_ports(text: str) -> list[str]:
    return host_ports(json.loads(text).get("spec") or {})


def _tolerates(tolerations: list[Any], taint: Mapping[str, Any]) -> bool:
    """``v1.Toleration.ToleratesTaint``."""
    for tol in tolerations:
        if not isinstance(tol, dict):
            continue
        if tol.get("effect") and tol["effect"] != taint.get("effect"):
            continue
        if tol.get("key") and tol["key"] != taint.get("key"):
            continue
        if not tol.get("key") and tol.get("operator") != "Exists":
            continue
        if tol.get("operator") == "Exists" or (tol.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _expression_holds(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), [str(v) for v in expr.get("values") or []]
    value = labels.get(key) if isinstance(key, str) else None
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and values:
        try:
            a, b = int(value), int(values[0])
        except ValueError:
            return False
        return a > b if op == "Gt" else a < b
    return False


def _affinity_holds(spec: Mapping[str, Any], labels: Mapping[str, str], node: str) -> bool:
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})  # fmt: skip
    terms = [t for t in required.get("nodeSelectorTerms") or [] if isinstance(t, dict)]
    if not terms:
        return True
    for term in terms:
        exprs = term.get("matchExpressions") or []
        fields = term.get("matchFields") or []
        if all(_expression_holds(e, labels) for e in exprs) and all(
            _expression_holds(f, {"metadata.name": node}) for f in fields
        ):
            return True
    return False


def node_blockers(spec: Mapping[str, Any], node: Mapping[str, Any]) -> list[str]:
    """Why the scheduler would not consider ``node`` for a pod with this spec, resources aside
    (empty when it would): ``not ready``, ``cordoned``, ``taint {key: value}``, ``node selector``,
    ``node affinity``, ``host port TCP/80 in use``. ``node`` is a :data:`HEADROOM_COLUMNS` row."""
    out = []
    tolerations = spec.get("tolerations") or []
    if node.get("ready") is False:
        out.append("not ready")
    if node.get("unschedulable") and not _tolerates(
        tolerations, {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
    ):
        out.append("cordoned")
    for taint in json.loads(node.get("taints") or "[]"):
        if (
            isinstance(taint, dict)
            and taint.get("effect") in ("NoSchedule", "NoExecute")
            and not _tolerates(tolerations, taint)
        ):
            out.append("taint {" + f"{taint.get('key')}: {taint.get('value') or ''}" + "}")
    labels = json.loads(node.get("labels") or "{}")
    selector = spec.get("nodeSelector") or {}
    if any(labels.get(k) != str(v) for k, v in selector.items()):
        out.append("node selector")
    if not _affinity_holds(spec, labels, str(node.get("node"))):
        out.append("node affinity")
    taken = set(node.get("host_ports") or [])
    out.extend(f"host port {port} in use" for port in host_ports(spec) if port in taken)
    return out
