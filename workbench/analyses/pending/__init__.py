"""Pending pod analysis: pods that could not be scheduled (now or earlier in the window), why,
counted by QoS class, namespace and workload, and what would make them fit.

>>> from workbench.analyses import pending
>>> p = pending.pending_pods(ds, cluster="eks-prod-us-east-1")        # doctest: +SKIP
>>> pending.summary(p, by="qos_class")                                # doctest: +SKIP
>>> pending.reasons(p)                                                # doctest: +SKIP
>>> pending.fit(ds, cluster="eks-prod-us-east-1").filter(pl.col("candidate"))   # doctest: +SKIP
>>> pending.shortfall(ds)                                             # doctest: +SKIP

Where the evidence comes from (column ``sources``): ``pods`` (Pending without a node at the
snapshot's end), ``objects`` (a revision that was Pending with PodScheduled=False, so pods that
waited and later got a node are found too) and ``events`` (FailedScheduling events, which
name pods the snapshot may never have seen; and ``exceeded quota`` FailedCreate events of a
ReplicaSet, StatefulSet, DaemonSet or Job, for pods that were never created: ``state`` is
``refused`` and the QoS class and requests are the controller's pod template's).

Scheduler messages are taken apart by :func:`parse_message` into the categories of
:data:`CATEGORIES` with the number of nodes that gave each; a message can have several, the
``primary`` one has the most nodes (nodes rejected for the pod's own node selector/affinity only
count when nothing else is said: the pod never wanted them).

Result columns:

- :func:`pending_pods`: :data:`PENDING_COLUMNS`: one row per pod (or refused creation), still
  pending first. ``pending_for`` runs from creation to the moment it got a node (``state``
  ``scheduled``), was deleted (``deleted``) or the snapshot's end (``pending``).
- :func:`reasons`: :data:`REASON_COLUMNS`: one row per pod and reason of its latest message.
- :func:`summary`: counts by ``qos_class``, ``namespace``, ``workload``, ``primary``… (
  :data:`SUMMARY_COLUMNS` after the group columns).
- :func:`headroom`: :data:`HEADROOM_COLUMNS`: every node's allocatable minus the requests of the
  pods bound to it and not finished, at a moment.
- :func:`fit`: :data:`FIT_COLUMNS`: per pending pod and node at the moment it waited: could the
  node take it (selector, affinity, taints, cordon, readiness), would it fit, and the advice
  ("fits on X if its cpu request were ≤ Y").
- :func:`shortfall`: :data:`SHORTFALL_COLUMNS`: per cluster, what it lacks for all pods still
  waiting for resources.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import polars as pl

from workbench.analyses.manifests._objects import as_time, resolve_params, snapshot_end
from workbench.analyses.params import Params, field
from workbench.analyses.pending._capacity import HEADROOM_COLUMNS, Capacities, Capacity, node_blockers
from workbench.analyses.pending._collect import collect
from workbench.analyses.pending._fit import (
    FIT_COLUMNS,
    SHORTFALL_COLUMNS,
    fit_rows,
    fmt_bytes,
    fmt_cpu,
    shortfall_rows,
)
from workbench.analyses.pending._frames import (
    GROUPS,
    PENDING_COLUMNS,
    REASON_COLUMNS,
    SUMMARY_COLUMNS,
    reasons,
    summary,
)
from workbench.analyses.pending._frames import frame as _frame
from workbench.analyses.pending._messages import (
    CATEGORIES,
    RESOURCE_CATEGORIES,
    ParsedMessage,
    Reason,
    parse_message,
    parse_quota_message,
)
from workbench.errors import ParameterError
from workbench.store import Dataset

__all__ = [
    "CATEGORIES",
    "FIT_COLUMNS",
    "GROUPS",
    "HEADROOM_COLUMNS",
    "PENDING_COLUMNS",
    "REASON_COLUMNS",
    "RESOURCE_CATEGORIES",
    "SHORTFALL_COLUMNS",
    "SUMMARY_COLUMNS",
    "Capacities",
    "ParsedMessage",
    "PendingParams",
    "Reason",
    "fit",
    "fmt_bytes",
    "fmt_cpu",
    "headroom",
    "node_blockers",
    "parse_message",
    "parse_messages",
    "parse_quota_message",
    "pending_pods",
    "reasons",
    "shortfall",
    "summary",
]


@dataclasses.dataclass(frozen=True, kw_only=True)
class PendingParams(Params):
    """Which pending pods to look at."""

    cluster: str | None = field(None, "cluster to analyse (all when empty)")
    namespace: str | None = field(None, "namespace to analyse (all when empty)")
    start: dt.datetime | str | None = field(None, "window start, UTC (the snapshot's start when empty)")
    end: dt.datetime | str | None = field(None, "window end, UTC (the snapshot's end when empty)")
    include_past: bool = field(
        True,  # noqa: FBT003
        "also pods that waited earlier in the window and then got a node or were deleted",
    )
    include_refused: bool = field(True, "also pod creations a ResourceQuota refused (FailedCreate events)")  # noqa: FBT003

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("start", "end"):
            object.__setattr__(self, name, as_time(getattr(self, name), what=name))
        for name in ("cluster", "namespace"):
            if getattr(self, name) == "":
                object.__setattr__(self, name, None)
        if self.start is not None and self.end is not None and self.start >= self.end:
            msg = f"start ({self.start}) must be before end ({self.end})"
            raise ParameterError(msg)

    def window(self, ds: Dataset) -> tuple[dt.datetime | None, dt.datetime]:
        return self.start or ds.window[0], self.end or snapshot_end(ds)


def _check_scope(ds: Dataset, p: PendingParams) -> None:
    """Unknown cluster or namespace names raise, listing the closest."""
    from workbench.analyses.params import require_one_of

    if p.cluster is not None:
        require_one_of("cluster", p.cluster, ds.clusters)
    if p.namespace is not None:
        names = (
            ds.scan("pods", cluster=p.cluster)
            .select("namespace")
            .unique()
            .collect()["namespace"]
            .drop_nulls()
        )
        events = (
            ds.scan("events", cluster=p.cluster)
            .select(pl.coalesce("involved_namespace", "namespace"))
            .unique()
            .collect()
        )
        require_one_of(
            "namespace", p.namespace, [*names.to_list(), *events.to_series().drop_nulls().to_list()]
        )


def pending_pods(ds: Dataset, params: PendingParams | None = None, **changes: Any) -> pl.DataFrame:
    """Every pod that waited for a node in the window, and pod creations refused by a quota
    (:data:`PENDING_COLUMNS`); still pending first, longest waits first."""
    p = resolve_params(PendingParams, params, changes)
    _check_scope(ds, p)
    start, end = p.window(ds)
    found = collect(ds, cluster=p.cluster, namespace=p.namespace, start=start, end=end)
    if not p.include_refused:
        found = [ev for ev in found if ev.refused is None]
    return _frame(found, start=start, end=end, include_past=p.include_past)


def parse_messages(messages: pl.Series | list[str | None]) -> pl.DataFrame:
    """Scheduler messages taken apart, one row per message and reason: message, nodes_total,
    category, nodes, detail, text, primary (bool), preemption."""
    rows = []
    for text in list(messages):
        parsed = parse_message(text)
        for r in parsed.reasons:
            rows.append({"message": text, "nodes_total": parsed.nodes_total, "category": r.category, "nodes": r.nodes,
                         "detail": r.detail, "text": r.text, "primary": r.category == parsed.primary,
                         "preemption": parsed.preemption})  # fmt: skip
    schema = {"message": pl.String, "nodes_total": pl.Int32, "category": pl.String, "nodes": pl.Int32,
              "detail": pl.String, "text": pl.String, "primary": pl.Boolean, "preemption": pl.String}  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def headroom(ds: Dataset, *, at: Any = None, cluster: str | None = None,
             capacity: Capacities | None = None) -> pl.DataFrame:  # fmt: skip
    """Every node's free allocatable at ``at`` (default: the snapshot's end), from the node's
    and the pods' revisions at that moment (:data:`HEADROOM_COLUMNS`). ``capacity``: the
    revisions already read (:class:`Capacities` of ``ds``, kept between calls)."""
    when = as_time(at, what="at") or snapshot_end(ds)
    if cluster:
        from workbench.analyses.params import require_one_of

        require_one_of("cluster", cluster, ds.clusters)
    cap = (
        capacity(cluster or None, when)
        if capacity is not None
        else Capacity(ds, cluster=cluster or None, end=when)
    )
    return cap.at(when)


def fit(ds: Dataset, params: PendingParams | None = None, *, pending: pl.DataFrame | None = None,
        capacity: Capacities | None = None, **changes: Any) -> pl.DataFrame:  # fmt: skip
    """Per pending pod and node, at the moment the pod waited (the snapshot's end when it still
    waits, else just before it got a node): is the node a candidate, would the pod fit, and the
    advice (:data:`FIT_COLUMNS`). ``pending``: a :func:`pending_pods` result to reuse;
    ``capacity``: the revisions already read (:class:`Capacities` of ``ds``)."""
    p = resolve_params(PendingParams, params, changes)
    _, end = p.window(ds)
    rows = pending if pending is not None else pending_pods(ds, p)
    return fit_rows(ds, rows.filter(pl.col("state") != "refused"), end=end, capacity=capacity)


def shortfall(ds: Dataset, params: PendingParams | None = None, *, pending: pl.DataFrame | None = None,
              capacity: Capacities | None = None, **changes: Any) -> pl.DataFrame:  # fmt: skip
    """Per cluster: what it lacks, at the window's end, to place every pod still waiting for
    resources (:data:`SHORTFALL_COLUMNS`; see :func:`~workbench.analyses.pending._fit.shortfall_rows`).
    ``pending`` and ``capacity`` as for :func:`fit`."""
    p = resolve_params(PendingParams, params, changes)
    _, end = p.window(ds)
    rows = pending if pending is not None else pending_pods(ds, p)
    return shortfall_rows(ds, rows, at=end, capacity=capacity)
