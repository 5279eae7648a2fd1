"""A real Prometheus server holding three days of generated cluster metrics (the truth is kept
to compare with), and a tiny fake Prometheus API that records the requests it gets."""

from __future__ import annotations

import datetime as dt
import http.server
import itertools
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.prometheus import (
    OMSeries,
    PrometheusServer,
    backfill,
    format_openmetrics,
    prometheus_binaries,
)

T0 = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
INTERVAL = 30  # seconds between generated samples (a scrape interval)
DAYS = 3
N = DAYS * 86_400 // INTERVAL  # samples per series: T0 … T0 + 3 d - 30 s

# (cluster, namespace, pod, container, node, cpu request cores, cpu limit, memory request bytes, limit)
CONTAINERS = [
    ("c1", "shop", "cart-0", "cart", "node-a", 0.25, 1.0, 256 * 2**20, 512 * 2**20),
    ("c1", "shop", "cart-0", "envoy", "node-a", 0.1, 0.5, 64 * 2**20, 128 * 2**20),
    ("c1", "shop", "web-7d4b9c-x2x9k", "web", "node-b", 0.5, 2.0, 512 * 2**20, 2**30),
    ("c1", "batch", "report-28930-abcde", "worker", "node-a", 1.0, 1.0, 2**30, 2**30),
    ("c2", "shop", "cart-0", "cart", "node-z", 0.3, 1.2, 300 * 2**20, 600 * 2**20),
]
NODES = [("c1", "node-a", "node-a:9100"), ("c1", "node-b", "10.0.0.12:9100")]
REPLICAS = ("prometheus-k8s-0", "prometheus-k8s-1")


def ts(k: int) -> float:
    """Unix seconds of generated sample ``k``."""
    return T0.timestamp() + k * INTERVAL


@dataclass
class Truth:
    """The generated values, by (metric, key…) → list indexed by sample number ``k``."""

    values: dict[tuple, list[float]] = field(default_factory=dict)

    def at(self, key: tuple, when: dt.datetime) -> float:
        """The value a query at ``when`` sees: the latest sample at or before it."""
        k = int((when - T0).total_seconds() // INTERVAL)
        return self.values[key][min(k, N - 1)]


def _counter(increments: Iterator[float]) -> list[float]:
    return list(itertools.accumulate(itertools.islice(increments, N)))


def generate() -> tuple[list[OMSeries], Truth]:
    """Realistic series for the containers and nodes above, with the scrape labels real
    servers carry (id, image, instance, job…) and the noise a query must filter out."""
    truth = Truth()
    series: list[OMSeries] = []

    def add(name: str, kind: str, labels: dict[str, str], values: list[float], every: int = 1) -> None:
        samples = [(ts(k), v) for k, v in enumerate(values) if k % every == 0]
        series.append(OMSeries(name, kind, labels, samples))

    pods = sorted({(c[0], c[1], c[2], c[4]) for c in CONTAINERS})
    for i, (cluster, ns, pod, container, node, cpu_req, cpu_lim, mem_req, mem_lim) in enumerate(CONTAINERS):
        scrape = {
            "cluster": cluster,
            "namespace": ns,
            "pod": pod,
            "node": node,
            "instance": node,
            "job": "kubelet",
            "metrics_path": "/metrics/cadvisor",
        }
        cg = {
            **scrape,
            "container": container,
            "image": f"registry.example/{container}:1.{i}",
            "id": f"/kubepods/burstable/pod{i}/{i:012x}",
            "name": f"{i:012x}",
        }
        cpu = _counter(
            (0.05 * (i + 1) + 0.01 * ((k * 37 + i * 11) % 10)) * INTERVAL for k in itertools.count()
        )
        mem = [float(100 * 2**20 * (i + 1) + ((k * 7919 + i * 104_729) % 1000) * 4096) for k in range(N)]
        truth.values[("cpu", cluster, ns, pod, container)] = cpu
        truth.values[("mem", cluster, ns, pod, container)] = mem
        add("container_cpu_usage_seconds_total", "counter", {**cg, "cpu": "total"}, cpu)
        add("container_memory_working_set_bytes", "gauge", {**cg, "prometheus_replica": REPLICAS[0]}, mem)
        if i == 0:  # the same series from a second HA replica: must not be counted twice
            add("container_memory_working_set_bytes", "gauge", {**cg, "prometheus_replica": REPLICAS[1]}, mem)
        ksm = {
            "cluster": cluster,
            "namespace": ns,
            "pod": pod,
            "container": container,
            "node": node,
            "uid": f"uid-{i}",
            "job": "kube-state-metrics",
            "instance": "10.0.0.5:8080",
        }
        for metric, cpu_v, mem_v in (
            ("kube_pod_container_resource_requests", cpu_req, mem_req),
            ("kube_pod_container_resource_limits", cpu_lim, mem_lim),
        ):
            # Constant values, scraped every 2 minutes: the 5-minute lookback fills the steps between.
            add(metric, "gauge", {**ksm, "resource": "cpu", "unit": "core"}, [cpu_v] * N, every=4)
            add(metric, "gauge", {**ksm, "resource": "memory", "unit": "byte"}, [float(mem_v)] * N, every=4)
    for j, (cluster, ns, pod, node) in enumerate(pods):
        pause = {
            "cluster": cluster,
            "namespace": ns,
            "pod": pod,
            "node": node,
            "instance": node,
            "job": "kubelet",
            "container": "",
            "image": "registry.k8s.io/pause:3.10",
            "id": f"/kubepods/pause{j}",
            "name": f"p{j}",
        }
        add(
            "container_cpu_usage_seconds_total",
            "counter",
            {**pause, "cpu": "total"},
            _counter(itertools.repeat(0.001 * INTERVAL)),
        )
        add("container_memory_working_set_bytes", "gauge", pause, [196_608.0] * N)
        for iface, scale in (("eth0", 1000.0), ("eth1", 10.0)):
            rx = _counter((scale * (j + 1) + (k % 7)) for k in itertools.count())
            tx = _counter((scale * (j + 2) + (k % 5)) for k in itertools.count())
            truth.values[("rx", cluster, ns, pod, iface)] = rx
            truth.values[("tx", cluster, ns, pod, iface)] = tx
            add("container_network_receive_bytes_total", "counter", {**pause, "interface": iface}, rx)
            add("container_network_transmit_bytes_total", "counter", {**pause, "interface": iface}, tx)
    for n, (cluster, node, instance) in enumerate(NODES):
        base = {
            "cluster": cluster,
            "instance": instance,
            "job": "node-exporter",
            "namespace": "monitoring",
            "pod": f"node-exporter-{n}",
        }
        for cpu, mode in itertools.product(("0", "1"), ("idle", "user")):
            frac = 0.7 if mode == "idle" else 0.25
            values = _counter(itertools.repeat(frac * INTERVAL + int(cpu) * 0.5 + n))
            truth.values[("node_cpu", node, cpu, mode)] = values
            add("node_cpu_seconds_total", "counter", {**base, "cpu": cpu, "mode": mode}, values)
        avail = [float(8 * 2**30 - ((k * 31 + n) % 100) * 2**20) for k in range(N)]
        truth.values[("mem_available", node)] = avail
        add("node_memory_MemAvailable_bytes", "gauge", base, avail)
    return series, truth


@dataclass
class PromData:
    """The backfilled data dir, the running server, and the truth."""

    data_dir: Path
    server: PrometheusServer
    truth: Truth

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="session")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PromData]:
    """A real Prometheus on 127.0.0.1:<free port> serving three days of generated metrics."""
    try:
        prometheus_binaries()
    except RuntimeError as err:
        pytest.fail(str(err))
    root = tmp_path_factory.mktemp("prometheus")
    series, truth = generate()
    source = root / "generated.om.txt"
    source.write_text(format_openmetrics(series), encoding="utf-8")
    data = backfill(source, root / "data")
    source.unlink()
    server = PrometheusServer(data).start()
    try:
        yield PromData(data, server, truth)
    finally:
        server.stop()


# -- a fake Prometheus API ----------------------------------------------------------------------


@dataclass
class FakePrometheus:
    """Answers ``/api/v1/query_range`` like Prometheus; ``script`` holds (status, body,
    content type[, delay seconds]) answers given first, one per request; then a one-series
    matrix over the requested window."""

    url: str = ""
    requests: list[dict] = field(default_factory=list)
    script: list[tuple] = field(default_factory=list)


def _matrix(params: dict[str, str]) -> str:
    start, end, step = float(params["start"]), float(params["end"]), float(params["step"])
    points = []
    t = start
    while t <= end:
        points.append([t, str(t % 1000)])
        t += step
    return json.dumps(
        {
            "status": "success",
            "data": {
                "resultType": "matrix",
                "result": [
                    {"metric": {"namespace": "shop", "pod": "cart-0", "container": "cart"}, "values": points}
                ],
            },
        }
    )


@pytest.fixture
def fake_prometheus() -> Iterator[FakePrometheus]:
    fake = FakePrometheus()
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            parsed = urllib.parse.urlsplit(self.path)
            params = dict(urllib.parse.parse_qsl(parsed.query))
            with lock:
                fake.requests.append({"path": parsed.path, "params": params, "headers": dict(self.headers)})
                answer = fake.script.pop(0) if fake.script else None
            if answer is None:
                answer = (200, _matrix(params), "application/json")
            status, body, ctype, *delay = answer
            if delay:
                time.sleep(delay[0])
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
