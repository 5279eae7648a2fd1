"""The kinds collected from a live cluster, how the official client lists them, and the
clean-up every object gets before it is stored (managedFields removed, env values redacted).

Secrets are not in this table and are never requested.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s_client

from workbench.errors import ParameterError

__all__ = ["KINDS", "KindSpec", "clean_object", "redact_env", "resolve_kinds"]

REDACTED = "<redacted>"
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


@dataclass(frozen=True)
class KindSpec:
    """One listable kind: its resource name and the client methods that list it."""

    #: The resource name used on the command line and in warnings (``pods``,
    #: ``events.events.k8s.io``).
    name: str
    kind: str
    api_version: str
    #: The ``kubernetes.client`` API class (``CoreV1Api``).
    api: str
    #: The method stem: ``list_<stem>_for_all_namespaces`` / ``list_namespaced_<stem>``, or for a
    #: cluster-scoped kind the whole method name (``list_node``).
    stem: str
    namespaced: bool
    aliases: tuple[str, ...] = ()

    @property
    def plural(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def group_version(self) -> str:
        """``v1`` or ``apps/v1``, as in warnings ("not served: autoscaling/v2 ...")."""
        return self.api_version

    def _api(self, api_client: k8s_client.ApiClient) -> Any:
        return getattr(k8s_client, self.api)(api_client)

    def list_all(self, api_client: k8s_client.ApiClient) -> Callable[..., Any]:
        """The function listing every object (all namespaces, or the cluster-scoped kind)."""
        api = self._api(api_client)
        if self.namespaced:
            return getattr(api, f"list_{self.stem}_for_all_namespaces")
        return getattr(api, self.stem)

    def list_in(self, api_client: k8s_client.ApiClient) -> Callable[..., Any]:
        """The function listing one namespace (takes the namespace as first argument)."""
        if not self.namespaced:
            msg = f"{self.name} is cluster-scoped"
            raise TypeError(msg)
        return getattr(self._api(api_client), f"list_namespaced_{self.stem}")


KINDS: tuple[KindSpec, ...] = (
    KindSpec(
        "namespaces", "Namespace", "v1", "CoreV1Api", "list_namespace", namespaced=False, aliases=("ns",)
    ),
    KindSpec("nodes", "Node", "v1", "CoreV1Api", "list_node", namespaced=False, aliases=("no",)),
    KindSpec("pods", "Pod", "v1", "CoreV1Api", "pod", namespaced=True, aliases=("po",)),
    KindSpec(
        "deployments",
        "Deployment",
        "apps/v1",
        "AppsV1Api",
        "deployment",
        namespaced=True,
        aliases=("deploy",),
    ),
    KindSpec(
        "replicasets", "ReplicaSet", "apps/v1", "AppsV1Api", "replica_set", namespaced=True, aliases=("rs",)
    ),
    KindSpec(
        "daemonsets", "DaemonSet", "apps/v1", "AppsV1Api", "daemon_set", namespaced=True, aliases=("ds",)
    ),
    KindSpec(
        "statefulsets",
        "StatefulSet",
        "apps/v1",
        "AppsV1Api",
        "stateful_set",
        namespaced=True,
        aliases=("sts",),
    ),
    KindSpec("jobs", "Job", "batch/v1", "BatchV1Api", "job", namespaced=True),
    KindSpec("cronjobs", "CronJob", "batch/v1", "BatchV1Api", "cron_job", namespaced=True, aliases=("cj",)),
    KindSpec("services", "Service", "v1", "CoreV1Api", "service", namespaced=True, aliases=("svc",)),
    KindSpec(
        "endpointslices.discovery.k8s.io",
        "EndpointSlice",
        "discovery.k8s.io/v1",
        "DiscoveryV1Api",
        "endpoint_slice",
        namespaced=True,
        aliases=("endpointslices",),
    ),
    KindSpec(
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        "v1",
        "CoreV1Api",
        "persistent_volume_claim",
        namespaced=True,
        aliases=("pvc",),
    ),
    KindSpec(
        "horizontalpodautoscalers.autoscaling",
        "HorizontalPodAutoscaler",
        "autoscaling/v2",
        "AutoscalingV2Api",
        "horizontal_pod_autoscaler",
        namespaced=True,
        aliases=("horizontalpodautoscalers", "hpa"),
    ),
    KindSpec(
        "resourcequotas",
        "ResourceQuota",
        "v1",
        "CoreV1Api",
        "resource_quota",
        namespaced=True,
        aliases=("quota",),
    ),
    KindSpec("events", "Event", "v1", "CoreV1Api", "event", namespaced=True, aliases=("ev",)),
    KindSpec("events.events.k8s.io", "Event", "events.k8s.io/v1", "EventsV1Api", "event", namespaced=True),
)

_BY_NAME: dict[str, KindSpec] = {}
for _spec in KINDS:
    for _alias in (_spec.name, _spec.kind.lower(), *_spec.aliases):
        _BY_NAME.setdefault(_alias, _spec)


def resolve_kinds(kinds: Iterable[str] | None) -> list[KindSpec]:
    """The specs for names such as ``pods``, ``Pod``, ``po``, ``hpa`` (default: every kind).

    >>> [k.name for k in resolve_kinds(["po", "Deployment"])]
    ['pods', 'deployments']
    """
    if kinds is None:
        return list(KINDS)
    if isinstance(kinds, str):
        kinds = [kinds]
    out: list[KindSpec] = []
    for name in kinds:
        if name.lower() in ("secret", "secrets"):
            msg = "Secrets are never collected"
            raise ParameterError(msg)
        spec = _BY_NAME.get(name.lower()) or _BY_NAME.get(name)
        if spec is None:
            msg = f"unknown kind {name!r}; the kinds are: {', '.join(k.name for k in KINDS)}"
            raise ParameterError(msg)
        if spec not in out:
            out.append(spec)
    return out


def _redact_containers(pod_spec: Any) -> None:
    if not isinstance(pod_spec, dict):
        return
    for field in ("containers", "initContainers", "ephemeralContainers"):
        for container in pod_spec.get(field) or ():
            if not isinstance(container, dict):
                continue
            for env in container.get("env") or ():
                if isinstance(env, dict) and "value" in env:
                    env["value"] = REDACTED


def _pod_specs(obj: Mapping[str, Any]) -> list[Any]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return []
    if obj.get("kind") == "Pod":
        return [spec]
    template = spec.get("template")
    job_template = spec.get("jobTemplate")
    if isinstance(job_template, dict):  # CronJob
        template = (job_template.get("spec") or {}).get("template")
    return [template.get("spec")] if isinstance(template, dict) else []


def redact_env(obj: dict[str, Any]) -> dict[str, Any]:
    """Replace literal ``env[].value`` of pod and pod-template containers with ``"<redacted>"``,
    also inside the ``last-applied-configuration`` annotation (in place; returns ``obj``).

    >>> pod = {"kind": "Pod", "spec": {"containers": [{"env": [{"name": "A", "value": "x"},
    ...        {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]}]}}
    >>> redact_env(pod)["spec"]["containers"][0]["env"]
    [{'name': 'A', 'value': '<redacted>'}, {'name': 'B', 'valueFrom': {'fieldRef': {'fieldPath': 'spec.nodeName'}}}]
    """
    for pod_spec in _pod_specs(obj):
        _redact_containers(pod_spec)
    annotations = (obj.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict) and isinstance(annotations.get(_LAST_APPLIED), str):
        try:
            applied = json.loads(annotations[_LAST_APPLIED])
        except ValueError:
            annotations[_LAST_APPLIED] = REDACTED
        else:
            if isinstance(applied, dict):
                applied.setdefault("kind", obj.get("kind"))
                for pod_spec in _pod_specs(applied):
                    _redact_containers(pod_spec)
                annotations[_LAST_APPLIED] = json.dumps(applied, separators=(",", ":"))
            else:
                annotations[_LAST_APPLIED] = REDACTED
    return obj


def clean_object(obj: dict[str, Any], spec: KindSpec, *, redact: bool) -> dict[str, Any]:
    """Give a listed item its ``kind``/``apiVersion`` (list items lack them), drop
    ``metadata.managedFields``, and redact env values when asked (in place)."""
    obj.setdefault("kind", spec.kind)
    obj.setdefault("apiVersion", spec.api_version)
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
    if redact:
        redact_env(obj)
    return obj


def names(value: str | Sequence[str] | None) -> list[str] | None:
    """One name or several as a list (None stays None)."""
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)
