"""The data helpers of the post-mortem report: a suspect's key metrics, new log patterns and
example lines, timeline rows of some signals. Re-exported by :mod:`workbench.reports.post_mortem`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import polars as pl

from workbench.errors import ParameterError
from workbench.reports._text import fmt_time
from workbench.store import Dataset

if TYPE_CHECKING:
    from workbench.reports.post_mortem import Scope

__all__ = [
    "KEY_METRIC_COLUMNS",
    "chart_step",
    "example_lines",
    "key_metrics",
    "new_log_patterns",
    "signal_rows",
    "top_evidence",
]

log = logging.getLogger(__name__)

TS = pl.Datetime("us", "UTC")
#: Columns of :func:`key_metrics`: series (a pod, service or node), metric, unit, ts, value.
KEY_METRIC_COLUMNS: dict[str, pl.DataType] = {
    "series": pl.String(), "metric": pl.String(), "unit": pl.String(), "ts": TS, "value": pl.Float64(),
}  # fmt: skip
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
_NICE_STEPS = ("15s", "30s", "1m", "2m", "5m", "10m", "15m", "30m", "1h")


def chart_step(sc: Scope, *, points: int = 120) -> str:
    """A bucket width giving about ``points`` buckets from ``context_start`` to ``end``."""
    from workbench.analyses.apm import duration_us

    span = (sc.end - sc.context_start).total_seconds() * 1e6
    for step in _NICE_STEPS:
        if span / duration_us(step) <= points:
            return step
    return _NICE_STEPS[-1]


def _apm_long(ds: Dataset, sc: Scope, *, cluster: str | None, namespace: str | None, service: str,
              step: str) -> list[pl.DataFrame]:  # fmt: skip
    from workbench.analyses import apm

    known = ds.scan("spans", cluster=cluster).select("service").unique().collect()["service"].to_list()
    if service not in known:
        return []
    s = apm.series(ds, cluster=cluster, namespace=namespace, service=service, start=sc.context_start, end=sc.end,
                   bucket=step)  # fmt: skip
    if s.is_empty():
        return []
    out = []
    for metric, col, unit, k in (("requests", "tps", "per s", 1.0), ("latency p90", "rt_p90_ms", "ms", 1.0),
                                 ("errors", "error_rate", "%", 100.0)):  # fmt: skip
        out.append(s.filter(pl.col(col).is_not_null()).select(
            pl.lit(f"{service} (service)").alias("series"), pl.lit(metric).alias("metric"), pl.lit(unit).alias("unit"),
            pl.col("ts").cast(TS), (pl.col(col).cast(pl.Float64) * k).alias("value")))  # fmt: skip
    return out


def key_metrics(ds: Dataset, suspect: dict[str, Any], sc: Scope) -> pl.DataFrame:
    """The key metrics of one suspect from ``context_start`` to ``end`` (:data:`KEY_METRIC_COLUMNS`):
    ``suspect`` is a row of ``TriageResult.suspects`` (its ``object``, ``Deployment/checkout``,
    names the kind). For a workload or a pod its pods' CPU and memory use and Warning events (``perf.browse``)
    and, when a traced service has its name, requests per second, p90 latency and error rate
    (``apm.series``); for a node the CPU and memory its containers use; for a service the
    latter only. Metrics that are zero throughout are left out."""
    from workbench.analyses import anomalies, perf

    name = suspect.get("name")
    kind = str(suspect.get("object") or "").partition("/")[0] or suspect.get("kind")
    cluster, namespace = suspect.get("cluster") or sc.cluster, suspect.get("namespace") or sc.namespace
    step = chart_step(sc)
    parts: list[pl.DataFrame] = []
    metrics = ("cpu_usage", "memory_usage", "events_warning")
    units = {"cpu_usage": ("CPU", "millicores", 1.0), "memory_usage": ("memory", "MiB", 2.0**-20),
             "events_warning": ("Warning events", "events", 1.0)}  # fmt: skip
    view = None
    try:
        if kind in WORKLOAD_KINDS:
            view = perf.browse(ds, cluster=cluster, namespace=namespace, workload=f"{kind}/{name}", metrics=metrics,
                               start=sc.context_start, end=sc.end, step=step)  # fmt: skip
        elif kind == "Pod":
            view = perf.browse(ds, cluster=cluster, namespace=namespace, pods=(name,), metrics=metrics,
                               start=sc.context_start, end=sc.end, step=step)  # fmt: skip
    except ParameterError as err:  # the suspect has no pods in the snapshot's pods table
        log.info("no pod metrics for %s/%s: %s", kind, name, err)
    if view is not None and view.data.height:
        for metric, (label, unit, k) in units.items():
            parts.append(view.data.filter(pl.col("metric") == metric).select(
                pl.col("pod").alias("series"), pl.lit(label).alias("metric"), pl.lit(unit).alias("unit"),
                pl.col("ts").cast(TS), (pl.col("value").cast(pl.Float64) * k).alias("value")))  # fmt: skip
    if kind == "Node":
        for metric, label, unit, k in (("container_cpu_usage_seconds_total", "CPU", "millicores", 1000.0),
                                       ("container_memory_working_set_bytes", "memory", "MiB", 2.0**-20)):  # fmt: skip
            s = anomalies.metric_series(ds, metric, by=("node",), step=step, node=name, cluster=cluster,
                                        start=sc.context_start, end=sc.end)  # fmt: skip
            parts.append(s.select(pl.lit(f"{name} (node)").alias("series"), pl.lit(label).alias("metric"),
                                  pl.lit(unit).alias("unit"), pl.col("ts").cast(TS),
                                  (pl.col("value").cast(pl.Float64) * k).alias("value")))  # fmt: skip
    if kind in (*WORKLOAD_KINDS, "Service") and name:
        parts += _apm_long(ds, sc, cluster=cluster, namespace=namespace, service=str(name), step=step)
    # a metric that is zero throughout (no Warning event, no error) says nothing: leave it out
    parts = [p for p in parts if p.height and p["value"].fill_null(0).abs().max() > 0]
    if not parts:
        return pl.DataFrame(schema=KEY_METRIC_COLUMNS)
    return pl.concat(parts).select([pl.col(c).cast(t) for c, t in KEY_METRIC_COLUMNS.items()])


def new_log_patterns(ds: Dataset, sc: Scope, *, factor: float = 3.0) -> pl.DataFrame:
    """Log patterns new in the window (or whose rate rose ``factor`` times) against the period
    before it (``patterns.new_patterns``); without a period before it, the window's patterns
    that hold ERROR or FATAL lines (same columns)."""
    from workbench.analyses import patterns

    if sc.baseline is not None:
        return patterns.new_patterns(
            ds, baseline=sc.baseline, current=(sc.start, sc.end), factor=factor, **sc.where
        )
    found = patterns.patterns(ds, **sc.window).filter(pl.col("errors") > 0)
    return found.select(
        "pattern_id", "template", pl.lit("in window").alias("status"), pl.lit(0, pl.Int64).alias("baseline_count"),
        pl.col("count").alias("current_count"), pl.lit(0.0).alias("baseline_per_min"),
        (pl.col("count") / sc.minutes).alias("current_per_min"), pl.lit(None, pl.Float64).alias("ratio"),
        "first_seen", "top_level", "example",
    )  # fmt: skip


def example_lines(new_patterns: pl.DataFrame, *, n: int = 5, width: int = 300) -> list[str]:
    """A few example log lines (the first of each new pattern, worst first) as text:
    ``08:43:12 ERROR <line>`` (cut at ``width`` characters)."""
    if new_patterns.is_empty() or "example" not in new_patterns.columns:
        return []
    out = []
    for r in new_patterns.head(n).to_dicts():
        line = str(r.get("example") or "").splitlines()[0] if r.get("example") else ""
        line = line if len(line) <= width else line[: width - 1] + "…"
        out.append(f"{fmt_time(r.get('first_seen'), short=True)} {r.get('top_level') or ''} {line}".strip())
    return out


def signal_rows(result: Any, signals: tuple[str, ...]) -> pl.DataFrame:
    """The rows of a triage timeline whose signal is one of ``signals`` (e.g. ``("restarts",
    "oom_killed")``: container restarts and terminations, OOM kills), in time order."""
    tl = getattr(result, "timeline", None)
    if not isinstance(tl, pl.DataFrame) or "signal" not in tl.columns:
        return pl.DataFrame(
            schema={"time": TS, "signal": pl.String(), "object": pl.String(), "detail": pl.String()}
        )
    return tl.filter(pl.col("signal").is_in(list(signals))).sort("time", nulls_last=True)


def top_evidence(result: Any, *, suspects: int = 3, per_suspect: int = 8) -> pl.DataFrame:
    """The evidence of the first ``suspects`` suspects, at most ``per_suspect`` rows each (the
    strongest), by rank and then time."""
    ev = getattr(result, "evidence", None)
    if not isinstance(ev, pl.DataFrame) or ev.is_empty() or "rank" not in ev.columns:
        return ev if isinstance(ev, pl.DataFrame) else pl.DataFrame()
    strongest = pl.col("score").rank("ordinal", descending=True).over("rank") <= per_suspect
    return ev.filter((pl.col("rank") <= suspects) & strongest).sort("rank", "time", nulls_last=True)
