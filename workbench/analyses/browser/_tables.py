"""The resource browser's tables: one per kind, every row with status, age, ready, restarts and
CPU/memory usage against request and limit."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import polars as pl

from workbench.analyses import overview
from workbench.analyses.browser._usage import read_samples, usage_frame
from workbench.analyses.manifests._objects import TS, empty
from workbench.analyses.podview import container_state
from workbench.store import Dataset

__all__ = ["BASE_COLUMNS", "COLUMNS", "KINDS", "WORKLOAD_KINDS", "build", "pod_frame", "workload_status"]

KINDS: tuple[str, ...] = (
    "Pod", "Container", "Node", "Namespace", "Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job",
    "CronJob", "Service",
)  # fmt: skip
WORKLOAD_KINDS: tuple[str, ...] = ("Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "CronJob")

_USE = {
    "cpu_usage": pl.Float64(), "cpu_request": pl.Float64(), "cpu_limit": pl.Float64(),
    "cpu_pct_request": pl.Float64(), "cpu_pct_limit": pl.Float64(),
    "memory_usage": pl.Float64(), "memory_request": pl.Int64(), "memory_limit": pl.Int64(),
    "memory_pct_request": pl.Float64(), "memory_pct_limit": pl.Float64(),
}  # fmt: skip
BASE_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(), "kind": pl.String(), "namespace": pl.String(), "name": pl.String(),
    "status": pl.String(), "age": pl.Duration("us"), "ready": pl.String(), "restarts": pl.Int64(), **_USE,
}  # fmt: skip
_S, _I, _L = pl.String(), pl.Int64(), pl.List(pl.String())
_WORKLOAD = {"desired": _I, "current": _I, "available": _I, "updated": _I, "strategy": _S, "max_surge": _S,
             "max_unavailable": _S, "images": _L, "pods": _I}  # fmt: skip
_EXTRA: dict[str, dict[str, pl.DataType]] = {
    "Pod": {"node": _S, "qos_class": _S, "workload_kind": _S, "workload_name": _S, "pod_ip": _S, "reason": _S},
    "Container": {"pod": _S, "image": _S, "is_init": pl.Boolean(), "last_reason": _S, "message": _S},
    "Node": {"roles": _S, "internal_ip": _S, "kubelet_version": _S, "pods": _I, "cpu_allocatable": pl.Float64(),
             "memory_allocatable": _I, "cpu_pct_allocatable": pl.Float64(), "memory_pct_allocatable": pl.Float64(),
             "taints": _S},
    "Namespace": {"pods": _I, "problem_pods": _I},
    "Deployment": _WORKLOAD,
    "ReplicaSet": {"desired": _I, "current": _I, "available": _I, "owner_name": _S, "images": _L, "pods": _I},
    "DaemonSet": _WORKLOAD,
    "StatefulSet": _WORKLOAD,
    "Job": {"desired": _I, "succeeded": _I, "failed": _I, "owner_name": _S, "images": _L, "pods": _I},
    "CronJob": {"schedule": _S, "suspend": pl.Boolean(), "current": _I, "images": _L, "pods": _I},
    "Service": {"type": _S, "cluster_ip": _S, "external_ips": _L, "load_balancer": _S, "ports": _S, "selector": _S,
                "pods": _I},
}  # fmt: skip
#: The columns of each kind's table: :data:`BASE_COLUMNS` then the kind's own.
COLUMNS: dict[str, dict[str, pl.DataType]] = {k: {**BASE_COLUMNS, **_EXTRA[k]} for k in KINDS}


def _pcts(frame: pl.DataFrame) -> pl.DataFrame:
    def pct(use: str, base: str) -> pl.Expr:
        return pl.when(pl.col(base) > 0).then(100.0 * pl.col(use) / pl.col(base)).otherwise(None)

    return frame.with_columns(
        pct("cpu_usage", "cpu_request").alias("cpu_pct_request"), pct("cpu_usage", "cpu_limit").alias("cpu_pct_limit"),
        pct("memory_usage", "memory_request").alias("memory_pct_request"),
        pct("memory_usage", "memory_limit").alias("memory_pct_limit"),
    )  # fmt: skip


def _sum_known(col: str) -> pl.Expr:
    """A sum over the known values; null when none is known."""
    return pl.when(pl.col(col).is_not_null().any()).then(pl.col(col).sum()).otherwise(None).alias(col)


def _sum_or_null(col: str) -> pl.Expr:
    """A sum that is unknown (null) when any part is: a limit missing on one container means
    the whole is unlimited."""
    return pl.when(pl.col(col).null_count() == 0).then(pl.col(col).sum()).otherwise(None).alias(col)


def pod_frame(ds: Dataset, *, cluster: str | None, namespace: str | None, end: dt.datetime,
              start: dt.datetime) -> tuple[pl.DataFrame, pl.DataFrame]:  # fmt: skip
    """(pods at the snapshot's end with usage, requests and limits; their containers likewise).

    A pod's requests and limits are the sums over its app containers (a limit missing on one
    makes the pod's limit null); its usage the sum of its containers' usage."""
    pods = overview.pods_at_end(ds, cluster=cluster)
    if namespace is not None:  # a namespace may hold services but no pods
        pods = pods.filter(pl.col("namespace") == namespace)
    containers = ds.containers(cluster=cluster, namespace=namespace).join(
        pods.select("cluster", pl.col("uid").alias("pod_uid")), on=["cluster", "pod_uid"], how="semi")  # fmt: skip
    samples = read_samples(ds, cluster=cluster, namespace=namespace, pods=None, start=start, end=end)
    use = usage_frame(samples, start=start, end=end)
    containers = containers.join(use, left_on=["cluster", "namespace", "pod", "name"],
                                 right_on=["cluster", "namespace", "pod", "container"], how="left")  # fmt: skip
    app = containers.filter(~pl.col("is_init"))
    per_pod = app.group_by("cluster", "pod_uid").agg(
        pl.col("cpu_request").sum().alias("_cpu_req"), pl.col("memory_request").sum().alias("_mem_req"),
        _sum_or_null("cpu_limit").alias("_cpu_lim"), _sum_or_null("memory_limit").alias("_mem_lim"),
        pl.col("cpu_request").is_not_null().any().alias("_has_cpu"),
        pl.col("memory_request").is_not_null().any().alias("_has_mem"),
    )  # fmt: skip
    pod_use = use.group_by("cluster", "namespace", "pod").agg(
        _sum_known("cpu_usage"), _sum_known("memory_usage"))  # fmt: skip
    pods = (
        pods.join(per_pod, left_on=["cluster", "uid"], right_on=["cluster", "pod_uid"], how="left")
        .with_columns(
            pl.when(pl.col("_has_cpu").is_not_null()).then(pl.when(pl.col("_has_cpu")).then(pl.col("_cpu_req")))
            .otherwise(pl.col("cpu_request")).alias("cpu_request"),
            pl.when(pl.col("_has_mem").is_not_null()).then(pl.when(pl.col("_has_mem")).then(pl.col("_mem_req")))
            .otherwise(pl.col("memory_request")).alias("memory_request"),
            pl.when(pl.col("_has_cpu").is_not_null()).then(pl.col("_cpu_lim")).otherwise(pl.col("cpu_limit")).alias("cpu_limit"),
            pl.when(pl.col("_has_mem").is_not_null()).then(pl.col("_mem_lim")).otherwise(pl.col("memory_limit")).alias("memory_limit"),
        )
        .join(pod_use, left_on=["cluster", "namespace", "name"], right_on=["cluster", "namespace", "pod"], how="left")
        .with_columns((pl.lit(end, dtype=TS) - pl.col("created")).alias("age"))
    )  # fmt: skip
    return pods, containers


def _member_pods(kind: str) -> tuple[str, str]:
    """Which pods columns say a pod belongs to a workload of ``kind``."""
    return (
        ("workload_kind", "workload_name")
        if kind in ("Deployment", "CronJob")
        else ("owner_kind", "owner_name")
    )


def _agg_pods(pods: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    ready = pl.col("containers_ready").fill_null(0) >= pl.col("containers_total").fill_null(0)
    return pods.group_by(by).agg(
        pl.len().cast(pl.Int64).alias("pods"), (ready & (pl.col("status") == "Running")).sum().alias("_ready_pods"),
        pl.col("restarts").fill_null(0).sum().cast(pl.Int64).alias("restarts"),
        _sum_known("cpu_usage"), _sum_known("memory_usage"),
        _sum_known("cpu_request"), _sum_known("memory_request"),
        _sum_or_null("cpu_limit"), _sum_or_null("memory_limit"),
        pl.col("problem").is_not_null().sum().cast(pl.Int64).alias("problem_pods") if "problem" in pods.columns
        else pl.lit(None, dtype=pl.Int64).alias("problem_pods"),
    )  # fmt: skip


def _latest_objects(ds: Dataset, kinds: list[str], *, cluster: str | None, namespace: str | None,
                    end: dt.datetime) -> pl.DataFrame:  # fmt: skip
    return (
        ds.scan("objects", cluster=cluster, namespace=namespace, end=end, latest=False)
        .filter(pl.col("kind").is_in(kinds))
        .sort("observed_at")
        .group_by("cluster", "kind", "namespace", "name", maintain_order=True)
        .agg(pl.col("deleted").last(), pl.col("manifest").last())
        .collect()
    )


def workload_status(kind: str, row: Mapping[str, Any], manifest: Mapping[str, Any] | None) -> str:
    """A workload's state in one word, from its replica counts and conditions: Ready, Progressing,
    Degraded, Paused, ScaledDown, a failing condition's reason (ProgressDeadlineExceeded…); Jobs
    Complete, Failed, Suspended or Running; CronJobs Suspended, Active or Scheduled."""
    spec = (manifest or {}).get("spec") or {}
    conds = {
        c.get("type"): c
        for c in ((manifest or {}).get("status") or {}).get("conditions") or []
        if isinstance(c, dict)
    }
    desired, current, ready = row.get("desired") or 0, row.get("current") or 0, row.get("ready") or 0
    if kind == "Job":
        for kind_of in ("Failed", "Complete"):
            if (conds.get(kind_of) or {}).get("status") == "True":
                return kind_of
        return "Suspended" if row.get("suspend") else "Running"
    if kind == "CronJob":
        return "Suspended" if row.get("suspend") else ("Active" if current else "Scheduled")
    if kind == "Deployment":
        if spec.get("paused"):
            return "Paused"
        progressing = conds.get("Progressing") or {}
        if progressing.get("status") == "False":
            return str(progressing.get("reason") or "NotProgressing")
        if (conds.get("ReplicaFailure") or {}).get("status") == "True":
            return str(conds["ReplicaFailure"].get("reason") or "ReplicaFailure")
    if desired == 0:
        return "ScaledDown"
    if kind in ("Deployment", "StatefulSet", "DaemonSet") and (
        (row.get("updated") is not None and row["updated"] < desired) or current > desired
    ):
        return "Progressing"
    return "Ready" if ready >= desired else "Degraded"


def _service_status(row: Mapping[str, Any]) -> str:
    if row["type"] == "ExternalName":
        return "ExternalName"
    if row["type"] == "LoadBalancer" and not row["load_balancer"] and not row["external_ips"]:
        return "Pending"
    if row["selector"] and not row["pods"]:
        return "NoEndpoints"
    return "Active"


def build(ds: Dataset, kind: str, *, cluster: str | None, namespace: str | None, end: dt.datetime,
          start: dt.datetime) -> pl.DataFrame:  # fmt: skip
    """The table of ``kind`` (:data:`COLUMNS`)."""
    pods, containers = pod_frame(ds, cluster=cluster, namespace=namespace, end=end, start=start)
    problems = overview.problem_pods(ds, cluster=cluster).select("cluster", "namespace", "name", "problem")
    pods = pods.join(problems, on=["cluster", "namespace", "name"], how="left", nulls_equal=True)
    builder = {
        "Pod": _pods,
        "Container": _containers,
        "Node": _nodes,
        "Namespace": _namespaces,
        "Service": _services,
    }
    if kind in builder:
        out = builder[kind](
            ds, pods=pods, containers=containers, cluster=cluster, namespace=namespace, end=end
        )
    else:
        out = _workloads(ds, kind, pods=pods, cluster=cluster, namespace=namespace, end=end)
    if out.is_empty():
        return empty(COLUMNS[kind])
    out = _pcts(out.with_columns(pl.lit(kind).alias("kind")))
    return (
        out.select(list(COLUMNS[kind]))
        .cast(COLUMNS[kind])
        .sort("cluster", "namespace", "name", nulls_last=False)
    )  # type: ignore[arg-type]


def _pods(ds: Dataset, *, pods: pl.DataFrame, **_: Any) -> pl.DataFrame:
    return pods.with_columns(
        pl.format(
            "{}/{}", pl.col("containers_ready").fill_null(0), pl.col("containers_total").fill_null(0)
        ).alias("ready"),
        pl.col("qos_class").cast(pl.String),
    )


def _containers(
    ds: Dataset, *, pods: pl.DataFrame, containers: pl.DataFrame, end: dt.datetime, **_: Any
) -> pl.DataFrame:
    states = [container_state(s, r) for s, r in zip(containers["state"].cast(pl.String).to_list(),
                                                     containers["reason"].to_list(), strict=True)]  # fmt: skip
    return containers.with_columns(
        pl.Series("status", states, dtype=pl.String),
        (pl.lit(end, dtype=TS) - pl.col("started_at")).alias("age"),
        pl.col("ready").cast(pl.String).str.to_lowercase().alias("ready"),
    )


def _nodes(
    ds: Dataset, *, pods: pl.DataFrame, cluster: str | None, end: dt.datetime, **_: Any
) -> pl.DataFrame:
    nodes = ds.nodes(cluster=cluster)
    agg = _agg_pods(pods.filter(pl.col("node").is_not_null()), ["cluster", "node"])
    out = nodes.join(agg, left_on=["cluster", "name"], right_on=["cluster", "node"], how="left")
    return out.with_columns(
        pl.lit(None, dtype=pl.String).alias("namespace"), (pl.lit(end, dtype=TS) - pl.col("created")).alias("age"),
        pl.when(pl.col("ready")).then(pl.lit("True")).otherwise(pl.lit("False")).alias("ready"),
        pl.col("pods").fill_null(0), pl.col("restarts").fill_null(0),
        pl.when(pl.col("cpu_allocatable") > 0).then(100.0 * pl.col("cpu_usage") / pl.col("cpu_allocatable")).alias("cpu_pct_allocatable"),
        pl.when(pl.col("memory_allocatable") > 0).then(100.0 * pl.col("memory_usage") / pl.col("memory_allocatable")).alias("memory_pct_allocatable"),
    )  # fmt: skip


def _namespaces(ds: Dataset, *, pods: pl.DataFrame, cluster: str | None, namespace: str | None, end: dt.datetime,
                **_: Any) -> pl.DataFrame:  # fmt: skip
    objs = _latest_objects(ds, ["Namespace"], cluster=cluster, namespace=None, end=end).filter(
        ~pl.col("deleted")
    )
    rows = {}
    for r in objs.iter_rows(named=True):
        meta_obj = json.loads(r["manifest"])
        created = (meta_obj.get("metadata") or {}).get("creationTimestamp")
        rows[(r["cluster"], r["name"])] = {"status": ((meta_obj.get("status") or {}).get("phase")) or "Active",
                                           "created": created}  # fmt: skip
    agg = _agg_pods(pods, ["cluster", "namespace"])
    keys = set(rows) | {(c, n) for c, n in agg.select("cluster", "namespace").iter_rows()}
    if namespace is not None:
        keys = {k for k in keys if k[1] == namespace}
    base = pl.DataFrame(
        [{"cluster": c, "name": n, "status": rows.get((c, n), {}).get("status", "Active"),
          "created": rows.get((c, n), {}).get("created")} for c, n in sorted(keys, key=str)],
        schema={"cluster": pl.String, "name": pl.String, "status": pl.String, "created": pl.String},
    )  # fmt: skip
    out = base.join(agg, left_on=["cluster", "name"], right_on=["cluster", "namespace"], how="left")
    return out.with_columns(
        pl.col("name").alias("namespace"),
        (pl.lit(end, dtype=TS) - pl.col("created").str.to_datetime(time_zone="UTC", strict=False)).alias("age"),
        pl.format("{}/{}", pl.col("_ready_pods").fill_null(0), pl.col("pods").fill_null(0)).alias("ready"),
        pl.col("pods").fill_null(0), pl.col("problem_pods").fill_null(0), pl.col("restarts").fill_null(0),
    )  # fmt: skip


def _services(ds: Dataset, *, pods: pl.DataFrame, cluster: str | None, namespace: str | None, end: dt.datetime,
              **_: Any) -> pl.DataFrame:  # fmt: skip
    services = ds.services(cluster=cluster, namespace=namespace)
    members = services.select(
        "cluster", "namespace", pl.col("name").alias("_svc"), pl.col("pods").alias("_pod")
    ).explode("_pod")
    joined = members.join(
        pods, left_on=["cluster", "namespace", "_pod"], right_on=["cluster", "namespace", "name"], how="inner"
    )
    agg = _agg_pods(joined, ["cluster", "namespace", "_svc"])
    out = services.drop("pods").join(
        agg, left_on=["cluster", "namespace", "name"], right_on=["cluster", "namespace", "_svc"], how="left"
    )
    out = out.with_columns(
        pl.col("pods").fill_null(0), pl.col("restarts").fill_null(0), pl.col("_ready_pods").fill_null(0)
    )
    status = [_service_status({**r, "pods": r["pods"]}) for r in out.select(
        "type", "load_balancer", "external_ips", "selector", "pods").iter_rows(named=True)]  # fmt: skip
    return out.with_columns(
        pl.Series("status", status, dtype=pl.String),
        (pl.lit(end, dtype=TS) - pl.col("created")).alias("age"),
        pl.format("{}/{}", "_ready_pods", "pods").alias("ready"),
    )


def _workloads(ds: Dataset, kind: str, *, pods: pl.DataFrame, cluster: str | None, namespace: str | None,
               end: dt.datetime) -> pl.DataFrame:  # fmt: skip
    rows = ds.workloads(cluster=cluster, namespace=namespace).filter(pl.col("kind").cast(pl.String) == kind)
    objs = _latest_objects(ds, [kind], cluster=cluster, namespace=namespace, end=end)
    gone = objs.filter(pl.col("deleted")).select("cluster", "namespace", "name")
    rows = rows.join(gone, on=["cluster", "namespace", "name"], how="anti", nulls_equal=True)
    manifests = {
        (r["cluster"], r["namespace"], r["name"]): json.loads(r["manifest"])
        for r in objs.iter_rows(named=True)
    }
    kcol, ncol = _member_pods(kind)
    agg = _agg_pods(pods.filter(pl.col(kcol) == kind), ["cluster", "namespace", ncol])
    out = rows.join(
        agg, left_on=["cluster", "namespace", "name"], right_on=["cluster", "namespace", ncol], how="left"
    )
    status = [workload_status(kind, r, manifests.get((r["cluster"], r["namespace"], r["name"])))
              for r in out.iter_rows(named=True)]  # fmt: skip
    ready = (pl.format("{}/{}", pl.col("succeeded").fill_null(0), pl.col("desired").fill_null(0)) if kind == "Job"
             else pl.col("current").fill_null(0).cast(pl.String) if kind == "CronJob"
             else pl.format("{}/{}", pl.col("ready").fill_null(0), pl.col("desired").fill_null(0)))  # fmt: skip
    return out.with_columns(
        pl.Series("status", status, dtype=pl.String),
        ready.alias("ready"),
        (pl.lit(end, dtype=TS) - pl.col("created")).alias("age"),
        pl.col("pods").fill_null(0),
        pl.col("restarts").fill_null(0),
    )
