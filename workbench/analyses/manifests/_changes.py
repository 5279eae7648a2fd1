"""What changed in the cluster in a window: one row per changed field of any object, ranked by
nearness to a moment (an incident's start). (Re-exported by :mod:`workbench.analyses.manifests`.)"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from typing import Any

import polars as pl

from workbench.analyses.manifests._diff import (
    CATEGORIES,
    NOISE,
    category_of,
    field_changes,
    parse_path,
    strip_noise,
    value_text,
)
from workbench.analyses.manifests._objects import (
    TS,
    as_time,
    controller_of,
    empty,
    resolve_params,
    snapshot_end,
)
from workbench.analyses.params import Params, field
from workbench.errors import ParameterError
from workbench.store import Dataset

__all__ = ["CHANGE_COLUMNS", "DERIVED_KINDS", "ChangeParams", "what_changed"]

log = logging.getLogger(__name__)

#: Kinds whose revisions restate other objects' state (left out unless named in ``kinds``).
DERIVED_KINDS: frozenset[str] = frozenset({"Event", "Endpoints", "EndpointSlice", "Lease"})

CHANGE_COLUMNS: dict[str, pl.DataType] = {
    "rank": pl.Int32(),
    "time": TS,
    "distance": pl.Duration("us"),
    "cluster": pl.String(),
    "kind": pl.String(),
    "namespace": pl.String(),
    "name": pl.String(),
    "category": pl.String(),
    "path": pl.String(),
    "old": pl.String(),
    "new": pl.String(),
}

_KEY = ["cluster", "kind", "namespace", "name"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChangeParams(Params):
    """Which changes to list and what to rank them by."""

    cluster: str | None = field(None, "cluster to look at (all when empty)")
    namespace: str | None = field(
        None, "namespace to look at (cluster-scoped objects such as Nodes always count)"
    )
    start: dt.datetime | str | None = field(None, "window start, UTC (the snapshot's start when empty)")
    end: dt.datetime | str | None = field(None, "window end, UTC (the snapshot's end when empty)")
    around: dt.datetime | str | None = field(
        None, "rank changes by nearness to this moment (window end when empty)"
    )
    kinds: tuple[str, ...] = field(
        (), "only these kinds (all but Event, Endpoints, EndpointSlice and Lease when empty)"
    )
    categories: tuple[str, ...] = field(
        (), f"only these categories ({', '.join(CATEGORIES)}; all when empty)"
    )
    include_status: bool = field(False, "also list changes of status fields")  # noqa: FBT003
    include_owned: bool = field(False, "also list objects made by a controller (pods, ReplicaSets, Jobs)")  # noqa: FBT003
    ignore_noise: bool = field(True, "leave out fields that change by themselves (see NOISE)")  # noqa: FBT003
    noise: tuple[str, ...] = field(NOISE, "the paths ignored as noise")
    limit: int = field(0, "keep the nearest N changes (0 = all)", ge=0)

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("start", "end", "around"):
            object.__setattr__(self, name, as_time(getattr(self, name), what=name))
        if self.start is not None and self.end is not None and self.start >= self.end:
            msg = f"start ({self.start}) must be before end ({self.end})"
            raise ParameterError(msg)
        for name in ("kinds", "categories", "noise"):
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value))
        bad = [c for c in self.categories if c not in CATEGORIES]
        if bad:
            msg = f"unknown categories {', '.join(map(repr, bad))}; use some of {', '.join(CATEGORIES)}"
            raise ParameterError(msg)
        for path in self.noise:
            parse_path(path)


def _candidates(ds: Dataset, p: ChangeParams, start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
    """The revisions in the window plus, per object, the one just before it (the base)."""
    lf = ds.scan("objects", cluster=p.cluster, end=end, latest=False)
    if p.namespace:
        lf = lf.filter((pl.col("namespace") == p.namespace) | pl.col("namespace").is_null())
    lf = (
        lf.filter(pl.col("kind").is_in(list(p.kinds)))
        if p.kinds
        else lf.filter(~pl.col("kind").is_in(list(DERIVED_KINDS)))
    )
    key = [pl.col(c) for c in _KEY]
    return (
        lf.sort("observed_at", maintain_order=True)
        .with_columns((pl.col("observed_at") >= start).alias("_in"))
        .with_columns(pl.col("_in").shift(-1).over(key).fill_null(value=False).alias("_next_in"))
        .filter(pl.col("_in") | pl.col("_next_in"))
        .collect()
    )


def what_changed(ds: Dataset, params: ChangeParams | None = None, **changes: Any) -> pl.DataFrame:
    """Every change of any object's manifest in the window (:data:`CHANGE_COLUMNS`), the nearest
    to ``around`` first.

    A change is one field that differs from the object's previous revision (see
    :func:`~workbench.analyses.manifests.field_changes`); its ``category`` is image, replicas,
    resources, taints, labels, annotations, config (env, args, command, ConfigMap data), spec,
    metadata or status. An object also gives a ``created`` row when its creationTimestamp is in
    the window and a ``deleted`` row when its deletion is. Objects made by a controller (pods,
    ReplicaSets, Jobs: they have a controller ownerReference) only restate their owner's
    changes and are left out unless ``include_owned``, so the list is about what people and
    tools changed; status changes are left out unless ``include_status``.
    """
    p = resolve_params(ChangeParams, params, changes)
    start = p.start or ds.window[0] or dt.datetime.min.replace(tzinfo=dt.UTC)
    end = p.end or snapshot_end(ds)
    around = p.around or end
    revs = _candidates(ds, p, start, end)
    rows: list[dict[str, Any]] = []
    previous: dict[tuple[Any, ...], tuple[str | None, Any]] = {}
    for row in revs.iter_rows(named=True):
        key = tuple(row[c] for c in _KEY)
        obj = json.loads(row["manifest"])
        meta = obj.get("metadata") or {}
        owned = controller_of(meta) is not None
        if owned and not p.include_owned:
            continue
        clean = strip_noise(obj, p.noise) if p.ignore_noise else obj
        base = previous.get(key)
        previous[key] = (row["uid"], clean)
        if not row["_in"]:
            continue
        found: list[tuple[str, str, Any, Any]] = []
        if row["deleted"]:
            found.append(("deleted", "", f"{row['kind']}/{row['name']}", None))
        elif base is None or base[0] != row["uid"]:
            created = (
                as_time(meta.get("creationTimestamp"), what="creationTimestamp")
                if meta.get("creationTimestamp")
                else None
            )
            if created is not None and created >= start:
                found.append(("created", "", None, f"{row['kind']}/{row['name']}"))
        else:
            found = [
                (category_of(row["kind"], path), path, old, new)
                for path, old, new in field_changes(base[1], clean)
            ]
        for category, path, old, new in found:
            if category == "status" and not p.include_status:
                continue
            if p.categories and category not in p.categories:
                continue
            rows.append(
                {"time": row["observed_at"], **{c: row[c] for c in _KEY}, "category": category, "path": path,
                 "old": value_text(old), "new": value_text(new)}
            )  # fmt: skip
    if not rows:
        return empty(CHANGE_COLUMNS)
    out = pl.DataFrame(rows, schema_overrides={"time": TS}, infer_schema_length=None).with_columns(
        (pl.col("time") - pl.lit(around, dtype=TS)).abs().alias("distance")
    )
    out = out.sort("distance", "time", "kind", "name", "path", maintain_order=True)
    if p.limit:
        out = out.head(p.limit)
    out = out.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int32).alias("rank"))
    return out.select(list(CHANGE_COLUMNS)).cast(CHANGE_COLUMNS)  # type: ignore[arg-type]
