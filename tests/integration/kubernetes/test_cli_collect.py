"""`workbench collect` end to end: the official client against the emulator, through the CLI."""

from __future__ import annotations

import socket
from pathlib import Path

import polars as pl
from click.testing import CliRunner
from kube_data import Recorded

import workbench as wb
from workbench.cli import cli


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_collect_command_writes_a_snapshot_and_keeps_it_when_prometheus_is_down(
    recorded: Recorded, tmp_path: Path
) -> None:
    out = tmp_path / "snap"
    url = f"http://127.0.0.1:{_dead_port()}"
    result = CliRunner().invoke(
        cli,
        [
            "collect",
            "--kubeconfig",
            str(recorded.kubeconfig),
            "--since",
            "2h",
            "--no-logs",
            "--prometheus-url",
            url,
            "--prometheus-token",
            "s3cr3t-token",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "collected into" in result.output and "pods" in result.output
    ds = wb.open(out)
    counts = ds.pods().group_by("namespace").len().sort("namespace")
    assert dict(counts.iter_rows()) == {
        "argocd": 1,
        "default": 1,
        "kube-system": 9,
        "openshift-etcd": 2,
        "scraper": 16,
    }
    warnings = [w for w in ds.warnings if w["source"] == "prometheus"]
    assert warnings and url in warnings[0]["message"]
    start, end = ds.window
    assert (end - start).total_seconds() == 7200
    for f in out.rglob("*"):
        if f.is_file():
            assert b"s3cr3t-token" not in f.read_bytes(), f"the token leaked into {f}"


def test_collect_refuses_an_existing_snapshot_with_advice(recorded: Recorded, tmp_path: Path) -> None:
    out = tmp_path / "snap"
    args = ["collect", "--kubeconfig", str(recorded.kubeconfig), "--no-logs", "--out", str(out)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1 and "already exists" in again.output
    assert CliRunner().invoke(cli, [*args, "--append"]).exit_code == 0


def test_collect_adds_trace_files_matched_to_pods_by_ip(recorded: Recorded, tmp_path: Path) -> None:
    import json

    base = ["collect", "--kubeconfig", str(recorded.kubeconfig), "--no-logs"]
    first = tmp_path / "first"
    assert CliRunner().invoke(cli, [*base, "--out", str(first)]).exit_code == 0
    pod = (
        wb.open(first)
        .pods()
        .filter(pl.col("pod_ip").is_not_null() & (pl.col("pod_ip") != pl.col("host_ip")))
        .row(0, named=True)
    )
    # an OTLP export whose resource names only the pod's IP, as an SDK without k8s detectors sends
    request = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "checkout"}},
        {"key": "k8s.pod.ip", "value": {"stringValue": pod["pod_ip"]}}]},
        "scopeSpans": [{"spans": [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
                                   "name": "GET /cart", "kind": 2, "startTimeUnixNano": "1700000000000000000",
                                   "endTimeUnixNano": "1700000000250000000"}]}]}]}  # fmt: skip
    traces = tmp_path / "otlp.json"
    traces.write_text(json.dumps(request) + "\n")
    out = tmp_path / "snap"
    result = CliRunner().invoke(cli, [*base, "--traces", str(traces), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 spans added" in result.output
    span = wb.open(out).spans().row(0, named=True)
    assert (span["namespace"], span["pod"], span["service"]) == (pod["namespace"], pod["name"], "checkout")
