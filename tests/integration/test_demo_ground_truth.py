"""The default demo (6 h, scale 1) shows every incident of its ground truth in the tables the
truth names, and nothing else looks broken. Names are read from ``ground_truth.json``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import workbench
from workbench.kube import pod_status
from workbench.sources.demo import generate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> workbench.Dataset:
    out = generate(tmp_path_factory.mktemp("demo") / "snap")
    return workbench.open(str(out))


@pytest.fixture(scope="module")
def truth(ds: workbench.Dataset) -> list[dict[str, Any]]:
    gt = ds.ground_truth
    assert gt is not None
    return gt["incidents"]


def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _of(truth: list[dict], kind: str) -> list[dict]:
    found = [i for i in truth if i["kind"] == kind]
    assert found, f"the ground truth has no {kind} incident"
    return found


def _rates(samples: pl.DataFrame) -> pl.DataFrame:
    """Per-second increase of counter samples (resets dropped), per series."""
    keys = ["cluster", "namespace", "pod", "container", "labels"]
    return (
        samples.sort([*keys, "ts"])
        .with_columns(
            (pl.col("value").diff().over(keys) / (pl.col("ts").diff().over(keys).dt.total_microseconds() / 1e6))
            .alias("rate")
        )
        .filter(pl.col("rate").is_not_null() & (pl.col("rate") >= 0))
    )


def test_ground_truth_is_complete_and_inside_the_window(ds: workbench.Dataset, truth: list[dict]) -> None:
    start, end = ds.window
    kinds = {i["kind"] for i in truth}
    assert kinds >= {"oom_killed", "pending_pod", "quota_exceeded", "init_crash_loop", "bad_rollout", "node_failure",
                     "cpu_throttling", "slow_start", "image_pull_backoff"}  # fmt: skip
    assert len({i["id"] for i in truth}) == len(truth)
    assert len({i["cluster"] for i in truth}) == 2, "incidents happen in both clusters"
    for inc in truth:
        assert start <= _t(inc["start"]) <= _t(inc["end"]) <= end, inc["id"]
        assert inc["signals"], inc["id"]
    causes = {i["details"]["cause"] for i in truth if i["kind"] in ("pending_pod", "quota_exceeded")}
    assert causes == {"insufficient_cpu", "insufficient_memory", "node_selector", "missing_pvc", "untolerated_taint",
                      "quota_exceeded"}  # fmt: skip


def test_oom_killed_container(ds: workbench.Dataset, truth: list[dict]) -> None:
    for inc in _of(truth, "oom_killed"):
        pod, name, cluster = inc["pods"][0], inc["details"]["container"], inc["cluster"]
        c = ds.containers(cluster=cluster, pod=pod).filter(pl.col("name") == name)
        assert c["last_reason"].to_list() == ["OOMKilled"]
        assert c["last_exit_code"].to_list() == [137]
        assert c["restarts"][0] == inc["details"]["restarts"]
        mem = ds.metrics(metric="container_memory_working_set_bytes", cluster=cluster, pod=pod)
        assert mem["value"].max() >= 0.99 * inc["details"]["memory_limit"]
        reason = ds.metrics(metric="kube_pod_container_status_last_terminated_reason", cluster=cluster, pod=pod)
        assert reason["labels"].str.contains('"reason":"OOMKilled"').any()
        cpu = ds.metrics(metric="container_cpu_usage_seconds_total", cluster=cluster, pod=pod).sort("ts")
        assert (cpu["value"].diff() < 0).sum() == inc["details"]["restarts"], "the counter resets at each restart"
        events = ds.events(cluster=cluster)
        assert events.filter((pl.col("involved_name") == pod) & (pl.col("reason") == "BackOff")).height >= 1
        assert events.filter(pl.col("reason") == "OOMKilling").height >= 1


def test_pending_pods_show_their_cause(ds: workbench.Dataset, truth: list[dict]) -> None:
    qos = set()
    for inc in _of(truth, "pending_pod"):
        (pod,) = inc["pods"]
        row = ds.pods(cluster=inc["cluster"], pod=pod).row(0, named=True)
        assert (row["phase"], row["status"], row["node"]) == ("Pending", "Pending", None)
        assert inc["details"]["message_contains"] in row["scheduling_message"], row["scheduling_message"]
        n_nodes = ds.nodes(cluster=inc["cluster"]).height
        assert row["scheduling_message"].startswith(f"0/{n_nodes} nodes are available: ")
        qos.add(row["qos_class"])
        failed = ds.events(cluster=inc["cluster"]).filter(
            (pl.col("involved_name") == pod) & (pl.col("reason") == "FailedScheduling")
        )
        assert failed.height >= 1 and failed["type"].cast(pl.String).unique().to_list() == ["Warning"]
    assert qos == {"Guaranteed", "Burstable", "BestEffort"}


def test_quota_refusal_has_no_pod_only_an_event(ds: workbench.Dataset, truth: list[dict]) -> None:
    for inc in _of(truth, "quota_exceeded"):
        assert inc["pods"] == [] and inc["object"]["kind"] == "ReplicaSet"
        rs = inc["object"]["name"]
        ev = ds.events(cluster=inc["cluster"]).filter(
            (pl.col("involved_kind") == "ReplicaSet") & (pl.col("involved_name") == rs) & (pl.col("reason") == "FailedCreate")
        )
        assert ev.height == 1 and "exceeded quota" in ev["message"][0]
        refused = ev["message"][0].split('pods "')[1].split('"')[0]
        assert ds.pods(cluster=inc["cluster"], pod=refused).is_empty()
        w = ds.workloads(cluster=inc["cluster"]).filter(pl.col("name") == rs).row(0, named=True)
        assert w["current"] < w["desired"]
        quotas = ds.objects(cluster=inc["cluster"]).filter(pl.col("kind") == "ResourceQuota")
        assert quotas.height >= 1


def test_init_container_crash_loop(ds: workbench.Dataset, truth: list[dict]) -> None:
    for inc in _of(truth, "init_crash_loop"):
        (pod,) = inc["pods"]
        assert ds.pods(cluster=inc["cluster"], pod=pod)["status"].to_list() == ["Init:CrashLoopBackOff"]
        revisions = ds.objects(cluster=inc["cluster"], pod=pod)
        seen = [pod_status(json.loads(m)) for m in revisions.sort("observed_at")["manifest"]]
        assert "Init:Error" in seen and seen[-1] == "Init:CrashLoopBackOff"
        init = ds.containers(cluster=inc["cluster"], pod=pod).filter(pl.col("is_init"))
        assert init["restarts"][0] == inc["details"]["restarts"] >= 3
        assert ds.logs(cluster=inc["cluster"], pod=pod).filter(pl.col("stream") == "stderr").height >= 3


def test_image_pull_back_off(ds: workbench.Dataset, truth: list[dict]) -> None:
    for inc in _of(truth, "image_pull_backoff"):
        (pod,) = inc["pods"]
        assert ds.pods(cluster=inc["cluster"], pod=pod)["status"].to_list() == ["ImagePullBackOff"]
        c = ds.containers(cluster=inc["cluster"], pod=pod).row(0, named=True)
        assert c["reason"] == "ImagePullBackOff" and inc["details"]["image"] in c["message"]
        ev = ds.events(cluster=inc["cluster"]).filter(pl.col("involved_name") == pod)
        assert ev.filter(pl.col("message").str.starts_with("Failed to pull image")).height == 1
        assert ev.filter(pl.col("message") == f'Back-off pulling image "{inc["details"]["image"]}"').height == 1


def test_bad_rollout_is_visible_in_objects_spans_and_logs(ds: workbench.Dataset, truth: list[dict]) -> None:
    for inc in _of(truth, "bad_rollout"):
        cluster, name, t = inc["cluster"], inc["object"]["name"], _t(inc["start"])
        revs = ds.objects(cluster=cluster).filter((pl.col("kind") == "Deployment") & (pl.col("name") == name))
        images = {json.loads(m)["spec"]["template"]["spec"]["containers"][0]["image"] for m in revs["manifest"]}
        assert {inc["details"]["old_image"], inc["details"]["new_image"]} <= images
        scaling = ds.events(cluster=cluster).filter(
            (pl.col("reason") == "ScalingReplicaSet") & pl.col("message").str.contains(inc["details"]["new_replicaset"])
        )
        assert scaling.height >= 1
        spans = ds.spans(cluster=cluster, namespace=inc["namespace"]).filter(pl.col("kind") == "SERVER")
        own = spans.filter(pl.col("service") == name)
        before, after = own.filter(pl.col("start") < t), own.filter(pl.col("start") >= t + dt.timedelta(minutes=5))
        assert after["error"].mean() > 5 * before["error"].mean()
        assert after["duration_us"].median() > 2 * before["duration_us"].median()
        d = inc["details"]
        callers = spans.filter((pl.col("service") == d["caller_service"]) & (pl.col("http_route") == d["caller_route"]))
        cb, ca = callers.filter(pl.col("start") < t), callers.filter(pl.col("start") >= t + dt.timedelta(minutes=5))
        assert ca["error"].mean() > 3 * cb["error"].mean()
        assert ca["duration_us"].median() > 1.5 * cb["duration_us"].median()
        logs = ds.logs(cluster=cluster).filter(pl.col("message") == inc["details"]["error_message"])
        assert logs.height > 10 and logs["ts"].min() >= t
        assert logs["pod"].str.starts_with(inc["details"]["new_replicaset"] + "-").all()


def test_node_failure_taint_not_ready_and_evictions(ds: workbench.Dataset, truth: list[dict]) -> None:
    for inc in _of(truth, "node_failure"):
        cluster, node, d = inc["cluster"], inc["details"]["node"], inc["details"]
        revs = ds.objects(cluster=cluster).filter((pl.col("kind") == "Node") & (pl.col("name") == node))
        taints = [json.loads(m)["spec"].get("taints", []) for m in revs.sort("observed_at")["manifest"]]
        assert taints[0] == [] and any(t["key"] == d["taint"]["key"] for ts in taints for t in ts)
        row = ds.nodes(cluster=cluster).filter(pl.col("name") == node).row(0, named=True)
        assert row["ready"] is False and row["status"] == "NotReady"
        pods = ds.pods(cluster=cluster)
        evicted = pods.filter(pl.col("name").is_in(d["evicted"]))
        assert evicted.height == len(d["evicted"]) and evicted["reason"].str.starts_with("Evicted").all()
        assert (evicted["phase"].cast(pl.String) == "Failed").all()
        gone = pods.filter(pl.col("name").is_in(d["terminated"]))
        assert gone.height == len(d["terminated"]) >= 1 and (gone["status"] == "Terminating").all()
        replacements = pods.filter(pl.col("name").is_in(d["replacements"]))
        assert replacements.height == len(d["replacements"]) and (replacements["node"] != node).all()
        assert (replacements["status"] == "Running").all()
        reasons = set(ds.events(cluster=cluster)["reason"])
        assert {"NodeNotReady", "TaintManagerEviction", "Evicted"} <= reasons
        samples = ds.metrics(metric="node_memory_MemAvailable_bytes", cluster=cluster, node=node)
        assert samples["ts"].max() < _t(d["not_ready_at"]), "a lost node is no longer scraped"


def test_cpu_throttled_noisy_neighbour(ds: workbench.Dataset, truth: list[dict]) -> None:
    for inc in _of(truth, "cpu_throttling"):
        cluster, (pod,) = inc["cluster"], inc["pods"]
        t0, t1 = _t(inc["start"]), _t(inc["end"])
        thr = _rates(ds.metrics(metric="container_cpu_cfs_throttled_periods_total", cluster=cluster))
        inside = thr.filter((pl.col("ts") > t0) & (pl.col("ts") <= t1))
        hot = inside.filter(pl.col("pod") == pod)["rate"].mean()
        others = inside.filter(pl.col("pod") != pod).group_by("pod", "container").agg(pl.col("rate").mean())
        assert hot > 5.0 and hot > 20 * others["rate"].max()
        cpu = _rates(ds.metrics(metric="container_cpu_usage_seconds_total", cluster=cluster, pod=pod))
        assert cpu.filter((pl.col("ts") > t0) & (pl.col("ts") <= t1))["rate"].mean() >= 0.9 * inc["details"]["cpu_limit"]
        spans = ds.spans(cluster=cluster).filter(pl.col("pod").is_in(inc["details"]["neighbours"]) & (pl.col("kind") == "SERVER"))
        keys = ["service", "operation"]
        during = spans.filter((pl.col("start") >= t0) & (pl.col("start") < t1)).group_by(keys).agg(
            pl.col("duration_us").median().alias("during"))
        before = spans.filter((pl.col("start") >= t0 - (t1 - t0)) & (pl.col("start") < t0)).group_by(keys).agg(
            pl.col("duration_us").median().alias("before"))
        ratio = during.join(before, on=keys).select(pl.col("during") / pl.col("before"))
        assert ratio.height >= 1 and ratio.to_series().median() > 1.08, "the neighbours slow down a little"


def test_slow_starting_jvm_pod(ds: workbench.Dataset, truth: list[dict]) -> None:
    for inc in _of(truth, "slow_start"):
        cluster, (pod,) = inc["cluster"], inc["pods"]
        row = ds.pods(cluster=cluster, pod=pod).row(0, named=True)
        assert (row["ready_time"] - row["created"]).total_seconds() >= 120
        cpu = _rates(ds.metrics(metric="container_cpu_usage_seconds_total", cluster=cluster, pod=pod))
        early = cpu.filter(pl.col("ts") <= row["created"] + dt.timedelta(minutes=5))["rate"].mean()
        later = cpu.filter(pl.col("ts") >= row["created"] + dt.timedelta(minutes=15))["rate"].mean()
        assert early > 3 * later
        assert early >= 0.8 * inc["details"]["cpu_limit"] > inc["details"]["cpu_request"]
        unhealthy = ds.events(cluster=cluster).filter((pl.col("involved_name") == pod) & (pl.col("reason") == "Unhealthy"))
        assert unhealthy["count"].sum() >= 10


def test_everything_else_is_healthy(ds: workbench.Dataset, truth: list[dict]) -> None:
    """Precision: no pod outside the ground truth looks broken at the end of the window."""
    named = {(i["cluster"], p) for i in truth for p in i["pods"]}
    pods = ds.pods().filter(pl.col("deleted").is_null())
    broken = pods.filter(~pl.col("status").is_in(["Running", "Completed"]))
    extra = {(c, n) for c, n in broken.select("cluster", "name").iter_rows()} - named
    assert not extra, f"pods that look broken but are not in the ground truth: {sorted(extra)}"
    restarted = ds.containers().filter(pl.col("restarts") > 0)
    assert {(c, p) for c, p in restarted.select("cluster", "pod").iter_rows()} <= named
    nodes = ds.nodes()
    failing = {i["details"]["node"] for i in truth if i["kind"] == "node_failure"}
    assert set(nodes.filter(~pl.col("ready"))["name"]) == failing
    spans = ds.spans().filter(pl.col("kind") == "SERVER")
    start = ds.window[0]
    calm = spans.filter(pl.col("start") < start + dt.timedelta(hours=1))
    assert calm["error"].mean() < 0.01


def test_snapshot_is_sound_and_tables_are_sized_sensibly(ds: workbench.Dataset) -> None:
    assert ds.check() == []
    counts = ds.row_counts
    assert 100 <= ds.pods().height <= 250
    assert counts["metrics"] > 1_000_000 and counts["spans"] > 100_000 and counts["logs"] > 10_000
    assert Path(ds.path / "ground_truth.json").is_file()
