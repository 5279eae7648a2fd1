"""What ``kubectl`` shows for pods and nodes, computed from manifests.

:func:`pod_status` follows kubectl's ``printPod`` (k8s.io/kubernetes
``pkg/printers/internalversion/printers.go``) step by step, so the STATUS column of
``kubectl get pods`` and the ``status`` column of the ``pods`` table always agree:

>>> pod = {"status": {"phase": "Running", "containerStatuses": [
...     {"name": "app", "ready": False, "restartCount": 3,
...      "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}
>>> pod_status(pod)
'CrashLoopBackOff'
>>> node_status({"spec": {"unschedulable": True},
...              "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
'Ready,SchedulingDisabled'
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from workbench.kube.quantity import container_resources

__all__ = ["PodSummary", "node_status", "pod_reason", "pod_status", "pod_summary", "qos_class"]

#: ``status.reason`` the node lifecycle controller sets on pods of an unreachable node.
NODE_LOST = "NodeLost"
_QOS = ("Guaranteed", "Burstable", "BestEffort")
_MESSAGE_WIDTH = 300


class PodSummary(NamedTuple):
    """The READY, STATUS and RESTARTS columns of ``kubectl get pods``."""

    status: str
    ready: int
    total: int
    restarts: int


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for cond in status.get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == kind:
            return cond
    return None


def _is_true(cond: Mapping[str, Any] | None) -> bool:
    return cond is not None and cond.get("status") == "True"


def _restarts(cs: Mapping[str, Any]) -> int:
    value = cs.get("restartCount")
    return value if isinstance(value, int) else 0


def _terminated_text(term: Mapping[str, Any], prefix: str = "") -> str:
    reason = term.get("reason")
    if reason:
        return prefix + str(reason)
    if term.get("signal"):
        return f"{prefix}Signal:{term['signal']}"
    return f"{prefix}ExitCode:{term.get('exitCode') or 0}"


def _first_conditions(status: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """type → the first condition of that type (what :func:`_condition` finds)."""
    conds: dict[str, Mapping[str, Any]] = {}
    for cond in status.get("conditions") or []:
        if isinstance(cond, dict):
            conds.setdefault(cond.get("type"), cond)  # type: ignore[arg-type]
    return conds


def pod_summary(pod: Mapping[str, Any]) -> PodSummary:
    """kubectl's READY (``ready``/``total``), STATUS and RESTARTS for one pod manifest."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    gated = any(
        isinstance(cond, dict)
        and cond.get("type") == "PodScheduled"
        and cond.get("reason") == "SchedulingGated"
        for cond in status.get("conditions") or []
    )
    return summarise(
        pod.get("metadata") or {},
        status,
        _first_conditions(status),
        spec.get("initContainers") or [],
        spec.get("containers") or [],
        status.get("initContainerStatuses") or [],
        status.get("containerStatuses") or [],
        gated=gated,
    )


def summarise(
    metadata: Mapping[str, Any],
    status: Mapping[str, Any],
    conds: Mapping[str, Mapping[str, Any]],
    init_specs: list[Any],
    app_specs: list[Any],
    init_statuses: list[Any],
    app_statuses: list[Any],
    *,
    gated: bool,
) -> PodSummary:
    """:func:`pod_summary` on the pod's parts already taken apart: ``conds`` maps a condition
    type to its (first) condition, ``gated`` says whether scheduling is gated. The one
    implementation of kubectl's printPod steps, used by the normaliser's fast path too."""
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    if gated:
        reason = "SchedulingGated"
    restartable = {
        c.get("name") for c in init_specs if isinstance(c, dict) and c.get("restartPolicy") == "Always"
    }
    total = len(app_specs) + len(restartable)
    ready = restarts = sidecar_restarts = 0

    initializing = False
    for index, cs in enumerate(init_statuses):
        if not isinstance(cs, dict):
            continue
        count = _restarts(cs)
        restarts += count
        is_sidecar = cs.get("name") in restartable
        if is_sidecar:
            sidecar_restarts += count
        state = cs.get("state") or {}
        term, wait = state.get("terminated"), state.get("waiting")
        if term is not None and (term.get("exitCode") or 0) == 0:
            continue
        if is_sidecar and cs.get("started") is True:
            if cs.get("ready"):
                ready += 1
            continue
        if term is not None:
            reason = _terminated_text(term, "Init:")
        elif wait is not None and wait.get("reason") and wait.get("reason") != "PodInitializing":
            reason = "Init:" + str(wait["reason"])
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _is_true(conds.get("Initialized")):
        restarts = sidecar_restarts
        has_running = False
        for cs in reversed(app_statuses):
            if not isinstance(cs, dict):
                continue
            restarts += _restarts(cs)
            state = cs.get("state") or {}
            term, wait = state.get("terminated"), state.get("waiting")
            if wait is not None and wait.get("reason"):
                reason = str(wait["reason"])
            elif term is not None:
                reason = _terminated_text(term)
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _is_true(conds.get("Ready")) else "NotReady"

    if metadata.get("deletionTimestamp") and status.get("reason") == NODE_LOST:
        reason = "Unknown"
    elif metadata.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return PodSummary(reason, ready, total, restarts)


def pod_status(pod: Mapping[str, Any]) -> str:
    """Exactly what ``kubectl get pods`` prints in the STATUS column (``""`` for a pod without
    any status, as kubectl prints)."""
    return pod_summary(pod).status


def _short(text: object) -> str:
    """The first line of a message, cut to a readable width."""
    lines = str(text).strip().splitlines()
    line = lines[0].strip() if lines else ""
    return line if len(line) <= _MESSAGE_WIDTH else line[: _MESSAGE_WIDTH - 1] + "…"


def _join(*parts: object) -> str:
    return ": ".join(_short(p) for p in parts if p not in (None, ""))


def _container_problem(cs: Mapping[str, Any], label: str) -> str | None:
    state = cs.get("state") or {}
    wait, term = state.get("waiting"), state.get("terminated")
    if wait is not None and wait.get("reason") and wait.get("reason") != "PodInitializing":
        text = _join(f"{label} {cs.get('name')}", wait.get("reason"), wait.get("message"))
        last = (cs.get("lastState") or {}).get("terminated")
        if isinstance(last, dict):
            text += f" (last exit: {_terminated_text(last)}, code {last.get('exitCode') or 0})"
        return text
    if term is not None and (
        (term.get("exitCode") or 0) != 0 or term.get("reason") not in (None, "", "Completed")
    ):
        code = term.get("exitCode") or 0
        return _join(
            f"{label} {cs.get('name')}", f"{_terminated_text(term)} (exit code {code})", term.get("message")
        )
    return None


def pod_reason(pod: Mapping[str, Any]) -> str | None:
    """Why a pod is not healthy, in the words ``kubectl describe`` and consoles use; ``None`` when
    it is healthy (running and ready, or succeeded).

    Parts, joined with ``"; "``: the pod's own ``status.reason``/``message`` (Evicted…); the
    scheduler's verdict when PodScheduled is False (``Unschedulable: 0/4 nodes are available: …``);
    the failing init container, else each failing app container (``container app:
    CrashLoopBackOff: back-off 5m0s … (last exit: Error, code 1)``); failing all that, the
    Initialized condition (``ContainersNotInitialized: containers with incomplete status:
    [init]``), else the Ready one (``ContainersNotReady: containers with unready status: [app]``).
    Messages are cut to their first line.
    """
    status = pod.get("status") or {}
    return explain(
        status,
        _first_conditions(status),
        status.get("initContainerStatuses") or [],
        status.get("containerStatuses") or [],
    )


def explain(
    status: Mapping[str, Any],
    conds: Mapping[str, Mapping[str, Any]],
    init_statuses: list[Any],
    app_statuses: list[Any],
) -> str | None:
    """:func:`pod_reason` on the pod's parts already taken apart (``conds``: type → first
    condition of that type); the one implementation, used by the normaliser's fast path too."""
    phase = status.get("phase")
    if phase == "Succeeded":
        return None
    parts: list[str] = []
    if status.get("reason"):
        parts.append(_join(status.get("reason"), status.get("message")))
    scheduled = conds.get("PodScheduled")
    if scheduled is not None and scheduled.get("status") == "False":
        parts.append(_join(scheduled.get("reason") or "NotScheduled", scheduled.get("message")))
    init_problem = None
    for cs in init_statuses:
        if isinstance(cs, dict) and (init_problem := _container_problem(cs, "init container")):
            break
    if init_problem:
        parts.append(init_problem)
    else:
        for cs in app_statuses:
            if isinstance(cs, dict) and (problem := _container_problem(cs, "container")):
                parts.append(problem)
    for kind in ("Initialized", "Ready"):
        cond = conds.get(kind)
        if parts or cond is None or cond.get("status") == "True":
            continue
        if cond.get("message") or cond.get("reason") not in (None, "PodCompleted"):
            parts.append(_join(cond.get("reason") or f"Not{kind}", cond.get("message")))
    if not parts and phase in ("Failed", "Unknown"):
        parts.append(str(phase))
    return "; ".join(parts) if parts else None


def node_status(node: Mapping[str, Any]) -> str:
    """The STATUS column of ``kubectl get nodes``: ``Ready``, ``NotReady`` or ``Unknown``, plus
    ``,SchedulingDisabled`` for a cordoned node."""
    status = node.get("status") or {}
    spec = node.get("spec") or {}
    ready = _condition(status, "Ready")
    if ready is None:
        text = "Unknown"
    else:
        text = "Ready" if ready.get("status") == "True" else "NotReady"
    if spec.get("unschedulable"):
        text += ",SchedulingDisabled"
    return text


def qos_class(pod: Mapping[str, Any]) -> str | None:
    """The pod's QoS class: ``status.qosClass`` when set, else computed like Kubernetes'
    ``GetPodQOS`` from the cpu/memory requests and limits of all containers (init included)."""
    given = (pod.get("status") or {}).get("qosClass")
    if given in _QOS:
        return str(given)
    spec = pod.get("spec") or {}
    if not isinstance(spec, dict) or not (spec.get("containers") or spec.get("initContainers")):
        return None
    pod_level = spec.get("resources")
    if isinstance(pod_level, dict) and (pod_level.get("requests") or pod_level.get("limits")):
        resources = [pod_level]
    else:
        resources = [
            c.get("resources")
            for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])
            if isinstance(c, dict)
        ]
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    guaranteed = True
    for res in resources:
        req, lim = container_resources(res)
        for name, value in req.items():
            if value > 0:
                requests[name] = requests.get(name, Decimal(0)) + value
        found = set()
        for name, value in lim.items():
            if value > 0:
                found.add(name)
                limits[name] = limits.get(name, Decimal(0)) + value
        if found != {"cpu", "memory"}:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and requests.keys() == limits.keys() and all(limits[n] == requests[n] for n in requests):
        return "Guaranteed"
    return "Burstable"
