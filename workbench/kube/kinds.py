"""Recognising Kubernetes objects: expanding Lists and inferring a missing ``kind``.

Some dumps strip ``kind`` and ``apiVersion`` (OpenShift Insights archives, the items of a
kubelet ``/pods`` PodList). :func:`infer_kind` recovers them from ``metadata.selfLink``, from the
List that held the item, or from the object's shape (a Pod has ``spec.containers``, a Node
``status.nodeInfo``, an Event ``reason`` and ``message``).

>>> items = list(expand({"kind": "PodList", "apiVersion": "v1", "items": [{"metadata": {"name": "a"}}]}))
>>> items[0][0], items[0][1]["kind"], items[0][1]["apiVersion"]
(0, 'Pod', 'v1')
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["expand", "infer_kind", "is_list", "looks_like_object"]

#: Plural resource names of built-in kinds, for reading ``metadata.selfLink``.
_PLURALS = {
    "pods": "Pod",
    "nodes": "Node",
    "events": "Event",
    "services": "Service",
    "endpoints": "Endpoints",
    "endpointslices": "EndpointSlice",
    "configmaps": "ConfigMap",
    "secrets": "Secret",
    "namespaces": "Namespace",
    "serviceaccounts": "ServiceAccount",
    "persistentvolumeclaims": "PersistentVolumeClaim",
    "persistentvolumes": "PersistentVolume",
    "replicationcontrollers": "ReplicationController",
    "resourcequotas": "ResourceQuota",
    "limitranges": "LimitRange",
    "deployments": "Deployment",
    "replicasets": "ReplicaSet",
    "daemonsets": "DaemonSet",
    "statefulsets": "StatefulSet",
    "controllerrevisions": "ControllerRevision",
    "jobs": "Job",
    "cronjobs": "CronJob",
    "horizontalpodautoscalers": "HorizontalPodAutoscaler",
    "poddisruptionbudgets": "PodDisruptionBudget",
    "ingresses": "Ingress",
    "networkpolicies": "NetworkPolicy",
    "storageclasses": "StorageClass",
    "priorityclasses": "PriorityClass",
    "roles": "Role",
    "rolebindings": "RoleBinding",
    "clusterroles": "ClusterRole",
    "clusterrolebindings": "ClusterRoleBinding",
    "customresourcedefinitions": "CustomResourceDefinition",
}


def is_list(obj: Mapping[str, Any]) -> bool:
    """A List of objects: ``kind: List`` or ``*List`` with ``items``, or a kind-less ``{"items": [...]}``."""
    items = obj.get("items")
    if not isinstance(items, list):
        return False
    kind = obj.get("kind")
    if kind is None:
        return "metadata" not in obj or not (obj.get("metadata") or {}).get("name")
    return isinstance(kind, str) and kind.endswith("List")


def _from_self_link(link: str) -> tuple[str, str] | None:
    parts = [p for p in link.split("?")[0].split("/") if p]
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return None
    if parts[0] == "api":
        api_version, rest = parts[1], parts[2:]
    else:
        if len(parts) < 4:
            return None
        api_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
    if rest[0] == "namespaces" and len(rest) >= 4:
        resource = rest[2]
    else:
        resource = rest[0]
    kind = _PLURALS.get(resource)
    return (kind, api_version) if kind else None


def _is_event_shape(obj: Mapping[str, Any]) -> bool:
    has_text = "reason" in obj and ("message" in obj or "note" in obj)
    has_time = any(
        k in obj for k in ("lastTimestamp", "firstTimestamp", "eventTime", "involvedObject", "regarding")
    )
    return has_text and has_time


def infer_kind(
    obj: Mapping[str, Any], *, list_kind: str | None = None, list_api_version: str | None = None
) -> tuple[str, str] | None:
    """``(kind, apiVersion)`` for an object that lacks them, or ``None`` when it cannot be told.

    In order: the object's own ``kind``; the kind of the typed List that held it (``PodList`` →
    ``Pod``); ``metadata.selfLink``; the object's shape (Pod, Node, Event only).
    """
    kind = obj.get("kind")
    if isinstance(kind, str) and kind:
        api_version = obj.get("apiVersion")
        return kind, api_version if isinstance(api_version, str) else (list_api_version or "")
    if list_kind and list_kind.endswith("List") and list_kind != "List":
        return list_kind[: -len("List")], list_api_version or "v1"
    metadata = obj.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("selfLink"), str):
        found = _from_self_link(metadata["selfLink"])
        if found:
            return found
    spec = obj.get("spec")
    status = obj.get("status")
    if isinstance(status, dict) and isinstance(status.get("nodeInfo"), dict):
        return "Node", "v1"
    if isinstance(spec, dict) and isinstance(spec.get("containers"), list) and isinstance(metadata, dict):
        if isinstance(status, dict) or "nodeName" in spec:
            return "Pod", "v1"
    if _is_event_shape(obj):
        return "Event", "v1"
    return None


def looks_like_object(obj: object) -> bool:
    """True for a dict that is a Kubernetes object or List, or whose kind can be inferred."""
    if not isinstance(obj, dict):
        return False
    if is_list(obj):
        items = obj["items"]
        return (
            isinstance(obj.get("kind"), str)
            or not items
            or any(isinstance(i, dict) and infer_kind(i) for i in items[:5])
        )
    kind = obj.get("kind")
    if isinstance(kind, str) and kind and isinstance(obj.get("apiVersion"), str):
        return True
    return infer_kind(obj) is not None


def _with_kind(obj: Mapping[str, Any], kind: str, api_version: str) -> dict[str, Any]:
    """A copy of ``obj`` that starts with ``apiVersion`` (its own, else ``api_version``) and
    ``kind``, followed by its other keys in their order."""
    copy = {"apiVersion": None, "kind": None, **obj}  # the two keys stay first when obj has them
    copy["apiVersion"] = obj.get("apiVersion") or api_version
    copy["kind"] = kind
    return copy


def expand(obj: Mapping[str, Any]) -> Iterator[tuple[int | None, Any]]:
    """``(item index, object)`` for each object in ``obj``: the items of a List (recursively, with a
    missing kind/apiVersion filled in when it can be inferred), or ``(None, obj)`` itself.

    Objects whose kind had to be inferred are shallow copies with ``kind``/``apiVersion`` set; the
    input is never modified. Items that are not dicts are yielded as they are, for the caller to
    report.
    """
    if not is_list(obj):
        if not obj.get("kind"):
            found = infer_kind(obj)
            if found:
                yield None, _with_kind(obj, *found)
                return
        yield None, obj
        return
    list_kind = obj.get("kind") if isinstance(obj.get("kind"), str) else None
    list_api_version = obj.get("apiVersion") if isinstance(obj.get("apiVersion"), str) else None
    # what infer_kind gives every kind-less item of a typed List (PodList → Pod), found once
    typed = infer_kind({}, list_kind=list_kind, list_api_version=list_api_version)
    for index, item in enumerate(obj["items"]):
        if not isinstance(item, dict):
            yield index, item
            continue
        if isinstance(item.get("items"), list) and is_list(item):
            for _, sub in expand(item):
                yield index, sub
            continue
        kind = item.get("kind")
        if kind and item.get("apiVersion"):
            yield index, item
            continue
        if typed is not None and not (isinstance(kind, str) and kind):
            yield index, _with_kind(item, *typed)
            continue
        found = infer_kind(item, list_kind=list_kind, list_api_version=list_api_version)
        if found:
            yield index, _with_kind(item, *found)
        else:
            yield index, item
