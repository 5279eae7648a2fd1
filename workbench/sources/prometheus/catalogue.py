"""The standard metric set collected from Prometheus-compatible servers: one query per metric,
grouped by resource family. The query text lives here and nowhere else.

Convention (one rule for every entry)
-------------------------------------
* **Stored name = the exporter's name.** A sample is stored under the metric name that cAdvisor,
  kube-state-metrics, node-exporter or the kubelet export (``container_cpu_usage_seconds_total``),
  never under a derived or recording-rule name.
* **Stored values = raw samples.** A range query of the selector returns, at every step, the
  latest raw value (a counter stays cumulative); no ``rate()`` is applied at collection time.
  Analyses compute rates the same way for a collected snapshot, an imported exposition file and
  the demo simulator (which stores raw counters under the same names and labels).
* **Aggregation only drops labels that identify the *scrape*, not the quantity.** Every query
  is ``max by (K) (selector)``: the series that differ only in labels outside ``K`` (``id``,
  ``name``, ``image``, ``instance``, ``job``, ``endpoint``, ``service``, ``uid``,
  ``prometheus_replica``…) are duplicates of one quantity (HA replicas, two kube-state-metrics
  pods, a container's old and new cgroup during a restart), so ``max`` keeps one value and
  never double-counts. Where a quantity is split by a label that analyses never use
  (``interface`` for network, ``device`` for filesystem, ``cpu`` for node CPU), the parts are
  added: ``sum by (K) (max by (K, part) (selector))``.
* **Label set kept** (``QuerySpec.keep``): ``namespace``, ``pod``, ``container``, ``node`` become
  the columns of the same name; the other kept labels (``resource``, ``unit``, ``phase``,
  ``reason``, ``mode``, ``instance``, ``persistentvolumeclaim``) go into the ``labels`` JSON.
  An empty label value is an absent label (Prometheus semantics) and becomes null.
* **Filters** are label matchers pushed into the selector: the namespace filter on namespaced
  entries (``namespace="shop"`` or ``namespace=~"shop|batch"``), and with a ``cluster_label``
  (servers holding many clusters: Thanos, Mimir, VictoriaMetrics) ``<cluster_label>=~"…"``; that
  label is then kept and its value stored as the ``cluster`` column.
* Node-exporter series carry no ``node`` label in most setups; kube-prometheus relabels
  ``instance`` to the node name. For entries with ``node_from_instance`` the ``node`` column is
  the ``instance`` host (port removed) when that host is a name, not an IP address.

>>> print(spec("container_memory_working_set_bytes").promql(namespaces=["shop"]))
max by (namespace, pod, container, node) (container_memory_working_set_bytes{container!="", container!="POD", image!="", namespace="shop"})
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from workbench.errors import ParameterError

__all__ = ["CATALOGUE", "FAMILIES", "Family", "QuerySpec", "regex_matcher", "spec"]

Family = Literal["cpu", "memory", "network", "filesystem", "kube-state", "node"]
FAMILIES: tuple[Family, ...] = ("cpu", "memory", "network", "filesystem", "kube-state", "node")

#: The labels that become columns of the metric tables.
COLUMN_LABELS = ("namespace", "pod", "container", "node")

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


@dataclass(frozen=True, slots=True, kw_only=True)
class QuerySpec:
    """One metric of the catalogue and how to query it.

    ``metric`` is the stored (exporter) name; ``selector`` the matchers that pick the right
    series (without the namespace/cluster filters, which :meth:`promql` adds); ``keep`` the
    labels kept; ``parts`` the labels summed over (see the module docstring).
    """

    metric: str
    family: Family
    exporter: str
    kind: Literal["counter", "gauge"]
    description: str
    selector: str = ""
    keep: tuple[str, ...] = ("namespace", "pod", "container", "node")
    parts: tuple[str, ...] = ()
    namespaced: bool = True
    node_from_instance: bool = False

    def promql(
        self,
        *,
        namespaces: Sequence[str] | None = None,
        cluster_label: str | None = None,
        clusters: Sequence[str] | None = None,
    ) -> str:
        """The PromQL for this metric with the filters pushed into the selector."""
        matchers = [m for m in (self.selector,) if m]
        if namespaces and self.namespaced:
            matchers.append(regex_matcher("namespace", namespaces))
        keep = list(self.keep)
        if cluster_label:
            if not _LABEL_NAME.fullmatch(cluster_label):
                msg = f"cluster label {cluster_label!r} is not a valid Prometheus label name"
                raise ParameterError(msg)
            if clusters:
                matchers.append(regex_matcher(cluster_label, clusters))
            if cluster_label not in keep:
                keep.insert(0, cluster_label)
        selector = f"{self.metric}{{{', '.join(matchers)}}}" if matchers else self.metric
        if self.parts:
            inner = ", ".join([*keep, *self.parts])
            return f"sum by ({', '.join(keep)}) (max by ({inner}) ({selector}))"
        return f"max by ({', '.join(keep)}) ({selector})"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def regex_matcher(label: str, values: Sequence[str]) -> str:
    r"""``label="v"`` for one value, ``label=~"a|b"`` (regex-escaped) for several.

    >>> print(regex_matcher("namespace", ["shop", "kube-system"]))
    namespace=~"shop|kube\\-system"
    """
    values = list(dict.fromkeys(values))
    if not values:
        msg = f"empty list of values for label {label!r}"
        raise ParameterError(msg)
    if len(values) == 1:
        return f"{label}={_quote(values[0])}"
    return f"{label}=~{_quote('|'.join(re.escape(v) for v in values))}"


_CADVISOR_CONTAINER = 'container!="", container!="POD", image!=""'
_POD = ("namespace", "pod", "node")
_KSM_RESOURCES = ("namespace", "pod", "container", "node", "resource", "unit")
_NODE_EXPORTER = ("node", "instance")

CATALOGUE: tuple[QuerySpec, ...] = (
    # -- cpu ----------------------------------------------------------------------------------
    QuerySpec(
        metric="container_cpu_usage_seconds_total",
        family="cpu",
        exporter="cadvisor",
        kind="counter",
        description="CPU time used by a container, cumulative seconds (rate = cores)",
        selector=_CADVISOR_CONTAINER,
    ),
    QuerySpec(
        metric="container_cpu_cfs_throttled_periods_total",
        family="cpu",
        exporter="cadvisor",
        kind="counter",
        description="CFS periods in which the container was throttled, cumulative",
        selector=_CADVISOR_CONTAINER,
    ),
    QuerySpec(
        metric="container_cpu_cfs_periods_total",
        family="cpu",
        exporter="cadvisor",
        kind="counter",
        description="CFS enforcement periods elapsed, cumulative",
        selector=_CADVISOR_CONTAINER,
    ),
    # -- memory -------------------------------------------------------------------------------
    QuerySpec(
        metric="container_memory_working_set_bytes",
        family="memory",
        exporter="cadvisor",
        kind="gauge",
        description="Working set of a container in bytes (what the OOM killer and evictions look at)",
        selector=_CADVISOR_CONTAINER,
    ),
    # -- network (pod level: containers of a pod share one network namespace) -----------------
    QuerySpec(
        metric="container_network_receive_bytes_total",
        family="network",
        exporter="cadvisor",
        kind="counter",
        description="Bytes received by a pod, all interfaces, cumulative",
        selector='pod!=""',
        keep=_POD,
        parts=("interface",),
    ),
    QuerySpec(
        metric="container_network_transmit_bytes_total",
        family="network",
        exporter="cadvisor",
        kind="counter",
        description="Bytes sent by a pod, all interfaces, cumulative",
        selector='pod!=""',
        keep=_POD,
        parts=("interface",),
    ),
    # -- filesystem ---------------------------------------------------------------------------
    QuerySpec(
        metric="container_fs_usage_bytes",
        family="filesystem",
        exporter="cadvisor",
        kind="gauge",
        description="Bytes a container uses on its filesystems, all devices",
        selector=_CADVISOR_CONTAINER,
        parts=("device",),
    ),
    QuerySpec(
        metric="kubelet_volume_stats_used_bytes",
        family="filesystem",
        exporter="kubelet",
        kind="gauge",
        description="Bytes used on a mounted PersistentVolumeClaim",
        keep=("namespace", "persistentvolumeclaim", "node"),
    ),
    QuerySpec(
        metric="kubelet_volume_stats_capacity_bytes",
        family="filesystem",
        exporter="kubelet",
        kind="gauge",
        description="Capacity of a mounted PersistentVolumeClaim in bytes",
        keep=("namespace", "persistentvolumeclaim", "node"),
    ),
    # -- kube-state -----------------------------------------------------------------------------
    QuerySpec(
        metric="kube_pod_container_resource_requests",
        family="kube-state",
        exporter="kube-state-metrics",
        kind="gauge",
        description="Container resource requests (cpu in cores, memory in bytes)",
        keep=_KSM_RESOURCES,
    ),
    QuerySpec(
        metric="kube_pod_container_resource_limits",
        family="kube-state",
        exporter="kube-state-metrics",
        kind="gauge",
        description="Container resource limits (cpu in cores, memory in bytes)",
        keep=_KSM_RESOURCES,
    ),
    QuerySpec(
        metric="kube_node_status_allocatable",
        family="kube-state",
        exporter="kube-state-metrics",
        kind="gauge",
        description="Node allocatable resources",
        keep=("node", "resource", "unit"),
        namespaced=False,
    ),
    QuerySpec(
        metric="kube_node_status_capacity",
        family="kube-state",
        exporter="kube-state-metrics",
        kind="gauge",
        description="Node capacity",
        keep=("node", "resource", "unit"),
        namespaced=False,
    ),
    QuerySpec(
        metric="kube_pod_status_phase",
        family="kube-state",
        exporter="kube-state-metrics",
        kind="gauge",
        description="1 for the pod's current phase, 0 for the others",
        keep=("namespace", "pod", "phase"),
    ),
    QuerySpec(
        metric="kube_pod_container_status_restarts_total",
        family="kube-state",
        exporter="kube-state-metrics",
        kind="counter",
        description="Container restarts, cumulative",
        keep=("namespace", "pod", "container"),
    ),
    QuerySpec(
        metric="kube_pod_container_status_last_terminated_reason",
        family="kube-state",
        exporter="kube-state-metrics",
        kind="gauge",
        description="1 for the reason the container last terminated (OOMKilled, Error…)",
        keep=("namespace", "pod", "container", "reason"),
    ),
    # -- node -----------------------------------------------------------------------------------
    QuerySpec(
        metric="node_cpu_seconds_total",
        family="node",
        exporter="node-exporter",
        kind="counter",
        description="CPU seconds of a node by mode, all CPUs added, cumulative",
        keep=(*_NODE_EXPORTER, "mode"),
        parts=("cpu",),
        namespaced=False,
        node_from_instance=True,
    ),
    QuerySpec(
        metric="node_memory_MemAvailable_bytes",
        family="node",
        exporter="node-exporter",
        kind="gauge",
        description="Memory available on a node in bytes",
        keep=_NODE_EXPORTER,
        namespaced=False,
        node_from_instance=True,
    ),
    QuerySpec(
        metric="node_memory_MemTotal_bytes",
        family="node",
        exporter="node-exporter",
        kind="gauge",
        description="Memory of a node in bytes",
        keep=_NODE_EXPORTER,
        namespaced=False,
        node_from_instance=True,
    ),
)


def spec(metric: str) -> QuerySpec:
    """The catalogue entry for ``metric``; the error lists what exists."""
    for s in CATALOGUE:
        if s.metric == metric:
            return s
    msg = f"no catalogue entry for {metric!r}; the catalogue has: {', '.join(s.metric for s in CATALOGUE)}"
    raise ParameterError(msg)
