"""The snapshot tables: one polars schema per table, the enums they use, and validation.

Every table has a ``cluster`` column. Timestamps are UTC ``Datetime("us", "UTC")``; CPU is in
cores (float), memory and bytes in bytes (int). The join key across signals is
``(cluster, namespace, pod)``; objects also carry ``uid``. Label, annotation and other
free-form maps are stored as JSON text (``labels``, ``attributes``…), so every engine that
reads Parquet can read them.

Metrics are stored in two tables for speed: ``series`` (one row per label set, with an integer
``series_id``) and ``metrics`` (one row per sample: ``series_id, ts, value``), sorted by series
and time. :meth:`workbench.Dataset.metrics` joins them back into the familiar wide form.

>>> import workbench.schema as s
>>> s.SCHEMA_VERSION
1
>>> s.empty("events").columns[:4]
['cluster', 'namespace', 'name', 'uid']
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from workbench.errors import SchemaError

__all__ = [
    "BIG_TABLES",
    "EVENT_TYPES",
    "LOG_LEVELS",
    "PHASES",
    "QOS_CLASSES",
    "SCHEMA_VERSION",
    "SCHEMAS",
    "SPAN_KINDS",
    "SPAN_STATUSES",
    "STATE_TABLES",
    "TABLES",
    "TIME_COLUMNS",
    "WORKLOAD_KINDS",
    "CONTAINER_STATES",
    "conform",
    "empty",
    "validate",
]

#: Bumped whenever a stored table changes shape; a snapshot with a newer version is refused.
SCHEMA_VERSION = 1

TS = pl.Datetime("us", "UTC")

PHASES = pl.Enum(["Pending", "Running", "Succeeded", "Failed", "Unknown"])
QOS_CLASSES = pl.Enum(["Guaranteed", "Burstable", "BestEffort"])
EVENT_TYPES = pl.Enum(["Normal", "Warning"])
WORKLOAD_KINDS = pl.Enum(["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "CronJob"])
CONTAINER_STATES = pl.Enum(["waiting", "running", "terminated"])
SPAN_KINDS = pl.Enum(["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"])
SPAN_STATUSES = pl.Enum(["UNSET", "OK", "ERROR"])
LOG_LEVELS = pl.Enum(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "UNKNOWN"])
LOG_STREAMS = pl.Enum(["stdout", "stderr"])

_RESOURCES = {
    "cpu_request": pl.Float64,
    "cpu_limit": pl.Float64,
    "memory_request": pl.Int64,
    "memory_limit": pl.Int64,
}

SCHEMAS: dict[str, pl.Schema] = {
    # One revision of one Kubernetes object as observed. ``manifest`` is the JSON text of the
    # object with managedFields removed (Secrets are never collected).
    "objects": pl.Schema(
        {
            "cluster": pl.String,
            "kind": pl.String,
            "api_version": pl.String,
            "namespace": pl.String,
            "name": pl.String,
            "uid": pl.String,
            "resource_version": pl.String,
            "observed_at": TS,
            "deleted": pl.Boolean,
            "manifest": pl.String,
        }
    ),
    # A pod's latest observed state, flattened. ``status`` is what ``kubectl get pods`` prints;
    # ``reason`` is the kubectl-describe style error reason.
    "pods": pl.Schema(
        {
            "cluster": pl.String,
            "namespace": pl.String,
            "name": pl.String,
            "uid": pl.String,
            "node": pl.String,
            "phase": PHASES,
            "status": pl.String,
            "reason": pl.String,
            "qos_class": QOS_CLASSES,
            "owner_kind": pl.String,
            "owner_name": pl.String,
            "workload_kind": pl.String,
            "workload_name": pl.String,
            "created": TS,
            "scheduled": TS,
            "initialized": TS,
            "ready_time": TS,
            "deleted": TS,
            "restarts": pl.Int32,
            "containers_ready": pl.Int32,
            "containers_total": pl.Int32,
            **_RESOURCES,
            "pod_ip": pl.String,
            "host_ip": pl.String,
            "labels": pl.String,
            "annotations": pl.String,
            "priority_class": pl.String,
            "scheduling_message": pl.String,
            "observed_at": TS,
        }
    ),
    # A container (init containers too) of a pod.
    "containers": pl.Schema(
        {
            "cluster": pl.String,
            "namespace": pl.String,
            "pod": pl.String,
            "pod_uid": pl.String,
            "name": pl.String,
            "is_init": pl.Boolean,
            "image": pl.String,
            "state": CONTAINER_STATES,
            "reason": pl.String,
            "message": pl.String,
            "exit_code": pl.Int32,
            "ready": pl.Boolean,
            "restarts": pl.Int32,
            "started_at": TS,
            "last_reason": pl.String,
            "last_exit_code": pl.Int32,
            "last_finished_at": TS,
            **_RESOURCES,
            "observed_at": TS,
        }
    ),
    "nodes": pl.Schema(
        {
            "cluster": pl.String,
            "name": pl.String,
            "uid": pl.String,
            "status": pl.String,
            "ready": pl.Boolean,
            "unschedulable": pl.Boolean,
            "roles": pl.String,
            "created": TS,
            "cpu_capacity": pl.Float64,
            "memory_capacity": pl.Int64,
            "pods_capacity": pl.Int64,
            "cpu_allocatable": pl.Float64,
            "memory_allocatable": pl.Int64,
            "pods_allocatable": pl.Int64,
            "conditions": pl.String,
            "taints": pl.String,
            "labels": pl.String,
            "zone": pl.String,
            "region": pl.String,
            "instance_type": pl.String,
            "kubelet_version": pl.String,
            "os_image": pl.String,
            "container_runtime": pl.String,
            "internal_ip": pl.String,
            "external_ip": pl.String,
            "observed_at": TS,
        }
    ),
    "workloads": pl.Schema(
        {
            "cluster": pl.String,
            "kind": WORKLOAD_KINDS,
            "namespace": pl.String,
            "name": pl.String,
            "uid": pl.String,
            "created": TS,
            "desired": pl.Int32,
            "current": pl.Int32,
            "ready": pl.Int32,
            "available": pl.Int32,
            "updated": pl.Int32,
            "strategy": pl.String,
            "max_surge": pl.String,
            "max_unavailable": pl.String,
            "selector": pl.String,
            "images": pl.List(pl.String),
            "owner_kind": pl.String,
            "owner_name": pl.String,
            "schedule": pl.String,
            "suspend": pl.Boolean,
            "succeeded": pl.Int32,
            "failed": pl.Int32,
            "labels": pl.String,
            "observed_at": TS,
        }
    ),
    # ``ports`` is kubectl's PORT(S) text ("80:30080/TCP,443/TCP"); ``port_specs`` the JSON list.
    "services": pl.Schema(
        {
            "cluster": pl.String,
            "namespace": pl.String,
            "name": pl.String,
            "uid": pl.String,
            "created": TS,
            "type": pl.String,
            "cluster_ip": pl.String,
            "external_ips": pl.List(pl.String),
            "load_balancer": pl.String,
            "ports": pl.String,
            "port_specs": pl.String,
            "selector": pl.String,
            "pods": pl.List(pl.String),
            "labels": pl.String,
            "observed_at": TS,
        }
    ),
    "events": pl.Schema(
        {
            "cluster": pl.String,
            "namespace": pl.String,
            "name": pl.String,
            "uid": pl.String,
            "involved_kind": pl.String,
            "involved_namespace": pl.String,
            "involved_name": pl.String,
            "involved_uid": pl.String,
            "type": EVENT_TYPES,
            "reason": pl.String,
            "message": pl.String,
            "first_time": TS,
            "last_time": TS,
            "count": pl.Int32,
            "source": pl.String,
            "observed_at": TS,
        }
    ),
    # One label set of one metric. ``series_id`` is a stable 64-bit hash of cluster, metric
    # and labels, so separate collections agree on it without coordination.
    "series": pl.Schema(
        {
            "cluster": pl.String,
            "series_id": pl.UInt64,
            "metric": pl.String,
            "namespace": pl.String,
            "pod": pl.String,
            "container": pl.String,
            "node": pl.String,
            "labels": pl.String,
        }
    ),
    # One sample, keyed by series; stored sorted by (series_id, ts).
    "metrics": pl.Schema(
        {
            "cluster": pl.String,
            "series_id": pl.UInt64,
            "ts": TS,
            "value": pl.Float64,
        }
    ),
    "spans": pl.Schema(
        {
            "cluster": pl.String,
            "trace_id": pl.String,
            "span_id": pl.String,
            "parent_id": pl.String,
            "service": pl.String,
            "operation": pl.String,
            "kind": SPAN_KINDS,
            "start": TS,
            "end": TS,
            "duration_us": pl.Int64,
            "status": SPAN_STATUSES,
            "error": pl.Boolean,
            "status_message": pl.String,
            "http_method": pl.String,
            "http_route": pl.String,
            "http_status_code": pl.Int32,
            "peer_service": pl.String,
            "db_system": pl.String,
            "namespace": pl.String,
            "pod": pl.String,
            "node": pl.String,
            "attributes": pl.String,
        }
    ),
    "logs": pl.Schema(
        {
            "cluster": pl.String,
            "ts": TS,
            "namespace": pl.String,
            "pod": pl.String,
            "container": pl.String,
            "stream": LOG_STREAMS,
            "level": LOG_LEVELS,
            "message": pl.String,
            "fields": pl.String,
            "trace_id": pl.String,
            "span_id": pl.String,
            "truncated": pl.Boolean,
        }
    ),
}

TABLES: tuple[str, ...] = tuple(SCHEMAS)

#: Tables stored Hive-partitioned by cluster and date (``cluster=X/date=YYYY-MM-DD/``).
BIG_TABLES: frozenset[str] = frozenset({"objects", "metrics", "spans", "logs"})

#: Tables holding the latest state of an object: a later collection appends rows and readers
#: keep the newest row per (cluster, key) by ``observed_at``.
STATE_TABLES: dict[str, tuple[str, ...]] = {
    "pods": ("cluster", "uid"),
    "containers": ("cluster", "pod_uid", "name", "is_init"),
    "nodes": ("cluster", "name"),
    "workloads": ("cluster", "kind", "namespace", "name"),
    "services": ("cluster", "namespace", "name"),
    "events": ("cluster", "namespace", "name"),
    "series": ("cluster", "series_id"),
}

#: The column a time window filters on, and the column whose date partitions a big table.
TIME_COLUMNS: dict[str, str] = {
    "objects": "observed_at",
    "metrics": "ts",
    "spans": "start",
    "logs": "ts",
    "events": "last_time",
}


def _schema(table: str) -> pl.Schema:
    try:
        return SCHEMAS[table]
    except KeyError:
        msg = f"unknown table {table!r}; the tables are: {', '.join(TABLES)}"
        raise SchemaError(msg) from None


def empty(table: str) -> pl.DataFrame:
    """An empty frame with the table's columns and types (no data is never ``None``)."""
    return pl.DataFrame(schema=_schema(table))


def validate(table: str, frame: pl.DataFrame | pl.LazyFrame) -> None:
    """Raise :class:`SchemaError` unless ``frame`` has exactly the table's columns and types.

    The message names the table, the column, the expected and the found type.

    >>> import polars as pl
    >>> validate("events", empty("events"))
    >>> bad = empty("events").with_columns(pl.col("count").cast(pl.String))
    >>> validate("events", bad)
    Traceback (most recent call last):
    ...
    workbench.errors.SchemaError: table 'events', column 'count': expected Int32, found String
    """
    expected = _schema(table)
    found = frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
    problems = []
    for name, dtype in expected.items():
        if name not in found:
            problems.append(f"table {table!r}, column {name!r}: expected {dtype}, found no such column")
        elif found[name] != dtype:
            problems.append(f"table {table!r}, column {name!r}: expected {dtype}, found {found[name]}")
    extra = [c for c in found if c not in expected]
    if extra:
        problems.append(f"table {table!r}: unexpected column(s) {', '.join(map(repr, extra))}")
    if problems:
        raise SchemaError("; ".join(problems))


def conform(table: str, frame: pl.DataFrame | Mapping[str, object] | list[dict]) -> pl.DataFrame:
    """Give ``frame`` the table's exact shape: missing columns become nulls, columns are cast
    (strictly: a value that does not fit raises) and put in order, extra columns are an error.

    Sources build rows as dicts with the columns they know and call this once per batch.

    >>> conform("events", [{"cluster": "c", "reason": "BackOff", "type": "Warning"}]).row(0)[:1]
    ('c',)
    """
    expected = _schema(table)
    if not isinstance(frame, pl.DataFrame):
        rows = frame if isinstance(frame, list) else [frame]
        if not rows:
            return empty(table)
        # Build with the expected types where a column is known, so that text such as an enum
        # value or a timestamp is typed once and all-null columns get the right type.
        known = {k for row in rows for k in row}
        extra = sorted(known - set(expected))
        if extra:
            msg = f"table {table!r}: unexpected column(s) {', '.join(map(repr, extra))}"
            raise SchemaError(msg)
        columns = []
        for c in (c for c in expected if c in known):
            dtype = pl.String if isinstance(expected[c], pl.Enum) else expected[c]
            try:
                columns.append(pl.Series(c, [row.get(c) for row in rows], dtype=dtype, strict=True))
            except (TypeError, OverflowError, pl.exceptions.PolarsError) as err:
                msg = f"table {table!r}, column {c!r}: a value does not fit {expected[c]} ({err})"
                raise SchemaError(msg) from err
        frame = pl.DataFrame(columns)
    extra = [c for c in frame.columns if c not in expected]
    if extra:
        msg = f"table {table!r}: unexpected column(s) {', '.join(map(repr, extra))}"
        raise SchemaError(msg)
    exprs = []
    for name, dtype in expected.items():
        if name in frame.columns:
            exprs.append(
                pl.col(name).cast(dtype, strict=True) if frame.schema[name] != dtype else pl.col(name)
            )
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    try:
        return frame.select(exprs)
    except pl.exceptions.PolarsError as err:
        msg = f"table {table!r}: a value does not fit its column type ({err})"
        raise SchemaError(msg) from err
