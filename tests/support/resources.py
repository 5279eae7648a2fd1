"""A small snapshot with metrics whose answers are known by hand, for the cluster, pod start,
performance and right-sizing tests.

Cluster ``c1``, window 10:00–11:00 UTC on 2026-11-02, samples every 60 s (10:00 … 11:00).

Nodes: ``n1`` Ready (4 cores, 8 GiB allocatable; node-exporter: 1.5 cores busy, 2 GiB used),
``n2`` NotReady (2 cores, 4 GiB; no node-exporter).

======== ==== ========== ========= =========== ============================================
pod      node phase      cpu r/l   memory r/l  usage
======== ==== ========== ========= =========== ============================================
web-0    n1   Running    0.5 / 1   256 / 512Mi CPU 0.2 cores; 100Mi; rx 1000 B/s, tx 2000 B/s
web-1    n1   Running    0.5 / 1   256 / 512Mi CPU 0.3 until 10:29, counter reset at 10:30
                                               (rate 0.1), then 0.6; throttled 30% of periods
db-0     n2   Running    1 / 1     1Gi / 1Gi   memory ramps to the limit, OOMKilled at 10:20
job-x    n2   Succeeded  0.25 / –  128Mi / –   terminal at 10:30 (objects revision)
new-0    n1   Running    0.2 / 0.4 64 / 128Mi  created 10:10:00, scheduled 10:10:05,
                                               initialized 10:10:20, app started 10:10:30;
                                               CPU 0.4 from 10:11 to 10:15, then 0.1;
                                               memory 120Mi until 10:15, then 60Mi
pend-0   –    Pending    2 / –     –           created 10:40
======== ==== ========== ========= =========== ============================================

``web-0``/``web-1`` belong to Deployment ``web`` with an HPA on 50% CPU; ``web-0`` also has a
``POD`` (pause) container series and there is a cgroup-total series: both must be ignored.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl

from workbench.schema import conform
from workbench.store import SnapshotWriter

T0 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(hours=1)
MI = 2**20
GI = 2**30
S = dt.timedelta(seconds=1)
M = dt.timedelta(minutes=1)
#: Sample times: every minute from T0 to T1 inclusive.
TIMES = [T0 + k * M for k in range(61)]


def web1_cpu_counter(k: int) -> float:
    """web-1's CPU counter at minute ``k``: 0.3 cores until the restart at minute 30, where the
    counter restarts from 6 (an increase of 6 in 60 s: 0.1 cores), then 0.6 cores."""
    s = 60.0 * k
    return 0.3 * s if k < 30 else 0.6 * (s - 1800.0) + 6.0


def web1_rates() -> list[float]:
    """The 60 per-second rates of web-1's CPU counter, by hand: 29 × 0.3, one 0.1, 30 × 0.6."""
    return [0.3] * 29 + [0.1] + [0.6] * 30


def db_memory(k: int) -> float:
    """db-0's working set: 512Mi rising 25.6Mi a minute to 1Gi at 10:20 (the kill), then 300Mi
    rising 10Mi a minute."""
    return 512 * MI + k * 25.6 * MI if k <= 20 else 300 * MI + (k - 21) * 10 * MI


def _pod(name: str, node: str | None, phase: str, status: str, **extra: Any) -> dict[str, Any]:
    return {"cluster": "c1", "namespace": "shop", "name": name, "uid": f"uid-{name}", "node": node, "phase": phase,
            "status": status, "observed_at": T1, "containers_total": 1,
            "containers_ready": 1 if phase == "Running" else 0, "restarts": 0, **extra}  # fmt: skip


def pods_rows() -> list[dict[str, Any]]:
    web = {"workload_kind": "Deployment", "workload_name": "web", "owner_kind": "ReplicaSet", "owner_name": "web-7f9",
           "qos_class": "Burstable", "created": T0 - dt.timedelta(hours=1), "scheduled": T0 - dt.timedelta(hours=1),
           "initialized": T0 - dt.timedelta(hours=1), "ready_time": T0 - dt.timedelta(minutes=59),
           "cpu_request": 0.5, "cpu_limit": 1.0, "memory_request": 256 * MI, "memory_limit": 512 * MI}  # fmt: skip
    return [
        _pod("web-0", "n1", "Running", "Running", **web),
        _pod("web-1", "n1", "Running", "Running", **web),
        _pod("db-0", "n2", "Running", "Running", workload_kind="StatefulSet", workload_name="db", qos_class="Guaranteed",
             created=T0 - dt.timedelta(days=1), scheduled=T0 - dt.timedelta(days=1), restarts=1,
             cpu_request=1.0, cpu_limit=1.0, memory_request=GI, memory_limit=GI),
        _pod("job-x", "n2", "Succeeded", "Completed", workload_kind="Job", workload_name="job", qos_class="Burstable",
             created=T0, scheduled=T0, cpu_request=0.25, memory_request=128 * MI),
        _pod("new-0", "n1", "Running", "Running", workload_kind="Deployment", workload_name="api",
             qos_class="Burstable", created=T0 + 10 * M, scheduled=T0 + 10 * M + 5 * S,
             initialized=T0 + 10 * M + 20 * S, ready_time=T0 + 16 * M, cpu_request=0.2, cpu_limit=0.4,
             memory_request=64 * MI, memory_limit=128 * MI),
        _pod("pend-0", None, "Pending", "Pending", workload_kind="Deployment", workload_name="batch",
             qos_class="Burstable", created=T0 + 40 * M, cpu_request=2.0,
             scheduling_message="0/2 nodes are available: 2 Insufficient cpu."),
    ]  # fmt: skip


def containers_rows() -> list[dict[str, Any]]:
    rows = []
    for pod in pods_rows():
        name = {"db-0": "db", "new-0": "api"}.get(pod["name"], "main")
        rows.append({"cluster": "c1", "namespace": "shop", "pod": pod["name"], "pod_uid": pod["uid"], "name": name,
                     "is_init": False, "observed_at": T1, "restarts": pod["restarts"],
                     **{k: pod.get(k) for k in ("cpu_request", "cpu_limit", "memory_request", "memory_limit")}})  # fmt: skip
    rows[2].update(last_reason="OOMKilled", last_exit_code=137, last_finished_at=T0 + 20 * M)
    rows[4].update(started_at=T0 + 10 * M + 30 * S)
    rows.append({"cluster": "c1", "namespace": "shop", "pod": "new-0", "pod_uid": "uid-new-0", "name": "migrate",
                 "is_init": True, "state": "terminated", "reason": "Completed", "exit_code": 0, "observed_at": T1})  # fmt: skip
    return rows


def _event(pod: str, reason: str, message: str, at: dt.datetime, *, etype: str = "Normal", count: int = 1,
           last: dt.datetime | None = None) -> dict[str, Any]:  # fmt: skip
    return {"cluster": "c1", "namespace": "shop", "name": f"{pod}.{reason}.{int(at.timestamp())}",
            "involved_kind": "Pod", "involved_namespace": "shop", "involved_name": pod, "involved_uid": f"uid-{pod}",
            "type": etype, "reason": reason, "message": message, "first_time": at, "last_time": last or at,
            "count": count, "observed_at": T1}  # fmt: skip


def events_rows() -> list[dict[str, Any]]:
    """new-0's start events; web-1: 6 Warning Unhealthy between 10:30 and 10:32:30."""
    t = T0 + 10 * M
    return [
        _event("new-0", "Scheduled", "Successfully assigned shop/new-0 to n1", t + 5 * S),
        _event("new-0", "Pulling", 'Pulling image "api:1"', t + 6 * S),
        _event("new-0", "Pulled", 'Successfully pulled image "api:1" in 9.5s (9.5s including waiting)', t + 16 * S),
        _event("new-0", "Started", "Started container migrate", t + 17 * S),
        _event("new-0", "Started", "Started container api", t + 30 * S),
        _event("web-1", "Unhealthy", "Readiness probe failed", T0 + 30 * M, etype="Warning", count=6,
               last=T0 + 32 * M + 30 * S),
    ]  # fmt: skip


def objects_rows() -> list[dict[str, Any]]:
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "web", "namespace": "shop", "uid": "uid-hpa-web"},
           "spec": {"minReplicas": 2, "maxReplicas": 6,
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                        "type": "Utilization", "averageUtilization": 50}}}]}}  # fmt: skip
    done = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "job-x", "namespace": "shop", "uid": "uid-job-x"},
            "status": {"phase": "Succeeded"}}  # fmt: skip
    running = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "new-0", "namespace": "shop", "uid": "uid-new-0"},
               "status": {"phase": "Running", "containerStatuses": [
                   {"name": "api", "state": {"running": {"startedAt": "2026-11-02T10:10:30Z"}}}]}}  # fmt: skip
    rows = []
    for obj, at in ((hpa, T0), (done, T0 + 30 * M), (running, T0 + 10 * M + 31 * S)):
        meta = obj["metadata"]
        rows.append({"cluster": "c1", "kind": obj["kind"], "api_version": obj["apiVersion"], "namespace": meta["namespace"],
                     "name": meta["name"], "uid": meta["uid"], "resource_version": "1", "observed_at": at,
                     "deleted": False, "manifest": json.dumps(obj, sort_keys=True)})  # fmt: skip
    return rows


def _series(metric: str, values: list[float], times: list[dt.datetime], **labels: Any) -> pl.DataFrame:
    extra = {k: v for k, v in labels.items() if k not in ("namespace", "pod", "container", "node")}
    return pl.DataFrame({
        "cluster": "c1", "metric": metric, "ts": times, "value": values,
        "namespace": labels.get("namespace"), "pod": labels.get("pod"), "container": labels.get("container"),
        "node": labels.get("node"), "labels": json.dumps(extra, sort_keys=True) if extra else None,
    }, schema_overrides={"ts": pl.Datetime("us", "UTC"), "namespace": pl.String, "pod": pl.String,
                         "container": pl.String, "node": pl.String, "labels": pl.String})  # fmt: skip


def metrics_frames() -> list[pl.DataFrame]:
    """The samples, in two halves (10:00–10:30 and 10:31–11:00) so that they are stored as two
    parts, as a real collection in chunks stores them."""
    ks = range(61)
    c = {"namespace": "shop", "container": "main", "node": "n1"}
    new_k = [k for k in ks if k >= 11]
    frames = [
        _series("container_cpu_usage_seconds_total", [100 + 0.2 * 60 * k for k in ks], TIMES, pod="web-0", **c),
        _series("container_cpu_usage_seconds_total", [web1_cpu_counter(k) for k in ks], TIMES, pod="web-1", **c),
        _series("container_cpu_usage_seconds_total", [9e6 + 60.0 * k for k in ks], TIMES, pod="web-0",
                namespace="shop", container="POD", node="n1"),
        _series("container_cpu_usage_seconds_total", [5e6 + 240.0 * k for k in ks], TIMES, id="/"),
        _series("container_memory_working_set_bytes", [100.0 * MI] * 61, TIMES, pod="web-0", **c),
        _series("container_memory_working_set_bytes", [150.0 * MI + (k % 10) * 10 * MI for k in ks], TIMES,
                pod="web-1", **c),
        _series("container_memory_working_set_bytes", [db_memory(k) for k in ks], TIMES, pod="db-0",
                namespace="shop", container="db", node="n2"),
        _series("container_cpu_usage_seconds_total", [0.5 * 60 * k for k in ks], TIMES, pod="db-0",
                namespace="shop", container="db", node="n2"),
        _series("container_cpu_cfs_periods_total", [600.0 * k for k in ks], TIMES, pod="web-1", **c),
        _series("container_cpu_cfs_throttled_periods_total", [180.0 * k for k in ks], TIMES, pod="web-1", **c),
        _series("container_cpu_cfs_periods_total", [600.0 * k for k in ks], TIMES, pod="web-0", **c),
        _series("container_cpu_cfs_throttled_periods_total", [0.0] * 61, TIMES, pod="web-0", **c),
        _series("container_network_receive_bytes_total", [1000.0 * 60 * k for k in ks], TIMES, pod="web-0",
                namespace="shop", node="n1", interface="eth0"),
        _series("container_network_transmit_bytes_total", [2000.0 * 60 * k for k in ks], TIMES, pod="web-0",
                namespace="shop", node="n1", interface="eth0"),
        # new-0 (app container api): 0.4 cores over the pairs ending 10:12…10:15, then 0.1
        _series("container_cpu_usage_seconds_total", _new0_cpu(new_k), [TIMES[k] for k in new_k], pod="new-0",
                namespace="shop", container="api", node="n1"),
        _series("container_memory_working_set_bytes", [120.0 * MI if k <= 15 else 60.0 * MI for k in new_k],
                [TIMES[k] for k in new_k], pod="new-0", namespace="shop", container="api", node="n1"),
    ]  # fmt: skip
    for cpu, mode, rate in (("0", "user", 0.9), ("0", "idle", 0.1), ("1", "system", 0.6), ("1", "idle", 0.4)):
        frames.append(_series("node_cpu_seconds_total", [rate * 60 * k for k in ks], TIMES, node="n1", cpu=cpu,
                              mode=mode))  # fmt: skip
    frames.append(_series("node_memory_MemTotal_bytes", [8.5 * GI] * 61, TIMES, node="n1"))
    frames.append(_series("node_memory_MemAvailable_bytes", [6.5 * GI] * 61, TIMES, node="n1"))
    wide = pl.concat(frames)
    half = T0 + 30 * M
    return [wide.filter(pl.col("ts") <= half), wide.filter(pl.col("ts") > half)]


def _new0_cpu(ks: list[int]) -> list[float]:
    out, v = [], 1.0
    for i, k in enumerate(ks):
        if i:
            v += (0.4 if k <= 15 else 0.1) * 60
        out.append(v)
    return out


def write_resource_snapshot(path: Path) -> Path:
    """Write the snapshot described in the module docstring at ``path``."""
    with SnapshotWriter(path) as w:
        w.add_source("test", note="tests/support/resources.py")
        w.set_window(T0, T1)
        w.write("pods", conform("pods", pods_rows()))
        w.write("containers", conform("containers", containers_rows()))
        w.write("nodes", conform("nodes", [
            {"cluster": "c1", "name": "n1", "status": "Ready", "ready": True, "roles": "worker", "zone": "zone-a",
             "instance_type": "m5.xlarge", "created": T0 - dt.timedelta(days=10), "cpu_allocatable": 4.0,
             "memory_allocatable": 8 * GI, "pods_allocatable": 110, "observed_at": T1},
            {"cluster": "c1", "name": "n2", "status": "NotReady", "ready": False, "roles": "worker", "zone": "zone-b",
             "instance_type": "m5.large", "created": T0 - dt.timedelta(days=20), "cpu_allocatable": 2.0,
             "memory_allocatable": 4 * GI, "pods_allocatable": 110, "observed_at": T1},
        ]))  # fmt: skip
        w.write("workloads", conform("workloads", [
            {"cluster": "c1", "kind": "Deployment", "namespace": "shop", "name": "web", "desired": 2, "observed_at": T1},
            {"cluster": "c1", "kind": "StatefulSet", "namespace": "shop", "name": "db", "desired": 1, "observed_at": T1},
        ]))  # fmt: skip
        w.write("events", conform("events", events_rows()))
        w.write("objects", conform("objects", objects_rows()))
        for part in metrics_frames():
            w.write_metrics(part)
    return path


def write_empty_snapshot(path: Path) -> Path:
    """A snapshot with a window and no data at all."""
    with SnapshotWriter(path) as w:
        w.add_source("test", note="empty")
        w.set_window(T0, T1)
    return path
