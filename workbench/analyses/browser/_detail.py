"""One object's detail view: the Detail, YAML, Events, Logs and Performance tabs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import polars as pl

from workbench.analyses.browser._tables import COLUMNS, KINDS, WORKLOAD_KINDS, _sum_known, build
from workbench.analyses.browser._usage import read_samples, usage_series
from workbench.analyses.manifests._diff import to_yaml
from workbench.analyses.manifests._history import object_events
from workbench.analyses.manifests._objects import (
    TS,
    as_time,
    canonical_kind,
    object_revisions,
    revision_at,
    snapshot_end,
)
from workbench.analyses.params import closest
from workbench.errors import ParameterError
from workbench.store import Dataset

__all__ = ["DETAIL_CONTAINER_COLUMNS", "PERFORMANCE_COLUMNS", "Detail", "detail"]

DETAIL_CONTAINER_COLUMNS: dict[str, pl.DataType] = {k: v for k, v in COLUMNS["Container"].items() if k != "kind"} | {
    "last_finished_at": TS, "last_exit_code": pl.Int32(), "started_at": TS,
}  # fmt: skip

PERFORMANCE_COLUMNS: dict[str, pl.DataType] = {
    "ts": TS,
    "resource": pl.String(),
    "usage": pl.Float64(),
    "request": pl.Float64(),
    "limit": pl.Float64(),
}


@dataclasses.dataclass(frozen=True)
class Detail:
    """The detail view of one object.

    - ``info``: the Detail tab as (field, value) rows: owner chain, services, IPs, node,
      labels, the error reason, replicas and strategy, ports, allocatable… (what applies).
    - ``row``: the object's row of the browser table (:data:`COLUMNS` of its kind).
    - ``containers``: its containers (pods and containers): image, state, restarts, age,
      requests, limits, usage.
    - ``pods``: its pods (workloads, services, nodes, namespaces), as the Pod table's rows.
    - ``ports``: a Service's ports (name, port, target_port, node_port, protocol).
    - ``yaml``: its manifest as of ``at`` (from the ``objects`` table; a container shows its pod).
    - ``events``: events about it and what it runs, up to ``at`` (``events`` table columns).
    - ``logs``: the last ``log_lines`` lines of its pods up to ``at`` (``logs`` table columns).
    - ``performance``: CPU (cores) and memory (bytes) usage per time bucket against its request
      and limit (:data:`PERFORMANCE_COLUMNS`, one row per bucket and resource).
    """

    cluster: str
    kind: str
    namespace: str | None
    name: str
    at: dt.datetime
    info: pl.DataFrame
    row: pl.DataFrame
    containers: pl.DataFrame
    pods: pl.DataFrame
    ports: pl.DataFrame
    yaml: str
    events: pl.DataFrame
    logs: pl.DataFrame
    performance: pl.DataFrame

    @property
    def error(self) -> str | None:
        """The error reason shown on the Detail tab, if any."""
        got = self.info.filter(pl.col("field") == "Error reason")
        return got["value"][0] if got.height else None

    def field(self, name: str) -> str | None:
        """One value of the Detail tab (``d.field("Node")``)."""
        got = self.info.filter(pl.col("field") == name)
        return got["value"][0] if got.height else None


_PORT_COLUMNS = {
    "name": pl.String,
    "port": pl.Int64,
    "target_port": pl.String,
    "node_port": pl.Int64,
    "protocol": pl.String,
}


def _resolve(table: pl.DataFrame, name: str, namespace: str | None, kind: str) -> dict[str, Any]:
    """The one row of ``kind`` named ``name``; unknown names list the closest."""
    rows = table.filter(pl.col("name") == name)
    if namespace:
        rows = rows.filter(pl.col("namespace").is_null() | (pl.col("namespace") == namespace))
    if rows.is_empty():
        pool = (
            table
            if not namespace
            else table.filter(pl.col("namespace").is_null() | (pl.col("namespace") == namespace))
        )
        near = closest(name, pool["name"].to_list()) or closest(name, table["name"].to_list())
        where = f" in namespace {namespace!r}" if namespace else ""
        hint = f"; closest: {', '.join(near)}" if near else f"; there are {table.height} {kind} objects"
        msg = f"no {kind} named {name!r}{where}{hint}"
        raise ParameterError(msg)
    places = sorted({(r["cluster"], r["namespace"] or "") for r in rows.iter_rows(named=True)})
    if len(places) > 1:
        where = ", ".join(f"{c}/{n}" if n else c for c, n in places)
        msg = f"{kind} {name!r} exists in {where}; choose with cluster= and namespace="
        raise ParameterError(msg)
    return rows.row(0, named=True)


def _text(value: Any) -> str | None:
    if value is None or value == [] or value == "":
        return None
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dt.timedelta):
        s = int(value.total_seconds())
        return (
            f"{s // 86400}d{s % 86400 // 3600}h"
            if s >= 86400
            else f"{s // 3600}h{s % 3600 // 60}m"
            if s >= 3600
            else f"{s // 60}m{s % 60}s"
        )
    return str(value)


def _map_text(text: str | None) -> str | None:
    """Labels or a selector as ``k=v, …`` (matchExpressions as ``key In (a, b)``)."""
    if not text:
        return None
    obj = json.loads(text)
    if not isinstance(obj, dict):
        return text
    if "matchLabels" in obj or "matchExpressions" in obj:
        parts = [f"{k}={v}" for k, v in (obj.get("matchLabels") or {}).items()]
        parts += [f"{e.get('key')} {e.get('operator')} ({', '.join(map(str, e.get('values') or []))})"
                  for e in obj.get("matchExpressions") or [] if isinstance(e, dict)]  # fmt: skip
        return ", ".join(parts) or None
    return ", ".join(f"{k}={v}" for k, v in obj.items()) or None


def _owner_chain(
    ds: Dataset, cluster: str, namespace: str | None, kind: str, name: str, row: dict[str, Any]
) -> str:
    chain = [f"{kind}/{name}"]
    owner = (row.get("owner_kind"), row.get("owner_name"))
    if kind == "Pod":
        pod = ds.pods(cluster=cluster, namespace=namespace).filter(pl.col("name") == name)
        owner = (pod["owner_kind"][0], pod["owner_name"][0]) if pod.height else (None, None)
    workloads = ds.workloads(cluster=cluster, namespace=namespace)
    seen = 0
    while owner[0] and owner[1] and seen < 5:
        chain.append(f"{owner[0]}/{owner[1]}")
        up = workloads.filter(pl.col("kind").cast(pl.String) == owner[0], pl.col("name") == owner[1])
        owner = (up["owner_kind"][0], up["owner_name"][0]) if up.height else (None, None)
        seen += 1
    return " › ".join(reversed(chain))


def _conditions_problem(manifest: dict[str, Any] | None, kind: str) -> str | None:
    conds = ((manifest or {}).get("status") or {}).get("conditions") or []
    bad = []
    for c in conds:
        if not isinstance(c, dict):
            continue
        ok = c.get("status") == "True"
        if kind == "Node":
            ok = ok if c.get("type") == "Ready" else c.get("status") == "False"
        elif c.get("type") in ("ReplicaFailure", "Failed"):
            ok = not ok
        if not ok:
            bad.append(f"{c.get('reason') or c.get('type')}: {c.get('message') or c.get('type')}")
    return "; ".join(dict.fromkeys(bad)) or None


def _members(ds: Dataset, kind: str, row: dict[str, Any], pods: pl.DataFrame) -> pl.DataFrame:
    """The pods an object runs or selects, from the browser's pod frame."""
    if kind == "Pod":
        return pods.filter(pl.col("name") == row["name"])
    if kind == "Container":
        return pods.filter(pl.col("name") == row["pod"])
    if kind == "Node":
        return pods.filter(pl.col("node") == row["name"])
    if kind == "Namespace":
        return pods.filter(pl.col("namespace") == row["name"])
    if kind == "Service":
        svc = ds.services(cluster=row["cluster"], namespace=row["namespace"]).filter(
            pl.col("name") == row["name"]
        )
        names = svc["pods"][0].to_list() if svc.height and svc["pods"][0] is not None else []
        return pods.filter(pl.col("namespace") == row["namespace"], pl.col("name").is_in(names))
    col_kind, col_name = (
        ("workload_kind", "workload_name")
        if kind in ("Deployment", "CronJob")
        else ("owner_kind", "owner_name")
    )
    return pods.filter(
        pl.col("namespace") == row["namespace"], pl.col(col_kind) == kind, pl.col(col_name) == row["name"]
    )


def _manifest(
    ds: Dataset, kind: str, namespace: str | None, name: str, cluster: str, at: dt.datetime
) -> dict[str, Any] | None:
    try:
        revs = object_revisions(ds, kind, namespace, name, cluster=cluster)
    except ParameterError:
        return None
    rev = revision_at(revs, at)
    return None if rev is None or rev["deleted"] else json.loads(rev["manifest"])


def _info(
    ds: Dataset, kind: str, row: dict[str, Any], manifest: dict[str, Any] | None, members: pl.DataFrame
) -> list[tuple[str, Any]]:
    c, ns, name = row["cluster"], row["namespace"], row["name"]
    meta = (manifest or {}).get("metadata") or {}
    out: list[tuple[str, Any]] = [("Kind", kind), ("Name", name), ("Namespace", ns), ("Cluster", c),
                                  ("Status", row["status"]), ("Age", row["age"]), ("Ready", row["ready"]),
                                  ("Restarts", row["restarts"])]  # fmt: skip
    labels = ", ".join(f"{k}={v}" for k, v in (meta.get("labels") or {}).items()) or None
    error: str | None = None
    if kind == "Pod":
        pod = ds.pods(cluster=c, namespace=ns).filter(pl.col("name") == name).row(0, named=True)
        services = (
            ds.services(cluster=c, namespace=ns).filter(pl.col("pods").list.contains(name))["name"].to_list()
        )
        out += [("Owner chain", _owner_chain(ds, c, ns, kind, name, row)), ("Node", pod["node"]), ("Pod IP", pod["pod_ip"]),
                ("Host IP", pod["host_ip"]), ("QoS class", row["qos_class"]), ("Services", services),
                ("Workload", f"{pod['workload_kind']}/{pod['workload_name']}"), ("Priority class", pod["priority_class"]),
                ("Scheduling message", pod["scheduling_message"])]  # fmt: skip
        labels = labels or _map_text(pod["labels"])
        error = pod["reason"]
    elif kind == "Container":
        out += [("Pod", row["pod"]), ("Image", row["image"]), ("Init container", row["is_init"]),
                ("Last termination", row["last_reason"])]  # fmt: skip
        if row["status"] not in ("running", "terminated:Completed"):
            error = ": ".join(str(p) for p in (row["status"], row["message"]) if p)
    elif kind in WORKLOAD_KINDS:
        w = (
            ds.workloads(cluster=c, namespace=ns)
            .filter(pl.col("kind").cast(pl.String) == kind, pl.col("name") == name)
            .row(0, named=True)
        )
        out += [("Owner chain", _owner_chain(ds, c, ns, kind, name, w)),
                ("Replicas", f"desired {w['desired']}, current {w['current']}, ready {w['ready']}, "
                             f"available {w['available']}, updated {w['updated']}"),
                ("Strategy", w["strategy"]), ("Max surge", w["max_surge"]), ("Max unavailable", w["max_unavailable"]),
                ("Selector", _map_text(w["selector"])), ("Images", w["images"]), ("Schedule", w["schedule"]),
                ("Pods", members.height)]  # fmt: skip
        labels = labels or _map_text(w["labels"])
        error = (
            _conditions_problem(manifest, kind)
            if row["status"] not in ("Ready", "Complete", "Scheduled", "Active")
            else None
        )
    elif kind == "Service":
        out += [("Type", row["type"]), ("Cluster IP", row["cluster_ip"]), ("External IPs", row["external_ips"]),
                ("Load balancer", row["load_balancer"]), ("Ports", row["ports"]), ("Selector", _map_text(row["selector"])),
                ("Pods", members.height)]  # fmt: skip
        error = {
            "Pending": "the load balancer has no address yet",
            "NoEndpoints": "the selector matches no pod",
        }.get(row["status"])
    elif kind == "Node":
        n = ds.nodes(cluster=c).filter(pl.col("name") == name).row(0, named=True)
        out += [("Roles", n["roles"]), ("Internal IP", n["internal_ip"]), ("External IP", n["external_ip"]),
                ("Kubelet", n["kubelet_version"]), ("OS image", n["os_image"]), ("Container runtime", n["container_runtime"]),
                ("Zone", n["zone"]), ("Instance type", n["instance_type"]),
                ("Allocatable", f"cpu {n['cpu_allocatable']}, memory {n['memory_allocatable']}, pods {n['pods_allocatable']}"),
                ("Taints", n["taints"]), ("Unschedulable", n["unschedulable"]), ("Pods", members.height)]  # fmt: skip
        labels = labels or _map_text(n["labels"])
        error = _conditions_problem(manifest, "Node") if manifest else (None if n["ready"] else n["status"])
    elif kind == "Namespace":
        out += [("Pods", row["pods"]), ("Problem pods", row["problem_pods"])]
        error = f"{row['problem_pods']} problem pod(s)" if row["problem_pods"] else None
    out += [("Labels", labels), ("Error reason", error)]
    return out


def detail(ds: Dataset, kind: str, namespace: str | None, name: str, *, at: Any = None, cluster: str | None = None,
           usage_minutes: float = 5.0, bucket: str = "1m", log_lines: int = 500) -> Detail:  # fmt: skip
    """The detail view of one object (see :class:`Detail`). ``name`` of a Container is
    ``"<pod>/<container>"``; ``at`` (default: the snapshot's end) is the moment of the YAML tab
    and the end of the Events, Logs and Performance tabs."""
    kind = canonical_kind(kind, KINDS)
    if kind not in KINDS:
        msg = f"no detail view for kind {kind!r}; the kinds are {', '.join(KINDS)}"
        raise ParameterError(msg)
    if log_lines < 0:
        msg = f"log_lines must be ≥ 0 (got {log_lines})"
        raise ParameterError(msg)
    end = snapshot_end(ds)
    when = as_time(at, what="at") or end
    start = end - dt.timedelta(minutes=usage_minutes)
    ns = namespace or None
    table = build(
        ds, kind, cluster=cluster, namespace=ns if kind not in ("Node",) else None, end=end, start=start
    )
    lookup_name = name
    if kind == "Container":
        table = table.with_columns(
            pl.format("{}/{}", "pod", "name").alias("name"), pl.col("name").alias("_container")
        )
    row = _resolve(table, lookup_name, ns, kind)
    c, row_ns = row["cluster"], row["namespace"]
    pods = build(ds, "Pod", cluster=c, namespace=None, end=end, start=start)
    raw_pods = ds.pods(cluster=c)
    pods = pods.join(raw_pods.select("cluster", "namespace", "name", "owner_kind", "owner_name", "workload_kind", "workload_name")
                     .rename({"workload_kind": "_wk", "workload_name": "_wn"}), on=["cluster", "namespace", "name"], how="left")  # fmt: skip
    pods = pods.with_columns(pl.col("_wk").alias("workload_kind"), pl.col("_wn").alias("workload_name"))
    if kind == "Container":
        row = {**row, "name": row["_container"]}
    members = _members(ds, kind, row, pods)
    yaml_kind, yaml_name = ("Pod", row["pod"]) if kind == "Container" else (kind, row["name"])
    manifest = (
        _manifest(ds, yaml_kind, row_ns, yaml_name, c, when)
        if kind != "Namespace"
        else _manifest(ds, "Namespace", None, row["name"], c, when)
    )
    info = _info(ds, kind, row, manifest, members)
    info_frame = pl.DataFrame(
        [{"field": k, "value": _text(v)} for k, v in info], schema={"field": pl.String, "value": pl.String}
    )
    containers = pl.DataFrame(schema=DETAIL_CONTAINER_COLUMNS)
    if kind in ("Pod", "Container"):
        conts = build(ds, "Container", cluster=c, namespace=row_ns, end=end, start=start).filter(
            pl.col("pod") == (row["name"] if kind == "Pod" else row["pod"]))  # fmt: skip
        if kind == "Container":
            conts = conts.filter(pl.col("name") == row["name"])
        extra = ds.containers(cluster=c, namespace=row_ns).select(
            "pod", "name", "is_init", "last_finished_at", "last_exit_code", "started_at"
        )
        containers = (
            conts.join(extra, on=["pod", "name", "is_init"], how="left")
            .select(list(DETAIL_CONTAINER_COLUMNS))
            .cast(DETAIL_CONTAINER_COLUMNS)
        )  # type: ignore[arg-type]
    ports = pl.DataFrame(schema=_PORT_COLUMNS)
    if kind == "Service":
        spec = ds.services(cluster=c, namespace=row_ns).filter(pl.col("name") == row["name"])["port_specs"][0]
        ports = pl.DataFrame([{"name": p.get("name"), "port": p.get("port"), "target_port": None if p.get("targetPort") is None else str(p.get("targetPort")),
                               "node_port": p.get("nodePort"), "protocol": p.get("protocol") or "TCP"}
                              for p in json.loads(spec or "[]") if isinstance(p, dict)], schema=_PORT_COLUMNS)  # fmt: skip
    if kind == "Namespace":
        events = ds.events(cluster=c, end=when).filter(
            pl.coalesce("involved_namespace", "namespace") == row["name"]
        )
    else:
        ev_kind, ev_name = ("Pod", row["pod"]) if kind == "Container" else (kind, row["name"])
        events = object_events(
            ds, ev_kind, row_ns, ev_name, cluster=c, end=when, related=kind in WORKLOAD_KINDS or kind == "Pod"
        )
        if kind == "Service" and members.height:
            more = ds.events(cluster=c, namespace=row_ns, pod=members["name"].to_list(), end=when)
            events = (
                pl.concat([events, more])
                .unique(["cluster", "namespace", "name"], keep="first")
                .sort(pl.coalesce("first_time", "last_time"))
            )
    pod_names = members["name"].to_list()
    logs = (
        ds.logs(cluster=c, pod=pod_names or ["\0"], end=when)
        if kind != "Namespace" or pod_names
        else ds.logs(cluster=c, pod=["\0"])
    )
    if kind == "Container":
        logs = logs.filter(pl.col("container") == row["name"])
    logs = logs.sort("ts").tail(log_lines) if log_lines else logs.head(0)
    perf = _performance(ds, kind, row, members, cluster=c, end=when, bucket=bucket)
    return Detail(cluster=c, kind=kind, namespace=row_ns, name=row["name"] if kind != "Container" else f"{row['pod']}/{row['name']}",
                  at=when, info=info_frame, row=table.filter(pl.col("name") == lookup_name).drop("_container", strict=False).head(1),
                  containers=containers, pods=members.select(list(COLUMNS["Pod"])), ports=ports, yaml=to_yaml(manifest),
                  events=events, logs=logs, performance=perf)  # fmt: skip


def _performance(ds: Dataset, kind: str, row: dict[str, Any], members: pl.DataFrame, *, cluster: str, end: dt.datetime,
                 bucket: str) -> pl.DataFrame:  # fmt: skip
    names = members["name"].to_list()
    if not names:
        return pl.DataFrame(schema=PERFORMANCE_COLUMNS)
    namespaces = sorted({n for n in members["namespace"].to_list() if n})
    samples = read_samples(ds, cluster=cluster, namespace=namespaces, pods=names, start=ds.window[0], end=end)
    series = usage_series(samples, bucket=bucket)
    if kind == "Container":
        series = series.filter(pl.col("container") == row["name"])
    else:
        series = series.join(
            members.select("namespace", pl.col("name").alias("pod")), on=["namespace", "pod"], how="semi"
        )
    if series.is_empty():
        return pl.DataFrame(schema=PERFORMANCE_COLUMNS)
    totals = series.group_by("ts").agg(_sum_known("cpu_usage"), _sum_known("memory_usage")).sort("ts")
    out = pl.concat([
        totals.select("ts", pl.lit("cpu").alias("resource"), pl.col("cpu_usage").alias("usage"),
                      pl.lit(row["cpu_request"], dtype=pl.Float64).alias("request"), pl.lit(row["cpu_limit"], dtype=pl.Float64).alias("limit")),
        totals.select("ts", pl.lit("memory").alias("resource"), pl.col("memory_usage").alias("usage"),
                      pl.lit(row["memory_request"], dtype=pl.Float64).alias("request"), pl.lit(row["memory_limit"], dtype=pl.Float64).alias("limit")),
    ])  # fmt: skip
    return out.cast(PERFORMANCE_COLUMNS).sort("resource", "ts")  # type: ignore[arg-type]
