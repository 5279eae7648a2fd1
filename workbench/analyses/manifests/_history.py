"""One object's history: its revisions over a period, its diff between two moments, and its
timeline of revisions and events. (Re-exported by :mod:`workbench.analyses.manifests`.)"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from typing import Any

import polars as pl

from workbench.analyses.manifests._diff import (
    NOISE,
    category_of,
    field_changes,
    parse_path,
    strip_noise,
    to_yaml,
    unified_diff,
    value_text,
)
from workbench.analyses.manifests._objects import (
    TS,
    as_time,
    empty,
    object_revisions,
    parse_duration,
    resolve_params,
    revision_at,
    snapshot_end,
)
from workbench.analyses.params import Params, field
from workbench.errors import ParameterError
from workbench.store import Dataset

__all__ = [
    "FIELD_COLUMNS",
    "REVISION_COLUMNS",
    "TIMELINE_COLUMNS",
    "HistoryParams",
    "ManifestDiff",
    "diff",
    "object_events",
    "related_names",
    "revisions",
    "timeline",
]

log = logging.getLogger(__name__)

REVISION_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "kind": pl.String(),
    "namespace": pl.String(),
    "name": pl.String(),
    "uid": pl.String(),
    "revision": pl.Int32(),
    "observed_at": TS,
    "resource_version": pl.String(),
    "deleted": pl.Boolean(),
    "changes": pl.Int32(),
    "categories": pl.List(pl.String()),
    "summary": pl.String(),
    "manifest": pl.String(),
}

TIMELINE_COLUMNS: dict[str, pl.DataType] = {
    "time": TS,
    "end": TS,
    "source": pl.String(),
    "object": pl.String(),
    "type": pl.String(),
    "reason": pl.String(),
    "detail": pl.String(),
    "count": pl.Int32(),
}

FIELD_COLUMNS: dict[str, pl.DataType] = {
    "path": pl.String(),
    "category": pl.String(),
    "old": pl.String(),
    "new": pl.String(),
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class HistoryParams(Params):
    """Which revisions of one object to show."""

    cluster: str | None = field(None, "cluster of the object (needed when several hold that name)")
    period: str = field("7d", "how far back from `end` to look (30m, 6h, 7d…)")
    end: dt.datetime | str | None = field(None, "end of the period, UTC (the snapshot's end when empty)")
    ignore_noise: bool = field(True, "leave out fields that change by themselves (see NOISE)")  # noqa: FBT003
    noise: tuple[str, ...] = field(NOISE, "the paths ignored as noise")
    event_types: tuple[str, ...] = field(("Warning",), "event types shown on the timeline", choices=None)

    def __post_init__(self) -> None:
        super().__post_init__()
        parse_duration(self.period, what="period")
        object.__setattr__(self, "end", as_time(self.end, what="end"))
        object.__setattr__(self, "noise", tuple(self.noise))
        for path in self.noise:
            parse_path(path)
        bad = [t for t in self.event_types if t not in ("Normal", "Warning")]
        if bad:
            msg = f"event_types must be Normal and/or Warning (got {', '.join(map(repr, bad))})"
            raise ParameterError(msg)
        object.__setattr__(self, "event_types", tuple(self.event_types))

    def window(self, ds: Dataset) -> tuple[dt.datetime, dt.datetime]:
        end = self.end or snapshot_end(ds)
        return end - parse_duration(self.period, what="period"), end


@dataclasses.dataclass(frozen=True)
class ManifestDiff:
    """An object's manifest compared between two moments.

    ``before_at``/``after_at`` are the observation times of the revisions compared (None when
    the object did not exist at that moment); ``text`` is the unified diff of their YAML
    (empty when equal); ``added``/``removed`` its ``+``/``-`` lines without the markers;
    ``changes`` the field-level changes (:data:`FIELD_COLUMNS`).
    """

    cluster: str
    kind: str
    namespace: str | None
    name: str
    t1: dt.datetime
    t2: dt.datetime
    before_at: dt.datetime | None
    after_at: dt.datetime | None
    text: str
    added: list[str]
    removed: list[str]
    changes: pl.DataFrame

    def __str__(self) -> str:
        return self.text or f"{self.kind}/{self.name}: no changes between {self.t1} and {self.t2}"


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _clean(obj: Any, *, ignore_noise: bool, noise: tuple[str, ...]) -> Any:
    return strip_noise(obj, noise) if ignore_noise and obj is not None else obj


def _summary(changes: list[tuple[str, Any, Any]], *, limit: int = 3) -> str | None:
    if not changes:
        return None
    parts = [
        f"{p or '(object)'}: {value_text(o, width=60) or '∅'} → {value_text(n, width=60) or '∅'}"
        for p, o, n in changes[:limit]
    ]
    more = f" (+{len(changes) - limit} more)" if len(changes) > limit else ""
    return "; ".join(parts) + more


def revisions(
    ds: Dataset,
    kind: str,
    namespace: str | None,
    name: str,
    params: HistoryParams | None = None,
    **changes: Any,
) -> pl.DataFrame:
    """The object's revisions in the period (:data:`REVISION_COLUMNS`), each compared with the
    revision before it (also when that one is older than the period)."""
    p = resolve_params(HistoryParams, params, changes)
    start, end = p.window(ds)
    revs = object_revisions(ds, kind, namespace, name, cluster=p.cluster, end=end)
    rows = []
    previous: Any = None
    previous_uid = None
    number = 0
    for row in revs.iter_rows(named=True):
        current = _clean(_load(row["manifest"]), ignore_noise=p.ignore_noise, noise=p.noise)
        if row["uid"] != previous_uid:
            previous = None
        found = field_changes(previous, current) if previous is not None else []
        cats = sorted({category_of(row["kind"], c[0]) for c in found})
        if previous is None:
            cats = ["created"]
        if row["deleted"]:
            cats = ["deleted"]
        if row["observed_at"] >= start:
            number += 1
            rows.append(
                {
                    **{k: row[k] for k in ("cluster", "kind", "namespace", "name", "uid", "observed_at",
                                           "resource_version", "deleted", "manifest")},
                    "revision": number,
                    "changes": len(found),
                    "categories": cats,
                    "summary": "deleted" if row["deleted"] else (_summary(found) if previous is not None else "first revision"),
                }
            )  # fmt: skip
        previous, previous_uid = current, row["uid"]
    if not rows:
        return empty(REVISION_COLUMNS)
    return pl.DataFrame(rows, schema=REVISION_COLUMNS)


def diff(
    ds: Dataset,
    kind: str,
    namespace: str | None,
    name: str,
    t1: Any = None,
    t2: Any = None,
    *,
    cluster: str | None = None,
    ignore_noise: bool = True,
    noise: tuple[str, ...] = NOISE,
    context: int = 3,
) -> ManifestDiff:
    """The object's manifest at ``t1`` against the one at ``t2`` (each: the newest revision
    observed at or before that moment) as a unified YAML diff plus field-level changes.

    ``t1`` defaults to the object's first stored revision, ``t2`` to the snapshot's end."""
    a, b = as_time(t1, what="t1"), as_time(t2, what="t2")
    for path in noise:
        parse_path(path)
    revs = object_revisions(ds, kind, namespace, name, cluster=cluster)
    first = revs.row(0, named=True)
    a = a or first["observed_at"]
    b = b or snapshot_end(ds)
    if a > b:
        msg = f"t1 ({a}) must not be after t2 ({b})"
        raise ParameterError(msg)
    rows = [revision_at(revs, t) for t in (a, b)]
    objs = [
        None
        if r is None or r["deleted"]
        else _clean(_load(r["manifest"]), ignore_noise=ignore_noise, noise=tuple(noise))
        for r in rows
    ]
    label = f"{first['kind']}/{first['namespace'] + '/' if first['namespace'] else ''}{first['name']}"
    text = unified_diff(
        to_yaml(objs[0]), to_yaml(objs[1]), before_name=f"{label} @ {a.isoformat()}",
        after_name=f"{label} @ {b.isoformat()}", context=context,
    )  # fmt: skip
    body = text.splitlines()[2:]
    found = field_changes(objs[0], objs[1]) if objs[0] is not None and objs[1] is not None else []
    if objs[0] is None and objs[1] is not None:
        found = [("", None, f"{first['kind']}/{first['name']}")]
    elif objs[0] is not None and objs[1] is None:
        found = [("", f"{first['kind']}/{first['name']}", None)]
    fields = pl.DataFrame(
        [{"path": path, "category": _category(first["kind"], path, old, new), "old": value_text(old),
          "new": value_text(new)} for path, old, new in found],
        schema=FIELD_COLUMNS,
    )  # fmt: skip
    return ManifestDiff(
        cluster=first["cluster"], kind=first["kind"], namespace=first["namespace"], name=first["name"], t1=a, t2=b,
        before_at=rows[0]["observed_at"] if rows[0] else None, after_at=rows[1]["observed_at"] if rows[1] else None,
        text=text, added=[line[1:] for line in body if line.startswith("+")],
        removed=[line[1:] for line in body if line.startswith("-")], changes=fields,
    )  # fmt: skip


def _category(kind: str, path: str, old: Any, new: Any) -> str:
    if path == "":
        return "created" if old is None else "deleted"
    return category_of(kind, path)


#: Owner kind → the kinds it owns (a Deployment owns ReplicaSets, a CronJob owns Jobs).
_OWNS = {"Deployment": "ReplicaSet", "CronJob": "Job"}
_POD_OWNERS = frozenset({"ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"})


def related_names(
    ds: Dataset, kind: str, namespace: str | None, name: str, *, cluster: str
) -> list[tuple[str, str]]:
    """``(kind, name)`` of the object and what it runs: a Deployment's ReplicaSets, a CronJob's
    Jobs, and the pods of all of those (pods deleted since included)."""
    found = [(kind, name)]
    if kind not in _OWNS and kind not in _POD_OWNERS:
        return found
    owners = [(kind, name)]
    if kind in _OWNS:
        children = (
            ds.scan("workloads", cluster=cluster, namespace=namespace)
            .filter(pl.col("kind").cast(pl.String) == _OWNS[kind], pl.col("owner_kind") == kind,
                    pl.col("owner_name") == name)
            .select("name")
            .collect()
        )  # fmt: skip
        owners += [(_OWNS[kind], n) for n in children["name"].to_list()]
    pods = (
        ds.scan("pods", cluster=cluster, namespace=namespace)
        .select("name", "owner_kind", "owner_name")
        .collect()
    )
    wanted = {(k, n) for k, n in owners}
    pod_names = sorted(
        {r["name"] for r in pods.iter_rows(named=True) if (r["owner_kind"], r["owner_name"]) in wanted}
    )
    return found + [o for o in owners[1:]] + [("Pod", p) for p in pod_names]


def object_events(
    ds: Dataset,
    kind: str,
    namespace: str | None,
    name: str,
    *,
    cluster: str,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    types: tuple[str, ...] | None = None,
    related: bool = True,
) -> pl.DataFrame:
    """Events about the object (``events`` table columns, oldest first); with ``related`` also
    about what it runs (see :func:`related_names`)."""
    targets = related_names(ds, kind, namespace, name, cluster=cluster) if related else [(kind, name)]
    events = ds.scan("events", cluster=cluster, start=start, end=end)
    if types:
        events = events.filter(pl.col("type").cast(pl.String).is_in(list(types)))
    match = pl.lit(value=False)
    for k, n in targets:
        match = match | (
            (pl.col("involved_name") == n)
            & (pl.col("involved_kind").is_null() | (pl.col("involved_kind") == k))
        )
    events = events.filter(match)
    if namespace:
        events = events.filter(pl.coalesce("involved_namespace", "namespace") == namespace)
    return events.sort(pl.coalesce("first_time", "last_time"), nulls_last=False).collect()


def timeline(
    ds: Dataset,
    kind: str,
    namespace: str | None,
    name: str,
    params: HistoryParams | None = None,
    **changes: Any,
) -> pl.DataFrame:
    """The object's revisions in the period and the events (``params.event_types``, Warning by
    default) about it and what it runs, oldest first (:data:`TIMELINE_COLUMNS`)."""
    p = resolve_params(HistoryParams, params, changes)
    start, end = p.window(ds)
    revs = revisions(ds, kind, namespace, name, p)
    if revs.is_empty():
        first = object_revisions(ds, kind, namespace, name, cluster=p.cluster).row(0, named=True)
        cluster, kind_, ns = first["cluster"], first["kind"], first["namespace"]
    else:
        cluster, kind_, ns = revs["cluster"][0], revs["kind"][0], revs["namespace"][0]
    rev_rows = revs.select(
        pl.col("observed_at").alias("time"),
        pl.col("observed_at").alias("end"),
        pl.lit("revision").alias("source"),
        pl.format("{}/{}", "kind", "name").alias("object"),
        pl.lit(None, dtype=pl.String).alias("type"),
        pl.col("categories").list.join(", ").alias("reason"),
        pl.col("summary").alias("detail"),
        pl.lit(1, dtype=pl.Int32).alias("count"),
    )
    events = object_events(ds, kind_, ns, name, cluster=cluster, start=start, end=end, types=p.event_types)
    ev_rows = events.select(
        pl.coalesce("first_time", "last_time").alias("time"),
        pl.coalesce("last_time", "first_time").alias("end"),
        pl.lit("event").alias("source"),
        pl.format("{}/{}", pl.col("involved_kind").fill_null("?"), "involved_name").alias("object"),
        pl.col("type").cast(pl.String),
        pl.col("reason"),
        pl.col("message").alias("detail"),
        pl.col("count").fill_null(1),
    )
    out = pl.concat([rev_rows.cast(TIMELINE_COLUMNS), ev_rows.cast(TIMELINE_COLUMNS)])  # type: ignore[arg-type]
    return out.sort("time", "source", maintain_order=True)
