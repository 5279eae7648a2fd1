"""The demo's simulation records: what happens to each pod, workload and node over the window.

Everything the demo writes (object revisions, events, metrics, spans, logs) is rendered from
these records, so all signals tell the same story.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from workbench.sources.demo.apps import AppSpec, ContainerSpec
from workbench.sources.demo.world import Node

__all__ = ["EventRec", "NodeLife", "PodLife", "Run", "Workload", "FOREVER"]

#: A time after every window: "still true at the end".
FOREVER = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


@dataclass
class Run:
    """One run of one container: from start until it ended (None: still running)."""

    start: dt.datetime
    end: dt.datetime | None = None
    reason: str | None = None  # how it ended: OOMKilled, Error, Completed
    exit_code: int | None = None


@dataclass
class EventRec:
    """A core/v1 Event, possibly repeated (``count`` times between first and last)."""

    first: dt.datetime
    kind: str
    namespace: str | None
    name: str
    uid: str
    type: str
    reason: str
    message: str
    component: str
    host: str | None = None
    field_path: str | None = None
    count: int = 1
    last: dt.datetime | None = None
    api_version: str = "v1"


@dataclass
class PodLife:
    """One pod from creation to deletion."""

    cluster: str
    part: int
    app: AppSpec
    namespace: str
    name: str
    uid: str
    owner_kind: str | None
    owner_name: str | None
    owner_uid: str | None
    labels: dict[str, str]
    images: dict[str, str]
    created: dt.datetime
    node: str | None = None
    pod_ip: str | None = None
    host_ip: str | None = None
    scheduled: dt.datetime | None = None
    started: dt.datetime | None = None
    ready: dt.datetime | None = None
    unready: dt.datetime | None = None  # node lost: Ready=False set by the node controller
    terminating: dt.datetime | None = None
    ended: dt.datetime | None = None  # containers stopped
    deleted: dt.datetime | None = None
    outcome: str | None = None  # Succeeded | Evicted | Lost | Killed
    mode: str = "normal"  # normal | pending | init-crash | image-pull | job
    runs: dict[str, list[Run]] = field(default_factory=dict)
    init_runs: dict[str, list[Run]] = field(default_factory=dict)
    behaviour: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    pulled: bool = False
    ordinal: int | None = None  # StatefulSet pods
    template_hash: str | None = None

    @property
    def containers(self) -> tuple[ContainerSpec, ...]:
        return self.app.containers

    def image(self, c: ContainerSpec) -> str:
        return self.images.get(c.name, c.image)

    def exists_at(self, t: dt.datetime) -> bool:
        return self.created <= t and (self.deleted is None or t < self.deleted)

    def serving(self, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
        """Intervals when the pod is Ready (receives traffic through its Service)."""
        if self.ready is None:
            return []
        stop = min(
            t for t in (self.unready, self.terminating, self.ended, self.deleted, end) if t is not None
        )
        main = self.containers[0].name
        runs = self.runs.get(main, [])
        out: list[tuple[dt.datetime, dt.datetime]] = []
        first = True
        for run in runs:
            begin = self.ready if first else run.start + dt.timedelta(seconds=8)
            first = False
            finish = min(run.end or stop, stop)
            if begin < finish:
                out.append((begin, finish))
        return out


@dataclass
class Workload:
    """A controller object (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob)."""

    kind: str
    cluster: str
    part: int
    app: AppSpec
    namespace: str
    name: str
    uid: str
    created: dt.datetime
    owner: Workload | None = None
    template_hash: str | None = None
    images: dict[str, str] = field(default_factory=dict)
    #: spec changes over time: (time, replicas, images or None)
    spec: list[tuple[dt.datetime, int, dict[str, str] | None]] = field(default_factory=list)
    pods: list[PodLife] = field(default_factory=list)
    children: list[Workload] = field(default_factory=list)
    deleted: dt.datetime | None = None
    completed: dt.datetime | None = None  # Job
    failed_create: tuple[dt.datetime, str] | None = None  # (since, message) of a quota refusal
    extra_times: list[dt.datetime] = field(default_factory=list)

    def replicas_at(self, t: dt.datetime) -> int:
        n = self.spec[0][1] if self.spec else 0
        for when, count, _ in self.spec:
            if when <= t:
                n = count
        return n

    def generation_at(self, t: dt.datetime) -> int:
        return 1 + sum(1 for when, _, _ in self.spec[1:] if when <= t)


@dataclass
class NodeLife:
    """One node and the changes to its taints and conditions over the window."""

    node: Node
    #: (time, what changed): keys "taints" (full list), "conditions" (type -> (status, reason, message))
    changes: list[tuple[dt.datetime, dict[str, Any]]] = field(default_factory=list)
    lost: dt.datetime | None = None  # kubelet stopped reporting (NotReady): no more scrapes

    def taints_at(self, t: dt.datetime) -> list[dict]:
        taints = list(self.node.taints)
        for when, change in self.changes:
            if when <= t and "taints" in change:
                taints = change["taints"]
        return taints

    def conditions_at(self, t: dt.datetime) -> dict[str, tuple[str, str, str, dt.datetime]]:
        """type -> (status, reason, message, lastTransitionTime)."""
        base = self.node.created + dt.timedelta(seconds=40)
        out = {
            "MemoryPressure": (
                "False",
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
                base,
            ),
            "DiskPressure": ("False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", base),
            "PIDPressure": ("False", "KubeletHasSufficientPID", "kubelet has sufficient PID available", base),
            "Ready": ("True", "KubeletReady", "kubelet is posting ready status", base),
        }
        for when, change in self.changes:
            if when <= t:
                for kind, (status, reason, message) in change.get("conditions", {}).items():
                    out[kind] = (status, reason, message, when)
        return out
