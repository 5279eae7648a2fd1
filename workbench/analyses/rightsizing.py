"""Right-sizing: CPU and memory request and limit advice per container of each workload, from
usage percentiles the user chooses, aware of HPAs, OOM kills, restarts, start-up peaks and
CPU throttling.

>>> from workbench.analyses import rightsizing
>>> rs = rightsizing.analyse(ds, namespace="shop", cpu_request_percentile=95)   # doctest: +SKIP
>>> rs.advice.select("workload_name", "container", "cpu_request", "cpu_request_advised", "status")  # doctest: +SKIP
>>> rs.to_csv("advice.csv"); rs.to_json("advice.json")                          # doctest: +SKIP

How advice is made (defaults in brackets; every number is a parameter):

- **CPU request** = p90 [``cpu_request_percentile``] of the CPU rate × 1.15 [headroom], at
  least 10m. p90 rather than the mean: a request sized for the mean is exceeded half the time.
- **CPU limit** [``cpu_limit="percentile"``] = p99 × 1.5, never below the advised request.
  ``"none"`` advises no CPU limit (CPU is compressible: without a limit a container borrows
  idle CPU and is only slowed by contention); ``"keep"`` keeps the current one. A limit is the
  default because it keeps a noisy neighbour from starving the others on its node.
- **Memory request** = p99 of the working set × 1.15, at least 32Mi; **memory limit** = the
  maximum × 1.3, never below the request. Memory is not compressible: the limit is sized for
  the worst moment seen, with room for growth, and the request close to it.
- **HPA** (``hpa_aware``): when an HPA scales the workload on CPU (or memory) utilisation of
  the request with target T%, a smaller request raises utilisation and the HPA adds replicas
  instead of saving anything. The request is then not shrunk below ``min(current, mean usage /
  T)`` (the request that keeps today's mean usage at the target); flag ``hpa-floor``.
- **OOM kills**: a container whose last termination was ``OOMKilled`` had its working set cut
  at the limit, so the true need is unknown: limit ≥ current limit × 1.5 [``oom_bump``],
  request ≥ current limit; flag ``oom-killed``, status ``under-provisioned``.
- **Start-up peaks** (``startup_aware``, from :mod:`podstart` for pods started in the window):
  the CPU limit is not set below the start-up CPU peak, nor the memory limit below the start-up
  memory peak × the limit headroom; flag ``startup-peak``.
- **Throttling**: throttled CFS periods / all periods above 10% [``throttle_threshold_pct``]
  over the window → the CPU limit is raised to at least the current limit × 1.5
  [``throttle_bump``] (with ``cpu_limit="none"`` it is removed); flag ``throttled``.
- Values are rounded up to whole millicores and MiB. Fewer than 20 [``min_samples``] samples:
  no advice (status ``not enough data``).

Percentiles are computed per series (one container of one pod) by
:func:`workbench.analyses.usage.metric_stats`: one pass over the samples of the four metrics in
storage order, keyed on the integer ``series_id``; labels are joined after aggregation. A
workload's value is the highest of its pods' (every replica gets the same request, so it must
fit the busiest one). Start-up samples are included in the percentiles.

Result (:class:`RightSizing`): ``advice`` (:data:`ADVICE_COLUMNS`, one row per workload and
container: usage statistics, current and advised values side by side, changes, ``replicas``,
``flags``, ``status`` — ``ok``, ``over-provisioned``, ``under-provisioned``, ``no requests``,
``not enough data`` — and ``notes``), ``containers`` (:data:`CONTAINER_COLUMNS`, per pod),
``totals`` (:data:`TOTAL_COLUMNS`: per cluster and overall, current and advised requests and
limits × replicas, in cores and GiB, and the change), ``hpas`` and ``findings``.

What does not depend on the scope can be computed once per snapshot (:func:`shared`: the usage
statistics of every container series over the snapshot's window, the start-up peaks of every
pod started in it) and passed to :func:`analyse` for each scope, which then only filters it: a
page showing scope after scope reads the metrics once. The advice is the same either way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
from pathlib import Path
from typing import Any, Literal

import polars as pl

from workbench.analyses import podstart, usage
from workbench.analyses._rightsizing_rules import (
    HPA_COLUMNS,
    apply_rules,
    hpa_from_objects,
    hpa_targets_from_manifests,
)
from workbench.analyses.params import Finding, Params, field, require_one_of, resolve_params
from workbench.errors import ParameterError
from workbench.store import Dataset, to_utc

__all__ = ["ADVICE_COLUMNS", "CONTAINER_COLUMNS", "HPA_COLUMNS", "TOTAL_COLUMNS", "RightSizing",
           "RightSizingParams", "Shared", "analyse", "container_stats", "hpa_targets_from_manifests", "read_csv",
           "read_json", "shared"]  # fmt: skip

log = logging.getLogger(__name__)
F, S, INT = pl.Float64(), pl.String(), pl.Int64()
GIB = 2**30

_CUR = {"cpu_request": F, "cpu_limit": F, "memory_request": F, "memory_limit": F}
_STAT = {"cpu_samples": INT, "cpu_mean": F, "cpu_request_basis": F, "cpu_limit_basis": F, "cpu_max": F,
         "memory_samples": INT, "memory_mean": F, "memory_request_basis": F, "memory_max": F,
         "throttled_pct": F, "oom_killed": pl.Boolean(), "restarts": INT}  # fmt: skip
CONTAINER_COLUMNS: dict[str, pl.DataType] = {
    "cluster": S,
    "namespace": S,
    "workload_kind": S,
    "workload_name": S,
    "pod": S,
    "container": S,
    **_STAT,
    **_CUR,
}
ADVICE_COLUMNS: dict[str, pl.DataType] = {
    "cluster": S,
    "namespace": S,
    "workload_kind": S,
    "workload_name": S,
    "container": S,
    "pods": INT,
    "replicas": INT,
    **_STAT,
    "hpa_cpu_target_pct": F,
    "hpa_memory_target_pct": F,
    "startup_cpu_peak": F,
    "startup_memory_peak": F,
    **{f"{k}{s}": F for k in _CUR for s in ("", "_advised", "_change")},
    "status": S,
    "flags": pl.List(pl.String()),
    "notes": S,
}
TOTAL_COLUMNS: dict[str, pl.DataType] = {
    "cluster": S,
    "containers": INT,
    **{
        f"{r}_{k}_{s}": F
        for r, u in (("cpu", "cores"), ("memory", "gib"))
        for k in ("request", "limit")
        for s in (f"current_{u}", f"advised_{u}", f"change_{u}")
    },  # fmt: skip
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class RightSizingParams(Params):
    """Parameters of right-sizing (see the module docstring for the rules and defaults)."""

    cluster: str | None = field(None, "cluster (all when empty)")
    namespace: str | None = field(None, "namespace (all when empty)")
    workload: str | None = field(None, "workload name or Kind/name (all when empty)")
    start: dt.datetime | str | None = field(None, "window start, UTC (the snapshot's when empty)")
    end: dt.datetime | str | None = field(None, "window end, UTC (the snapshot's when empty)")
    cpu_request_percentile: float = field(90.0, "percentile of CPU usage the request covers", ge=50, le=100)
    cpu_request_headroom: float = field(1.15, "CPU request = percentile × this", ge=1, le=10)
    cpu_limit: Literal["percentile", "none", "keep"] = field(
        "percentile", "CPU limit policy", choices=("percentile", "none", "keep")
    )
    cpu_limit_percentile: float = field(99.0, "percentile of CPU usage the limit covers", ge=50, le=100)
    cpu_limit_headroom: float = field(1.5, "CPU limit = percentile × this", ge=1, le=10)
    memory_request_percentile: float = field(
        99.0, "percentile of the working set the request covers", ge=50, le=100
    )
    memory_request_headroom: float = field(1.15, "memory request = percentile × this", ge=1, le=10)
    memory_limit_headroom: float = field(1.3, "memory limit = maximum working set × this", ge=1, le=10)
    oom_bump: float = field(1.5, "an OOM-killed container's memory limit ≥ current limit × this", ge=1, le=10)
    throttle_threshold_pct: float = field(10.0, "throttled share of CFS periods that calls for a higher CPU limit",
                                          ge=0, le=100)  # fmt: skip
    throttle_bump: float = field(1.5, "a throttled container's CPU limit ≥ current limit × this", ge=1, le=10)
    hpa_aware: bool = field(True, "keep requests an HPA's utilisation target relies on")  # noqa: FBT003
    startup_aware: bool = field(True, "keep limits above the start-up peaks of pods started in the window")  # noqa: FBT003
    min_cpu: float = field(0.01, "smallest CPU request advised, cores", ge=0)
    min_memory: float = field(32 * 2**20, "smallest memory request advised, bytes", ge=0)
    min_samples: int = field(20, "fewer samples than this: no advice", ge=1)
    tolerance: float = field(0.1, "advised within ±this share of current counts as ok", ge=0, le=1)

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("cluster", "namespace", "workload"):
            object.__setattr__(self, name, getattr(self, name) or None)
        object.__setattr__(self, "start", to_utc(self.start or None))
        object.__setattr__(self, "end", to_utc(self.end or None))
        if self.start is not None and self.end is not None and self.start >= self.end:
            msg = f"start ({self.start}) must be before end ({self.end})"
            raise ParameterError(msg)


@dataclasses.dataclass(frozen=True)
class RightSizing:
    """Right-sizing advice (see the module docstring) with CSV and JSON export."""

    params: RightSizingParams
    advice: pl.DataFrame
    containers: pl.DataFrame
    totals: pl.DataFrame
    hpas: pl.DataFrame
    findings: list[Finding]

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write ``advice`` as CSV (``flags`` joined by ``;``); :func:`read_csv` reads it back."""
        out = Path(path)
        self.advice.with_columns(pl.col("flags").list.join(";")).write_csv(out)
        return out

    def to_json(self, path: str | os.PathLike[str]) -> Path:
        """Write parameters, ``advice`` and ``totals`` as one JSON document; :func:`read_json`
        reads the advice back."""
        out = Path(path)
        params = {k: (v.isoformat() if isinstance(v, dt.datetime) else v)
                  for k, v in dataclasses.asdict(self.params).items()}  # fmt: skip
        doc = {"params": params, "advice": self.advice.to_dicts(), "totals": self.totals.to_dicts()}
        out.write_text(json.dumps(doc, indent=1, allow_nan=False), encoding="utf-8")
        return out


def read_csv(path: str | os.PathLike[str]) -> pl.DataFrame:
    """Advice written by :meth:`RightSizing.to_csv`, with :data:`ADVICE_COLUMNS` types."""
    schema = {**ADVICE_COLUMNS, "flags": pl.String()}
    frame = pl.read_csv(path, schema=schema)
    return frame.with_columns(
        pl.when(pl.col("flags").fill_null("") == "").then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(pl.col("flags").str.split(";")).alias("flags")
    )  # fmt: skip


def read_json(path: str | os.PathLike[str]) -> pl.DataFrame:
    """Advice written by :meth:`RightSizing.to_json`, with :data:`ADVICE_COLUMNS` types."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return pl.DataFrame(doc.get("advice") or [], schema=ADVICE_COLUMNS)


_METRICS = [usage.CPU, usage.MEMORY, usage.THROTTLED, usage.PERIODS]


@dataclasses.dataclass(frozen=True)
class Shared:
    """What right-sizing needs of the whole snapshot whatever the scope (see :func:`shared`):
    ``stats``, :func:`usage.metric_stats` of every container series of the four metrics over
    ``window`` (the snapshot's) with the ``quantiles`` (CPU request, CPU limit, memory request
    percentiles); ``pod_peaks``, the start-up peaks of every pod created in ``window``
    (:attr:`podstart.PodStarts.pod_peaks`; None: not computed)."""

    window: tuple[dt.datetime | None, dt.datetime | None]
    quantiles: tuple[float, float, float]
    stats: pl.DataFrame
    pod_peaks: pl.DataFrame | None

    def stats_for(self, ds: Dataset, p: RightSizingParams) -> pl.DataFrame | None:
        """``stats`` when they are those ``p`` asks for of ``ds`` (its window is the snapshot's,
        its percentiles these), else None."""
        if self.window != ds.window or (p.start or ds.window[0], p.end or ds.window[1]) != self.window:
            return None
        return self.stats if _quantiles(p) == self.quantiles else None

    def peaks_for(self, ds: Dataset, p: RightSizingParams, lo: Any, hi: Any) -> pl.DataFrame | None:
        """The start-up peaks of the pods of ``ds`` created in ``[lo, hi]`` in ``p``'s scope,
        when they are among ``pod_peaks``' (the window is within the snapshot's), else None."""
        w0, w1 = self.window
        if self.pod_peaks is None or self.window != ds.window or (w0 is not None and (lo is None or lo < w0)) or (
                w1 is not None and (hi is None or hi > w1)):  # fmt: skip
            return None
        return podstart.scope_peaks(ds, self.pod_peaks, cluster=p.cluster, namespace=p.namespace,
                                    workload=p.workload, start=lo, end=hi)  # fmt: skip


def _quantiles(p: RightSizingParams) -> tuple[float, float, float]:
    return (p.cpu_request_percentile, p.cpu_limit_percentile, p.memory_request_percentile)


def _metric_stats(ds: Dataset, p: RightSizingParams, series: pl.DataFrame) -> pl.DataFrame:
    qr, ql, qm = _quantiles(p)
    return usage.metric_stats(ds, series, start=p.start or ds.window[0], end=p.end or ds.window[1],
                              quantiles={usage.CPU: [qr, ql], usage.MEMORY: [qm]})  # fmt: skip


def shared(ds: Dataset, params: RightSizingParams | None = None, *, pod_peaks: pl.DataFrame | None = None,
           **changes: Any) -> Shared:  # fmt: skip
    """The scope-independent part of right-sizing (:class:`Shared`) for the snapshot's window
    and the percentiles of ``params`` (its scope and window are not used). ``pod_peaks``: those
    of an earlier :class:`Shared` of the same snapshot (they do not depend on the percentiles);
    computed when not given and ``startup_aware``."""
    p = dataclasses.replace(resolve_params(RightSizingParams, params, changes), cluster=None, namespace=None,
                            workload=None, start=None, end=None)  # fmt: skip
    stats = _metric_stats(ds, p, usage.select_series(ds, _METRICS, containers_only=True))
    if pod_peaks is None and p.startup_aware:
        pod_peaks = podstart.analyse(ds).pod_peaks
    return Shared(ds.window, _quantiles(p), stats, pod_peaks)


def container_stats(ds: Dataset, p: RightSizingParams, *, shared: Shared | None = None) -> pl.DataFrame:
    """Usage statistics per pod container (:data:`CONTAINER_COLUMNS`, without workload columns
    and current values): per-series percentiles of the four metrics in one pass over their
    samples (:func:`usage.metric_stats`; those of ``shared`` when they fit ``p``), then the
    series of one container combined."""
    f = {"cluster": p.cluster, "namespace": p.namespace, "workload": p.workload}
    series = usage.select_series(ds, _METRICS, containers_only=True, **f)
    keys = ["cluster", "namespace", "pod", "container"]
    out_schema = {k: S for k in keys} | {
        k: v for k, v in _STAT.items() if k not in ("oom_killed", "restarts")
    }
    if series.is_empty():
        return pl.DataFrame(schema=out_schema)
    qr, ql, qm = _quantiles(p)
    known = shared.stats_for(ds, p) if shared is not None else None
    if known is not None:  # a series' statistics depend on its samples only
        stats = known.filter(pl.col("series_id").is_in(series["series_id"].implode()))
    else:
        stats = _metric_stats(ds, p, series)

    def of(metric: str) -> pl.DataFrame:
        return stats.filter(pl.col("metric") == metric)

    cpu, mem, thr, per = of(usage.CPU), of(usage.MEMORY), of(usage.THROTTLED), of(usage.PERIODS)
    meta = series.select("cluster", "series_id", *keys[1:])

    def per_container(stats: pl.DataFrame, aggs: list[pl.Expr]) -> pl.DataFrame:
        return stats.join(meta, on="series_id").group_by(keys).agg(aggs)

    q = usage.qname
    c = per_container(cpu, [pl.col("samples").sum().cast(pl.Int64).alias("cpu_samples"),
                            pl.col("mean").max().alias("cpu_mean"), pl.col(q(qr)).max().alias("cpu_request_basis"),
                            pl.col(q(ql)).max().alias("cpu_limit_basis"), pl.col("max").max().alias("cpu_max")])  # fmt: skip
    m = per_container(mem, [pl.col("samples").sum().cast(pl.Int64).alias("memory_samples"),
                            pl.col("mean").max().alias("memory_mean"),
                            pl.col(q(qm)).max().alias("memory_request_basis"), pl.col("max").max().alias("memory_max")])  # fmt: skip
    t = per_container(thr, [pl.col("increase").sum().alias("_thr")])
    d = per_container(per, [pl.col("increase").sum().alias("_per")])
    out = c
    for other in (m, t, d):
        out = out.join(other, on=keys, how="full", coalesce=True, nulls_equal=True)
    out = out.with_columns(
        pl.when(pl.col("_per") > 0).then(pl.col("_thr") / pl.col("_per") * 100.0).alias("throttled_pct")
    )
    return usage.shape(out, out_schema)


def _current(ds: Dataset, p: RightSizingParams, lo: Any, hi: Any) -> pl.DataFrame:
    """Per pod container: workload, current requests/limits, OOM kill and restarts."""
    pods = ds.pods(cluster=p.cluster, namespace=p.namespace, workload=p.workload, start=lo, end=hi).select(
        "cluster",
        "namespace",
        pl.col("name").alias("pod"),
        pl.col("uid").alias("pod_uid"),
        "created",
        pl.coalesce("workload_kind", pl.lit("Pod")).alias("workload_kind"),
        pl.coalesce("workload_name", "name").alias("workload_name"),
    )
    conts = ds.containers(cluster=p.cluster, namespace=p.namespace).filter(
        ~pl.col("is_init").fill_null(value=False)
    )
    conts = conts.join(pods, on=["cluster", "namespace", "pod", "pod_uid"], how="inner")
    return conts.select(
        "cluster", "namespace", "workload_kind", "workload_name", "pod", pl.col("name").alias("container"), "created",
        ((pl.col("last_reason") == "OOMKilled") | (pl.col("reason") == "OOMKilled")).fill_null(value=False)
        .alias("oom_killed"), pl.col("restarts").fill_null(0).cast(pl.Int64),
        *[pl.col(k).cast(pl.Float64) for k in _CUR],
    )  # fmt: skip


def _replicas(ds: Dataset, p: RightSizingParams, current: pl.DataFrame, hi: Any) -> pl.DataFrame:
    keys = ["cluster", "namespace", "workload_kind", "workload_name"]
    w = ds.workloads(cluster=p.cluster, namespace=p.namespace).select(
        "cluster", "namespace", pl.col("kind").cast(pl.String).alias("workload_kind"), pl.col("name").alias("workload_name"),
        pl.col("desired").cast(pl.Int64).alias("_desired"))  # fmt: skip
    alive = ds.pods(cluster=p.cluster, namespace=p.namespace, start=hi, end=hi) if hi is not None else ds.pods(
        cluster=p.cluster, namespace=p.namespace)  # fmt: skip
    n = current.join(alive.select("cluster", "namespace", pl.col("name").alias("pod")), on=["cluster", "namespace", "pod"],
                     how="semi").group_by(keys).agg(pl.col("pod").n_unique().cast(pl.Int64).alias("_alive"))  # fmt: skip
    return n.join(w, on=keys, how="full", coalesce=True).select(
        *keys, pl.coalesce("_desired", "_alive", pl.lit(0, dtype=pl.Int64)).alias("replicas")
    )


def analyse(ds: Dataset, params: RightSizingParams | None = None, *, shared: Shared | None = None,
            **changes: Any) -> RightSizing:  # fmt: skip
    """Right-sizing advice (:class:`RightSizing`). ``shared``: :func:`shared` of ``ds`` (what
    fits this scope is taken from it instead of reading the metrics again)."""
    p = resolve_params(RightSizingParams, params, changes)
    if p.cluster is not None:
        require_one_of("cluster", p.cluster, ds.clusters)
    lo, hi = p.start or ds.window[0], p.end or ds.window[1]
    keys = ["cluster", "namespace", "pod", "container"]
    wkeys = ["cluster", "namespace", "workload_kind", "workload_name", "container"]
    current = _current(ds, p, lo, hi)
    stats = container_stats(ds, p, shared=shared)
    rows = current.join(stats, on=keys, how="left")
    containers = usage.shape(rows, CONTAINER_COLUMNS).sort(keys)
    hpas = hpa_from_objects(ds.scan("objects", cluster=p.cluster, namespace=p.namespace, latest=False)
                            .filter(pl.col("kind") == "HorizontalPodAutoscaler").collect())  # fmt: skip
    if containers.is_empty():
        return RightSizing(
            p, usage.empty(ADVICE_COLUMNS), containers, _totals(usage.empty(ADVICE_COLUMNS)), hpas, []
        )
    peaks = shared.peaks_for(ds, p, lo, hi) if shared is not None and p.startup_aware else None
    if peaks is None:
        peaks = podstart.analyse(ds, cluster=p.cluster, namespace=p.namespace, workload=p.workload, start=lo,
                                 end=hi).peaks if p.startup_aware else usage.empty(podstart.PEAK_COLUMNS)  # fmt: skip
    rows = rows.join(peaks, on=keys, how="left")
    newest = rows.sort("created").group_by(wkeys).agg(*[pl.col(k).last() for k in _CUR])
    agg = rows.group_by(wkeys).agg(
        pl.col("pod").n_unique().cast(pl.Int64).alias("pods"),
        pl.col("cpu_samples").sum(), pl.col("memory_samples").sum(),
        *[pl.col(c).max() for c in ("cpu_request_basis", "cpu_limit_basis", "cpu_max", "memory_request_basis",
                                    "memory_max", "throttled_pct", "startup_cpu_peak", "startup_memory_peak")],
        pl.col("cpu_mean").mean(), pl.col("memory_mean").mean(), pl.col("oom_killed").any(), pl.col("restarts").sum(),
    ).join(newest, on=wkeys)  # fmt: skip
    hpa = hpas.select("cluster", "namespace", pl.col("target_kind").alias("workload_kind"),
                      pl.col("target_name").alias("workload_name"), pl.col("cpu_target_pct").alias("hpa_cpu_target_pct"),
                      pl.col("memory_target_pct").alias("hpa_memory_target_pct"))  # fmt: skip
    hpa = hpa.group_by(wkeys[:-1]).agg(
        pl.col("hpa_cpu_target_pct").min(), pl.col("hpa_memory_target_pct").min()
    )
    agg = agg.join(hpa, on=wkeys[:-1], how="left", nulls_equal=True).join(
        _replicas(ds, p, current, hi), on=wkeys[:-1], how="left", nulls_equal=True
    )
    advised = [apply_rules(r, p) for r in agg.iter_rows(named=True)]
    out = pl.concat([agg, pl.DataFrame(advised, schema={**{f"{k}_advised": F for k in _CUR}, "flags": pl.List(pl.String),
                                                        "status": S, "notes": S})], how="horizontal")  # fmt: skip
    out = out.with_columns(*[(pl.col(f"{k}_advised") - pl.col(k)).alias(f"{k}_change") for k in _CUR])
    advice = usage.shape(out, ADVICE_COLUMNS).sort(wkeys)
    return RightSizing(p, advice, containers, _totals(advice), hpas, _findings(advice))


def _totals(advice: pl.DataFrame) -> pl.DataFrame:
    """Current and advised requests and limits × replicas, per cluster and overall ``(all)``."""
    if advice.is_empty():
        return usage.empty(TOTAL_COLUMNS)
    exprs = []
    for r, unit, scale in (("cpu", "cores", 1.0), ("memory", "gib", 1.0 / GIB)):
        for k in ("request", "limit"):
            cur = (pl.col(f"{r}_{k}") * pl.col("replicas") * scale).sum()
            adv = (pl.col(f"{r}_{k}_advised") * pl.col("replicas") * scale).sum()
            exprs += [cur.alias(f"{r}_{k}_current_{unit}"), adv.alias(f"{r}_{k}_advised_{unit}"),
                      (adv - cur).alias(f"{r}_{k}_change_{unit}")]  # fmt: skip
    # Only containers with advice count, so current and advised compare like with like.
    rows = advice.filter(pl.col("status") != "not enough data")
    per = rows.group_by("cluster").agg(pl.len().cast(pl.Int64).alias("containers"), *exprs)
    everything = rows.select(
        pl.lit("(all)").alias("cluster"), pl.len().cast(pl.Int64).alias("containers"), *exprs
    )
    return usage.shape(pl.concat([per.sort("cluster"), everything], how="vertical_relaxed"), TOTAL_COLUMNS)


def _findings(advice: pl.DataFrame) -> list[Finding]:
    out = []
    for r in advice.filter(pl.col("status") == "under-provisioned").iter_rows(named=True):
        sev = "critical" if "oom-killed" in r["flags"] else "warning"
        out.append(Finding(severity=sev, title=f"{r['cluster']}: {r['workload_name']}/{r['container']} is "
                           "under-provisioned",
                           detail=r["notes"] or "advised requests are above the current ones", cluster=r["cluster"],
                           namespace=r["namespace"], kind=r["workload_kind"], name=r["workload_name"],
                           evidence=tuple(r["flags"])))  # fmt: skip
    return out
