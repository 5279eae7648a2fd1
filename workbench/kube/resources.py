"""Rows of the ``nodes``, ``workloads``, ``services`` and ``events`` tables (plain dicts)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from workbench.kube._common import controller_owner, json_text, manifest_text, parse_time
from workbench.kube.quantity import count, cpu_cores, memory_bytes
from workbench.kube.status import node_status

__all__ = ["event_name", "event_row", "node_row", "service_row", "workload_row"]

_ZONE = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
_REGION = ("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region")
_INSTANCE = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
_ROLE_PREFIX = "node-role.kubernetes.io/"
_EVENT_TYPES = ("Normal", "Warning")
_TEXT_OR_NONE = (str, type(None))
_NO: dict[str, Any] = {}  # a shared empty mapping: never modified


def _first_label(labels: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    return next((str(labels[k]) for k in keys if labels.get(k)), None)


def _address(status: Mapping[str, Any], kind: str) -> str | None:
    for address in status.get("addresses") or []:
        if isinstance(address, dict) and address.get("type") == kind:
            return address.get("address")
    return None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _int_or_str(value: object) -> str | None:
    return None if value is None else str(value)


def node_row(node: Mapping[str, Any], *, cluster: str, observed_at: datetime) -> dict[str, Any]:
    """One ``nodes`` row; roles like ``kubectl get nodes`` (``node-role.kubernetes.io/<role>`` and
    ``kubernetes.io/role`` labels), zone/region/instance type from the current or legacy labels."""
    metadata = node.get("metadata") or {}
    spec = node.get("spec") or {}
    status = node.get("status") or {}
    labels = metadata.get("labels") or {}
    capacity = status.get("capacity") or {}
    allocatable = status.get("allocatable") or {}
    info = status.get("nodeInfo") or {}
    roles = {
        k[len(_ROLE_PREFIX) :] for k in labels if k.startswith(_ROLE_PREFIX) and len(k) > len(_ROLE_PREFIX)
    }
    if labels.get("kubernetes.io/role"):
        roles.add(str(labels["kubernetes.io/role"]))
    text = node_status(node)
    return {
        "cluster": cluster,
        "name": metadata.get("name"),
        "uid": metadata.get("uid"),
        "status": text,
        "ready": text.split(",")[0] == "Ready",
        "unschedulable": bool(spec.get("unschedulable")),
        "roles": ",".join(sorted(roles)) or None,
        "created": parse_time(metadata.get("creationTimestamp")),
        "cpu_capacity": cpu_cores(capacity.get("cpu")),
        "memory_capacity": memory_bytes(capacity.get("memory")),
        "pods_capacity": count(capacity.get("pods")),
        "cpu_allocatable": cpu_cores(allocatable.get("cpu")),
        "memory_allocatable": memory_bytes(allocatable.get("memory")),
        "pods_allocatable": count(allocatable.get("pods")),
        "conditions": json_text(status.get("conditions")),
        "taints": json_text(spec.get("taints")),
        "labels": json_text(labels),
        "zone": _first_label(labels, _ZONE),
        "region": _first_label(labels, _REGION),
        "instance_type": _first_label(labels, _INSTANCE),
        "kubelet_version": info.get("kubeletVersion"),
        "os_image": info.get("osImage"),
        "container_runtime": info.get("containerRuntimeVersion"),
        "internal_ip": _address(status, "InternalIP"),
        "external_ip": _address(status, "ExternalIP"),
        "observed_at": observed_at,
    }


def _images(template: Mapping[str, Any] | None) -> list[str]:
    pod_spec = (template or {}).get("spec") or {}
    return [
        str(c["image"]) for c in pod_spec.get("containers") or [] if isinstance(c, dict) and c.get("image")
    ]


def _workload_fields(kind: str, spec: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, Any]:
    """Replica counts and strategy per kind, with the API server's defaults where spec omits them."""
    if kind == "Deployment":
        strategy = spec.get("strategy") or {}
        kind_of = strategy.get("type") or "RollingUpdate"
        rolling = strategy.get("rollingUpdate") or {}
        is_rolling = kind_of == "RollingUpdate"
        return {
            "desired": _int(spec.get("replicas")) if "replicas" in spec else 1,
            "current": _int(status.get("replicas")) or 0,
            "ready": _int(status.get("readyReplicas")) or 0,
            "available": _int(status.get("availableReplicas")) or 0,
            "updated": _int(status.get("updatedReplicas")) or 0,
            "strategy": kind_of,
            "max_surge": _int_or_str(rolling.get("maxSurge", "25%")) if is_rolling else None,
            "max_unavailable": _int_or_str(rolling.get("maxUnavailable", "25%")) if is_rolling else None,
        }
    if kind == "ReplicaSet":
        return {
            "desired": _int(spec.get("replicas")) if "replicas" in spec else 1,
            "current": _int(status.get("replicas")) or 0,
            "ready": _int(status.get("readyReplicas")) or 0,
            "available": _int(status.get("availableReplicas")) or 0,
        }
    if kind == "DaemonSet":
        strategy = spec.get("updateStrategy") or {}
        kind_of = strategy.get("type") or "RollingUpdate"
        rolling = strategy.get("rollingUpdate") or {}
        is_rolling = kind_of == "RollingUpdate"
        return {
            "desired": _int(status.get("desiredNumberScheduled")) or 0,
            "current": _int(status.get("currentNumberScheduled")) or 0,
            "ready": _int(status.get("numberReady")) or 0,
            "available": _int(status.get("numberAvailable")) or 0,
            "updated": _int(status.get("updatedNumberScheduled")) or 0,
            "strategy": kind_of,
            "max_surge": _int_or_str(rolling.get("maxSurge", 0)) if is_rolling else None,
            "max_unavailable": _int_or_str(rolling.get("maxUnavailable", 1)) if is_rolling else None,
        }
    if kind == "StatefulSet":
        strategy = spec.get("updateStrategy") or {}
        kind_of = strategy.get("type") or "RollingUpdate"
        rolling = strategy.get("rollingUpdate") or {}
        return {
            "desired": _int(spec.get("replicas")) if "replicas" in spec else 1,
            "current": _int(status.get("replicas")) or 0,
            "ready": _int(status.get("readyReplicas")) or 0,
            "available": _int(status.get("availableReplicas")),
            "updated": _int(status.get("updatedReplicas")),
            "strategy": kind_of,
            "max_unavailable": _int_or_str(rolling.get("maxUnavailable", 1))
            if kind_of == "RollingUpdate"
            else None,
        }
    if kind == "Job":
        return {
            "desired": _int(spec.get("completions")) if spec.get("completions") is not None else 1,
            "current": _int(status.get("active")) or 0,
            "ready": _int(status.get("ready")),
            "succeeded": _int(status.get("succeeded")) or 0,
            "failed": _int(status.get("failed")) or 0,
            "suspend": bool(spec.get("suspend")),
        }
    # CronJob
    return {
        "current": len(status.get("active") or []),
        "schedule": spec.get("schedule"),
        "suspend": bool(spec.get("suspend")),
    }


def workload_row(obj: Mapping[str, Any], *, cluster: str, observed_at: datetime) -> dict[str, Any]:
    """One ``workloads`` row for a Deployment, ReplicaSet, DaemonSet, StatefulSet, Job or CronJob.

    ``current`` is the number of pods that exist (CronJob: active Jobs); ``desired`` uses the
    API defaults (1 replica, a Job's completions or 1); strategy defaults to RollingUpdate with
    25%/25% (Deployment), maxUnavailable 1 (DaemonSet, StatefulSet).
    """
    kind = str(obj.get("kind"))
    metadata = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    owner = controller_owner(metadata)
    if kind == "CronJob":
        job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
        template, selector = job_spec.get("template"), job_spec.get("selector")
    else:
        template, selector = spec.get("template"), spec.get("selector")
    return {
        "cluster": cluster,
        "kind": kind,
        "namespace": metadata.get("namespace"),
        "name": metadata.get("name"),
        "uid": metadata.get("uid"),
        "created": parse_time(metadata.get("creationTimestamp")),
        **_workload_fields(kind, spec, status),
        "selector": json_text(selector),
        "images": _images(template),
        "owner_kind": owner[0] if owner else None,
        "owner_name": owner[1] if owner else None,
        "labels": json_text(metadata.get("labels")),
        "observed_at": observed_at,
    }


def _ports(ports: list[Any]) -> str | None:
    """kubectl's PORT(S) text: ``80:30080/TCP,443/TCP``."""
    pieces = []
    for port in ports:
        if not isinstance(port, dict):
            continue
        protocol = port.get("protocol") or "TCP"
        node_port = port.get("nodePort")
        if isinstance(node_port, int) and node_port > 0:
            pieces.append(f"{port.get('port')}:{node_port}/{protocol}")
        else:
            pieces.append(f"{port.get('port')}/{protocol}")
    return ",".join(pieces) or None


def service_row(svc: Mapping[str, Any], *, cluster: str, observed_at: datetime) -> dict[str, Any]:
    """One ``services`` row; ``pods`` is filled by the caller, which knows the pods."""
    metadata = svc.get("metadata") or {}
    spec = svc.get("spec") or {}
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    balancers = sorted(
        {
            str(i.get("ip") or i.get("hostname"))
            for i in ingress
            if isinstance(i, dict) and (i.get("ip") or i.get("hostname"))
        }
    )
    ports = [p for p in spec.get("ports") or [] if isinstance(p, dict)]
    return {
        "cluster": cluster,
        "namespace": metadata.get("namespace"),
        "name": metadata.get("name"),
        "uid": metadata.get("uid"),
        "created": parse_time(metadata.get("creationTimestamp")),
        "type": spec.get("type") or "ClusterIP",
        "cluster_ip": spec.get("clusterIP") or None,
        "external_ips": [str(ip) for ip in spec.get("externalIPs") or []],
        "load_balancer": ",".join(balancers) or None,
        "ports": _ports(ports),
        "port_specs": json_text(ports),
        "selector": json_text(spec.get("selector")),
        "pods": [],
        "labels": json_text(metadata.get("labels")),
        "observed_at": observed_at,
    }


def event_name(event: Mapping[str, Any]) -> str:
    """A stable name for an event that has none (OpenShift Insights archives strip metadata):
    its reason and a hash of its content."""
    digest = hashlib.sha1(manifest_text(event).encode(), usedforsecurity=False).hexdigest()[:16]
    return f"{event.get('reason') or 'event'}.{digest}"


def event_row(event: Mapping[str, Any], *, cluster: str, observed_at: datetime) -> dict[str, Any]:
    """One ``events`` row from a core/v1 or an events.k8s.io/v1 Event.

    first_time: firstTimestamp → eventTime → metadata.creationTimestamp; last_time:
    lastTimestamp → series.lastObservedTime → eventTime → first_time; count: series.count →
    count → 1; source: ``component/host`` from ``source`` (v1), ``deprecatedSource`` or
    reportingController/reportingInstance.
    """
    get = event.get
    metadata = get("metadata") or _NO
    involved = get("involvedObject") or get("regarding") or _NO
    series = get("series")
    series = series if isinstance(series, dict) else _NO
    source = get("source") or get("deprecatedSource") or _NO
    event_time = parse_time(get("eventTime"))
    first = (
        parse_time(get("firstTimestamp") or get("deprecatedFirstTimestamp"))
        or event_time
        or parse_time(metadata.get("creationTimestamp"))
    )
    last = (
        parse_time(get("lastTimestamp") or get("deprecatedLastTimestamp"))
        or parse_time(series.get("lastObservedTime"))
        or event_time
        or first
    )
    component = source.get("component") or get("reportingController") or get("reportingComponent")
    host = source.get("host") or get("reportingInstance")
    if type(component) in _TEXT_OR_NONE and type(host) in _TEXT_OR_NONE:
        origin = f"{component}/{host}" if component and host else component or host or None
    else:
        origin = "/".join(p for p in (component, host) if p) or None  # raises for non-text as it always did
    kind_of = get("type")
    message = get("message")
    if message is None:
        message = get("note")
    return {
        "cluster": cluster,
        "namespace": metadata.get("namespace") or get("namespace") or involved.get("namespace"),
        "name": metadata.get("name") or event_name(event),
        "uid": metadata.get("uid"),
        "involved_kind": involved.get("kind"),
        "involved_namespace": involved.get("namespace"),
        "involved_name": involved.get("name"),
        "involved_uid": involved.get("uid"),
        "type": kind_of if kind_of in _EVENT_TYPES else None,
        "reason": get("reason"),
        "message": message.strip() if isinstance(message, str) else None,
        "first_time": first,
        "last_time": last,
        "count": _int(series.get("count")) or _int(get("count")) or _int(get("deprecatedCount")) or 1,
        "source": origin,
        "observed_at": observed_at,
    }
