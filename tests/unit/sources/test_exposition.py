"""Exposition files: real scrapes from real clusters parse completely with the right values;
bad lines are reported with their line number while the good ones are kept."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import math
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from workbench.errors import InputError
from workbench.sources.prometheus import WIDE_SCHEMA, parse_exposition, read_exposition
from workbench.sources.prometheus.exposition import parse_text
from workbench.store import SnapshotWriter

REALDATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "realdata"
PROM = REALDATA / "prometheus"
NRI = PROM / "nri_kubernetes_k8s_1_35"
FEDERATE = REALDATA / "k8s" / "openshift_insights_archive_sample" / "config" / "metrics"
AT = dt.datetime(2026, 6, 26, 10, 0, tzinfo=dt.UTC)

# Samples per file: `grep -vc '^#' FILE` (none of these files has blank lines).
SAMPLES = {
    NRI / "ksm" / "metrics": 1698,
    NRI / "kubelet" / "metrics" / "cadvisor": 4621,
    NRI / "controlplane" / "etcd" / "metrics": 1461,
    NRI / "controlplane" / "scheduler" / "metrics": 2334,
    PROM / "node_exporter" / "e2e-output.txt": 3027,
    PROM / "prometheus_self" / "alltypes.237mfs.prom.txt": 1857,
    FEDERATE: 125,
}


def _one(frame: pl.DataFrame, metric: str, **labels: str) -> dict:
    df = frame.filter(pl.col("metric") == metric)
    for k, v in labels.items():
        if k in ("namespace", "pod", "container", "node"):
            df = df.filter(pl.col(k) == v)
        else:
            df = df.filter(pl.col("labels").str.json_path_match(f"$.{k}") == v)
    assert df.height == 1, f"{metric} {labels}: {df.height} rows"
    return df.row(0, named=True)


def test_every_real_file_is_covered() -> None:
    files = {p for p in PROM.rglob("*") if p.is_file()} | {FEDERATE}
    assert files == set(SAMPLES)


@pytest.mark.parametrize(
    "path", list(SAMPLES), ids=lambda p: p.name if p.name != "metrics" else p.parent.name
)
def test_real_files_parse_completely(path: Path) -> None:
    frame, problems = read_exposition(path, cluster="minikube", at=AT)
    assert problems == []
    assert frame.schema == WIDE_SCHEMA
    assert frame.height == SAMPLES[path]
    assert frame["cluster"].unique().to_list() == ["minikube"]


def test_real_file_families() -> None:
    # `grep -c '^# TYPE'`: 237 families in Prometheus' own scrape (the file's name says so).
    parsed = parse_text(
        (PROM / "prometheus_self" / "alltypes.237mfs.prom.txt").read_bytes(), cluster="c", at=AT
    )
    assert len(parsed.types) == 237 and parsed.types["go_gc_duration_seconds"] == "summary"
    parsed = parse_text((NRI / "ksm" / "metrics").read_bytes(), cluster="c", at=AT)
    assert len(parsed.types) == 231 and parsed.types["kube_pod_container_resource_requests"] == "gauge"


def test_kube_state_metrics_values_and_columns() -> None:
    frame, _ = read_exposition(NRI / "ksm" / "metrics", cluster="minikube", at=AT)
    requests = frame.filter(pl.col("metric") == "kube_pod_container_resource_requests")
    assert requests.height == 28  # grep -c '^kube_pod_container_resource_requests{'
    row = _one(
        frame, "kube_pod_container_resource_requests", pod="kube-apiserver-datagen-1-35", resource="cpu"
    )
    assert row["value"] == 0.25  # cores
    assert (row["namespace"], row["container"], row["node"]) == (
        "kube-system",
        "kube-apiserver",
        "datagen-1-35",
    )
    assert json.loads(row["labels"]) == {
        "resource": "cpu",
        "unit": "core",
        "uid": "091e4cfe-bbaf-4634-99c2-2627b3b25e5e",
    }
    assert row["ts"] == AT  # no timestamps in the file: stored at `at`
    mem = _one(frame, "kube_pod_container_resource_requests", pod="e2e-statefulset-0", resource="memory")
    assert mem["value"] == 15_728_640  # 1.572864e+07 bytes = 15Mi
    alloc = _one(frame, "kube_node_status_allocatable", node="datagen-1-35", resource="memory")
    assert alloc["value"] == 8_216_887_296 and alloc["namespace"] is None


def test_cadvisor_values_timestamps_and_missing_node() -> None:
    frame, _ = read_exposition(NRI / "kubelet" / "metrics" / "cadvisor", cluster="minikube", at=AT)
    ws = frame.filter(pl.col("metric") == "container_memory_working_set_bytes")
    assert ws.height == 58  # grep -c '^container_memory_working_set_bytes{'
    row = _one(
        frame, "container_memory_working_set_bytes", pod="e2e-statefulset-0", container="compute-pi-digits"
    )
    assert row["value"] == 10_387_456
    assert row["ts"] == dt.datetime(2026, 6, 26, 10, 14, 31, 859_000, tzinfo=dt.UTC)  # 1782468871859 ms
    assert row["namespace"] == "scraper" and row["node"] is None  # cAdvisor scrapes carry no node label
    assert json.loads(row["labels"])["image"] == "docker.io/library/perl:5.34.0"
    # Empty label values are absent labels: the root cgroup has no namespace/pod/container.
    root = frame.filter(pl.col("labels").str.json_path_match("$.id") == "/").head(1).row(0, named=True)
    assert (root["namespace"], root["pod"], root["container"]) == (None, None, None)
    # The 375 samples without a timestamp (grep -vc ' [0-9]\{13\}$' on the sample lines) get `at`.
    assert frame.filter(pl.col("ts") == AT).height == 375


def test_node_exporter_values_and_the_mtime_warning() -> None:
    path = PROM / "node_exporter" / "e2e-output.txt"
    frame, problems = read_exposition(path, cluster="lab")
    assert _one(frame, "node_memory_MemTotal_bytes")["value"] == 3_831_959_552
    assert _one(frame, "node_cpu_seconds_total", cpu="0", mode="idle")["value"] == 10870.69
    assert frame.filter(pl.col("metric") == "node_cpu_seconds_total").height == 64
    # No timestamps and no `at`: the file's modification time, with a warning saying so.
    mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
    assert frame["ts"].unique().to_list() == [mtime]
    (warning,) = problems
    assert (
        warning.line is None and "modification time" in warning.reason and "3027 sample(s)" in warning.reason
    )


def test_prometheus_self_scrape_keeps_nan() -> None:
    frame, _ = read_exposition(PROM / "prometheus_self" / "alltypes.237mfs.prom.txt", cluster="c", at=AT)
    row = _one(
        frame, "prometheus_sd_consul_rpc_duration_seconds", call="service", endpoint="catalog", quantile="0.5"
    )
    assert math.isnan(row["value"])
    assert _one(frame, "go_gc_duration_seconds_count")["value"] == 190932


def test_openshift_federate_dump_keeps_millisecond_timestamps_and_columns() -> None:
    frame, problems = read_exposition(FEDERATE, cluster="ocp")
    assert problems == []  # every sample has a timestamp: no mtime warning
    assert frame.filter(pl.col("metric") == "namespace:container_cpu_usage:sum").height == 51
    cpu = _one(frame, "namespace:container_cpu_usage:sum", namespace="openshift-apiserver")
    assert cpu["value"] == 0.05669888884310352
    row = _one(frame, "cluster_installer")
    assert row["ts"] == dt.datetime(2020, 6, 22, 12, 36, 1, 218_000, tzinfo=dt.UTC)  # 1592829361218 ms
    assert (row["namespace"], row["pod"]) == (
        "openshift-cluster-version",
        "cluster-version-operator-5f7b8d89b5-t9cdr",
    )
    assert json.loads(row["labels"])["prometheus_replica"] == "prometheus-k8s-1"


def test_gzip_files_read_like_plain_ones(tmp_path: Path) -> None:
    src = NRI / "ksm" / "metrics"
    gz = tmp_path / "ksm.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    assert_frame_equal(
        read_exposition(gz, cluster="c", at=AT)[0], read_exposition(src, cluster="c", at=AT)[0]
    )
    (tmp_path / "broken.gz").write_bytes(gzip.compress(src.read_bytes())[:100])
    with pytest.raises(InputError, match="broken.gz: gzip data is broken"):
        read_exposition(tmp_path / "broken.gz", cluster="c")
    with pytest.raises(InputError, match="missing.txt: cannot be read"):
        read_exposition(tmp_path / "missing.txt", cluster="c")


BAD = (
    b"# HELP http_requests_total Requests.\n"  # 1
    b"# TYPE http_requests_total counter\n"  # 2
    b'http_requests_total{code="200",path="/a\\"b\\\\c\\nd"} 1027 1700000000000\n'  # 3 good, escapes
    b'http_requests_total{code="500" path="/x"} 3\n'  # 4 missing comma
    b"http_requests_total{code=500} 3\n"  # 5 unquoted value
    b'http_requests_total{code="404"} abc\n'  # 6 not a number
    b'http_requests_total{code="404",} 7 1700000000000\n'  # 7 good (trailing comma)
    b"\x89PNG\r\n"  # 8 binary garbage
    b"\x00\x01\x02 garbage\n"  # 9 control bytes
    b"temperature_celsius NaN\n"  # 10 good
    b"up 1 1700000000000 extra\n"  # 11 trailing text
    b'http_requests_total{code="200",path="/a\\"b\\\\c\\nd"} 1028 1700000000000\n'  # 12 duplicate of 3
    b"up 1 1700000000.5\n"  # 13 seconds in text format
    b'http_requests_total{code="200"\n'  # 14 not closed
    b"# TYPE up sometype\n"  # 15 unknown type
    b"1up 1\n"  # 16 bad name
    b"up +Inf\n"  # 17 good
)


def test_bad_lines_are_reported_with_line_numbers_and_good_lines_kept() -> None:
    frame, problems = parse_exposition(BAD, cluster="c", at=AT, source="scrape.txt")
    bad = {p.line: p.reason for p in problems}
    assert sorted(bad) == [4, 5, 6, 8, 9, 11, 12, 13, 14, 15, 16]
    assert "expected ',' or '}' after label 'code'" in bad[4]
    assert "must be in double quotes" in bad[5]
    assert bad[6] == "value 'abc' is not a number"
    assert "not UTF-8" in bad[8] and "expected a metric name" in bad[9]
    assert "unexpected text 'extra'" in bad[11]
    assert "duplicate sample" in bad[12] and "line 3" in bad[12]
    assert "integer number of milliseconds" in bad[13]
    assert bad[14] == "labels not closed: '}' is missing"
    assert "unknown metric type 'sometype'" in bad[15]
    assert str(problems[0]).startswith("scrape.txt:4: ")
    # The good lines, with escapes decoded and special values kept.
    good = frame.sort("metric", "value")
    assert good["metric"].to_list() == [
        "http_requests_total",
        "http_requests_total",
        "temperature_celsius",
        "up",
    ]
    first = _one(frame, "http_requests_total", code="200")
    assert first["value"] == 1027 and json.loads(first["labels"])["path"] == '/a"b\\c\nd'
    assert first["ts"] == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)
    assert math.isnan(_one(frame, "temperature_celsius")["value"])
    assert _one(frame, "up")["value"] == math.inf and _one(frame, "up")["ts"] == AT


def test_a_binary_file_gives_problems_not_a_crash() -> None:
    blob = bytes(range(256)) * 8
    frame, problems = parse_exposition(blob, cluster="c", at=AT, source="blob.bin")
    assert frame.is_empty() and frame.schema == WIDE_SCHEMA
    assert problems and all(p.line is not None and p.line >= 1 for p in problems)


OPENMETRICS = """# TYPE rpc_duration_seconds histogram
# UNIT rpc_duration_seconds seconds
rpc_duration_seconds_bucket{le="0.1"} 5 1700000000.5 # {trace_id="4bf92f3577b34da6"} 0.05 1700000000.1
rpc_duration_seconds_bucket{le="+Inf"} 8 1700000000.5
rpc_duration_seconds_sum 1.5 1700000000.5
rpc_duration_seconds_count 8 1700000000.5
# TYPE jobs counter
jobs_total 3 1700000000.5
jobs_created 1699990000 1700000000.5
{"http.server.duration", "service.name"="cart"} 2 1700000000.5
# EOF
late_sample 1
"""


def test_openmetrics_seconds_exemplars_and_text_after_eof() -> None:
    frame, problems = parse_exposition(OPENMETRICS, cluster="c", at=AT, source="om.txt")
    assert [(p.line, p.reason) for p in problems] == [(12, "text after '# EOF'")]
    when = dt.datetime(2023, 11, 14, 22, 13, 20, 500_000, tzinfo=dt.UTC)
    assert frame["ts"].unique().to_list() == [when]
    assert _one(frame, "rpc_duration_seconds_bucket", le="+Inf")["value"] == 8
    assert _one(frame, "rpc_duration_seconds_bucket", le="0.1")["value"] == 5  # the exemplar is not a sample
    assert _one(frame, "jobs_total")["value"] == 3 and _one(frame, "jobs_created")["value"] == 1_699_990_000
    assert json.loads(_one(frame, "http.server.duration")["labels"]) == {"service.name": "cart"}


def test_import_writes_samples_and_records_problems(tmp_path: Path) -> None:
    import workbench as wb
    from workbench.sources.prometheus import import_exposition

    bad = tmp_path / "scrape.txt"
    bad.write_bytes(BAD)
    with SnapshotWriter(tmp_path / "snap") as w:
        written, problems = import_exposition(w, [NRI / "ksm" / "metrics", bad], cluster="minikube", at=AT)
    ds = wb.open(tmp_path / "snap")
    assert written == 1698 + 4 and ds.row_counts["metrics"] == written
    assert len(ds.warnings) == len(problems) == 11
    assert ds.warnings[0]["message"].startswith(f"{bad}:4: ")
    got = ds.metrics(metric="kube_pod_container_resource_requests", pod="kube-apiserver-datagen-1-35")
    assert got["value"].to_list() == [0.25]
