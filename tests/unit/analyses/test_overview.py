"""The overview analysis on a small snapshot with known answers (tests/support/snapshots.py)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import workbench as wb
from tests.support.snapshots import PROBLEMS, T0, T1, XSS, write_small_snapshot
from workbench.analyses import overview
from workbench.errors import ParameterError
from workbench.schema import conform
from workbench.store import SnapshotWriter


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    return wb.open(write_small_snapshot(tmp_path_factory.mktemp("snap") / "small"))


@pytest.fixture(scope="module")
def empty_ds(tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    path = tmp_path_factory.mktemp("snap") / "empty"
    with SnapshotWriter(path) as w:
        w.add_source("test")
    return wb.open(path)


def test_problem_pods_are_exactly_the_known_ones(ds: wb.Dataset) -> None:
    got = overview.problem_pods(ds)
    assert got.select("cluster", "namespace", "name", "status", "problem").rows() == PROBLEMS
    assert got.columns == list(overview.PROBLEM_COLUMNS)
    assert dict(got.schema) == overview.PROBLEM_COLUMNS


def test_problem_pod_columns_read_like_kubectl(ds: wb.Dataset) -> None:
    got = overview.problem_pods(ds).filter(pl.col("name") == "cart-0").row(0, named=True)
    assert got["status"] == "CrashLoopBackOff"
    assert got["ready"] == "0/1"
    assert got["restarts"] == 7
    assert got["node"] == "node-1"
    assert got["age"] == T1 - (T0 - dt.timedelta(days=2))  # created two days before the window
    assert got["reason"].startswith("container main: CrashLoopBackOff")
    assert (got["workload_kind"], got["workload_name"]) == ("Deployment", "cart")


def test_last_warning_is_the_newest_warning_event_of_that_pod(ds: wb.Dataset) -> None:
    got = dict(overview.problem_pods(ds).select("name", "last_warning").iter_rows())
    # the newer of two BackOff warnings; the Normal "Pulled" event after it does not count
    assert got["cart-0"] == "BackOff: Back-off restarting failed container main in pod cart-0"
    # an event without involved uid still belongs to the pod of that name
    assert got["pending-z"] == "FailedScheduling: 0/2 nodes are available: 2 Insufficient cpu."
    # an event about an earlier pod with the same name (other uid) does not
    assert got["cache-4"] is None
    assert got["api-2"] == f"Unhealthy: Readiness probe failed: {XSS}"


@pytest.mark.parametrize("written", ["created order", "reverse"])
def test_last_warning_on_a_tie_in_time_is_the_event_created_last(tmp_path: Path, written: str) -> None:
    """A failed image pull makes the kubelet emit Failed and BackOff warnings that last
    happened in the same second: the one created last (Kubernetes names an event after its
    object and its creation time in hex) is the pod's last warning, whatever order the
    snapshot holds them in (it used to vary from run to run)."""
    pod = {"cluster": "c", "namespace": "ns", "name": "img", "uid": "u1", "phase": "Pending",
           "status": "ImagePullBackOff", "containers_ready": 0, "containers_total": 1, "observed_at": T1}  # fmt: skip

    def event(name: str, reason: str, message: str, at: dt.datetime) -> dict[str, object]:
        return {"cluster": "c", "namespace": "ns", "name": f"img.{name}", "uid": name, "involved_kind": "Pod",
                "involved_namespace": "ns", "involved_name": "img", "involved_uid": "u1", "type": "Warning",
                "reason": reason, "message": message, "first_time": at - dt.timedelta(minutes=9),
                "last_time": at, "count": 9, "observed_at": at}  # fmt: skip

    events = [
        event("18e435ddbbcb32cd", "Failed", "Failed to pull image", T1 - dt.timedelta(seconds=1)),
        event("18e435ddf765f9d9", "BackOff", "Back-off pulling image", T1),
        event("18e435ddf765fa06", "Failed", "Error: ImagePullBackOff", T1),  # created last
    ]
    if written == "reverse":
        events.reverse()
    with SnapshotWriter(tmp_path / "snap") as w:
        w.set_window(T0, T1)
        w.write("pods", conform("pods", [pod]))
        w.write("events", conform("events", events))
    got = overview.problem_pods(wb.open(tmp_path / "snap"))
    assert got["last_warning"].to_list() == ["Failed: Error: ImagePullBackOff"]


def test_problem_pods_filter_by_cluster_and_namespace(ds: wb.Dataset) -> None:
    shop_a = overview.problem_pods(ds, cluster="kind-a", namespace="shop")
    assert shop_a["name"].to_list() == ["api-2", "cache-4", "cart-0"]
    assert overview.problem_pods(ds, cluster="kind-b")["name"].to_list() == ["img-b"]
    assert overview.problem_pods(ds, cluster="kind-b", namespace="shop")["name"].to_list() == ["img-b"]


def test_unknown_cluster_or_namespace_names_the_closest(ds: wb.Dataset) -> None:
    with pytest.raises(ParameterError, match=r"no namespace named 'shp'; closest: shop"):
        overview.problem_pods(ds, namespace="shp")
    with pytest.raises(ParameterError, match=r"no cluster named 'kind-c'; closest: kind-"):
        overview.pods_by_status(ds, cluster="kind-c")
    with pytest.raises(ParameterError, match=r"no namespace named 'batch'"):  # batch is only in kind-a
        overview.problem_pods(ds, cluster="kind-b", namespace="batch")


def test_a_pod_deleted_before_the_end_is_not_a_problem_pod(ds: wb.Dataset) -> None:
    assert "old-5" not in overview.problem_pods(ds)["name"].to_list()
    assert "old-5" not in overview.pods_at_end(ds)["name"].to_list()


def test_restart_lookback_covers_a_short_window(tmp_path: Path) -> None:
    """A one-off dump has a window of seconds; a restart 30 minutes before it still counts,
    one 3 hours before does not."""
    end = T1
    pods = [
        {
            "cluster": "c",
            "namespace": "ns",
            "name": n,
            "uid": n,
            "phase": "Running",
            "status": "Running",
            "containers_ready": 1,
            "containers_total": 1,
            "restarts": 1,
            "observed_at": end,
        }
        for n in ("recent", "old")
    ]
    containers = [
        {
            "cluster": "c",
            "namespace": "ns",
            "pod": n,
            "pod_uid": n,
            "name": "main",
            "is_init": False,
            "restarts": 1,
            "last_finished_at": end - ago,
            "observed_at": end,
        }
        for n, ago in (("recent", dt.timedelta(minutes=30)), ("old", dt.timedelta(hours=3)))
    ]
    with SnapshotWriter(tmp_path / "dump") as w:
        w.set_window(end - dt.timedelta(seconds=5), end)
        w.write("pods", conform("pods", pods))
        w.write("containers", conform("containers", containers))
    assert overview.problem_pods(wb.open(tmp_path / "dump"))["name"].to_list() == ["recent"]


def test_snapshot_summary_counts_per_cluster(ds: wb.Dataset) -> None:
    got = overview.snapshot_summary(ds)
    want = pl.DataFrame(
        {
            "cluster": ["kind-a", "kind-b"],
            "nodes": [2, 1],
            "nodes_ready": [1, 1],
            "pods": [9, 2],
            "pods_running": [6, 1],
            "pods_pending": [1, 1],
            "pods_succeeded": [1, 0],
            "pods_failed": [1, 0],
            "pods_unknown": [0, 0],
            "problem_pods": [6, 1],
            "events": [7, 1],
            "warning_events": [5, 1],
            "spans": [3, 0],
            "logs": [5, 2],
            "metric_samples": [4, 2],
            "window_start": [T0, T0],
            "window_end": [T1, T1],
        },
        schema=overview.SUMMARY_COLUMNS,
    )
    assert_frame_equal(got, want)


def test_pods_by_status_counts_kubectl_statuses(ds: wb.Dataset) -> None:
    got = overview.pods_by_status(ds, cluster="kind-a")
    assert dict(got.select("status", "pods").iter_rows()) == {
        "Running": 5,
        "Completed": 1,
        "CrashLoopBackOff": 1,
        "Error": 1,
        "Pending": 1,
    }
    assert got["status"][0] == "Running"  # most common first
    assert dict(got.select("status", "ok").iter_rows())["CrashLoopBackOff"] is False


def test_namespaces_per_cluster(ds: wb.Dataset) -> None:
    assert overview.namespaces(ds) == ["batch", "kube-system", "shop"]
    assert overview.namespaces(ds, cluster="kind-b") == ["shop"]


def test_incidents_from_ground_truth(ds: wb.Dataset) -> None:
    got = overview.incidents(ds)
    assert got["id"].to_list() == ["inc-1", "inc-2"]  # sorted by start
    first = got.row(0, named=True)
    assert first["start"] == T0 + dt.timedelta(minutes=5)
    assert first["signals"] == ["events", "logs"]
    assert json.loads(first["details"]) == {"exit_code": 1}
    assert got.row(1, named=True)["end"] is None


def test_incidents_without_ground_truth_is_empty_with_columns(tmp_path: Path) -> None:
    got = overview.incidents(wb.open(write_small_snapshot(tmp_path / "s", ground_truth=False)))
    assert got.is_empty()
    assert dict(got.schema) == overview.INCIDENT_COLUMNS


def test_empty_snapshot_gives_empty_frames_with_columns(empty_ds: wb.Dataset) -> None:
    for frame, columns in (
        (overview.problem_pods(empty_ds), overview.PROBLEM_COLUMNS),
        (overview.snapshot_summary(empty_ds), overview.SUMMARY_COLUMNS),
        (overview.pods_by_status(empty_ds), overview.STATUS_COLUMNS),
        (overview.incidents(empty_ds), overview.INCIDENT_COLUMNS),
    ):
        assert frame.is_empty()
        assert dict(frame.schema) == columns
    assert overview.namespaces(empty_ds) == []


def test_problem_pods_of_a_real_minikube_pod_list(realdata: Path, tmp_path: Path) -> None:
    """nri-kubernetes' recorded minikube PodList (Kubernetes 1.34, recorded 2026-01-13 18:40:20Z):
    read by hand, six pods are in trouble: ``e2e-container-creating`` waits in CrashLoopBackOff
    after 2 restarts, ``e2e-container-pending`` is Pending (PodScheduled False, Unschedulable)
    and the four ``e2e-failjob-*`` Job pods Failed with reason Error. The other 19 are Running
    and ready or Completed."""
    import yaml

    from workbench.kube import normalize

    at = dt.datetime(2026, 1, 13, 18, 40, 20, tzinfo=dt.UTC)
    items = yaml.safe_load((realdata / "k8s" / "nri_kubernetes_k8s_1_34" / "pods.yaml").read_text())["items"]
    tables = normalize(items, cluster="minikube", observed_at=at)
    with SnapshotWriter(tmp_path / "real") as w:
        w.set_window(at, at)
        for name in ("pods", "containers", "events"):
            w.write(name, tables[name])
    got = overview.problem_pods(wb.open(tmp_path / "real"))
    assert dict(got.select("name", "status").iter_rows()) == {
        "e2e-container-creating": "CrashLoopBackOff",
        "e2e-container-pending": "Pending",
        "e2e-failjob-cdhgp": "Error",
        "e2e-failjob-nkct8": "Error",
        "e2e-failjob-qrtpp": "Error",
        "e2e-failjob-sgmz9": "Error",
    }
    crash = got.filter(pl.col("name") == "e2e-container-creating").row(0, named=True)
    assert (crash["ready"], crash["restarts"]) == ("0/1", 2)
    assert "Unschedulable" in got.filter(pl.col("name") == "e2e-container-pending")["reason"][0]
    assert len(items) - got.height == 19
