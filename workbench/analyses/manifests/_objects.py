"""Finding objects and their revisions in a snapshot; helpers shared by the cluster analyses
(manifest history, pending pods, pod view, resource browser).

Every revision of every object is a row of the ``objects`` table (``manifest`` is its JSON
text). "The object as of time t" is its newest revision observed at or before t, unless that
revision is a deletion.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import polars as pl

from workbench.analyses.params import Params, closest, parse_duration, resolve_params
from workbench.errors import ParameterError
from workbench.store import Dataset, to_utc

__all__ = [
    "TS",
    "as_time",
    "canonical_kind",
    "manifest_at",
    "object_revisions",
    "parse_duration",
    "resolve_params",
    "snapshot_end",
]

log = logging.getLogger(__name__)

TS = pl.Datetime("us", "UTC")
P = TypeVar("P", bound=Params)

#: kubectl's short names and plurals → kind.
KIND_ALIASES: dict[str, str] = {
    "po": "Pod", "pod": "Pod", "pods": "Pod",
    "no": "Node", "node": "Node", "nodes": "Node",
    "ns": "Namespace", "namespace": "Namespace", "namespaces": "Namespace",
    "deploy": "Deployment", "deployment": "Deployment", "deployments": "Deployment",
    "rs": "ReplicaSet", "replicaset": "ReplicaSet", "replicasets": "ReplicaSet",
    "ds": "DaemonSet", "daemonset": "DaemonSet", "daemonsets": "DaemonSet",
    "sts": "StatefulSet", "statefulset": "StatefulSet", "statefulsets": "StatefulSet",
    "job": "Job", "jobs": "Job", "cj": "CronJob", "cronjob": "CronJob", "cronjobs": "CronJob",
    "svc": "Service", "service": "Service", "services": "Service",
    "cm": "ConfigMap", "configmap": "ConfigMap", "configmaps": "ConfigMap",
    "pvc": "PersistentVolumeClaim", "persistentvolumeclaim": "PersistentVolumeClaim",
    "pv": "PersistentVolume", "persistentvolume": "PersistentVolume",
    "hpa": "HorizontalPodAutoscaler", "horizontalpodautoscaler": "HorizontalPodAutoscaler",
    "quota": "ResourceQuota", "resourcequota": "ResourceQuota",
    "ing": "Ingress", "ingress": "Ingress", "ev": "Event", "event": "Event", "events": "Event",
}  # fmt: skip


def as_time(value: Any, *, what: str) -> dt.datetime | None:
    """A time parameter (datetime, date or ISO text; empty = None) as aware UTC."""
    if value is None or value == "":
        return None
    try:
        return to_utc(value)
    except ParameterError as err:
        msg = f"{what}: {err}"
        raise ParameterError(msg) from err


def snapshot_end(ds: Dataset) -> dt.datetime:
    """The end of the snapshot: its window's end, else the newest observation, else now."""
    end = ds.window[1]
    if end is not None:
        return end
    for table in ("objects", "pods"):
        got = ds.scan(table, latest=False).select(pl.col("observed_at").max()).collect().item()
        if got is not None:
            return got
    return dt.datetime.now(dt.UTC)


def snapshot_start(ds: Dataset) -> dt.datetime | None:
    """The start of the snapshot window (None when unknown)."""
    return ds.window[0]


def canonical_kind(kind: str, known: Iterable[str] = ()) -> str:
    """A kind as the API spells it: ``deploy``, ``deployments`` or ``deployment`` → ``Deployment``.

    Kinds found in the snapshot (``known``) are matched case-insensitively too.
    """
    text = str(kind).strip()
    if not text:
        msg = "kind must be given, e.g. Deployment, Pod, Node or Service"
        raise ParameterError(msg)
    by_lower = {k.lower(): k for k in known}
    if text.lower() in by_lower:
        return by_lower[text.lower()]
    if text.lower() in KIND_ALIASES:
        return KIND_ALIASES[text.lower()]
    return text[0].upper() + text[1:]


def _kinds(ds: Dataset, cluster: str | None) -> list[str]:
    got = ds.scan("objects", cluster=cluster, latest=False).select(pl.col("kind").unique()).collect()
    return sorted(k for k in got["kind"].to_list() if k)


def object_revisions(
    ds: Dataset,
    kind: str,
    namespace: str | None,
    name: str,
    *,
    cluster: str | None = None,
    end: dt.datetime | None = None,
) -> pl.DataFrame:
    """Every stored revision of one object (``objects`` rows, oldest first), up to ``end``.

    ``namespace`` is ignored for cluster-scoped kinds (Node, Namespace…). Raises
    :class:`ParameterError` when nothing of that kind and name exists (naming the closest
    names), or when the object exists in several clusters and ``cluster`` is not given.
    """
    known = _kinds(ds, cluster)
    kind = canonical_kind(kind, known)
    if kind not in known:
        near = closest(kind, known)
        hint = (
            f"; closest: {', '.join(near)}"
            if near
            else f"; the snapshot holds: {', '.join(known) or 'nothing'}"
        )
        msg = f"no {kind} objects in the snapshot{hint}"
        raise ParameterError(msg)
    lf = ds.scan("objects", cluster=cluster, latest=False).filter(pl.col("kind") == kind)
    if end is not None:
        lf = lf.filter(pl.col("observed_at") <= end)
    ns = namespace or None
    same_kind = lf.select("cluster", "namespace", "name").unique().collect()
    mine = same_kind.filter(pl.col("name") == name)
    if ns is not None:
        mine = mine.filter((pl.col("namespace") == ns) | pl.col("namespace").is_null())
    if mine.is_empty():
        in_ns = same_kind if ns is None else same_kind.filter(pl.col("namespace") == ns)
        pool = in_ns["name"].to_list()
        near = closest(name, pool)
        if not near:
            labels = [
                f"{r['namespace']}/{r['name']}" if r["namespace"] else r["name"]
                for r in same_kind.iter_rows(named=True)
            ]
            near = closest(name, labels) or closest(f"{ns}/{name}", labels)
        where = f" in namespace {ns!r}" if ns else ""
        hint = f"; closest: {', '.join(near)}" if near else f"; there are {same_kind.height} {kind} objects"
        msg = f"no {kind} named {name!r}{where}{hint}"
        raise ParameterError(msg)
    clusters = sorted(set(mine["cluster"].to_list()))
    if len(clusters) > 1:
        msg = f"{kind} {name!r} exists in clusters {', '.join(clusters)}; choose one with cluster="
        raise ParameterError(msg)
    nss = sorted({n for n in mine["namespace"].to_list() if n})
    if ns is None and len(nss) > 1:
        msg = f"{kind} {name!r} exists in namespaces {', '.join(nss)}; choose one with namespace="
        raise ParameterError(msg)
    lf = lf.filter(pl.col("cluster") == clusters[0], pl.col("name") == name)
    lf = lf.filter(pl.col("namespace").is_null()) if not nss else lf.filter(pl.col("namespace") == nss[0])
    return lf.sort("observed_at", maintain_order=True).collect()


def revision_at(revisions: pl.DataFrame, at: dt.datetime | None) -> dict[str, Any] | None:
    """The newest row of ``revisions`` observed at or before ``at`` (the last when None)."""
    rows = revisions if at is None else revisions.filter(pl.col("observed_at") <= at)
    return None if rows.is_empty() else rows.row(rows.height - 1, named=True)


def manifest_at(
    ds: Dataset,
    kind: str,
    namespace: str | None,
    name: str,
    at: Any = None,
    *,
    cluster: str | None = None,
) -> dict[str, Any] | None:
    """The object's manifest as it was at ``at`` (default: the snapshot's end); ``None`` when it
    did not exist then (not yet observed, or deleted). Unknown objects raise ParameterError."""
    when = as_time(at, what="at")
    revisions = object_revisions(ds, kind, namespace, name, cluster=cluster)
    row = revision_at(revisions, when)
    if row is None or row["deleted"]:
        return None
    return json.loads(row["manifest"])


def controller_of(metadata: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(kind, name)`` of an object's controller ownerReference (else its first owner)."""
    refs = [r for r in metadata.get("ownerReferences") or [] if isinstance(r, dict)]
    ref = next((r for r in refs if r.get("controller") is True), refs[0] if refs else None)
    if not ref or not ref.get("kind") or not ref.get("name"):
        return None
    return str(ref["kind"]), str(ref["name"])


def empty(columns: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """No data: an empty frame with the result's columns."""
    return pl.DataFrame(schema=dict(columns))
