"""Resource browser: tables and detail views on argo's real objects and the demo's incidents;
usage from raw counters with a reset."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

import workbench as wb
from tests.support.snapshots import write_small_snapshot
from workbench.analyses import browser
from workbench.errors import ParameterError
from workbench.kube import Normalizer
from workbench.sources.files import read_manifests
from workbench.store import SnapshotWriter

ARGO = "k8s/argo_gitops_engine_health"
#: Each file in its own cluster: three of them are the same Deployment at three moments.
FILES = ("deployment-degraded", "deployment-progressing", "deployment-suspended", "svc-clusterip",
         "svc-loadbalancer", "svc-loadbalancer-unassigned", "statefulset", "job-failed", "job-succeeded")  # fmt: skip
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def argo(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    path = tmp_path_factory.mktemp("snap") / "argo"
    with SnapshotWriter(path) as w:
        w.add_source("test")
        for name in FILES:
            n = Normalizer(cluster=name)
            for m in read_manifests(realdata / ARGO / f"{name}.yaml"):
                n.add(m.obj, origin=m.origin)
            for table, frame in n.tables().items():
                if frame.height:
                    w.write(table, frame)
    return wb.open(path)


@pytest.fixture(scope="module")
def demo(demo_snapshot: Path) -> wb.Dataset:
    return wb.open(demo_snapshot)


def _incident(ds: wb.Dataset, kind: str) -> dict:
    return next(i for i in ds.ground_truth["incidents"] if i["kind"] == kind)


# -- argo's real objects ---------------------------------------------------------------------------
def test_argo_deployments_read_like_their_manifests(argo: wb.Dataset) -> None:
    got = browser.table(argo, "Deployment")
    assert got.columns == list(browser.COLUMNS["Deployment"])
    rows = {r["cluster"]: r for r in got.iter_rows(named=True)}
    for (
        row
    ) in rows.values():  # spec.replicas 1, status replicas 2 / ready 1 / updated 1, RollingUpdate 25%/25%
        assert (row["name"], row["namespace"], row["desired"], row["current"], row["updated"], row["ready"]) == (
            "guestbook-ui", "default", 1, 2, 1, "1/1")  # fmt: skip
        assert (row["strategy"], row["max_surge"], row["max_unavailable"]) == ("RollingUpdate", "25%", "25%")
        assert row["images"] == ["gcr.io/heptio-images/ks-guestbook-demo:0.3"]
    assert rows["deployment-degraded"]["status"] == "ProgressDeadlineExceeded"
    assert rows["deployment-progressing"]["status"] == "Progressing"
    assert rows["deployment-suspended"]["status"] == "Paused"


def test_argo_services_types_and_ports(argo: wb.Dataset) -> None:
    got = browser.table(argo, "svc").select("cluster", "namespace", "name", "type", "cluster_ip", "ports", "load_balancer",
                                            "status")  # fmt: skip
    assert got.sort("cluster").rows() == [
        ("svc-clusterip", "argocd", "argocd-metrics", "ClusterIP", "10.96.199.2", "8082/TCP", None, "NoEndpoints"),
        ("svc-loadbalancer", "argocd", "argocd-server", "LoadBalancer", "100.69.46.185", "80:30354/TCP,443:31866/TCP",
         "abc123.us-west-2.elb.amazonaws.com", "NoEndpoints"),
        ("svc-loadbalancer-unassigned", "argo", "argo-artifacts", "LoadBalancer", "10.105.70.181", "9000:32667/TCP",
         None, "Pending"),
    ]  # fmt: skip


def test_argo_service_detail_lists_each_port(argo: wb.Dataset) -> None:
    d = browser.detail(argo, "Service", "argocd", "argocd-server", cluster="svc-loadbalancer")
    assert d.ports.rows() == [("http", 80, "8080", 30354, "TCP"), ("https", 443, "8080", 31866, "TCP")]
    assert d.field("Load balancer") == "abc123.us-west-2.elb.amazonaws.com"
    assert d.field("Selector") == "app=argocd-server"
    assert d.error == "the selector matches no pod"
    assert "  type: LoadBalancer" in d.yaml.splitlines()


def test_argo_degraded_deployment_detail_gives_the_condition_as_error(argo: wb.Dataset) -> None:
    d = browser.detail(argo, "deploy", "default", "guestbook-ui", cluster="deployment-degraded")
    assert (
        d.error == 'ProgressDeadlineExceeded: ReplicaSet "guestbook-ui-75dd4d49d5" has timed out progressing.'
    )
    assert d.field("Replicas") == "desired 1, current 2, ready 1, available 1, updated 1"
    assert (d.field("Strategy"), d.field("Max surge")) == ("RollingUpdate", "25%")


def test_argo_statefulset_and_jobs(argo: wb.Dataset) -> None:
    sts = browser.table(argo, "StatefulSet").row(0, named=True)
    assert (sts["name"], sts["strategy"], sts["ready"], sts["status"]) == (
        "redis-master",
        "OnDelete",
        "1/1",
        "Ready",
    )
    jobs = dict(browser.table(argo, "Job").select("cluster", "status").iter_rows())
    assert jobs == {"job-failed": "Failed", "job-succeeded": "Complete"}


# -- usage ------------------------------------------------------------------------------------------
def _samples(metric: str, values: list[float], *, pod: str = "p", container: str = "app") -> pl.DataFrame:
    return pl.DataFrame(
        {"cluster": "c", "metric": metric, "namespace": "ns", "pod": pod, "container": container, "node": "n1",
         "labels": None, "ts": [T0 + dt.timedelta(seconds=15 * i) for i in range(len(values))], "value": values},
        schema_overrides={"labels": pl.String, "ts": pl.Datetime("us", "UTC")},
    )  # fmt: skip


def test_cpu_rate_counts_a_counter_reset_from_zero() -> None:
    cpu = _samples(browser.CPU_METRIC, [10.0, 10.3, 10.6, 0.2, 0.5])  # reset between 30 s and 45 s
    mem = _samples(browser.MEMORY_METRIC, [100.0, 200.0, 300.0, 400.0, 500.0])
    pod = _samples(browser.CPU_METRIC, [1.0, 9.0], container="POD")  # the pause container: not a container
    got = browser.usage_frame(pl.concat([cpu, mem, pod]))
    assert got.rows() == [("c", "ns", "p", "app", pytest.approx((0.3 + 0.3 + 0.2 + 0.3) / 60), 300.0)]
    window = browser.usage_frame(pl.concat([cpu, mem]), start=T0 + dt.timedelta(seconds=30))
    assert window["cpu_usage"][0] == pytest.approx((0.2 + 0.3) / 30)
    assert window["memory_usage"][0] == 400.0


# -- the demo -----------------------------------------------------------------------------------------
def test_demo_throttled_pod_runs_near_its_cpu_limit(demo: wb.Dataset) -> None:
    inc = _incident(demo, "cpu_throttling")
    at = browser.table(
        demo, "Pod", cluster=inc["cluster"], namespace=inc["namespace"], end=inc["end"], usage_minutes=10
    )
    row = at.filter(pl.col("name") == inc["pods"][0]).row(0, named=True)
    assert row["cpu_limit"] == inc["details"]["cpu_limit"]
    assert row["cpu_pct_limit"] > 80
    assert row["cpu_pct_limit"] == pytest.approx(100 * row["cpu_usage"] / row["cpu_limit"])
    assert row["cpu_pct_request"] == pytest.approx(100 * row["cpu_usage"] / row["cpu_request"])


def test_demo_oom_killed_pod_detail(demo: wb.Dataset) -> None:
    inc = _incident(demo, "oom_killed")
    d = browser.detail(demo, "Pod", inc["namespace"], inc["pods"][0], cluster=inc["cluster"])
    c = d.containers.filter(pl.col("name") == inc["details"]["container"]).row(0, named=True)
    assert (c["last_reason"], c["restarts"], c["memory_limit"]) == (
        "OOMKilled", inc["details"]["restarts"], inc["details"]["memory_limit"])  # fmt: skip
    memory = d.performance.filter(pl.col("resource") == "memory")
    assert memory["limit"].unique().to_list() == [float(inc["details"]["memory_limit"])]
    assert (
        memory["usage"].max() > 0.9 * inc["details"]["memory_limit"]
    )  # it grew to its limit before each kill
    assert d.field("Owner chain").startswith(f"Deployment/{inc['object']['name']} › ReplicaSet/")
    assert inc["object"]["name"] in d.field("Services")


def test_demo_bad_rollout_detail_yaml_logs_and_events(demo: wb.Dataset) -> None:
    inc = _incident(demo, "bad_rollout")
    start = dt.datetime.fromisoformat(inc["start"])
    now = browser.detail(demo, "Deployment", inc["namespace"], inc["object"]["name"], cluster=inc["cluster"])
    before = browser.detail(demo, "Deployment", inc["namespace"], inc["object"]["name"], cluster=inc["cluster"],
                            at=start - dt.timedelta(minutes=1))  # fmt: skip
    assert inc["details"]["new_image"] in now.yaml and inc["details"]["old_image"] not in now.yaml
    assert inc["details"]["old_image"] in before.yaml
    assert now.logs["message"].str.contains(inc["details"]["error_message"], literal=True).any()
    assert not before.logs["message"].str.contains(inc["details"]["error_message"], literal=True).any()
    assert "ScalingReplicaSet" in now.events["reason"].to_list()
    assert set(now.pods["name"]) <= set(demo.pods(cluster=inc["cluster"])["name"])
    row = browser.table(demo, "Deployment", cluster=inc["cluster"], namespace=inc["namespace"]).filter(
        pl.col("name") == inc["object"]["name"]).row(0, named=True)  # fmt: skip
    assert row["images"] == [inc["details"]["new_image"]]


def test_demo_failed_node_detail(demo: wb.Dataset) -> None:
    inc = _incident(demo, "node_failure")
    d = browser.detail(demo, "Node", None, inc["details"]["node"], cluster=inc["cluster"])
    assert d.field("Status") == "NotReady"
    assert "Kubelet stopped posting node status." in d.error
    assert f'"key":"{inc["details"]["taint"]["key"]}"' in d.field("Taints")
    assert "NodeNotReady" in d.events["reason"].to_list()


def test_demo_every_kind_has_a_table(demo: wb.Dataset) -> None:
    for kind in browser.KINDS:
        got = browser.table(demo, kind, cluster=demo.clusters[0])
        assert got.columns == list(browser.COLUMNS[kind]), kind
        assert got.height > 0, kind
        assert set(got["kind"]) == {kind}


def test_container_detail_by_pod_slash_name(demo: wb.Dataset) -> None:
    inc = _incident(demo, "init_crash_loop")
    d = browser.detail(demo, "Container", inc["namespace"], f"{inc['pods'][0]}/{inc['details']['container']}",
                       cluster=inc["cluster"])  # fmt: skip
    assert d.field("Status") == "waiting:CrashLoopBackOff"
    assert d.field("Init container") == "True" and d.field("Restarts") == str(inc["details"]["restarts"])
    assert set(d.logs["container"]) == {inc["details"]["container"]}


# -- errors and empty ---------------------------------------------------------------------------------
def test_unknown_names_list_the_closest(demo: wb.Dataset) -> None:
    with pytest.raises(ParameterError, match="no Deployment named 'chekout'.*closest: checkout"):
        browser.detail(demo, "Deployment", "shop", "chekout", cluster=demo.clusters[0])
    with pytest.raises(ParameterError, match="did you mean Deployment"):
        browser.table(demo, "Deploymnt")
    with pytest.raises(ParameterError, match="exists in"):
        browser.detail(demo, "Deployment", "shop", "checkout")
    with pytest.raises(ParameterError, match="usage_minutes must be ≥ 0.5"):
        browser.table(demo, "Pod", usage_minutes=0)


def test_empty_snapshot_gives_empty_tables(tmp_path: Path) -> None:
    with SnapshotWriter(tmp_path / "e") as w:
        w.add_source("test")
    ds = wb.open(tmp_path / "e")
    for kind in browser.KINDS:
        got = browser.table(ds, kind)
        assert got.is_empty() and got.columns == list(browser.COLUMNS[kind]), kind


def test_usage_is_the_mean_over_the_last_minutes_before_end(tmp_path: Path) -> None:
    ds = wb.open(write_small_snapshot(tmp_path / "small"))
    # web-1's working set: 1.0, 1.1, 1.2, 1.3 e8 bytes at 10:00..10:03; no CPU samples at all
    at_end = browser.table(ds, "Pod", cluster="kind-a", namespace="shop")
    assert at_end.filter(pl.col("name") == "web-1")["memory_usage"][0] is None  # nothing in 11:55..12:00
    early = browser.table(ds, "Pod", cluster="kind-a", namespace="shop", end="2026-11-02T10:03:00Z")
    web = early.filter(pl.col("name") == "web-1").row(0, named=True)
    assert (web["memory_usage"], web["cpu_usage"]) == (pytest.approx(1.15e8), None)
    short = browser.table(
        ds, "Pod", cluster="kind-a", namespace="shop", end="2026-11-02T10:03:00Z", usage_minutes=1.5
    )
    assert short.filter(pl.col("name") == "web-1")["memory_usage"][0] == pytest.approx(1.25e8)
