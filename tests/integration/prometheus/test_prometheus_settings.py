"""Settings, step choice, request windows and the query catalogue (no server needed)."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from workbench.errors import ParameterError
from workbench.sources.prometheus import (
    CATALOGUE,
    FAMILIES,
    PrometheusSettings,
    choose_step,
    plan_chunks,
    spec,
)

T0 = dt.datetime(2026, 11, 2, 6, 0, 7, tzinfo=dt.UTC)


def test_explicit_settings_win_over_the_environment() -> None:
    env = {
        "WORKBENCH_PROMETHEUS_URL": "https://thanos.example:9091/",
        "WORKBENCH_PROMETHEUS_TOKEN": "from-env",
        "WORKBENCH_PROMETHEUS_INSECURE_SKIP_VERIFY": "true",
        "WORKBENCH_PROMETHEUS_TIMEOUT": "12.5",
        "WORKBENCH_PROMETHEUS_CLUSTER_LABEL": "k8s_cluster",
    }
    s = PrometheusSettings.from_env(env)
    assert (s.url, s.token, s.insecure_skip_verify, s.timeout, s.cluster_label) == (
        "https://thanos.example:9091",
        "from-env",
        True,
        12.5,
        "k8s_cluster",
    )
    s = PrometheusSettings.from_env(env, url="http://localhost:9090/api/v1", token="explicit")
    assert (s.url, s.token) == ("http://localhost:9090", "explicit")


def test_missing_or_bad_url_says_what_to_pass() -> None:
    with pytest.raises(ParameterError, match="--prometheus-url or set \\$WORKBENCH_PROMETHEUS_URL"):
        PrometheusSettings.from_env({})
    with pytest.raises(ParameterError, match="not an http\\(s\\) URL"):
        PrometheusSettings(url="localhost:9090")
    with pytest.raises(ParameterError, match="WORKBENCH_PROMETHEUS_TIMEOUT='soon' is not a valid float"):
        PrometheusSettings.from_env(
            {"WORKBENCH_PROMETHEUS_URL": "http://p:9090", "WORKBENCH_PROMETHEUS_TIMEOUT": "soon"}
        )


def test_secrets_are_masked_everywhere_they_could_be_shown() -> None:
    s = PrometheusSettings(
        url="https://admin:hunter2@prom.example", token="tok-123", headers={"X-Key": "k-9"}
    )
    text = repr(s)
    assert "tok-123" not in text and "hunter2" not in text and "k-9" not in text
    assert s.display_url == "https://prom.example"
    assert "token='***'" in text


@pytest.mark.parametrize("seed", range(20))
def test_request_windows_cover_every_step_once_and_respect_the_limit(seed: int) -> None:
    rng = random.Random(seed)
    step = rng.choice([15, 30, 60, 7])
    start = T0 + dt.timedelta(seconds=rng.randint(0, 3600))
    end = start + dt.timedelta(seconds=rng.randint(step, 5 * 86_400))
    max_points = rng.choice([11_000, 100, 2])
    chunks = plan_chunks(start, end, step=step, max_points=max_points)
    times = []
    for lo, hi in chunks:
        n = int((hi - lo).total_seconds() // step) + 1
        assert n <= max_points
        times.extend(lo + dt.timedelta(seconds=i * step) for i in range(n))
    expected_first = -(-int(start.timestamp()) // step) * step
    expected = list(range(expected_first, int(end.timestamp()) + 1, step))
    assert [int(t.timestamp()) for t in times] == expected


def test_step_grows_with_the_window() -> None:
    assert choose_step(T0, T0 + dt.timedelta(hours=1)) == 15
    assert choose_step(T0, T0 + dt.timedelta(days=7)) == 15
    assert choose_step(T0, T0 + dt.timedelta(days=14)) == 30
    assert choose_step(T0, T0 + dt.timedelta(days=90)) == 300
    with pytest.raises(ParameterError, match="window is empty"):
        choose_step(T0, T0)


def test_catalogue_holds_the_standard_metric_set() -> None:
    names = {s.metric for s in CATALOGUE}
    assert {
        "container_cpu_usage_seconds_total",
        "container_memory_working_set_bytes",
        "container_network_receive_bytes_total",
        "container_network_transmit_bytes_total",
        "container_cpu_cfs_throttled_periods_total",
        "container_cpu_cfs_periods_total",
        "container_fs_usage_bytes",
        "kube_pod_container_resource_requests",
        "kube_pod_container_resource_limits",
        "kube_node_status_allocatable",
        "kube_node_status_capacity",
        "kube_pod_status_phase",
        "kube_pod_container_status_restarts_total",
        "kube_pod_container_status_last_terminated_reason",
        "node_cpu_seconds_total",
        "node_memory_MemAvailable_bytes",
        "node_memory_MemTotal_bytes",
        "kubelet_volume_stats_used_bytes",
        "kubelet_volume_stats_capacity_bytes",
    } <= names
    assert len(names) == len(CATALOGUE) and {s.family for s in CATALOGUE} == set(FAMILIES)
    with pytest.raises(ParameterError, match="the catalogue has: container_cpu_usage_seconds_total"):
        spec("container_cpu_usage")


def test_filters_go_into_the_selector() -> None:
    mem = spec("container_memory_working_set_bytes")
    q = mem.promql(namespaces=["shop", "kube-system"], cluster_label="k8s_cluster", clusters=["eu-1"])
    assert q == (
        "max by (k8s_cluster, namespace, pod, container, node) (container_memory_working_set_bytes"
        '{container!="", container!="POD", image!="", namespace=~"shop|kube\\\\-system", k8s_cluster="eu-1"})'
    )
    node = spec("node_memory_MemTotal_bytes").promql(namespaces=["shop"])
    assert "namespace" not in node  # node metrics are never namespace-filtered
    with pytest.raises(ParameterError, match="not a valid Prometheus label name"):
        mem.promql(cluster_label="k8s-cluster")
