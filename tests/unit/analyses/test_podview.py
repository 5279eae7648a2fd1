"""Pod view: groups, counts, problem pods and container states, on the small hand-made snapshot,
real pod lists and the demo's incidents."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import workbench as wb
from tests.support.snapshots import PROBLEMS, write_small_snapshot
from workbench.analyses import podview
from workbench.errors import ParameterError
from workbench.kube import Normalizer
from workbench.sources.files import read_manifests
from workbench.store import SnapshotWriter

#: Demo incidents whose pods must stand out as problems at the snapshot's end.
PROBLEM_INCIDENTS = ("pending_pod", "image_pull_backoff", "init_crash_loop", "oom_killed")


def _write(path: Path, n: Normalizer) -> wb.Dataset:
    with SnapshotWriter(path) as w:
        w.add_source("test")
        for table, frame in n.tables().items():
            if frame.height:
                w.write(table, frame)
    return wb.open(path)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    return wb.open(write_small_snapshot(tmp_path_factory.mktemp("snap") / "small"))


@pytest.fixture(scope="module")
def nri(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    n = Normalizer(cluster="nri")
    for m in read_manifests(realdata / "k8s/nri_kubernetes_k8s_1_35/pods.yaml"):
        n.add(m.obj, origin=m.origin)
    return _write(tmp_path_factory.mktemp("snap") / "nri", n)


@pytest.fixture(scope="module")
def demo(demo_snapshot: Path) -> wb.Dataset:
    return wb.open(demo_snapshot)


def test_problem_pods_are_the_dashboards(small: wb.Dataset) -> None:
    cards = podview.pods(small)
    assert cards.columns == list(podview.POD_COLUMNS)
    got = cards.filter(pl.col("is_problem")).select("cluster", "namespace", "name", "status", "problem").sort(
        "cluster", "namespace", "name").rows()  # fmt: skip
    assert got == PROBLEMS
    assert "old-5" not in cards["name"].to_list()  # deleted before the end


def test_groups_count_pods_and_problems(small: wb.Dataset) -> None:
    got = podview.groups(small, cluster="kind-a", group_by="namespace")
    assert got.columns == list(podview.GROUP_COLUMNS)
    rows = {r["group"]: r for r in got.iter_rows(named=True)}
    assert (rows["shop"]["pods"], rows["shop"]["problem_pods"]) == (5, 3)
    assert rows["shop"]["problems"] == ["api-2", "cache-4", "cart-0"]
    assert rows["shop"]["statuses"] == "Running 4, CrashLoopBackOff 1"
    assert (rows["batch"]["pods"], rows["batch"]["problem_pods"]) == (3, 2)
    assert got["group"].to_list()[0] == "shop"  # most problem pods first


def test_real_pods_show_their_statuses_and_container_states(nri: wb.Dataset) -> None:
    cards = podview.pods(nri, group_by="namespace", only_problems=True)
    got = {r["name"]: r for r in cards.iter_rows(named=True)}
    failjobs = sorted(n for n in got if n.startswith("e2e-failjob-"))
    assert failjobs == ["e2e-failjob-28dqq", "e2e-failjob-4kj9v", "e2e-failjob-64h4g", "e2e-failjob-p2w8g"]
    assert {got[n]["status"] for n in failjobs} == {"Error"}
    assert got["e2e-failjob-28dqq"]["states"] == ["terminated:Error"]
    assert got["e2e-container-pending"]["status"] == "Pending"
    assert got["e2e-container-pending"]["states"] == ["unknown"]  # never started: no status yet
    creating = got["e2e-container-creating"]
    assert (creating["status"], creating["restarts"], creating["problem"]) == ("Completed", 2, "restarted")
    assert creating["states"] == ["terminated:Completed"]
    assert set(cards["group"]) == {"scraper"}


def test_grouping_by_job_and_statefulset(nri: wb.Dataset) -> None:
    jobs = podview.groups(nri, group_by="job")
    fail = jobs.filter(pl.col("group") == "e2e-failjob").row(0, named=True)
    assert (fail["pods"], fail["problem_pods"], fail["namespace"]) == (4, 4, "scraper")
    sts = podview.pods(nri, group_by="statefulset")
    assert sorted(sts["name"]) == ["e2e-statefulset-0", "e2e-statefulset-1"]
    everyone = podview.pods(nri, group_by="statefulset", include_ungrouped=True)
    assert everyone.height == nri.pods().height and podview.NONE_GROUP in everyone["group"].to_list()


def _pod(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "web", "uid": f"u-{name}",
            "labels": labels, "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "app:1"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "app", "ready": True, "restartCount": 0,
                                              "state": {"running": {"startedAt": "2026-01-01T00:00:01Z"}}}]}}  # fmt: skip


def test_a_pod_selected_by_two_services_is_in_both_groups(tmp_path: Path) -> None:
    n = Normalizer(cluster="c")
    when = dt.datetime(2026, 1, 1, 1, tzinfo=dt.UTC)
    n.add(_pod("front-1", {"app": "front", "tier": "web"}), observed_at=when)
    n.add(_pod("back-1", {"app": "back", "tier": "web"}), observed_at=when)
    for name, selector in (("front", {"app": "front"}), ("web", {"tier": "web"})):
        n.add({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "web"},
               "spec": {"selector": selector, "ports": [{"port": 80}]}}, observed_at=when)  # fmt: skip
    ds = _write(tmp_path / "s", n)
    cards = podview.pods(ds, group_by="service")
    assert sorted(cards.select("group", "name").rows()) == [
        ("front", "front-1"),
        ("web", "back-1"),
        ("web", "front-1"),
    ]
    assert dict(podview.groups(cards).select("group", "pods").iter_rows()) == {"front": 1, "web": 2}
    assert cards["states"].to_list()[0] == ["running"]


def test_demo_incident_pods_stand_out(demo: wb.Dataset) -> None:
    cards = podview.pods(demo, group_by="node")
    problems = set(cards.filter(pl.col("is_problem")).select("cluster", "name").iter_rows())
    incidents = [i for i in demo.ground_truth["incidents"] if i["kind"] in PROBLEM_INCIDENTS]
    assert {i["kind"] for i in incidents} == set(PROBLEM_INCIDENTS)
    for inc in incidents:
        for pod in inc["pods"]:
            assert (inc["cluster"], pod) in problems, (inc["kind"], pod)
    init = next(i for i in incidents if i["kind"] == "init_crash_loop")
    row = cards.filter(pl.col("name") == init["pods"][0]).row(0, named=True)
    states = dict(zip(row["containers"], row["states"], strict=True))
    assert states[f"init:{init['details']['container']}"] == "waiting:CrashLoopBackOff"
    assert row["status"] == "Init:CrashLoopBackOff"
    pull = next(i for i in incidents if i["kind"] == "image_pull_backoff")
    assert cards.filter(pl.col("name") == pull["pods"][0])["states"][0].to_list() == [
        "waiting:ImagePullBackOff"
    ]


def test_demo_unscheduled_pods_group_under_their_own_node_name(demo: wb.Dataset) -> None:
    groups = podview.groups(demo, group_by="node")
    unscheduled = groups.filter(pl.col("group") == "(unscheduled)")
    pending = [p for i in demo.ground_truth["incidents"] if i["kind"] == "pending_pod" for p in i["pods"]]
    assert int(unscheduled["pods"].sum()) == len(pending) == int(unscheduled["problem_pods"].sum())


def test_empty_and_bad_parameters(tmp_path: Path, small: wb.Dataset) -> None:
    with SnapshotWriter(tmp_path / "e") as w:
        w.add_source("test")
    empty = wb.open(tmp_path / "e")
    assert podview.pods(empty).columns == list(podview.POD_COLUMNS) and podview.pods(empty).is_empty()
    assert podview.groups(empty).columns == list(podview.GROUP_COLUMNS)
    with pytest.raises(ParameterError, match="group_by must be one of"):
        podview.pods(small, group_by="team")
    with pytest.raises(ParameterError, match="closest: shop"):
        podview.pods(small, namespace="shopp")
