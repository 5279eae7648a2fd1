"""The snapshot overview: what a snapshot holds per cluster, and which pods are in trouble.

>>> import workbench as wb
>>> from workbench.analyses import overview
>>> ds = wb.open("data/demo")                                    # doctest: +SKIP
>>> overview.snapshot_summary(ds)                                # doctest: +SKIP
>>> overview.problem_pods(ds, namespace="shop").select("name", "status", "ready")  # doctest: +SKIP

Every function returns a DataFrame with fixed columns; no data is an empty frame with those
columns, never ``None``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import polars as pl

from workbench.analyses.params import require_one_of
from workbench.store import Dataset, to_utc

__all__ = [
    "INCIDENT_COLUMNS",
    "OK_STATUSES",
    "PROBLEM_COLUMNS",
    "RESTART_LOOKBACK",
    "STATUS_COLUMNS",
    "SUMMARY_COLUMNS",
    "incidents",
    "check_scope",
    "namespaces",
    "pods_by_status",
    "pods_at_end",
    "problem_pods",
    "status_counts",
    "snapshot_summary",
]

log = logging.getLogger(__name__)

TS = pl.Datetime("us", "UTC")

#: kubectl STATUS texts of a pod that is fine (as long as its containers are ready).
OK_STATUSES: frozenset[str] = frozenset({"Running", "Completed", "Succeeded"})

#: A container termination this close to the end of the snapshot counts as a recent restart,
#: even when the snapshot window is shorter (a one-off ``kubectl`` dump has a window of seconds).
RESTART_LOOKBACK = dt.timedelta(hours=1)

PROBLEM_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "namespace": pl.String(),
    "name": pl.String(),
    "node": pl.String(),
    "status": pl.String(),
    "ready": pl.String(),
    "restarts": pl.Int32(),
    "age": pl.Duration("us"),
    "reason": pl.String(),
    "last_warning": pl.String(),
    "workload_kind": pl.String(),
    "workload_name": pl.String(),
    "problem": pl.String(),
}

_PHASES = ("Running", "Pending", "Succeeded", "Failed", "Unknown")

SUMMARY_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "nodes": pl.Int64(),
    "nodes_ready": pl.Int64(),
    "pods": pl.Int64(),
    **{f"pods_{p.lower()}": pl.Int64() for p in _PHASES},
    "problem_pods": pl.Int64(),
    "events": pl.Int64(),
    "warning_events": pl.Int64(),
    "spans": pl.Int64(),
    "logs": pl.Int64(),
    "metric_samples": pl.Int64(),
    "window_start": TS,
    "window_end": TS,
}

STATUS_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "status": pl.String(),
    "pods": pl.Int64(),
    "ok": pl.Boolean(),
}

INCIDENT_COLUMNS: dict[str, pl.DataType] = {
    "id": pl.String(),
    "kind": pl.String(),
    "cluster": pl.String(),
    "namespace": pl.String(),
    "object": pl.String(),
    "pods": pl.List(pl.String()),
    "start": TS,
    "end": TS,
    "signals": pl.List(pl.String()),
    "details": pl.String(),
}


def _empty(columns: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=columns)


def _snapshot_end(ds: Dataset, pods: pl.DataFrame) -> dt.datetime:
    """The snapshot's end: the window's end, else the newest pod observation, else now."""
    end = ds.window[1]
    if end is not None:
        return end
    if pods.height and pods["observed_at"].drop_nulls().len():
        return pods["observed_at"].max()  # type: ignore[return-value]
    return dt.datetime.now(dt.UTC)


def check_scope(ds: Dataset, *, cluster: str | None = None, namespace: str | None = None) -> None:
    """Raise :class:`~workbench.errors.ParameterError` (naming the closest matches) when
    ``cluster`` or ``namespace`` is not in the snapshot."""
    if cluster is not None:
        require_one_of("cluster", cluster, ds.clusters)
    if namespace is not None:
        require_one_of("namespace", namespace, namespaces(ds, cluster=cluster))


def pods_at_end(ds: Dataset, *, cluster: str | None = None, namespace: str | None = None) -> pl.DataFrame:
    """The pods that exist at the end of the snapshot (latest state; pods deleted before the
    end are left out), with the ``pods`` table's columns. An unknown cluster or namespace
    raises :class:`~workbench.errors.ParameterError`."""
    check_scope(ds, cluster=cluster, namespace=namespace)
    pods = ds.pods(cluster=cluster, namespace=namespace)
    end = _snapshot_end(ds, pods)
    return pods.filter(pl.col("deleted").is_null() | (pl.col("deleted") > end))


def namespaces(ds: Dataset, *, cluster: str | None = None) -> list[str]:
    """The namespaces that hold pods, workloads or events (of ``cluster``, or of every
    cluster), sorted."""
    found: set[str] = set()
    for table in ("pods", "workloads", "events"):
        got = ds.scan(table, cluster=cluster, latest=False).select("namespace").unique().collect()
        found.update(n for n in got["namespace"].to_list() if n)
    return sorted(found)


def _last_warnings(ds: Dataset, *, cluster: str | None, namespace: str | None) -> pl.DataFrame:
    """The Warning events about pods: cluster, namespace, name (the pod's), event_uid (the
    pod's uid, when the event names it), _at (when it last happened), _event (the event's own
    name) and last_warning (``"Reason: message"``)."""
    ev = ds.events(cluster=cluster, type="Warning")
    ev = ev.with_columns(pl.col("involved_namespace").fill_null(pl.col("namespace")).alias("_ns"))
    ev = ev.filter(pl.col("involved_kind").is_null() | (pl.col("involved_kind") == "Pod"))
    if namespace is not None:
        ev = ev.filter(pl.col("_ns") == namespace)
    return ev.select(
        "cluster",
        pl.col("_ns").alias("namespace"),
        pl.col("involved_name").alias("name"),
        pl.col("involved_uid").alias("event_uid"),
        pl.coalesce("last_time", "first_time", "observed_at").alias("_at"),
        pl.col("name").alias("_event"),
        pl.when(pl.col("message").is_not_null() & (pl.col("message") != ""))
        .then(pl.concat_str(pl.col("reason").fill_null("Warning"), pl.lit(": "), pl.col("message")))
        .otherwise(pl.col("reason"))
        .alias("last_warning"),
    ).filter(pl.col("name").is_not_null())


def _recent_restarts(ds: Dataset, pods: pl.DataFrame, *, since: dt.datetime) -> pl.DataFrame:
    """Per pod uid: whether a container of it terminated at or after ``since``, and whether the
    snapshot has container rows for that pod at all."""
    if pods.is_empty():
        return pl.DataFrame(
            schema={
                "cluster": pl.String,
                "uid": pl.String,
                "has_containers": pl.Boolean,
                "restarted_recently": pl.Boolean,
            }
        )
    containers = (
        ds.scan("containers", cluster=pods["cluster"].unique().to_list())
        .filter(pl.col("pod_uid").is_in(pods["uid"].drop_nulls().unique().implode()))
        .group_by("cluster", "pod_uid")
        .agg(
            ((pl.col("restarts").fill_null(0) > 0) & (pl.col("last_finished_at") >= since))
            .any()
            .alias("restarted_recently"),
        )
        .collect()
    )
    return containers.select(
        "cluster",
        pl.col("pod_uid").alias("uid"),
        pl.lit(value=True).alias("has_containers"),
        "restarted_recently",
    )


def problem_pods(ds: Dataset, *, cluster: str | None = None, namespace: str | None = None) -> pl.DataFrame:
    """The pods in trouble at the end of the snapshot, one row each, sorted by cluster,
    namespace and name.

    Only pods that exist at the snapshot's end count (see :func:`pods_at_end`). A pod is a
    problem pod when any of these holds (the ``problem`` column says which, joined by ``; ``):

    - ``status``: its kubectl STATUS text is not one of ``Running``, ``Completed``,
      ``Succeeded`` (so ``Pending``, ``CrashLoopBackOff``, ``Init:Error``, ``Evicted``,
      ``Terminating``, ``NotReady``… all count);
    - ``not ready``: it is ``Running`` but fewer containers are ready than it has
      (READY ``1/2``);
    - ``restarted``: a container of it restarted recently: its last termination
      (``containers.last_finished_at``) is at or after the start of the snapshot window, or
      within :data:`RESTART_LOOKBACK` (1 hour) of the window's end when the window is shorter.
      When the snapshot has no container rows for the pod, any restart (``restarts > 0``)
      counts, since when it happened cannot be told.

    Columns: cluster, namespace, name, node, status (kubectl text), ready (``"x/y"``),
    restarts (all containers, as kubectl's RESTARTS), age (duration from creation to the
    snapshot's end), reason (why, as ``kubectl describe`` would say), last_warning (the newest
    Warning event about the pod: ``"Reason: message"``; of events that last happened at the same
    time, the one whose name sorts last, i.e. created last), workload_kind, workload_name, problem.
    """
    pods = pods_at_end(ds, cluster=cluster, namespace=namespace)
    if pods.is_empty():
        return _empty(PROBLEM_COLUMNS)
    start, end = ds.window
    end = _snapshot_end(ds, pods)
    since = min(start or end, end - RESTART_LOOKBACK)

    restarts = _recent_restarts(ds, pods, since=since)
    pods = pods.join(restarts, on=["cluster", "uid"], how="left", nulls_equal=True)
    ok_status = pl.col("status").is_in(list(OK_STATUSES)) & pl.col("status").is_not_null()
    not_ready = (pl.col("status") == "Running") & (
        pl.col("containers_ready").fill_null(0) < pl.col("containers_total").fill_null(0)
    )
    restarted = (
        pl.when(pl.col("has_containers").fill_null(value=False))
        .then(pl.col("restarted_recently").fill_null(value=False))
        .otherwise(pl.col("restarts").fill_null(0) > 0)
    )
    pods = pods.with_columns(
        pl.concat_str(
            pl.when(~ok_status).then(pl.lit("status")),
            pl.when(not_ready).then(pl.lit("not ready")),
            pl.when(restarted).then(pl.lit("restarted")),
            separator="; ",
            ignore_nulls=True,
        ).alias("problem")
    ).filter(pl.col("problem") != "")

    warnings = _last_warnings(ds, cluster=cluster, namespace=namespace)
    matched = (
        pods.select("cluster", "namespace", "name", "uid")
        .join(warnings, on=["cluster", "namespace", "name"], how="inner")
        # A StatefulSet pod keeps its name: an event about an earlier pod of that name does
        # not describe this one.
        .filter(pl.col("event_uid").is_null() | (pl.col("event_uid") == pl.col("uid")))
        # newest last; on a tie in time the event created last (Kubernetes names an event
        # after its object and its creation time in hex), then the text: the same pick in
        # every run (a pod's events often share a time: Failed and BackOff of an image pull)
        .sort("_at", "_event", "last_warning", nulls_last=False)
        .group_by("cluster", "uid", maintain_order=True)
        .agg(pl.col("last_warning").last())
    )
    pods = pods.join(matched, on=["cluster", "uid"], how="left", nulls_equal=True)
    out = pods.select(
        "cluster",
        "namespace",
        "name",
        "node",
        pl.col("status").fill_null(""),
        pl.format(
            "{}/{}", pl.col("containers_ready").fill_null(0), pl.col("containers_total").fill_null(0)
        ).alias("ready"),
        pl.col("restarts").fill_null(0).cast(pl.Int32),
        (pl.lit(end, dtype=TS) - pl.col("created")).cast(pl.Duration("us")).alias("age"),
        "reason",
        "last_warning",
        "workload_kind",
        "workload_name",
        "problem",
    )
    return out.sort("cluster", "namespace", "name").cast(PROBLEM_COLUMNS)  # type: ignore[arg-type]


def pods_by_status(ds: Dataset, *, cluster: str | None = None, namespace: str | None = None) -> pl.DataFrame:
    """How many pods show each kubectl STATUS at the snapshot's end, per cluster (most common
    first); ``ok`` is True for ``Running``, ``Completed`` and ``Succeeded``."""
    return status_counts(pods_at_end(ds, cluster=cluster, namespace=namespace))


def status_counts(pods: pl.DataFrame) -> pl.DataFrame:
    """:func:`pods_by_status` of these pods (rows of :func:`pods_at_end`, e.g. some of every
    cluster's, kept once and filtered)."""
    if pods.is_empty():
        return _empty(STATUS_COLUMNS)
    out = (
        pods.group_by("cluster", pl.col("status").fill_null(""))
        .agg(pl.len().cast(pl.Int64).alias("pods"))
        .with_columns(pl.col("status").is_in(list(OK_STATUSES)).alias("ok"))
        .sort(["cluster", "pods", "status"], descending=[False, True, False])
    )
    return out.select(list(STATUS_COLUMNS)).cast(STATUS_COLUMNS)  # type: ignore[arg-type]


def _rows_per_cluster(ds: Dataset, table: str) -> dict[str | None, int]:
    """Row counts per cluster from the manifest (big tables are partitioned by cluster);
    tables stored without partitions are counted by reading their cluster column."""
    entry = ds.manifest["tables"].get(table, {})
    files = entry.get("files", [])
    counts: dict[str | None, int] = {}
    if files and all("cluster" in f for f in files):
        for f in files:
            counts[f["cluster"]] = counts.get(f["cluster"], 0) + int(f.get("rows", 0))
        return counts
    if not files:
        return counts
    got = ds.scan(table, latest=False).group_by("cluster").agg(pl.len()).collect()
    return dict(zip(got["cluster"].to_list(), got["len"].to_list(), strict=True))


def snapshot_summary(ds: Dataset) -> pl.DataFrame:
    """One row per cluster: nodes (and how many are Ready), pods at the snapshot's end by
    phase, problem pods (as :func:`problem_pods` counts them), events and Warning events,
    stored spans, log lines and metric samples, and the snapshot window."""
    pods = pods_at_end(ds)
    nodes = ds.nodes()
    events = ds.scan("events").select("cluster", "type").collect()
    problems = problem_pods(ds)
    clusters = sorted(
        {*ds.clusters, *pods["cluster"].to_list(), *nodes["cluster"].to_list(), *events["cluster"].to_list()}
        - {None}
    )
    if not clusters:
        return _empty(SUMMARY_COLUMNS)
    spans, logs, samples = (_rows_per_cluster(ds, t) for t in ("spans", "logs", "metrics"))
    start, end = ds.window
    rows: list[dict[str, Any]] = []
    for c in clusters:
        p = pods.filter(pl.col("cluster") == c)
        n = nodes.filter(pl.col("cluster") == c)
        e = events.filter(pl.col("cluster") == c)
        phase_counts = dict(p.group_by(pl.col("phase").cast(pl.String)).len().iter_rows())
        rows.append(
            {
                "cluster": c,
                "nodes": n.height,
                "nodes_ready": int(n["ready"].fill_null(value=False).sum()),
                "pods": p.height,
                **{f"pods_{ph.lower()}": int(phase_counts.get(ph, 0)) for ph in _PHASES},
                "problem_pods": problems.filter(pl.col("cluster") == c).height,
                "events": e.height,
                "warning_events": e.filter(pl.col("type") == "Warning").height,
                "spans": spans.get(c, 0),
                "logs": logs.get(c, 0),
                "metric_samples": samples.get(c, 0),
                "window_start": start,
                "window_end": end,
            }
        )
    return pl.DataFrame(rows, schema=SUMMARY_COLUMNS)


def _time(value: Any, *, what: str) -> dt.datetime | None:
    try:
        return to_utc(value) if value not in (None, "") else None
    except (ValueError, TypeError) as err:
        log.warning("ground truth: %s has an unreadable time %r (%s)", what, value, err)
        return None


def _object_text(obj: Any) -> str | None:
    """An incident's object as ``Kind/name`` (ground truth gives ``{"kind":…, "name":…}``)."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        kind, name = obj.get("kind"), obj.get("name")
        if name is not None:
            return f"{kind}/{name}" if kind else str(name)
        return json.dumps(obj, sort_keys=True, default=str)
    return str(obj)


def _text_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def incidents(ds: Dataset) -> pl.DataFrame:
    """The demo's known incidents from ``ground_truth.json``, sorted by start (empty with the
    columns for a snapshot without ground truth). ``object`` is ``Kind/name``, ``pods`` the
    pods involved, ``details`` JSON text."""
    truth = ds.ground_truth
    items = truth.get("incidents") if isinstance(truth, dict) else None
    if not items:
        return _empty(INCIDENT_COLUMNS)
    rows = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            log.warning("ground truth: incident #%d is not an object; skipped", i)
            continue
        rows.append(
            {
                "id": None if item.get("id") is None else str(item["id"]),
                "kind": item.get("kind"),
                "cluster": item.get("cluster"),
                "namespace": item.get("namespace"),
                "object": _object_text(item.get("object")),
                "pods": _text_list(item.get("pods")),
                "start": _time(item.get("start"), what=f"incident {item.get('id', i)} start"),
                "end": _time(item.get("end"), what=f"incident {item.get('id', i)} end"),
                "signals": _text_list(item.get("signals")),
                "details": json.dumps(item.get("details") or {}, sort_keys=True, default=str),
            }
        )
    return pl.DataFrame(rows, schema=INCIDENT_COLUMNS).sort("start", "id", nulls_last=True)
