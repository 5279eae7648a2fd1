"""A small hand-made snapshot whose answers are known, for analysis, CLI and app tests.

Two clusters. ``kind-a`` has two nodes (one not Ready) and these pods at the snapshot's end
(window 10:00–12:00 UTC on 2026-11-02):

=================== ================= ===== ======== ==========================================
pod                 status            ready restarts problem?
=================== ================= ===== ======== ==========================================
shop/web-1          Running           1/1   0        no
shop/cart-0         CrashLoopBackOff  0/1   7        status; restarted (last exit 11:58)
shop/api-2          Running           1/2   0        not ready (warning event holds a <script>)
shop/worker-3       Running           1/1   2        no (last exit 07:00, before the window)
shop/cache-4        Running           1/1   1        restarted (last exit 10:30)
shop/old-5          CrashLoopBackOff  0/1   4        no: deleted at 10:20
batch/job-x         Completed         0/1   0        no
batch/job-y         Error             0/1   0        status
batch/pending-z     Pending           0/1   0        status (FailedScheduling warning)
kube-system/coredns Running           1/1   3        restarted (no container rows: restarts>0)
=================== ================= ===== ======== ==========================================

``kind-b`` has one Ready node, ``shop/web-b`` (Running 1/1) and ``shop/img-b``
(ImagePullBackOff 0/1, a problem).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl

from workbench.schema import conform
from workbench.store import SnapshotWriter

T0 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
T1 = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)
XSS = "<script>window.__xss=1</script>"

#: The problem pods of the small snapshot, as (cluster, namespace, name, status, problem).
PROBLEMS = [
    ("kind-a", "batch", "job-y", "Error", "status"),
    ("kind-a", "batch", "pending-z", "Pending", "status"),
    ("kind-a", "kube-system", "coredns", "Running", "restarted"),
    ("kind-a", "shop", "api-2", "Running", "not ready"),
    ("kind-a", "shop", "cache-4", "Running", "restarted"),
    ("kind-a", "shop", "cart-0", "CrashLoopBackOff", "status; restarted"),
    ("kind-b", "shop", "img-b", "ImagePullBackOff", "status"),
]

_M = dt.timedelta(minutes=1)


def _pod(
    cluster: str,
    ns: str,
    name: str,
    phase: str,
    status: str,
    ready: int,
    total: int,
    restarts: int,
    **extra: Any,
) -> dict[str, Any]:
    workload = name.rsplit("-", 1)[0]
    return {
        "cluster": cluster,
        "namespace": ns,
        "name": name,
        "uid": f"uid-{cluster}-{name}",
        "node": "node-1" if cluster == "kind-a" else "node-b1",
        "phase": phase,
        "status": status,
        "containers_ready": ready,
        "containers_total": total,
        "restarts": restarts,
        "workload_kind": "Deployment",
        "workload_name": workload,
        "owner_kind": "ReplicaSet",
        "owner_name": f"{workload}-5d8f",
        "created": T0 - dt.timedelta(days=2),
        "observed_at": T1,
        **extra,
    }


def _container(cluster: str, pod: str, restarts: int, last_finished: dt.datetime | None) -> dict[str, Any]:
    return {
        "cluster": cluster,
        "namespace": "shop",
        "pod": pod,
        "pod_uid": f"uid-{cluster}-{pod}",
        "name": "main",
        "is_init": False,
        "restarts": restarts,
        "last_reason": "Error" if last_finished else None,
        "last_finished_at": last_finished,
        "observed_at": T1,
    }


def _event(
    cluster: str,
    ns: str,
    pod: str,
    etype: str,
    reason: str,
    message: str,
    at: dt.datetime,
    *,
    uid: str | None = "same",
) -> dict[str, Any]:
    return {
        "cluster": cluster,
        "namespace": ns,
        "name": f"{pod}.{reason}.{int(at.timestamp())}",
        "involved_kind": "Pod",
        "involved_namespace": ns,
        "involved_name": pod,
        "involved_uid": f"uid-{cluster}-{pod}" if uid == "same" else uid,
        "type": etype,
        "reason": reason,
        "message": message,
        "first_time": at - 5 * _M,
        "last_time": at,
        "count": 1,
        "observed_at": T1,
    }


def pods_rows() -> list[dict[str, Any]]:
    """The pods of both clusters (see the module docstring)."""
    return [
        _pod("kind-a", "shop", "web-1", "Running", "Running", 1, 1, 0),
        _pod(
            "kind-a",
            "shop",
            "cart-0",
            "Running",
            "CrashLoopBackOff",
            0,
            1,
            7,
            reason="container main: CrashLoopBackOff: back-off 5m0s restarting failed container",
        ),
        _pod(
            "kind-a",
            "shop",
            "api-2",
            "Running",
            "Running",
            1,
            2,
            0,
            reason="ContainersNotReady: containers with unready status: [sidecar]",
        ),
        _pod("kind-a", "shop", "worker-3", "Running", "Running", 1, 1, 2),
        _pod("kind-a", "shop", "cache-4", "Running", "Running", 1, 1, 1, created=T0 - 90 * _M),
        _pod("kind-a", "shop", "old-5", "Running", "CrashLoopBackOff", 0, 1, 4, deleted=T0 + 20 * _M),
        _pod("kind-a", "batch", "job-x", "Succeeded", "Completed", 0, 1, 0),
        _pod(
            "kind-a",
            "batch",
            "job-y",
            "Failed",
            "Error",
            0,
            1,
            0,
            reason="container main: Error (exit code 1)",
        ),
        _pod(
            "kind-a",
            "batch",
            "pending-z",
            "Pending",
            "Pending",
            0,
            1,
            0,
            node=None,
            reason="Unschedulable: 0/2 nodes are available: 2 Insufficient cpu.",
        ),
        _pod("kind-a", "kube-system", "coredns", "Running", "Running", 1, 1, 3),
        _pod("kind-b", "shop", "web-b", "Running", "Running", 1, 1, 0),
        _pod(
            "kind-b",
            "shop",
            "img-b",
            "Pending",
            "ImagePullBackOff",
            0,
            1,
            0,
            reason='container main: ImagePullBackOff: Back-off pulling image "nginx:nope"',
        ),
    ]


def events_rows() -> list[dict[str, Any]]:
    """Warning and Normal events; api-2's newest warning carries :data:`XSS`."""
    return [
        _event("kind-a", "shop", "cart-0", "Warning", "BackOff", "older back-off", T0 + 10 * _M),
        _event(
            "kind-a",
            "shop",
            "cart-0",
            "Warning",
            "BackOff",
            "Back-off restarting failed container main in pod cart-0",
            T1 - 5 * _M,
        ),
        _event(
            "kind-a", "shop", "cart-0", "Normal", "Pulled", "Container image already present", T1 - 4 * _M
        ),
        _event("kind-a", "shop", "api-2", "Warning", "Unhealthy", f"Readiness probe failed: {XSS}", T1 - _M),
        _event(
            "kind-a",
            "shop",
            "cache-4",
            "Warning",
            "BackOff",
            "about an earlier pod of that name",
            T0 + 5 * _M,
            uid="uid-of-an-earlier-cache-4",
        ),
        _event("kind-a", "shop", "web-1", "Normal", "Scheduled", "Successfully assigned shop/web-1", T0),
        _event(
            "kind-a",
            "batch",
            "pending-z",
            "Warning",
            "FailedScheduling",
            "0/2 nodes are available: 2 Insufficient cpu.",
            T1 - 2 * _M,
            uid=None,
        ),
        _event(
            "kind-b", "shop", "img-b", "Warning", "Failed", 'Failed to pull image "nginx:nope"', T1 - 3 * _M
        ),
    ]


def write_small_snapshot(path: Path, *, ground_truth: bool = True) -> Path:
    """Write the small snapshot at ``path`` and return ``path``."""
    with SnapshotWriter(path) as w:
        w.add_source("test", note="tests/support/snapshots.py")
        w.set_window(T0, T1)
        w.write("pods", conform("pods", pods_rows()))
        w.write(
            "containers",
            conform(
                "containers",
                [
                    _container("kind-a", "web-1", 0, None),
                    _container("kind-a", "cart-0", 7, T1 - 2 * _M),
                    _container("kind-a", "api-2", 0, None),
                    _container("kind-a", "worker-3", 2, T0 - 3 * dt.timedelta(hours=1)),
                    _container("kind-a", "cache-4", 1, T0 + 30 * _M),
                    _container("kind-a", "old-5", 4, T0 + 15 * _M),
                    _container("kind-b", "web-b", 0, None),
                    _container("kind-b", "img-b", 0, None),
                ],
            ),
        )
        w.write(
            "nodes",
            conform(
                "nodes",
                [
                    {
                        "cluster": "kind-a",
                        "name": "node-1",
                        "status": "Ready",
                        "ready": True,
                        "observed_at": T1,
                    },
                    {
                        "cluster": "kind-a",
                        "name": "node-2",
                        "status": "NotReady",
                        "ready": False,
                        "observed_at": T1,
                    },
                    {
                        "cluster": "kind-b",
                        "name": "node-b1",
                        "status": "Ready",
                        "ready": True,
                        "observed_at": T1,
                    },
                ],
            ),
        )
        w.write("events", conform("events", events_rows()))
        w.write(
            "logs",
            conform(
                "logs",
                [
                    {
                        "cluster": c,
                        "ts": T0 + i * _M,
                        "namespace": "shop",
                        "pod": "web-1",
                        "container": "main",
                        "stream": "stdout",
                        "level": "INFO",
                        "message": f"line {i}",
                    }
                    for c, n in (("kind-a", 5), ("kind-b", 2))
                    for i in range(n)
                ],
            ),
        )
        w.write(
            "spans",
            conform(
                "spans",
                [
                    {
                        "cluster": "kind-a",
                        "trace_id": "t1",
                        "span_id": f"s{i}",
                        "service": "web",
                        "operation": "GET /",
                        "start": T0 + i * _M,
                        "end": T0 + i * _M,
                        "duration_us": 1000,
                        "namespace": "shop",
                        "pod": "web-1",
                    }
                    for i in range(3)
                ],
            ),
        )
        w.write_metrics(
            pl.DataFrame(
                {
                    "cluster": ["kind-a"] * 4 + ["kind-b"] * 2,
                    "metric": ["container_memory_working_set_bytes"] * 6,
                    "ts": [T0 + i * _M for i in range(4)] + [T0, T0 + _M],
                    "value": [1e8, 1.1e8, 1.2e8, 1.3e8, 5e7, 5e7],
                    "namespace": ["shop"] * 6,
                    "pod": ["web-1"] * 4 + ["web-b"] * 2,
                    "container": ["main"] * 6,
                    "node": ["node-1"] * 4 + ["node-b1"] * 2,
                    "labels": [None] * 6,
                },
                schema_overrides={"ts": pl.Datetime("us", "UTC"), "labels": pl.String},
            )
        )
        w.warn("kubernetes", "403 listing pods in namespace 'secret-ns'", what="pods/secret-ns")
        if ground_truth:
            w.add_file(
                "ground_truth.json",
                {
                    "incidents": [
                        {
                            "id": "inc-2",
                            "kind": "image_pull",
                            "cluster": "kind-b",
                            "namespace": "shop",
                            "object": "Pod/img-b",
                            "start": (T0 + 60 * _M).isoformat(),
                            "end": None,
                            "signals": ["events"],
                            "details": {"image": "nginx:nope"},
                        },
                        {
                            "id": "inc-1",
                            "kind": "crashloop",
                            "cluster": "kind-a",
                            "namespace": "shop",
                            "object": "Pod/cart-0",
                            "start": (T0 + 5 * _M).isoformat(),
                            "end": T1.isoformat(),
                            "signals": ["events", "logs"],
                            "details": {"exit_code": 1},
                        },
                    ]
                },
            )
    return path
