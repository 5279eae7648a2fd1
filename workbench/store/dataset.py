"""Reading snapshots: :func:`open` returns a :class:`Dataset` of lazy tables.

Filters (cluster, namespace, workload, pod, node, time window) push down into the scan: a
big table's files are pruned by their cluster and date partitions before anything is read,
and the remaining predicates go to polars, which skips row groups by their statistics.
Opening never writes to the snapshot.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from workbench.errors import ParameterError, SnapshotError
from workbench.schema import SCHEMAS, STATE_TABLES, TABLES, TIME_COLUMNS, empty
from workbench.store.manifest import MANIFEST, read_manifest

__all__ = ["Dataset", "open_snapshot"]

TimeLike = dt.datetime | dt.date | str | None
Names = str | Sequence[str] | None

#: The column that names a pod, per table (events: the involved object).
_POD_COLUMN = {
    "pods": "name",
    "containers": "pod",
    "series": "pod",
    "spans": "pod",
    "logs": "pod",
    "events": "involved_name",
}
_NODE_COLUMN = {"pods": "node", "nodes": "name", "series": "node", "spans": "node"}


def to_utc(value: TimeLike) -> dt.datetime | None:
    """A timestamp given as datetime, date or ISO text, as an aware UTC datetime.

    >>> to_utc("2026-11-02T06:30:00Z")
    datetime.datetime(2026, 11, 2, 6, 30, tzinfo=datetime.timezone.utc)
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as err:
            msg = f"cannot read {value!r} as a time; use ISO 8601, e.g. 2026-11-02T06:30:00Z"
            raise ParameterError(msg) from err
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _names(value: Names) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


class Dataset:
    """A snapshot opened for reading. Get one with ``workbench.open(path)``.

    Each table has a method returning a collected DataFrame (``ds.pods(namespace="shop")``);
    :meth:`scan` returns the same as a LazyFrame for further polars work.

    >>> import workbench as wb
    >>> ds = wb.open("data/demo")
    >>> ds
    Dataset('data/demo', clusters=['eks-prod-us-east-1', 'gke-prod-europe-west1'], window=... → ...)
    >>> ds.events(type="Warning", namespace="shop").select("involved_name", "reason").height > 0
    True
    >>> lazy = ds.scan("spans", cluster="eks-prod-us-east-1", start="2026-11-02T08:30:00Z", end="2026-11-02T09:00:00Z")
    >>> lazy.select("service").unique().collect().height > 3
    True
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.manifest = read_manifest(self.path)

    def __repr__(self) -> str:
        w = self.window
        return f"Dataset({str(self.path)!r}, clusters={self.clusters}, window={w[0]} → {w[1]})"

    def refresh(self) -> Dataset:
        """Re-read the manifest (to see what a running ``workbench watch`` appended)."""
        self.manifest = read_manifest(self.path)
        self.__dict__.pop("ground_truth", None)
        return self

    # -- what the snapshot holds -------------------------------------------------------------
    @property
    def clusters(self) -> list[str]:
        return list(self.manifest["clusters"])

    @property
    def window(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        w = self.manifest["window"]
        return to_utc(w.get("start")), to_utc(w.get("end"))

    @property
    def row_counts(self) -> dict[str, int]:
        return {t: self.manifest["tables"].get(t, {}).get("rows", 0) for t in TABLES}

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return list(self.manifest["warnings"])

    @property
    def sources(self) -> list[dict[str, Any]]:
        return list(self.manifest["sources"])

    @cached_property
    def ground_truth(self) -> dict[str, Any] | None:
        """The demo's known incidents (``ground_truth.json``), or None for real snapshots."""
        path = self.path / "ground_truth.json"
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            msg = f"{path} is corrupt ({err})"
            raise SnapshotError(msg) from err

    # -- files and scans ----------------------------------------------------------------------
    def files(
        self, table: str, *, cluster: Names = None, start: TimeLike = None, end: TimeLike = None
    ) -> list[Path]:
        """The data files of ``table`` that can hold rows of these clusters and dates."""
        if table not in SCHEMAS:
            msg = f"unknown table {table!r}; the tables are: {', '.join(TABLES)}"
            raise ParameterError(msg)
        clusters = _names(cluster)
        lo, hi = to_utc(start), to_utc(end)
        out = []
        for f in self.manifest["tables"].get(table, {}).get("files", []):
            if clusters is not None and "cluster" in f and f["cluster"] not in clusters:
                continue
            if "date" in f:
                day = dt.date.fromisoformat(f["date"])
                if (lo is not None and day < lo.date()) or (hi is not None and day > hi.date()):
                    continue
            path = self.path / f["path"]
            if not path.is_file():
                msg = f"{path} is listed in {self.path / MANIFEST} but missing; the snapshot is damaged: collect it again"
                raise SnapshotError(msg)
            out.append(path)
        return out

    def scan(
        self,
        table: str,
        *,
        cluster: Names = None,
        namespace: Names = None,
        workload: str | None = None,
        pod: Names = None,
        node: Names = None,
        start: TimeLike = None,
        end: TimeLike = None,
        latest: bool = True,
    ) -> pl.LazyFrame:
        """A LazyFrame over ``table`` with the filters applied.

        ``workload`` is a name or ``Kind/name`` (``"Deployment/checkout"``); ``start``/``end``
        bound the table's time column (events: their first..last time overlaps the window).
        For state tables (pods, nodes…) ``latest`` keeps the newest row per object.
        """
        files = self.files(table, cluster=cluster, start=start, end=end)
        lf = self._read(table, files)
        preds = self.predicates(
            table,
            cluster=cluster,
            namespace=namespace,
            workload=workload,
            pod=pod,
            node=node,
            start=start,
            end=end,
        )
        if preds:
            lf = lf.filter(*preds)
        if latest and table in STATE_TABLES and len(files) > 1:
            lf = lf.sort(
                "observed_at" if "observed_at" in SCHEMAS[table] else "cluster", maintain_order=True
            ).unique(subset=list(STATE_TABLES[table]), keep="last", maintain_order=True)
        return lf

    def _read(self, table: str, files: list[Path]) -> pl.LazyFrame:
        """The rows of these files of ``table`` (all of them, in file order), before any filter."""
        return pl.scan_parquet(files, schema=SCHEMAS[table]) if files else empty(table).lazy()

    def predicates(
        self,
        table: str,
        *,
        cluster: Names = None,
        namespace: Names = None,
        workload: str | None = None,
        pod: Names = None,
        node: Names = None,
        start: TimeLike = None,
        end: TimeLike = None,
    ) -> list[pl.Expr]:
        """The row filters :meth:`scan` applies to ``table`` (it also leaves out whole files of
        other clusters and days): to choose, in a frame read once, the rows a scan would give."""
        preds = self._predicates(
            table, cluster=cluster, namespace=namespace, pod=pod, node=node, start=start, end=end
        )
        if workload is not None:
            preds.append(self._workload_predicate(table, workload, cluster=cluster, namespace=namespace))
        return preds

    def _predicates(
        self,
        table: str,
        *,
        cluster: Names,
        namespace: Names,
        pod: Names,
        node: Names,
        start: TimeLike,
        end: TimeLike,
    ) -> list[pl.Expr]:
        cols = SCHEMAS[table]
        preds: list[pl.Expr] = []
        if (c := _names(cluster)) is not None:
            preds.append(pl.col("cluster").is_in(c))
        if (ns := _names(namespace)) is not None:
            if "namespace" not in cols:
                if table not in ("nodes", "metrics"):
                    preds.append(pl.lit(value=False))
            else:
                preds.append(pl.col("namespace").is_in(ns))
        if (p := _names(pod)) is not None:
            if table == "objects":
                preds.append((pl.col("kind") == "Pod") & pl.col("name").is_in(p))
            elif table in _POD_COLUMN:
                preds.append(pl.col(_POD_COLUMN[table]).is_in(p))
        if (n := _names(node)) is not None and table in _NODE_COLUMN:
            preds.append(pl.col(_NODE_COLUMN[table]).is_in(n))
        lo, hi = to_utc(start), to_utc(end)
        if table == "events":
            if lo is not None:
                preds.append(pl.col("last_time").fill_null(pl.col("first_time")) >= lo)
            if hi is not None:
                preds.append(pl.col("first_time").fill_null(pl.col("last_time")) <= hi)
        elif table == "pods":
            if hi is not None:
                preds.append(pl.col("created").is_null() | (pl.col("created") <= hi))
            if lo is not None:
                preds.append(pl.col("deleted").is_null() | (pl.col("deleted") >= lo))
        elif (tcol := TIME_COLUMNS.get(table)) is not None:
            if lo is not None:
                preds.append(pl.col(tcol) >= lo)
            if hi is not None:
                preds.append(pl.col(tcol) <= hi)
        return preds

    def _workload_predicate(self, table: str, workload: str, *, cluster: Names, namespace: Names) -> pl.Expr:
        kind, _, name = workload.rpartition("/")
        if table == "workloads":
            expr = pl.col("name") == name
            return expr & (pl.col("kind").cast(pl.String) == kind) if kind else expr
        pods = self.scan("pods", cluster=cluster, namespace=namespace).filter(pl.col("workload_name") == name)
        if kind:
            pods = pods.filter(pl.col("workload_kind") == kind)
        members = pods.select("name", "owner_name").collect()
        pod_names = members["name"].to_list()
        if table == "pods":
            return pl.col("name").is_in(pod_names)
        if table == "events":
            owners = {name, *members["owner_name"].drop_nulls().to_list()}
            return pl.col("involved_name").is_in([*pod_names, *owners])
        if table == "objects":
            owners = {name, *members["owner_name"].drop_nulls().to_list()}
            return pl.col("name").is_in([*pod_names, *owners])
        if table in _POD_COLUMN:
            return pl.col(_POD_COLUMN[table]).is_in(pod_names)
        return pl.lit(value=True)

    # -- tables, collected ----------------------------------------------------------------------
    def objects(self, **filters: Any) -> pl.DataFrame:
        """Object revisions (``kind=`` filters the kind)."""
        kind = filters.pop("kind", None)
        lf = self.scan("objects", **filters)
        return (lf.filter(pl.col("kind") == kind) if kind else lf).collect()

    def pods(self, **filters: Any) -> pl.DataFrame:
        """Pods, latest state: ``ds.pods(namespace="shop", workload="checkout")``."""
        return self.scan("pods", **filters).collect()

    def containers(self, **filters: Any) -> pl.DataFrame:
        return self.scan("containers", **filters).collect()

    def nodes(self, **filters: Any) -> pl.DataFrame:
        return self.scan("nodes", **filters).collect()

    def workloads(self, **filters: Any) -> pl.DataFrame:
        return self.scan("workloads", **filters).collect()

    def services(self, **filters: Any) -> pl.DataFrame:
        return self.scan("services", **filters).collect()

    def events(self, **filters: Any) -> pl.DataFrame:
        """Events, newest last (events of the same time in storage order); ``type="Warning"`` keeps
        only warnings."""
        etype = filters.pop("type", None)
        lf = self.scan("events", **filters)
        if etype is not None:
            lf = lf.filter(pl.col("type") == etype)
        return lf.sort("last_time", nulls_last=False, maintain_order=True).collect()

    def spans(self, **filters: Any) -> pl.DataFrame:
        service = filters.pop("service", None)
        lf = self.scan("spans", **filters)
        return (lf.filter(pl.col("service").is_in(_names(service))) if service else lf).collect()

    def logs(self, **filters: Any) -> pl.DataFrame:
        return self.scan("logs", **filters).collect()

    @property
    def _series(self) -> pl.DataFrame:
        """The series table, read once per manifest: kept with the manifest it was read for,
        so that a read a :meth:`refresh` overtook (another session's live look at a shared
        dataset) is not taken for the new manifest's."""
        manifest = self.manifest
        got = self.__dict__.get("_series_of")
        if got is None or got[0] is not manifest:
            got = (manifest, self.scan("series").collect())
            self.__dict__["_series_of"] = got
        return got[1]  # type: ignore[no-any-return]

    def series(self, *, metric: Names = None, **filters: Any) -> pl.DataFrame:
        """The metric series (one row per label set) matching the filters."""
        lf = self.scan("series", **filters) if filters else self._series.lazy()
        if (m := _names(metric)) is not None:
            lf = lf.filter(pl.col("metric").is_in(m))
        return lf.collect()

    def metric_samples(self, *, metric: Names = None, **filters: Any) -> tuple[pl.DataFrame, pl.LazyFrame]:
        """The series of ``metric`` matching the label filters (rows of :meth:`series`) and
        their samples in ``[start, end]`` (lazy: cluster, series_id, ts, value, in storage
        order: each part sorted by series and time). Only those series' samples are read."""
        start, end = filters.pop("start", None), filters.pop("end", None)
        series = self.series(metric=metric, **filters)
        ids = series["series_id"].unique().sort()
        samples = self.scan("metrics", cluster=filters.get("cluster"), start=start, end=end)
        if ids.len() == 0:
            samples = samples.head(0)
        elif ids.len() < self._series.height:
            lo, hi = ids.min(), ids.max()
            samples = samples.filter(
                pl.col("series_id").is_between(lo, hi), pl.col("series_id").is_in(ids.implode())
            )
        return series, samples

    def scan_metrics(self, *, metric: Names = None, **filters: Any) -> pl.LazyFrame:
        """Samples in the wide form: cluster, metric, namespace, pod, container, node, labels,
        ts, value. Label filters select series first; only their samples are read."""
        series, samples = self.metric_samples(metric=metric, **filters)
        return samples.join(series.lazy(), on=["cluster", "series_id"], how="inner").select(
            "cluster", "metric", "namespace", "pod", "container", "node", "labels", "ts", "value"
        )

    def metrics(self, *, metric: Names = None, **filters: Any) -> pl.DataFrame:
        """Samples of ``metric`` (one name or several) in the wide form, sorted by series and time.

        ``ds.metrics(metric="container_memory_working_set_bytes", namespace="shop", pod="cart-0")``
        """
        return (
            self.scan_metrics(metric=metric, **filters)
            .sort("cluster", "metric", "pod", "container", "ts")
            .collect()
        )

    # -- integrity ----------------------------------------------------------------------------
    def check(self) -> list[str]:
        """Read every data file's footer and compare schema and row counts with the manifest.

        Returns the problems found (empty when the snapshot is sound)."""
        import pyarrow.parquet as pq

        problems = []
        for table, entry in self.manifest["tables"].items():
            if table not in SCHEMAS:
                problems.append(f"manifest lists unknown table {table!r}")
                continue
            for f in entry.get("files", []):
                path = self.path / f["path"]
                try:
                    meta = pq.read_metadata(path)
                    got = pl.read_parquet_schema(path)
                except (OSError, ValueError) as err:
                    problems.append(f"{path}: cannot be read ({err})")
                    continue
                if meta.num_rows != f.get("rows"):
                    problems.append(f"{path}: {meta.num_rows} rows, manifest says {f.get('rows')}")
                want = SCHEMAS[table]
                for col, dtype in want.items():
                    if got.get(col) != dtype:
                        problems.append(
                            f"{path}: column {col!r} expected {dtype}, found {got.get(col, 'nothing')}"
                        )
        return problems


def open_snapshot(path: str | os.PathLike[str]) -> Dataset:
    """Open the snapshot folder at ``path`` for reading (``workbench.open``)."""
    return Dataset(path)
