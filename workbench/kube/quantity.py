"""Kubernetes resource quantities in the snapshot's units: CPU in cores, memory in bytes.

Parsing uses the official client's :func:`kubernetes.utils.parse_quantity`, cached because the
same few texts ("100m", "128Mi") repeat across thousands of containers.

>>> cpu_cores("250m"), memory_bytes("1Gi"), count("110")
(0.25, 1073741824, 110)
>>> cpu_cores("not-a-quantity") is None
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from kubernetes.utils import parse_quantity

__all__ = [
    "NO_NUMBERS",
    "Numbers",
    "numbers",
    "Resources",
    "container_resources",
    "count",
    "cpu_cores",
    "effective_from_parts",
    "effective_pod_resources",
    "memory_bytes",
    "parsed_resources",
    "quantity",
]


@lru_cache(maxsize=8192)
def _parse(value: str | int | float) -> Decimal | None:
    try:
        return parse_quantity(value)
    except (ValueError, TypeError, ArithmeticError):
        return None


def quantity(value: object) -> Decimal | None:
    """The exact value of a quantity (``Decimal``), or ``None`` when missing or not a quantity."""
    if value is None or isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return _parse(value)


def cpu_cores(value: object) -> float | None:
    """A CPU quantity in cores (``"1500m"`` → 1.5)."""
    parsed = quantity(value)
    return None if parsed is None else float(parsed)


def memory_bytes(value: object) -> int | None:
    """A memory or storage quantity in bytes, rounded up like Kubernetes' ``Value()``."""
    parsed = quantity(value)
    return None if parsed is None else math.ceil(parsed)


def count(value: object) -> int | None:
    """A countable quantity such as ``pods: "110"``, rounded up."""
    return memory_bytes(value)


def container_resources(resources: Mapping[str, Any] | None) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """``(requests, limits)`` of one container as exact Decimals for cpu and memory.

    Like the API server's defaulting, a resource with a limit but no request is requested at its
    limit (manifests read from the API already carry this; plain YAML files may not).
    """
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    if not isinstance(resources, dict):
        return requests, limits
    raw_requests = resources.get("requests") or {}
    raw_limits = resources.get("limits") or {}
    for name in ("cpu", "memory"):
        lim = quantity(raw_limits.get(name)) if isinstance(raw_limits, dict) else None
        req = quantity(raw_requests.get(name)) if isinstance(raw_requests, dict) else None
        if lim is not None:
            limits[name] = lim
        if req is None and lim is not None:
            req = lim
        if req is not None:
            requests[name] = req
    return requests, limits


_ZERO = Decimal(0)
_EMPTY: dict[str, Any] = {}  # never modified


def _add(total: dict[str, Decimal], part: Mapping[str, Decimal]) -> None:
    for name, value in part.items():
        total[name] = total.get(name, Decimal(0)) + value


def _effective(
    app: Iterable[Mapping[str, Decimal]], init: Iterable[tuple[Mapping[str, Decimal], bool]]
) -> dict[str, Decimal]:
    """The scheduler's rule: max(sum of app containers and sidecars, the largest init container
    plus the sidecars started before it)."""
    total: dict[str, Decimal] = {}
    for part in app:
        _add(total, part)
    sidecars: dict[str, Decimal] = {}
    init_peak: dict[str, Decimal] = {}
    for part, restartable in init:
        if restartable:
            _add(total, part)
            _add(sidecars, part)
            continue
        step = dict(part)
        _add(step, sidecars)
        for name, value in step.items():
            if value > init_peak.get(name, Decimal(0)):
                init_peak[name] = value
    for name, value in init_peak.items():
        if value > total.get(name, Decimal(0)):
            total[name] = value
    return total


def effective_pod_resources(spec: Mapping[str, Any]) -> dict[str, float | int | None]:
    """A pod's cpu/memory requests and limits as the scheduler counts them.

    Requests (and limits) are the sum over app containers and restartable (sidecar) init
    containers, or the largest regular init container plus the sidecars started before it when
    that is larger; ``spec.overhead`` is added; pod-level ``spec.resources`` wins when set. A
    resource that no container specifies is ``None`` (not 0). Keys: ``cpu_request``,
    ``cpu_limit``, ``memory_request``, ``memory_limit``.
    """
    app_req, app_lim, init_req, init_lim = [], [], [], []
    for container in spec.get("containers") or []:
        if isinstance(container, dict):
            req, lim = container_resources(container.get("resources"))
            app_req.append(req)
            app_lim.append(lim)
    for container in spec.get("initContainers") or []:
        if isinstance(container, dict):
            restartable = container.get("restartPolicy") == "Always"
            req, lim = container_resources(container.get("resources"))
            init_req.append((req, restartable))
            init_lim.append((lim, restartable))
    return effective_from_parts(app_req, app_lim, init_req, init_lim, spec)


def effective_from_parts(
    app_req: list[dict[str, Decimal]],
    app_lim: list[dict[str, Decimal]],
    init_req: list[tuple[dict[str, Decimal], bool]],
    init_lim: list[tuple[dict[str, Decimal], bool]],
    spec: Mapping[str, Any],
) -> dict[str, float | int | None]:
    """:func:`effective_pod_resources` from the :func:`container_resources` of each app and
    init container (the latter with whether it is a restartable sidecar); ``spec`` gives the
    pod-level resources and overhead."""
    if len(app_req) == 1 and not init_req:  # the usual pod: one container, no init containers
        requests = {name: _ZERO + value for name, value in app_req[0].items()}  # as _effective adds
        limits = {name: _ZERO + value for name, value in app_lim[0].items()}
    else:
        requests = _effective(app_req, init_req)
        limits = _effective(app_lim, init_lim)
    pod_level = spec.get("resources")
    if pod_level is not None:
        pod_req, pod_lim = container_resources(pod_level)
        requests.update(pod_req)
        limits.update(pod_lim)
    overhead = spec.get("overhead")
    if isinstance(overhead, dict) and overhead:
        extra = {name: q for name in ("cpu", "memory") if (q := quantity(overhead.get(name))) is not None}
        for target in (requests, limits):
            for name, value in extra.items():
                if name in target:
                    target[name] += value
    return {
        "cpu_request": None if "cpu" not in requests else float(requests["cpu"]),
        "cpu_limit": None if "cpu" not in limits else float(limits["cpu"]),
        "memory_request": None if "memory" not in requests else math.ceil(requests["memory"]),
        "memory_limit": None if "memory" not in limits else math.ceil(limits["memory"]),
    }


Numbers = tuple[float | None, float | None, int | None, int | None]
_QUANTITY_TYPES = {str, int, float, type(None)}
NO_NUMBERS: Numbers = (None, None, None, None)


class Resources(NamedTuple):
    """One container's requests and limits, parsed once for every use of them."""

    requests: dict[str, Decimal]  # shared between pods with the same texts: never modified
    limits: dict[str, Decimal]
    #: cpu_request, cpu_limit, memory_request, memory_limit of the container's row
    row: Numbers
    #: the same for a pod made of this one container alone (as :func:`effective_from_parts`)
    alone: Numbers


def numbers(requests: Mapping[str, Decimal], limits: Mapping[str, Decimal]) -> Numbers:
    """A container row's cpu_request, cpu_limit (cores), memory_request, memory_limit (bytes)."""
    return (
        float(requests["cpu"]) if "cpu" in requests else None,
        float(limits["cpu"]) if "cpu" in limits else None,
        math.ceil(requests["memory"]) if "memory" in requests else None,
        math.ceil(limits["memory"]) if "memory" in limits else None,
    )


def _parsed(resources: object) -> Resources:
    requests, limits = container_resources(resources)
    alone = effective_from_parts([requests], [limits], [], [], {})
    return Resources(requests, limits, numbers(requests, limits), tuple(alone.values()))  # type: ignore[arg-type]


@lru_cache(maxsize=4096, typed=True)
def _parsed_texts(req_cpu: object, req_memory: object, lim_cpu: object, lim_memory: object) -> Resources:
    requests = {k: v for k, v in (("cpu", req_cpu), ("memory", req_memory)) if v is not None}
    limits = {k: v for k, v in (("cpu", lim_cpu), ("memory", lim_memory)) if v is not None}
    return _parsed({"requests": requests, "limits": limits})


def parsed_resources(container: Mapping[str, Any]) -> Resources:
    """:func:`~workbench.kube.quantity.container_resources` of a container and the numbers made
    of them, cached by the quantity texts (Decimal → float is slow, and the same few texts
    repeat across thousands of containers)."""
    resources = container.get("resources")
    if type(resources) is not dict:
        return _parsed(resources)
    requests = resources.get("requests") or _EMPTY
    limits = resources.get("limits") or _EMPTY
    if type(requests) is not dict or type(limits) is not dict:
        return _parsed(resources)
    key = (requests.get("cpu"), requests.get("memory"), limits.get("cpu"), limits.get("memory"))
    if set(map(type, key)) <= _QUANTITY_TYPES:
        return _parsed_texts(*key)
    return _parsed(resources)
