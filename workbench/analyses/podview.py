"""Pod view: the pods that exist at the snapshot's end grouped by Namespace, Node, ReplicaSet,
Deployment, DaemonSet, StatefulSet, Job, CronJob or Service, with counts, problem pods, and
each pod's container states.

>>> from workbench.analyses import podview
>>> cards = podview.pods(ds, cluster="eks-prod-us-east-1", group_by="deployment")   # doctest: +SKIP
>>> podview.groups(cards)                                                          # doctest: +SKIP

A pod is in one group per grouping, except by Service: a pod selected by several Services is in
each of them. Pods outside every group of the chosen kind (a DaemonSet pod when grouping by
Deployment, a pod no Service selects) are left out unless ``include_ungrouped`` (then their
group is ``(none)``). Problem pods are the cluster dashboard's
(:func:`workbench.analyses.overview.problem_pods`): bad status, not ready, or restarted recently.

Result columns:

- :func:`pods`: :data:`POD_COLUMNS`: one row per pod and group; ``containers`` and ``states``
  are parallel lists, init containers first (named ``init:<name>``); a state reads
  ``running``, ``waiting:CrashLoopBackOff``, ``terminated:Completed``… (``unknown`` when the
  pod has no status for it).
- :func:`groups`: :data:`GROUP_COLUMNS`: one row per group, groups with problems first.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import polars as pl

from workbench.analyses import overview
from workbench.analyses.manifests._objects import empty, resolve_params, snapshot_end
from workbench.analyses.params import Params, field, require_one_of
from workbench.store import Dataset

__all__ = [
    "GROUP_BY",
    "GROUP_COLUMNS",
    "NONE_GROUP",
    "POD_COLUMNS",
    "PodViewParams",
    "container_state",
    "container_states",
    "groups",
    "pods",
]

#: What pods can be grouped by.
GROUP_BY: tuple[str, ...] = (
    "namespace", "node", "replicaset", "deployment", "daemonset", "statefulset", "job", "cronjob", "service",
)  # fmt: skip
#: The group of pods outside every group of the chosen kind (with ``include_ungrouped``).
NONE_GROUP = "(none)"

POD_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "group_by": pl.String(),
    "group": pl.String(),
    "namespace": pl.String(),
    "name": pl.String(),
    "uid": pl.String(),
    "node": pl.String(),
    "status": pl.String(),
    "ready": pl.String(),
    "restarts": pl.Int32(),
    "age": pl.Duration("us"),
    "qos_class": pl.String(),
    "workload_kind": pl.String(),
    "workload_name": pl.String(),
    "containers": pl.List(pl.String()),
    "states": pl.List(pl.String()),
    "is_problem": pl.Boolean(),
    "problem": pl.String(),
    "reason": pl.String(),
}

GROUP_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "group_by": pl.String(),
    "group": pl.String(),
    "namespace": pl.String(),
    "pods": pl.Int64(),
    "problem_pods": pl.Int64(),
    "ready_pods": pl.Int64(),
    "restarts": pl.Int64(),
    "statuses": pl.String(),
    "problems": pl.List(pl.String()),
}

_OWNER_GROUP = {
    "replicaset": "ReplicaSet",
    "daemonset": "DaemonSet",
    "statefulset": "StatefulSet",
    "job": "Job",
}
_WORKLOAD_GROUP = {"deployment": "Deployment", "cronjob": "CronJob"}
_NAMESPACED = frozenset(GROUP_BY) - {"node", "namespace"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class PodViewParams(Params):
    """What the pod view shows."""

    cluster: str | None = field(None, "cluster to show (all when empty)")
    namespace: str | None = field(None, "namespace to show (all when empty)")
    group_by: str = field("namespace", "group pods by", choices=GROUP_BY)
    only_problems: bool = field(False, "show only problem pods")  # noqa: FBT003
    include_ungrouped: bool = field(False, f"keep pods outside every group, in a group named {NONE_GROUP!r}")  # noqa: FBT003

    def __post_init__(self) -> None:
        if isinstance(self.group_by, str):
            object.__setattr__(self, "group_by", self.group_by.lower())
        for name in ("cluster", "namespace"):
            if getattr(self, name) == "":
                object.__setattr__(self, name, None)
        super().__post_init__()


def container_state(state: str | None, reason: str | None) -> str:
    """One container's state in a few characters: ``running``, ``waiting:CrashLoopBackOff``,
    ``terminated:Completed``, ``unknown``.

    >>> container_state("waiting", "CrashLoopBackOff"), container_state("running", None)
    ('waiting:CrashLoopBackOff', 'running')
    """
    if not state:
        return "unknown"
    return f"{state}:{reason}" if reason and state != "running" else state


def container_states(
    ds: Dataset, *, cluster: str | None = None, namespace: str | None = None
) -> pl.DataFrame:
    """Per pod (cluster, pod_uid): ``containers`` and ``states`` lists, init containers first."""
    rows = ds.scan("containers", cluster=cluster, namespace=namespace).with_row_index("_i").collect()
    if rows.is_empty():
        return pl.DataFrame(schema={"cluster": pl.String, "pod_uid": pl.String, "containers": pl.List(pl.String),
                                    "states": pl.List(pl.String)})  # fmt: skip
    rows = rows.with_columns(
        pl.when(pl.col("is_init"))
        .then(pl.format("init:{}", "name"))
        .otherwise(pl.col("name"))
        .alias("_name"),
        pl.struct("state", "reason")
        .map_elements(lambda s: container_state(s["state"], s["reason"]), return_dtype=pl.String)
        .alias("_state"),  # fmt: skip
    )
    return (
        rows.sort(pl.col("is_init").not_(), "_i")
        .group_by("cluster", "pod_uid", maintain_order=True)
        .agg(pl.col("_name").alias("containers"), pl.col("_state").alias("states"))
    )


def _group_expr(group_by: str) -> pl.Expr:
    if group_by == "namespace":
        return pl.col("namespace")
    if group_by == "node":
        return pl.col("node").fill_null("(unscheduled)")
    if group_by in _OWNER_GROUP:
        return pl.when(pl.col("owner_kind") == _OWNER_GROUP[group_by]).then(pl.col("owner_name"))
    return pl.when(pl.col("workload_kind") == _WORKLOAD_GROUP[group_by]).then(pl.col("workload_name"))


def _check_scope(ds: Dataset, p: PodViewParams) -> None:
    if p.cluster is not None:
        require_one_of("cluster", p.cluster, ds.clusters)
    if p.namespace is not None:
        require_one_of("namespace", p.namespace, overview.namespaces(ds, cluster=p.cluster))


def pods(ds: Dataset, params: PodViewParams | None = None, **changes: Any) -> pl.DataFrame:
    """The pods as cards (:data:`POD_COLUMNS`), sorted by group, problem pods first in each."""
    p = resolve_params(PodViewParams, params, changes)
    _check_scope(ds, p)
    at_end = overview.pods_at_end(ds, cluster=p.cluster, namespace=p.namespace)
    if at_end.is_empty():
        return empty(POD_COLUMNS)
    end = snapshot_end(ds)
    problems = overview.problem_pods(ds, cluster=p.cluster, namespace=p.namespace).select(
        "cluster", "namespace", "name", "problem")  # fmt: skip
    states = container_states(ds, cluster=p.cluster, namespace=p.namespace)
    base = (
        at_end.join(problems, on=["cluster", "namespace", "name"], how="left", nulls_equal=True)
        .join(states, left_on=["cluster", "uid"], right_on=["cluster", "pod_uid"], how="left")
        .with_columns(
            pl.lit(p.group_by).alias("group_by"),
            pl.format(
                "{}/{}", pl.col("containers_ready").fill_null(0), pl.col("containers_total").fill_null(0)
            ).alias("ready"),
            (pl.lit(end) - pl.col("created")).cast(pl.Duration("us")).alias("age"),
            pl.col("problem").is_not_null().alias("is_problem"),
            pl.col("qos_class").cast(pl.String),
            pl.col("containers").fill_null([]),
            pl.col("states").fill_null([]),
        )
    )
    if p.group_by == "service":
        services = ds.services(cluster=p.cluster, namespace=p.namespace).select(
            "cluster", "namespace", pl.col("name").alias("group"), pl.col("pods").alias("_pod")).explode("_pod")  # fmt: skip
        base = base.join(services, left_on=["cluster", "namespace", "name"], right_on=["cluster", "namespace", "_pod"],
                         how="left")  # fmt: skip
    else:
        base = base.with_columns(_group_expr(p.group_by).alias("group"))
    if p.include_ungrouped:
        base = base.with_columns(pl.col("group").fill_null(pl.lit(NONE_GROUP)))
    else:
        base = base.filter(pl.col("group").is_not_null())
    if p.only_problems:
        base = base.filter(pl.col("is_problem"))
    out = base.select(list(POD_COLUMNS)).cast(POD_COLUMNS)  # type: ignore[arg-type]
    return out.sort(
        ["cluster", "group", "is_problem", "namespace", "name"], descending=[False, False, True, False, False]
    )


def groups(data: Dataset | pl.DataFrame, params: PodViewParams | None = None, **changes: Any) -> pl.DataFrame:
    """One row per group (:data:`GROUP_COLUMNS`): pods, problem pods, ready pods (all containers
    ready), restarts, the statuses with counts (``"Running 3, CrashLoopBackOff 1"``) and the
    problem pods' names; groups with the most problem pods first. Takes a Dataset (with the
    parameters of :func:`pods`) or a :func:`pods` result."""
    cards = data if isinstance(data, pl.DataFrame) else pods(data, params, **changes)
    if cards.is_empty():
        return empty(GROUP_COLUMNS)
    namespaced = cards.with_columns(
        pl.when(pl.col("group_by").is_in(list(_NAMESPACED))).then(pl.col("namespace")).alias("_gns")
    )
    counts = (
        namespaced.group_by("cluster", "group_by", "group", "_gns", "status")
        .len()
        .sort(["len", "status"], descending=[True, False])
        .group_by("cluster", "group_by", "group", "_gns", maintain_order=True)
        .agg(pl.format("{} {}", "status", "len").str.join(", ").alias("statuses"))
    )
    ready = pl.col("ready").str.split("/")
    out = namespaced.group_by("cluster", "group_by", "group", "_gns").agg(
        pl.len().cast(pl.Int64).alias("pods"),
        pl.col("is_problem").sum().cast(pl.Int64).alias("problem_pods"),
        (ready.list.get(0) == ready.list.get(1)).sum().cast(pl.Int64).alias("ready_pods"),
        pl.col("restarts").sum().cast(pl.Int64),
        pl.col("name").filter(pl.col("is_problem")).sort().alias("problems"),
    )
    out = out.join(counts, on=["cluster", "group_by", "group", "_gns"], how="left", nulls_equal=True)
    out = out.rename({"_gns": "namespace"}).sort(
        ["problem_pods", "pods", "cluster", "group"], descending=[True, True, False, False])  # fmt: skip
    return out.select(list(GROUP_COLUMNS)).cast(GROUP_COLUMNS)  # type: ignore[arg-type]
