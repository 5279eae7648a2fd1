"""Metric samples every 15 s with the names and labels real exporters use: cAdvisor (container
CPU, memory, CFS throttling, filesystem, pod network), kube-state-metrics (requests, limits,
phases, restarts, last terminated reason, node allocatable/capacity/Ready), node-exporter
(CPU seconds per mode, memory) and the kubelet's volume stats.

Counters are cumulative from the container's (or node's) start and reset when a container
restarts; a series has samples only while what it measures exists (a container runs, a pod
exists, a node reports). Generation is chunked by time: :class:`MetricState` carries counter
values from one chunk to the next, so memory stays bounded at any scale.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from workbench.sources.demo.apps import ContainerSpec
from workbench.sources.demo.ids import Ids
from workbench.sources.demo.model import NodeLife, PodLife, Run
from workbench.sources.demo.plan import Plan
from workbench.sources.demo.series import STEP, SeriesBuffer
from workbench.sources.demo.traffic import load_factor

__all__ = ["MetricState", "node_metrics", "part_metrics"]

_PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")
_MODES = {
    "user": 0.68,
    "system": 0.24,
    "softirq": 0.03,
    "iowait": 0.02,
    "steal": 0.01,
    "irq": 0.006,
    "nice": 0.004,
}
_NO_NET = {"kube-proxy", "aws-node"}  # host-network pods: cAdvisor has no pod network series for them


@dataclass
class MetricState:
    """Counter values at the end of the previous chunk, and per-node sums of this chunk."""

    counters: dict[tuple, float] = field(default_factory=dict)
    node_cpu: dict[str, np.ndarray] = field(default_factory=dict)
    node_mem: dict[str, np.ndarray] = field(default_factory=dict)


def _secs(t: dt.datetime | None, start: dt.datetime) -> float:
    return np.inf if t is None else (t - start).total_seconds()


def _counter(state: MetricState, key: tuple, rate: np.ndarray, mask: np.ndarray, g: np.ndarray,
             begin: float, initial: float) -> np.ndarray:  # fmt: skip
    """Integrate ``rate`` (per second) over the grid where ``mask`` holds, continuing from the
    value stored under ``key`` (or ``initial`` at ``begin``)."""
    prev = state.counters.get(key)
    inc = np.where(mask, rate * STEP, 0.0)
    first = int(np.argmax(mask)) if mask.any() else None
    if first is not None and prev is None:
        inc[first] = rate[first] * min(STEP, max(g[first] - begin, 0.0))
        prev = initial
    out = (prev or 0.0) + np.cumsum(inc)
    if first is not None:
        state.counters[key] = float(out[np.nonzero(mask)[0][-1]])
    return out


def _run_masks(
    runs: list[Run], g: np.ndarray, start: dt.datetime, stop: float
) -> list[tuple[int, Run, np.ndarray]]:
    out = []
    for i, run in enumerate(runs):
        a, b = _secs(run.start, start), min(_secs(run.end, start), stop)
        mask = (g >= a) & (g < b)
        if mask.any():
            out.append((i, run, mask))
    return out


def _cpu(pod: PodLife, c: ContainerSpec, g: np.ndarray, lf: np.ndarray, rng: np.random.Generator,
         start: dt.datetime) -> np.ndarray:  # fmt: skip
    serves = pod.app.service is not None and not pod.app.system
    base = c.cpu * (lf if serves else 1.0) * rng.lognormal(0.0, 0.18, g.shape)
    b = pod.behaviour
    limit = c.cpu_limit
    if "bad" in b:
        base = np.where(g >= _secs(b["bad"], start), base * 1.45, base)
    if "jvm" in b:
        s0, r0 = _secs(b["jvm"]["start"], start), _secs(b["jvm"]["ready"], start)
        peak = (limit or 2.0) * rng.uniform(0.86, 0.99, g.shape)
        decay = base + (peak - base) * np.exp(-np.clip(g - r0, 0, None) / 80.0)
        base = np.where((g >= s0) & (g < r0), peak, np.where(g >= r0, decay, base))
    if "hot" in b:
        h0, h1 = (_secs(x, start) for x in b["hot"])
        base = np.where((g >= h0) & (g < h1), (limit or 1.0) * rng.uniform(0.965, 0.995, g.shape), base)
    if pod.mode == "job":
        base = c.cpu * rng.lognormal(0.0, 0.25, g.shape)
    return np.minimum(base, limit) if limit else base


def _memory(pod: PodLife, c: ContainerSpec, g: np.ndarray, rng: np.random.Generator, start: dt.datetime,
            runs: list[tuple[int, Run, np.ndarray]]) -> np.ndarray:  # fmt: skip
    mem = c.mem * (1.0 + 0.025 * rng.standard_normal(g.shape)) + c.mem * 0.04 * np.sin(g / 1800.0)
    b = pod.behaviour
    for i, run, mask in runs:
        age = g - _secs(run.start, start)
        if "jvm" in b or pod.app.component == "jvm":
            mem = np.where(mask, mem * (0.45 + 0.55 * (1 - np.exp(-np.clip(age, 0, None) / 240.0))), mem)
        leak = b.get("leak")
        if leak and run.start < leak["until"]:
            ls = _secs(leak["start"] if i == 0 else run.start, start)
            frac = np.clip((g - ls) / leak["fill"], 0.0, 1.0)
            limit = float(c.mem_limit or c.mem * 2)
            mem = np.where(mask & (g >= ls), c.mem + (limit - c.mem) * frac, mem)
            end = _secs(run.end, start)
            mem = np.where(mask & (g >= end - STEP), limit, mem)
    if "pressure" in b:
        p0, p1 = (_secs(x, start) for x in b["pressure"])
        ramp = np.clip((g - p0) / max(p1 - p0, 1.0), 0.0, 1.0)
        mem = mem * (1.0 + 0.9 * ramp)
    if c.mem_limit:
        mem = np.minimum(mem, c.mem_limit)
    return np.round(mem)


def _phase_at(pod: PodLife, g: np.ndarray, start: dt.datetime) -> np.ndarray:
    """Index into ``_PHASES`` per grid point."""
    phase = np.zeros(g.shape, dtype=np.int8)
    if pod.mode in ("pending", "image-pull", "init-crash") or pod.started is None:
        return phase
    phase[g >= _secs(pod.started, start)] = 1
    if pod.outcome == "Succeeded":
        phase[g >= _secs(pod.ended, start)] = 2
    elif pod.outcome == "Evicted":
        phase[g >= _secs(pod.ended, start)] = 3
    return phase


def _pod(buf: SeriesBuffer, ids: Ids, plan: Plan, pod: PodLife, g: np.ndarray, lf: np.ndarray,
         state: MetricState, chunk: int) -> None:  # fmt: skip
    start, ns, name, node = plan.start, pod.namespace, pod.name, pod.node
    exists = (g >= _secs(pod.created, start)) & (g < _secs(pod.deleted, start))
    if not exists.any():
        return
    lost_at = np.inf
    if node:
        life = plan.node_life(node)
        lost_at = _secs(life.lost, start)
    rng = ids.rng("metrics", pod.uid, chunk)
    ksm = {"uid": pod.uid}
    phase = _phase_at(pod, g, start)
    for k, ph in enumerate(_PHASES):
        buf.add("kube_pod_status_phase", (phase == k).astype(float), exists, namespace=ns, pod=name, node=node,
                labels={**ksm, "phase": ph})  # fmt: skip
    stop = min(_secs(pod.ended, start), lost_at)
    pod_cpu = np.zeros(g.shape)
    pod_mem = np.zeros(g.shape)
    for c in pod.containers:
        for res, unit, req, lim in (("cpu", "core", c.cpu_request, c.cpu_limit),
                                    ("memory", "byte", c.mem_request, c.mem_limit)):  # fmt: skip
            for metric, v in (
                ("kube_pod_container_resource_requests", req),
                ("kube_pod_container_resource_limits", lim),
            ):
                if v is not None:
                    buf.add(metric, float(v), exists, namespace=ns, pod=name, container=c.name, node=node,
                            labels={**ksm, "resource": res, "unit": unit})  # fmt: skip
        runs = pod.runs.get(c.name, [])
        restarts = np.zeros(g.shape)
        for i, run in enumerate(runs[1:], start=1):
            restarts[g >= _secs(run.start, start)] = i
        last_reason = runs[-2].reason if len(runs) > 1 else None
        started = exists & (g >= _secs(runs[0].start, start)) if runs else exists & False
        buf.add("kube_pod_container_status_restarts_total", restarts, started, namespace=ns, pod=name,
                container=c.name, labels=ksm)  # fmt: skip
        if last_reason and len(runs) > 1:
            first_end = _secs(runs[0].end, start)
            buf.add("kube_pod_container_status_last_terminated_reason", 1.0, exists & (g >= first_end), namespace=ns,
                    pod=name, container=c.name, labels={**ksm, "reason": last_reason})  # fmt: skip
        active = _run_masks(runs, g, start, stop)
        if not active:
            continue
        cpu = _cpu(pod, c, g, lf, rng, start)
        mem = _memory(pod, c, g, rng, start, active)
        image = pod.image(c)
        lab = {"image": image}
        for i, run, mask in active:
            key = (pod.uid, c.name, i)
            began = _secs(run.start, start)
            usage = _counter(state, (*key, "cpu"), cpu, mask, g, began, c.cpu * max(-began, 0.0))
            buf.add("container_cpu_usage_seconds_total", usage, mask, namespace=ns, pod=name, container=c.name,
                    node=node, labels=lab)  # fmt: skip
            buf.add("container_memory_working_set_bytes", mem, mask, namespace=ns, pod=name, container=c.name,
                    node=node, labels=lab)  # fmt: skip
            fs = 24e6 + ids.integer("fs", pod.uid, c.name) % 180_000_000 + np.clip(g - began, 0, None) * 900.0
            buf.add("container_fs_usage_bytes", np.round(fs), mask, namespace=ns, pod=name, container=c.name,
                    node=node, labels={**lab, "device": "/dev/nvme0n1p1" if "eks" in plan.cluster.name else "/dev/sda1"})  # fmt: skip
            if c.cpu_limit:
                util = cpu / c.cpu_limit
                periods = 10.0 * np.clip(util * 3.0 + 0.05, 0.0, 1.0)
                throttled = periods * (0.9 * np.clip((util - 0.6) / 0.4, 0.0, 1.0) ** 2 + 0.002)
                initial = max(-began, 0.0)
                buf.add("container_cpu_cfs_periods_total",
                        np.round(_counter(state, (*key, "per"), periods, mask, g, began, 2.0 * initial)), mask,
                        namespace=ns, pod=name, container=c.name, node=node, labels=lab)  # fmt: skip
                buf.add("container_cpu_cfs_throttled_periods_total",
                        np.round(_counter(state, (*key, "thr"), throttled, mask, g, began, 0.004 * initial)), mask,
                        namespace=ns, pod=name, container=c.name, node=node, labels=lab)  # fmt: skip
            pod_cpu += np.where(mask, cpu, 0.0)
            pod_mem += np.where(mask, mem, 0.0)
    if node:
        state.node_cpu[node] = state.node_cpu.get(node, np.zeros(g.shape)) + pod_cpu
        state.node_mem[node] = state.node_mem.get(node, np.zeros(g.shape)) + pod_mem
    running = (pod_cpu > 0) & (g < stop)
    if node and pod.app.name not in _NO_NET and running.any():
        began = _secs(pod.started, start)
        net = 40_000.0 * (pod.containers[0].cpu / 0.05) * (lf if pod.app.service else 1.0)
        noise = rng.lognormal(0.0, 0.2, g.shape)
        for metric, factor in (("container_network_receive_bytes_total", 1.0),
                               ("container_network_transmit_bytes_total", 1.7)):  # fmt: skip
            v = _counter(
                state,
                (pod.uid, metric),
                net * factor * noise,
                running,
                g,
                began,
                float(net.mean() if np.ndim(net) else net) * factor * max(-began, 0.0),
            )
            buf.add(
                metric, np.round(v), running, namespace=ns, pod=name, node=node, labels={"interface": "eth0"}
            )
    if pod.ordinal is not None and pod.app.volume_claim and node:
        claim = f"data-{name}"
        mounted = (g >= _secs(pod.started, start)) & (g < stop)
        used = 3.1e9 + ids.integer("pvc", pod.uid) % 2_000_000_000 + np.clip(g, 0, None) * 1400.0
        cap = 20 * 1024**3 * 0.984
        for metric, v in (
            ("kubelet_volume_stats_used_bytes", np.round(used)),
            ("kubelet_volume_stats_capacity_bytes", cap),
        ):
            buf.add(metric, v, mounted, namespace=ns, node=node, labels={"persistentvolumeclaim": claim})
    for ic in pod.app.init_containers:
        iruns = pod.init_runs.get(ic.name, [])
        if len(iruns) > 1:
            restarts = np.zeros(g.shape)
            for i, run in enumerate(iruns[1:], start=1):
                restarts[g >= _secs(run.start, start)] = i
            buf.add("kube_pod_init_container_status_restarts_total", restarts, exists, namespace=ns, pod=name,
                    container=ic.name, labels=ksm)  # fmt: skip
            buf.add("kube_pod_init_container_status_last_terminated_reason", 1.0,
                    exists & (g >= _secs(iruns[0].end, start)), namespace=ns, pod=name, container=ic.name,
                    labels={**ksm, "reason": "Error"})  # fmt: skip


def part_metrics(buf: SeriesBuffer, ids: Ids, plan: Plan, pods: list[PodLife], state: MetricState,
                 chunk: int) -> None:  # fmt: skip
    """Add the container, pod and kube-state-metrics series of ``pods`` over ``buf``'s grid."""
    g = buf.grid
    lf = load_factor(plan.cluster.name, g, epoch=plan.start.timestamp())
    for pod in pods:
        _pod(buf, ids, plan, pod, g, lf, state, chunk)


def node_metrics(buf: SeriesBuffer, ids: Ids, plan: Plan, nodes: list[NodeLife], state: MetricState,
                 chunk: int) -> None:  # fmt: skip
    """node-exporter and kube-state-metrics node series of ``nodes``, from the pods' usage summed
    per node (call after every part's :func:`part_metrics` for the chunk)."""
    g = buf.grid
    start = plan.start
    for life in nodes:
        n = life.node
        rng = ids.rng("node-metrics", n.name, chunk)
        reporting = g < _secs(life.lost, start)
        always = np.ones(g.shape, dtype=bool)
        for metric, values in (("kube_node_status_capacity", (n.cpu_capacity, n.memory_capacity, n.pods_allocatable)),
                               ("kube_node_status_allocatable", (n.cpu_allocatable, n.memory_allocatable,
                                                                 n.pods_allocatable))):  # fmt: skip
            for (res, unit), v in zip(
                (("cpu", "core"), ("memory", "byte"), ("pods", "integer")), values, strict=True
            ):
                buf.add(metric, float(v), always, node=n.name, labels={"resource": res, "unit": unit})
        ready = np.array(["true"] * len(g), dtype=object)
        for when, change in life.changes:
            if "Ready" in change.get("conditions", {}):
                ready[g >= _secs(when, start)] = change["conditions"]["Ready"][0].lower()
        for status in ("true", "false", "unknown"):
            buf.add("kube_node_status_condition", (ready == status).astype(float), always, node=n.name,
                    labels={"condition": "Ready", "status": status})  # fmt: skip
        inst = {"instance": f"{n.internal_ip}:9100", "job": "node-exporter"}
        busy = state.node_cpu.get(n.name, np.zeros(g.shape)) + 0.12 + 0.03 * rng.random(g.shape)
        frac = np.clip(busy / n.cpu_capacity, 0.0, 0.995)
        uptime = (start - n.created).total_seconds()
        for cpu in range(n.cpu_capacity):
            share = np.clip(frac * rng.lognormal(0.0, 0.12, g.shape), 0.0, 0.999)
            for mode, weight in (*_MODES.items(), ("idle", None)):
                rate = 1.0 - share if weight is None else share * weight
                mean = (1.0 - float(frac.mean())) if weight is None else float(frac.mean()) * weight
                v = _counter(state, (n.name, cpu, mode), rate, reporting, g, -uptime, mean * uptime)
                buf.add("node_cpu_seconds_total", np.round(v, 2), reporting, node=n.name,
                        labels={**inst, "cpu": str(cpu), "mode": mode})  # fmt: skip
        total = float(n.memory_capacity)
        used = state.node_mem.get(n.name, np.zeros(g.shape)) + 1.1 * 1024**3 + 2e8 * rng.random(g.shape)
        buf.add("node_memory_MemTotal_bytes", total, reporting, node=n.name, labels=inst)
        buf.add("node_memory_MemAvailable_bytes", np.round(np.clip(total - used, 5e7, None)), reporting, node=n.name,
                labels=inst)  # fmt: skip
        state.node_cpu.pop(n.name, None)
        state.node_mem.pop(n.name, None)
