"""Rows of the ``pods`` and ``containers`` tables from one Pod manifest (plain dicts, no polars)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from workbench.kube._common import controller_owner, json_text, parse_time
from workbench.kube._podfast import container_row, fast_pod_rows
from workbench.kube.quantity import container_resources, effective_pod_resources, numbers
from workbench.kube.status import pod_reason, pod_summary, qos_class

__all__ = ["PHASES", "container_rows", "pod_row", "pod_rows"]

PHASES = frozenset({"Pending", "Running", "Succeeded", "Failed", "Unknown"})


def _condition_time(status: Mapping[str, Any], kind: str) -> datetime | None:
    for cond in status.get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == kind:
            return parse_time(cond.get("lastTransitionTime")) if cond.get("status") == "True" else None
    return None


def _scheduling_message(status: Mapping[str, Any]) -> str | None:
    for cond in status.get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            return cond.get("message") or cond.get("reason") or None
    return None


def pod_row(pod: Mapping[str, Any], *, cluster: str, observed_at: datetime) -> dict[str, Any]:
    """One ``pods`` row. ``workload_kind``/``workload_name`` are left to the caller, which knows
    the ReplicaSets and Jobs; ``deleted`` too."""
    metadata = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    summary = pod_summary(pod)
    owner = controller_owner(metadata)
    phase = status.get("phase")
    return {
        "cluster": cluster,
        "namespace": metadata.get("namespace"),
        "name": metadata.get("name"),
        "uid": metadata.get("uid"),
        "node": spec.get("nodeName"),
        "phase": phase if phase in PHASES else None,
        "status": summary.status or None,
        "reason": pod_reason(pod),
        "qos_class": qos_class(pod),
        "owner_kind": owner[0] if owner else None,
        "owner_name": owner[1] if owner else None,
        "created": parse_time(metadata.get("creationTimestamp")),
        "scheduled": _condition_time(status, "PodScheduled"),
        "initialized": _condition_time(status, "Initialized"),
        "ready_time": _condition_time(status, "Ready"),
        "restarts": summary.restarts,
        "containers_ready": summary.ready,
        "containers_total": summary.total,
        **effective_pod_resources(spec),
        "pod_ip": status.get("podIP") or None,
        "host_ip": status.get("hostIP") or None,
        "labels": json_text(metadata.get("labels")),
        "annotations": json_text(metadata.get("annotations")),
        "priority_class": spec.get("priorityClassName"),
        "scheduling_message": _scheduling_message(status),
        "observed_at": observed_at,
    }


def _container_row(
    base: dict[str, Any], spec: Mapping[str, Any] | None, cs: Mapping[str, Any] | None, *, is_init: bool
) -> dict[str, Any]:
    spec = spec or {}
    requests, limits = container_resources(spec.get("resources"))
    return container_row(base, spec, cs or {}, numbers(requests, limits), is_init=is_init)


def container_rows(pod: Mapping[str, Any], *, cluster: str, observed_at: datetime) -> list[dict[str, Any]]:
    """One ``containers`` row per init and app container: the spec joined with its status by
    name (a status without a spec, or a spec without a status, still gives a row)."""
    metadata = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    base = {
        "cluster": cluster,
        "namespace": metadata.get("namespace"),
        "pod": metadata.get("name"),
        "pod_uid": metadata.get("uid"),
        "observed_at": observed_at,
    }
    rows = []
    for spec_key, status_key, is_init in (
        ("initContainers", "initContainerStatuses", True),
        ("containers", "containerStatuses", False),
    ):
        statuses = {cs.get("name"): cs for cs in status.get(status_key) or [] if isinstance(cs, dict)}
        for container in spec.get(spec_key) or []:
            if isinstance(container, dict):
                rows.append(
                    _container_row(
                        base, container, statuses.pop(container.get("name"), None), is_init=is_init
                    )
                )
        for cs in statuses.values():
            rows.append(_container_row(base, None, cs, is_init=is_init))
    return rows


def pod_rows(
    pod: Mapping[str, Any], *, cluster: str, observed_at: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(pod_row(pod), container_rows(pod))``, computed in one pass for a well-formed pod (see
    :mod:`workbench.kube._podfast`); malformed input raises exactly what those two raise."""
    try:
        fast = fast_pod_rows(pod, cluster, observed_at) if type(pod) is dict else None
    except (AttributeError, TypeError, ValueError, KeyError, ArithmeticError):
        fast = None  # the reference functions below raise (or not) as they always did
    if fast is not None:
        return fast
    row = pod_row(pod, cluster=cluster, observed_at=observed_at)
    return row, container_rows(pod, cluster=cluster, observed_at=observed_at)
