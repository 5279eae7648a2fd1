"""Manifest history and diffs: three real revisions of one Deployment (argo's test files), the
demo's taint and image changes near their incidents, and the noise and path rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

import workbench as wb
from workbench.analyses import manifests
from workbench.errors import ParameterError
from workbench.kube import Normalizer
from workbench.sources.files import read_manifests
from workbench.store import SnapshotWriter

ARGO = "k8s/argo_gitops_engine_health"
T = [dt.datetime(2018, 7, 18, 6, 20, tzinfo=dt.UTC), dt.datetime(2018, 7, 18, 6, 25, tzinfo=dt.UTC),
     dt.datetime(2018, 7, 18, 6, 30, tzinfo=dt.UTC)]  # fmt: skip


@pytest.fixture(scope="module")
def argo(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    """guestbook-ui as observed three times: progressing, then paused, then degraded."""
    n = Normalizer(cluster="argo")
    for when, name in zip(T, ("progressing", "suspended", "degraded"), strict=True):
        for m in read_manifests(realdata / ARGO / f"deployment-{name}.yaml"):
            n.add(m.obj, observed_at=when, origin=m.origin)
    path = tmp_path_factory.mktemp("snap") / "argo"
    with SnapshotWriter(path) as w:
        w.set_window(T[0] - dt.timedelta(minutes=5), T[2] + dt.timedelta(minutes=5))
        for table, frame in n.tables().items():
            if frame.height:
                w.write(table, frame)
    return wb.open(path)


@pytest.fixture(scope="module")
def demo(demo_snapshot: Path) -> wb.Dataset:
    return wb.open(demo_snapshot)


def _incident(ds: wb.Dataset, kind: str) -> dict:
    return next(i for i in ds.ground_truth["incidents"] if i["kind"] == kind)


# -- real revisions ------------------------------------------------------------------------------
def test_revisions_name_what_changed_between_real_revisions(argo: wb.Dataset) -> None:
    got = manifests.revisions(argo, "Deployment", "default", "guestbook-ui")
    assert got.columns == list(manifests.REVISION_COLUMNS)
    assert got["revision"].to_list() == [1, 2, 3]
    assert got["resource_version"].to_list() == ["12819", "12819", "13660"]
    assert got["categories"].to_list() == [["created"], ["spec"], ["spec", "status"]]
    assert got["summary"][1] == "spec.paused: ∅ → true"
    # paused removed; the Progressing condition's times, message, reason and status changed
    assert got["changes"].to_list() == [0, 1, 6]


def test_noise_is_a_parameter(argo: wb.Dataset) -> None:
    quiet = manifests.diff(argo, "Deployment", "default", "guestbook-ui", T[1], T[2])
    loud = manifests.diff(argo, "Deployment", "default", "guestbook-ui", T[1], T[2], ignore_noise=False)
    assert "metadata.resourceVersion" not in quiet.changes["path"].to_list()
    assert loud.changes.filter(pl.col("path") == "metadata.resourceVersion").select("old", "new").row(0) == (
        "12819",
        "13660",
    )
    assert "  resourceVersion: '13660'" in loud.added and not any(
        "resourceVersion" in line for line in quiet.added
    )


def test_diff_between_two_moments_shows_the_pause(argo: wb.Dataset) -> None:
    d = manifests.diff(argo, "deploy", "default", "guestbook-ui", T[0], T[1] + dt.timedelta(seconds=1))
    assert (d.before_at, d.after_at) == (T[0], T[1])
    assert d.added == ["  paused: true"] and d.removed == []
    assert d.text.startswith("--- Deployment/default/guestbook-ui @ 2018-07-18T06:20:00+00:00")
    assert d.changes.rows() == [("spec.paused", "spec", None, "true")]
    later = manifests.diff(argo, "Deployment", "default", "guestbook-ui", T[1], T[2])
    progressing = later.changes.filter(pl.col("path") == "status.conditions[Progressing].reason")
    assert progressing.select("old", "new").row(0) == ("ReplicaSetUpdated", "ProgressDeadlineExceeded")
    assert manifests.diff(argo, "Deployment", "default", "guestbook-ui", T[2], T[2]).text == ""


def test_manifest_at_a_moment(argo: wb.Dataset) -> None:
    assert (
        manifests.manifest_at(argo, "Deployment", "default", "guestbook-ui", T[0] - dt.timedelta(seconds=1))
        is None
    )
    assert (
        manifests.manifest_at(argo, "Deployment", "default", "guestbook-ui", T[1])["spec"]["paused"] is True
    )
    assert "paused" not in manifests.manifest_at(argo, "Deployment", "default", "guestbook-ui")["spec"]


def test_what_changed_ranks_by_nearness(argo: wb.Dataset) -> None:
    got = manifests.what_changed(argo, around=T[1])
    assert got.columns == list(manifests.CHANGE_COLUMNS)
    first = got.row(0, named=True)
    assert (first["rank"], first["kind"], first["name"], first["path"], first["new"]) == (
        1, "Deployment", "guestbook-ui", "spec.paused", "true")  # fmt: skip
    assert (first["time"], first["distance"]) == (T[1], dt.timedelta(0))
    assert "status" not in got["category"].to_list()
    assert "status" in manifests.what_changed(argo, around=T[1], include_status=True)["category"].to_list()


# -- the demo ------------------------------------------------------------------------------------
def test_demo_checkout_image_change_is_nearest_to_the_bad_rollout(demo: wb.Dataset) -> None:
    inc = _incident(demo, "bad_rollout")
    got = manifests.what_changed(demo, cluster=inc["cluster"], around=inc["start"])
    first = got.row(0, named=True)
    assert (first["kind"], first["namespace"], first["name"], first["category"]) == (
        "Deployment", inc["namespace"], inc["object"]["name"], "image")  # fmt: skip
    assert (first["old"], first["new"]) == (inc["details"]["old_image"], inc["details"]["new_image"])
    assert first["time"] == dt.datetime.fromisoformat(inc["start"])


def test_demo_node_taint_is_nearest_to_the_node_failure_and_shows_in_its_diff(demo: wb.Dataset) -> None:
    inc = _incident(demo, "node_failure")
    node, taint = inc["details"]["node"], inc["details"]["taint"]
    tainted = dt.datetime.fromisoformat(inc["details"]["tainted_at"])
    got = manifests.what_changed(demo, cluster=inc["cluster"], around=tainted)
    first = got.row(0, named=True)
    assert (first["kind"], first["name"], first["category"], first["time"]) == (
        "Node",
        node,
        "taints",
        tainted,
    )
    assert f'"key":"{taint["key"]}"' in first["new"] and f'"value":"{taint["value"]}"' in first["new"]
    d = manifests.diff(
        demo, "Node", None, node, tainted - dt.timedelta(minutes=1), tainted, cluster=inc["cluster"]
    )
    assert d.added == [
        "  taints:",
        f"  - effect: {taint['effect']}",
        f"    key: {taint['key']}",
        f"    value: {taint['value']}",
    ]


def test_demo_timeline_of_a_workload_holds_its_pods_warnings(demo: wb.Dataset) -> None:
    inc = _incident(demo, "oom_killed")
    got = manifests.timeline(
        demo, inc["object"]["kind"], inc["namespace"], inc["object"]["name"], cluster=inc["cluster"]
    )
    assert got.columns == list(manifests.TIMELINE_COLUMNS)
    events = got.filter(pl.col("source") == "event")
    assert f"Pod/{inc['pods'][0]}" in events["object"].to_list()
    assert set(events["type"]) == {"Warning"}
    assert got.filter(pl.col("source") == "revision").height >= 1


def test_demo_node_timeline_holds_its_taint_revision_and_warning(demo: wb.Dataset) -> None:
    inc = _incident(demo, "node_failure")
    got = manifests.timeline(demo, "Node", None, inc["details"]["node"], cluster=inc["cluster"])
    revisions = got.filter(pl.col("source") == "revision")
    assert (
        "taints"
        in revisions.filter(pl.col("time") == dt.datetime.fromisoformat(inc["details"]["tainted_at"]))[
            "reason"
        ][0]
    )
    assert "EvictionThresholdMet" in got.filter(pl.col("source") == "event")["reason"].to_list()


# -- rules and errors ----------------------------------------------------------------------------
def test_path_syntax_and_noise_stripping() -> None:
    assert manifests.parse_path('metadata.annotations["a.b/c"]') == ("metadata", "annotations", "a.b/c")
    assert manifests.parse_path("spec.containers[0].image") == ("spec", "containers", 0, "image")
    obj = {"metadata": {"resourceVersion": "1", "annotations": {"a.b/c": "x", "keep": "y"}},
           "status": {"conditions": [{"type": "Ready", "lastHeartbeatTime": "t", "status": "True"}]}}  # fmt: skip
    got = manifests.strip_noise(obj, ['metadata.annotations["a.b/c"]', "metadata.resourceVersion",
                                      "status.conditions[*].lastHeartbeatTime"])  # fmt: skip
    assert got == {
        "metadata": {"annotations": {"keep": "y"}},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    with pytest.raises(ParameterError, match="cannot read path"):
        manifests.parse_path("spec[")


def test_list_items_are_compared_by_identity() -> None:
    old = {"spec": {"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}}
    new = {"spec": {"containers": [{"name": "b", "image": "b:2"}, {"name": "a", "image": "a:1"}]}}
    assert manifests.field_changes(old, new) == [("spec.containers[b].image", "b:1", "b:2")]


def test_unknown_objects_name_the_closest(argo: wb.Dataset, demo: wb.Dataset) -> None:
    with pytest.raises(ParameterError, match="no Deployment named 'guestbook'.*closest: guestbook-ui"):
        manifests.revisions(argo, "Deployment", "default", "guestbook")
    with pytest.raises(ParameterError, match="no Deploymnt objects.*closest: Deployment"):
        manifests.diff(argo, "Deploymnt", "default", "guestbook-ui")
    with pytest.raises(ParameterError, match="exists in clusters"):
        manifests.revisions(demo, "Deployment", "shop", "checkout")


def test_empty_snapshot(tmp_path: Path) -> None:
    with SnapshotWriter(tmp_path / "e") as w:
        w.add_source("test")
    ds = wb.open(tmp_path / "e")
    got = manifests.what_changed(ds)
    assert got.is_empty() and got.columns == list(manifests.CHANGE_COLUMNS)
    with pytest.raises(ParameterError, match="no Pod objects in the snapshot"):
        manifests.timeline(ds, "Pod", "shop", "web")
