"""``import_paths`` on every real sample (all at once and folder by folder), on a
``kubectl cluster-info dump`` built from real objects, and on damaged files.

The facts checked were read off the files by hand; the comments say where.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal

import workbench
from tests.conftest import REALDATA
from workbench.errors import InputError, ParameterError
from workbench.sources.importer import ImportProgress, ImportSummary, import_paths

AT = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
MUST_GATHER = "k8s/openshift_must_gather_4.8_partial"
INSIGHTS = "k8s/openshift_insights_archive_sample"
#: ``spec.clusterID`` of ``config/version.json`` (the archive's infrastructure name is obfuscated
#: to ``xxxxxxxxxxxxxxxx-xxxxx``).
INSIGHTS_CLUSTER = "84ef291d-8f1b-4d28-ab34-cfddff941b84"
ETCD_POD = "etcd-ip-10-0-187-218.ec2.internal"
#: Warnings the real samples deserve: objects that carry no ``metadata`` (argo's Application
#: fixtures, Insights' operator configs) and log lines without a timestamp of their own.
EXPECTED_WARNINGS = ("without 'metadata'", "carry no timestamp", "have no timestamp")


def _row(frame: pl.DataFrame, **where: object) -> dict[str, object]:
    rows = frame.filter(*(pl.col(k) == v for k, v in where.items())).to_dicts()
    assert len(rows) == 1, f"{len(rows)} rows match {where}"
    return rows[0]


def _files(root: Path) -> list[Path]:
    return [
        p
        for p in root.rglob("*")
        if p.is_file() and not any(x.startswith(".") for x in p.relative_to(root).parts)
    ]


def _sample_folders() -> list[str]:
    if not REALDATA.is_dir():
        return []
    return sorted(str(p.relative_to(REALDATA)) for p in REALDATA.glob("*/*") if p.is_dir())


@pytest.fixture(scope="module")
def everything(
    realdata: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[ImportSummary, workbench.Dataset]:
    """Every file under realdata/, imported in one call."""
    out = tmp_path_factory.mktemp("import") / "all"
    summary = import_paths([realdata], out=out, at=AT)
    return summary, workbench.open(out)


# -- every real sample -------------------------------------------------------------------------
def test_every_real_file_imports_in_one_call(
    realdata: Path, everything: tuple[ImportSummary, workbench.Dataset]
) -> None:
    summary, ds = everything
    assert ds.check() == []
    for table in (
        "objects",
        "pods",
        "containers",
        "nodes",
        "workloads",
        "services",
        "events",
        "series",
        "metrics",
        "spans",
        "logs",
    ):
        assert ds.row_counts[table] > 0, table
    # dumps get their own clusters, loose files the name of the folder given
    assert summary.clusters == sorted([INSIGHTS_CLUSTER, "openshift_must_gather_4.8_partial", "realdata"])
    assert set(ds.manifest["clusters"]) == set(summary.clusters)
    # every file is read, or passed over with a reason; none is lost
    files = _files(realdata)
    read = summary.files + summary.format("unreadable").files
    assert read + len(summary.skipped) == len(files)
    skipped = {p.relative_to(realdata) for p, _ in summary.skipped}
    for path in files:
        rel = path.relative_to(realdata)
        if rel.parts[0] in ("prometheus", "traces") and path.name != "README.md":
            assert rel not in skipped, rel
        if path.suffix == ".log" or path.suffix == ".yaml":
            assert rel not in skipped, rel
    assert Path("README.md") in skipped and Path("SOURCES.tsv") in skipped
    # the only warnings are the ones the samples deserve, each naming an existing file
    warnings = ds.manifest["warnings"]
    assert warnings and all(w["source"] == "import" for w in warnings)
    for warning in warnings:
        assert any(reason in warning["message"] for reason in EXPECTED_WARNINGS), warning
        assert Path(warning["what"]).is_file() and warning["message"].startswith(warning["what"])
    assert summary.warnings == [w["message"] for w in warnings]
    assert summary.rows("spans") == ds.row_counts["spans"] and summary.rows("logs") == ds.row_counts["logs"]


@pytest.mark.parametrize("folder", _sample_folders())
def test_each_sample_folder_imports_on_its_own(realdata: Path, tmp_path: Path, folder: str) -> None:
    summary = import_paths([realdata / folder], out=tmp_path / "snap", at=AT)
    ds = workbench.open(tmp_path / "snap")
    assert ds.check() == []
    table = {"k8s": "objects", "prometheus": "metrics", "traces": "spans"}[folder.split("/")[0]]
    assert ds.row_counts[table] > 0
    for warning in summary.warnings:
        assert any(reason in warning for reason in EXPECTED_WARNINGS), warning
    if folder not in (MUST_GATHER, INSIGHTS):
        assert summary.clusters == [Path(folder).name]


# -- facts ---------------------------------------------------------------------------------------
def test_nri_pod_list_counts_status_and_node(realdata: Path, tmp_path: Path) -> None:
    nri = realdata / "k8s/nri_kubernetes_k8s_1_35"
    summary = import_paths([nri / "pods.yaml", nri / "nodes.yaml", nri / "services.yaml"], out=tmp_path / "s")
    ds = workbench.open(tmp_path / "s")
    assert summary.clusters == ["nri_kubernetes_k8s_1_35"]
    pods = ds.pods()
    assert dict(pods.group_by("namespace").len().iter_rows()) == {"kube-system": 9, "scraper": 16}
    pending = _row(pods, name="e2e-container-pending")  # pods.yaml line 1893 on
    assert (pending["phase"], pending["status"], pending["node"]) == ("Pending", "Pending", None)
    assert pending["scheduling_message"] == (
        "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. no new claims to "
        "deallocate, preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
    )
    assert _row(pods, name="e2e-failjob-28dqq")["phase"] == "Failed"
    node = _row(ds.nodes(), name="datagen-1-35")  # nodes.yaml: allocatable cpu "14", 8024304Ki, "110"
    assert (node["cpu_allocatable"], node["memory_allocatable"], node["pods_allocatable"]) == (
        14.0,
        8024304 * 1024,
        110,
    )
    assert _row(ds.services(), name="kube-dns")["pods"] == ["coredns-7d764666f9-qdcxt"]


def test_static_pods_listed_by_kubelet_and_api_count_once(realdata: Path, tmp_path: Path) -> None:
    import_paths([realdata / "k8s/nri_kubernetes_k8s_1_35"], out=tmp_path / "s")
    pods = workbench.open(tmp_path / "s").pods()
    assert dict(pods.group_by("namespace").len().iter_rows()) == {"kube-system": 9, "scraper": 16}


def test_must_gather_etcd_logs_are_attached_to_the_etcd_pod(
    everything: tuple[ImportSummary, workbench.Dataset],
) -> None:
    _, ds = everything
    cluster = "openshift_must_gather_4.8_partial"  # no infrastructure object in this partial dump
    pod = _row(ds.pods(cluster=cluster), name=ETCD_POD)
    assert pod["namespace"] == "openshift-etcd"
    logs = ds.logs(cluster=cluster, namespace="openshift-etcd", pod=ETCD_POD)
    # etcd/etcd/logs/current.log: 92 lines, lines 6-9 are indented continuations of line 5
    etcd = logs.filter(pl.col("container") == "etcd").sort("ts", maintain_order=True)
    assert etcd.height == 88
    assert etcd["ts"][0] == dt.datetime(2021, 8, 3, 9, 26, 39, 812571, tzinfo=dt.UTC)
    assert etcd["message"][0].startswith("30c29f1b390a6a04, started, ip-10-0-189-142.ec2.internal")
    # setup/setup/logs/current.log: one line, no final newline
    assert logs.filter(pl.col("container") == "setup")["message"].to_list() == [
        "Fixing etcd log permissions."
    ]
    # every must-gather log belongs to a pod of the same cluster
    all_logs = ds.logs(cluster=cluster).select("namespace", "pod").unique()
    pods = ds.pods(cluster=cluster).select("namespace", pl.col("name").alias("pod"))
    assert all_logs.join(pods, on=["namespace", "pod"], how="anti").height == 0


def test_insights_archive_pods_nodes_events_and_logs(
    everything: tuple[ImportSummary, workbench.Dataset],
) -> None:
    _, ds = everything
    pods = ds.pods(cluster=INSIGHTS_CLUSTER)
    assert pods.height == 36  # 35 config/pod/<ns>/<pod>.json + conditional/.../alertmanager-main-0.json
    router = _row(pods, name="router-default-7bbdcfcf9b-7xdln")
    assert (router["status"], router["scheduling_message"]) == (
        "Pending",
        "0/2 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, "
        "1 node(s) had taint {node-role.kubernetes.io/master: }, that the pod didn't tolerate.",
    )
    assert _row(pods, name="vsystem-867f4b77cc-pqcns")["status"] == "Init:CrashLoopBackOff"
    nodes = ds.nodes(cluster=INSIGHTS_CLUSTER)
    master = _row(nodes, name="master-0.imeixner20210707.lab.upshift.rdu2.redhat.com")
    assert (master["cpu_allocatable"], master["memory_allocatable"]) == (7.5, 15258956 * 1024)
    assert nodes.height == 2
    events = ds.events(cluster=INSIGHTS_CLUSTER).sort("last_time")  # events/openshift-machine-api.json
    assert events.select("reason", "type", "last_time").rows() == [
        ("FailedUpdate", "Warning", dt.datetime(2022, 8, 24, 9, 40, 44, tzinfo=dt.UTC)),  # 11:40:44+02:00
        ("FailedUpdate", "Warning", dt.datetime(2022, 8, 24, 9, 41, 5, tzinfo=dt.UTC)),
    ]
    assert events["message"][1].startswith("cluster-lrqft-worker-us-east-2c-rlfpx: reconciler failed")
    # conditional/.../alertmanager-main-0/containers/alertmanager/logs/last-50-lines.log: 29 lines,
    # 11 level=warn and 5 level=error
    am = ds.logs(cluster=INSIGHTS_CLUSTER, namespace="openshift-monitoring", pod="alertmanager-main-0")
    assert am.height == 29 and set(am["container"]) == {"alertmanager"}
    levels = dict(am.group_by(pl.col("level").cast(pl.String)).len().iter_rows())
    assert (levels.get("WARN"), levels.get("ERROR")) == (11, 5)
    # config/metrics: a federate dump with millisecond timestamps
    installer = ds.metrics(cluster=INSIGHTS_CLUSTER, metric="cluster_installer")
    assert installer.select("ts", "value", "namespace").row(0) == (
        dt.datetime(2020, 6, 22, 12, 36, 1, 218000, tzinfo=dt.UTC),
        1.0,
        "openshift-cluster-version",
    )


def test_trace_span_and_service_counts(everything: tuple[ImportSummary, workbench.Dataset]) -> None:
    _, ds = everything
    spans = ds.spans(cluster="realdata")
    # zipkin_lens_testdata/smartthings-mobile-web-install.json: 1,041 spans of trace
    # 14b60fd9ae504820 across 16 services (84 server halves carry no timestamp of their own)
    trace = spans.filter(pl.col("trace_id") == "14b60fd9ae504820")
    assert (trace.height, trace["service"].n_unique()) == (1041, 16)
    # jaeger_ui_testdata/testTrace.json: trace-123, 11 spans of service1 and service2
    jaeger = spans.filter(pl.col("trace_id") == "trace-123")
    assert (jaeger.height, set(jaeger["service"])) == (11, {"service1", "service2"})


def test_exposition_samples(everything: tuple[ImportSummary, workbench.Dataset]) -> None:
    _, ds = everything
    # prometheus/nri_kubernetes_k8s_1_35/ksm/metrics line 556 (no timestamp: stored at AT)
    memory = ds.metrics(cluster="realdata", metric="kube_node_status_allocatable").filter(
        pl.col("labels").str.contains('"resource":"memory"')
    )
    assert memory.select("node", "value", "ts").row(0) == ("datagen-1-35", 8.216887296e9, AT)
    # ksm/metrics line 1185: the Unschedulable pod is Pending
    phase = ds.metrics(cluster="realdata", metric="kube_pod_status_phase", pod="e2e-container-pending")
    pending = phase.filter(pl.col("labels").str.contains('"phase":"Pending"'))
    assert pending["value"].to_list() == [1.0]


# -- a cluster-info dump made of real objects -------------------------------------------------------
def _list(kind: str, items: list[dict]) -> dict:
    return {"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items}


def _build_cluster_info_dump(realdata: Path, root: Path) -> dict[str, str]:
    """The files ``kubectl cluster-info dump --output-directory`` writes, from the nri 1.35
    recordings, with the must-gather's etcd logs as the logs of the minikube etcd pod."""
    nri = realdata / "k8s/nri_kubernetes_k8s_1_35"
    pods = yaml.safe_load((nri / "pods.yaml").read_text())["items"]
    services = yaml.safe_load((nri / "services.yaml").read_text())["items"]
    root.mkdir()
    (root / "nodes.json").write_text(json.dumps(yaml.safe_load((nri / "nodes.yaml").read_text())))
    for ns in sorted({p["metadata"]["namespace"] for p in pods}):
        (root / ns).mkdir()
        mine = [p for p in pods if p["metadata"]["namespace"] == ns]
        (root / ns / "pods.json").write_text(json.dumps(_list("PodList", mine), indent=4))
        svc = [s for s in services if s["metadata"]["namespace"] == ns]
        (root / ns / "services.json").write_text(json.dumps(_list("ServiceList", svc), indent=4))
        for stem, kind in (
            ("events", "EventList"),
            ("replication-controllers", "ReplicationControllerList"),
            ("deployments", "DeploymentList"),
            ("replicasets", "ReplicaSetList"),
            ("daemonsets", "DaemonSetList"),
        ):
            (root / ns / f"{stem}.json").write_text(json.dumps(_list(kind, [])))
    mg = realdata / MUST_GATHER / "namespaces/openshift-etcd/pods" / ETCD_POD

    def untimed(path: Path) -> str:  # kubectl cluster-info dump reads logs without --timestamps
        return "".join(line.split(" ", 1)[1] for line in path.read_text().splitlines(keepends=True))

    logs = {
        ("kube-system", "etcd-datagen-1-35", "etcd"): untimed(mg / "etcd/etcd/logs/current.log"),
        # no final newline: kubectl glues the END marker to the last line
        ("kube-system", "kube-scheduler-datagen-1-35", "kube-scheduler"): untimed(
            mg / "setup/setup/logs/current.log"
        ),
    }
    texts = {}
    for (ns, pod, container), text in logs.items():
        (root / ns / pod).mkdir()
        body = (
            f"==== START logs for container {container} of pod {ns}/{pod} ====\n{text}"
            f"==== END logs for container {container} of pod {ns}/{pod} ====\n"
        )
        (root / ns / pod / "logs.txt").write_text(body)
        texts[pod] = body
    # a pod whose log kubectl could not read (the line kubectl writes then)
    (root / "scraper" / "e2e-container-pending").mkdir()
    (root / "scraper" / "e2e-container-pending" / "logs.txt").write_text(
        "==== START logs for container e2e-container-pending of pod scraper/e2e-container-pending ====\n"
        "Request log error: the server rejected our request for an unknown reason (get pods e2e-container-pending)\n"
        "==== END logs for container e2e-container-pending of pod scraper/e2e-container-pending ====\n"
    )
    return texts


def _check_cluster_info_snapshot(ds: workbench.Dataset, cluster: str) -> str:
    assert ds.check() == []
    pods = ds.pods(cluster=cluster)
    assert dict(pods.group_by("namespace").len().iter_rows()) == {"kube-system": 9, "scraper": 16}
    coredns = _row(pods, name="coredns-7d764666f9-qdcxt")  # ReplicaSet → Deployment by pod-template-hash
    assert (coredns["workload_kind"], coredns["workload_name"]) == ("Deployment", "coredns")
    assert _row(ds.nodes(cluster=cluster), name="datagen-1-35")["cpu_allocatable"] == 14.0
    etcd = ds.logs(cluster=cluster, namespace="kube-system", pod="etcd-datagen-1-35")
    assert etcd.height == 88 and set(etcd["container"]) == {"etcd"}
    scheduler = ds.logs(cluster=cluster, pod="kube-scheduler-datagen-1-35")
    assert scheduler["message"].to_list() == ["Fixing etcd log permissions."]
    failed = [w for w in ds.manifest["warnings"] if "could not read the log" in w["message"]]
    assert len(failed) == 1 and "scraper/e2e-container-pending" in failed[0]["message"]
    return failed[0]["message"]


def test_cluster_info_dump_folder(realdata: Path, tmp_path: Path) -> None:
    _build_cluster_info_dump(realdata, tmp_path / "cluster-state")
    summary = import_paths([tmp_path / "cluster-state"], out=tmp_path / "snap")
    assert summary.clusters == ["cluster-state"]
    assert summary.format("cluster-info-logs").files == 3
    failed = _check_cluster_info_snapshot(workbench.open(tmp_path / "snap"), "cluster-state")
    assert failed.startswith(f"{tmp_path / 'cluster-state/scraper/e2e-container-pending/logs.txt'}:line 2: ")
    # a subfolder of the dump still belongs to it: logs get their pod from the markers
    part = import_paths([tmp_path / "cluster-state" / "kube-system"], out=tmp_path / "part")
    assert part.clusters == ["cluster-state"] and part.rows("logs") == 89


def test_cluster_info_dump_single_file(realdata: Path, tmp_path: Path) -> None:
    """``kubectl cluster-info dump > dump.txt``: the Lists and the log blocks in one file."""
    root = tmp_path / "d"
    texts = _build_cluster_info_dump(realdata, root)
    parts = [(root / "nodes.json").read_text()]
    for ns in ("kube-system", "scraper"):
        parts += [(root / ns / f"{stem}.json").read_text() + "\n" for stem in ("events", "services", "pods")]
    parts += list(texts.values()) + [(root / "scraper/e2e-container-pending/logs.txt").read_text()]
    dump = tmp_path / "dump.txt"
    dump.write_text("".join(parts))
    summary = import_paths([dump], out=tmp_path / "snap", cluster="minikube")
    assert summary.format("cluster-info-dump").files == 1 and summary.clusters == ["minikube"]
    _check_cluster_info_snapshot(workbench.open(tmp_path / "snap"), "minikube")


# -- JSON Lists with --at: the compiled bulk path --------------------------------------------------
def _write_lists(realdata: Path, root: Path, suffix: str) -> None:
    """The GKE 2016 EventList and PodList, the nri 1.35 pods as a PodList with a damaged item
    (no metadata) at index 2, and a ``kubectl get pods,services -o json`` List of nri objects,
    as JSON (as kubectl writes it) or as YAML (keys in the same order)."""
    gke, nri = realdata / "k8s/datadog_dd_agent_gke_2016", realdata / "k8s/nri_kubernetes_k8s_1_35"
    pods = yaml.safe_load((nri / "pods.yaml").read_text())["items"]
    services = yaml.safe_load((nri / "services.yaml").read_text())["items"]
    damaged = [*pods[:2], {"kind": "Pod", "apiVersion": "v1", "spec": {"containers": []}}, *pods[2:]]
    docs = {
        "events": json.loads((gke / "events.json").read_text()),
        "gke-pods": json.loads((gke / "pods_list_1.2.json").read_text()),
        "nri-pods": _list("PodList", damaged),
        "mixed": {"kind": "List", "apiVersion": "v1", "items": [*pods[:3], *services]},
    }
    root.mkdir()
    for stem, doc in docs.items():
        text = json.dumps(doc, indent=4) if suffix == ".json" else yaml.safe_dump(doc, sort_keys=False)
        (root / f"{stem}{suffix}").write_text(text)


@pytest.mark.parametrize("at", [AT, None], ids=["at", "own-times"])
def test_json_lists_take_the_bulk_path_with_the_same_result(
    realdata: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, at: dt.datetime | None
) -> None:
    caplog.set_level(logging.DEBUG, logger="workbench.sources.importer")
    tables = ("objects", "pods", "containers", "events", "services", "workloads")
    found: dict[str, tuple[ImportSummary, workbench.Dataset, list[str]]] = {}
    for suffix in (".json", ".yaml"):
        _write_lists(realdata, tmp_path / suffix[1:], suffix)
        caplog.clear()
        summary = import_paths([tmp_path / suffix[1:]], out=tmp_path / f"snap{suffix}", cluster="c", at=at)
        bulk = sorted(r.getMessage() for r in caplog.records if "read by the bulk path" in r.getMessage())
        found[suffix] = summary, workbench.open(tmp_path / f"snap{suffix}"), bulk
    (summary, ds, bulk), (_, per_object, none) = found[".json"], found[".yaml"]
    json_dir = tmp_path / "json"
    assert (
        bulk
        == [
            f"{json_dir / 'events.json'}: 19 object(s) read by the bulk path",
            f"{json_dir / 'gke-pods.json'}: 4 object(s) read by the bulk path",
            f"{json_dir / 'mixed.json'}: 10 object(s) read by the bulk path",  # 3 pods, 7 services
            f"{json_dir / 'nri-pods.json'}: 25 object(s) read by the bulk path",
        ]
        and none == []
    )
    # the same rows as object by object, and the same warning at the same place
    for table in tables:
        assert_frame_equal(getattr(ds, table)(), getattr(per_object, table)(), check_row_order=False)
    assert summary.warnings == [
        f"{json_dir / 'nri-pods.json'}:document 1 (line 1), item 2: skipped a Pod without 'metadata'"
    ]
    assert [w.replace(".yaml", ".json").replace("/yaml/", "/json/") for w in found[".yaml"][0].warnings] == (
        summary.warnings
    )
    # facts of the GKE 2016 EventList (events.json, by hand) and the nri pods
    events = ds.events()
    assert dict(events.group_by("reason").len().iter_rows()) == {
        "Scheduled": 3, "Pulled": 3, "Created": 3, "Started": 3, "SuccessfulCreate": 3, "SuccessfulDelete": 4,
    }  # fmt: skip
    scheduled = _row(events, name="hello-node-47289321-a3x8n.14527a0efb469137")
    if at is not None:
        assert set(events["observed_at"]) == {AT} and set(ds.objects()["observed_at"]) == {AT}
    else:  # created, first and last seen at 2016-05-27T16:37:13Z (its deletionTimestamp is not read)
        assert scheduled["observed_at"] == dt.datetime(2016, 5, 27, 16, 37, 13, tzinfo=dt.UTC)
        # pods.yaml line 2837 on: created 2026-06-26T10:14:28Z, its container finished at 10:14:33Z,
        # its newest time the PodReadyToStartContainers condition's at 10:14:34Z
        assert _row(ds.pods(), name="e2e-failjob-28dqq")["observed_at"] == dt.datetime(
            2026, 6, 26, 10, 14, 34, tzinfo=dt.UTC
        )
    pods = ds.pods()
    assert pods.height == 4 + 25 and _row(pods, name="e2e-failjob-28dqq")["phase"] == "Failed"
    assert _row(ds.services(), name="kube-dns")["pods"] == ["coredns-7d764666f9-qdcxt"]


# -- damaged input ----------------------------------------------------------------------------------
def test_damaged_files_warn_with_file_and_position_and_good_parts_are_kept(
    realdata: Path, tmp_path: Path
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    good = (realdata / "k8s/k9s_testdata/render/testdata/dp.json").read_text()
    (src / "good.json").write_text(good)
    pod = (realdata / "k8s/k9s_testdata/render/testdata/po.json").read_text()
    (src / "truncated.json").write_text(pod[: len(pod) // 2])
    argo = realdata / "k8s/argo_gitops_engine_health"
    stream = "\n---\n".join(
        [
            (argo / "pod-crashloop.yaml").read_text(),
            "metadata: {name: [unclosed\n",
            (argo / "pod-pending.yaml").read_text(),
        ]
    )
    (src / "stream.yaml").write_text(stream)
    (src / "garbage.bin").write_bytes(bytes(range(256)) * 8)
    (src / "empty.json").write_text("")
    mg_log = (
        realdata / MUST_GATHER / "namespaces/openshift-etcd/pods" / ETCD_POD / "etcd/etcd/logs/current.log"
    )
    lines = mg_log.read_bytes().splitlines(keepends=True)[:10]
    lines[2] = lines[2].replace(b"started", b"st\xff\xfeed")
    (src / "app.log").write_bytes(b"".join(lines))

    summary = import_paths([src], out=tmp_path / "snap")
    ds = workbench.open(tmp_path / "snap")
    assert ds.check() == []
    messages = [w["message"] for w in ds.manifest["warnings"]]

    def warned(name: str, *parts: str) -> None:
        hits = [m for m in messages if m.startswith(f"{src / name}:") and all(p in m for p in parts)]
        assert hits, (name, parts, messages)

    warned("truncated.json", "line ", "column ", "invalid JSON")
    warned("stream.yaml", "document 2 (line ", "invalid YAML")
    warned("garbage.bin", "byte 0", "binary")
    warned("empty.json", "empty file")
    warned("app.log", "line 3", "invalid UTF-8")
    names = set(ds.pods()["name"])
    crashloop = yaml.safe_load((argo / "pod-crashloop.yaml").read_text())["metadata"]["name"]
    pending = yaml.safe_load((argo / "pod-pending.yaml").read_text())["metadata"]["name"]
    assert {crashloop, pending} <= names  # the documents around the bad one
    assert _row(ds.workloads(), kind="Deployment")["name"] == json.loads(good)["metadata"]["name"]
    logs = ds.logs()
    assert logs.height == 6  # 10 lines, 4 of them continuations; the damaged one kept
    assert "st\ufffd\ufffded" in " ".join(logs["message"])
    assert summary.format("unreadable").files == 2  # garbage.bin, empty.json


def test_nothing_importable_raises_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": ')
    (tmp_path / "b.bin").write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(InputError, match=r"nothing could be imported from .*a\.json.*b\.bin") as err:
        import_paths([tmp_path / "a.json", tmp_path / "b.bin"], out=tmp_path / "snap")
    assert "invalid JSON" in str(err.value)
    assert not (tmp_path / "snap").exists()
    with pytest.raises(InputError, match="no such file or folder"):
        import_paths([tmp_path / "missing"], out=tmp_path / "snap")


def test_options_are_checked_and_a_forced_format_wins(realdata: Path, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="did you mean zipkin"):
        import_paths([realdata / "traces"], out=tmp_path / "x", format="zipkn")
    with pytest.raises(ParameterError, match="timezone-aware"):
        import_paths([realdata / "traces"], out=tmp_path / "x", at=dt.datetime(2024, 1, 1))  # noqa: DTZ001
    # a README is not a log, unless told so
    readme = realdata / "traces/zipkin_lens_testdata/README.md"
    with pytest.raises(InputError, match="not a format the import reads .*use format="):
        import_paths([readme], out=tmp_path / "readme")
    summary = import_paths([readme], out=tmp_path / "readme", format="plain", at=AT)
    assert summary.rows("logs") > 0 and summary.format("log").files == 1
    # "traces": each file read as the trace format its content has
    traces = import_paths([realdata / "traces"], out=tmp_path / "traces", format="traces")
    assert (traces.format("zipkin").files, traces.format("jaeger").files) == (10, 3)
    assert any("README.md" in w and "not a trace file" in w for w in traces.warnings)


def test_progress_append_and_cluster_name(realdata: Path, tmp_path: Path) -> None:
    seen: list[ImportProgress] = []
    jaeger = realdata / "traces/jaeger_ui_testdata"
    import_paths([jaeger], out=tmp_path / "s", cluster="prod", progress=seen.append)
    assert [p.done for p in seen] == [1, 2, 3] and {p.total for p in seen} == {3}
    assert {p.format for p in seen} == {"jaeger"}
    zipkin = realdata / "traces/zipkin_lens_testdata/yelp.json"
    summary = import_paths([zipkin], out=tmp_path / "s", cluster="prod", mode="append")
    ds = workbench.open(tmp_path / "s")
    assert summary.rows("spans") == 16  # yelp.json: 16 spans
    assert ds.row_counts["spans"] == 40 + 16  # jaeger: 17 + 12 + 11
    assert ds.manifest["clusters"] == ["prod"] and ds.check() == []


def test_must_gather_is_named_after_its_cluster_and_kubelet_log_paths_name_the_pod(
    realdata: Path, tmp_path: Path
) -> None:
    mg = tmp_path / "must-gather.local.1" / "quay-io-openshift-release-dev-ocp-v4-0-art-dev-sha256-0d1e"
    shutil.copytree(realdata / MUST_GATHER, mg)
    config = mg / "cluster-scoped-resources/config.openshift.io"
    (config / "infrastructures").mkdir(parents=True)
    (config / "clusterversions").mkdir()
    insights = realdata / INSIGHTS / "config"
    # the Insights sample's Infrastructure has an obfuscated name, so the ClusterVersion's id wins
    infrastructure = json.loads((insights / "infrastructure.json").read_text())
    assert infrastructure["status"]["infrastructureName"] == "xxxxxxxxxxxxxxxx-xxxxx"
    (config / "infrastructures/cluster.yaml").write_text(yaml.safe_dump(infrastructure))
    version = json.loads((insights / "version.json").read_text())
    (config / "clusterversions/version.yaml").write_text(yaml.safe_dump(version))
    summary = import_paths([tmp_path / "must-gather.local.1"], out=tmp_path / "a")
    assert summary.clusters == [INSIGHTS_CLUSTER]
    # without them: the folder around the image-named data folder
    shutil.rmtree(config)
    summary = import_paths([mg / "namespaces/openshift-etcd"], out=tmp_path / "b")
    assert summary.clusters == ["must-gather.local.1"]
    etcd = workbench.open(tmp_path / "b").logs(pod=ETCD_POD)
    assert etcd.filter(pl.col("container") == "etcd").height == 88

    # /var/log/pods/<ns>_<pod>_<uid>/<container>/0.log, as the kubelet keeps them
    source = (
        realdata / MUST_GATHER / "namespaces/openshift-etcd/pods" / ETCD_POD / "etcd/etcd/logs/current.log"
    )
    kubelet = tmp_path / "node/var/log/pods" / f"openshift-etcd_{ETCD_POD}_0a29c6e7" / "etcd"
    kubelet.mkdir(parents=True)
    shutil.copy(source, kubelet / "0.log")
    import_paths([tmp_path / "node"], out=tmp_path / "c", cluster="prod")
    logs = workbench.open(tmp_path / "c").logs()
    assert logs.select("namespace", "pod", "container").unique().rows() == [
        ("openshift-etcd", ETCD_POD, "etcd")
    ]
    assert logs.height == 88


def test_compressed_files(realdata: Path, tmp_path: Path) -> None:
    ksm = realdata / "prometheus/nri_kubernetes_k8s_1_35/ksm/metrics"
    (tmp_path / "in").mkdir()
    (tmp_path / "in/ksm.prom.gz").write_bytes(gzip.compress(ksm.read_bytes()))
    pods = realdata / "k8s/datadog_dd_agent_gke_2016/pods_list_1.2.json"
    (tmp_path / "in/pods.json.gz").write_bytes(gzip.compress(pods.read_bytes()))
    summary = import_paths([tmp_path / "in"], out=tmp_path / "gz", at=AT)
    plain = import_paths([ksm], out=tmp_path / "plain", at=AT)
    assert summary.rows("metrics") == plain.rows("metrics") > 0
    assert any("pods.json.gz: gzip-compressed kubernetes file" in w for w in summary.warnings)
