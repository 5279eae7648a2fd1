"""Pod start analysis: how pods get from created to Running to *stable* running, and what
they use on the way — to set requests and limits right.

>>> from workbench.analyses import podstart
>>> starts = podstart.analyse(ds, namespace="shop")                       # doctest: +SKIP
>>> starts.pods.select("pod", "pending_s", "warmup_s", "cpu_peak_cores")   # doctest: +SKIP

The pods analysed are those created in the window (the snapshot's when not given), or the
one named pod (whenever it was created). Each start is split into three phases:

- **Pending**: created → the first container of the pod ran (``running``). Broken down into
  *scheduling* (created → ``PodScheduled``), *init* (scheduled → ``Initialized``: init
  containers), *start* (initialized → running: pulling the app images, creating containers).
  ``image_pull_s`` adds the pulls reported by ``Pulled`` events ("… in 2.984s"), else the time
  from the first ``Pulling`` to the last ``Pulled`` event; it overlaps init/start.
- **Running**: running → ``stable``. The rule (the commercial products' one): CPU is averaged
  over the first ``stable_window`` (5 minutes) after Running; stable running begins when the
  pod's CPU first falls below that average *after the window's peak* and its average over the
  next ``settle`` (1 minute; at the end of the data, what remains) is below it too, so one
  quiet scrape in a noisy series does not end the phase. The search starts at the
  peak so that the quiet seconds before a JVM warms up do not count. When CPU never settles
  in the data, ``stable`` is null and Running lasts to the end of the data.
- **Stable Running**: the ``observe`` (10 minutes) after ``stable``.

The rule only compares CPU with its own average, so the unit does not matter; the result also
gives CPU as a percentage of a *basis* (``cpu_basis``): the pod's CPU limit; without a limit,
its request; without either, its own peak in the window.

CPU is the pod's containers added (``container_cpu_usage_seconds_total`` rates, init
containers included) at ``resolution`` (15 s), memory the working sets added.

Result frames (:class:`PodStarts`): ``pods`` (:data:`START_COLUMNS`: the list view — name, QoS,
restarts, requests and limits, start time — and the timeline), ``phases``
(:data:`PHASE_COLUMNS`: per pod and phase, CPU and memory mean/p95/max against requests and
limits), ``series`` (:data:`SERIES_COLUMNS`: the pod's usage from creation to the end of
Stable Running, or to the end of its data when it never settled), ``workloads`` (:data:`WORKLOAD_COLUMNS`: the starts
of one workload compared), ``advice`` (:data:`ADVICE_COLUMNS`, see :func:`advice`) and
``peaks`` (:data:`PEAK_COLUMNS`: per container, the highest CPU and memory from creation until
stable, used by right-sizing).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

import numpy as np
import polars as pl

from workbench.analyses import usage
from workbench.analyses._podstart_advice import ADVICE_COLUMNS, advice, findings
from workbench.analyses._podstart_times import image_pull_seconds, pod_events, running_times
from workbench.analyses.params import Finding, Params, field, require_one_of, resolve_params
from workbench.errors import ParameterError
from workbench.store import Dataset, to_utc

__all__ = [
    "ADVICE_COLUMNS", "PEAK_COLUMNS", "PHASES", "PHASE_COLUMNS", "SERIES_COLUMNS", "START_COLUMNS",
    "WORKLOAD_COLUMNS", "PodStartParams", "PodStarts", "advice", "analyse", "image_pull_seconds",
    "stable_time", "workloads",
]

log = logging.getLogger(__name__)
TS = pl.Datetime("us", "UTC")
F, S, INT = pl.Float64(), pl.String(), pl.Int64()
PHASES = ("Pending", "Running", "Stable Running")

START_COLUMNS: dict[str, pl.DataType] = {
    "cluster": S, "namespace": S, "pod": S, "uid": S, "workload_kind": S, "workload_name": S, "node": S,
    "qos_class": S, "status": S, "restarts": pl.Int32(),
    "cpu_request": F, "cpu_limit": F, "memory_request": pl.Int64(), "memory_limit": pl.Int64(),
    "created": TS, "scheduled": TS, "initialized": TS, "running": TS, "stable": TS, "ready_time": TS,
    "scheduling_s": F, "init_s": F, "start_s": F, "image_pull_s": F, "pending_s": F, "warmup_s": F,
    "ready_s": F, "cpu_basis": S, "cpu_threshold_cores": F, "cpu_threshold_pct": F, "cpu_peak_cores": F,
    "cpu_peak_pct": F, "memory_peak_bytes": F, "settled": pl.Boolean(),
}
_STATS = {f"{r}_{s}": F for r in ("cpu", "memory") for s in ("mean", "p95", "max")}
PHASE_COLUMNS: dict[str, pl.DataType] = {
    "cluster": S, "namespace": S, "pod": S, "workload_name": S, "phase": S, "start": TS, "end": TS,
    "duration_s": F, "samples": INT, **_STATS, "cpu_request": F, "cpu_limit": F, "memory_request": F,
    "memory_limit": F, "cpu_max_pct_request": F, "cpu_max_pct_limit": F, "memory_max_pct_request": F,
    "memory_max_pct_limit": F,
}
SERIES_COLUMNS: dict[str, pl.DataType] = {
    "cluster": S, "namespace": S, "pod": S, "ts": TS, "since_created_s": F, "phase": S,
    "cpu_cores": F, "memory_bytes": F, "cpu_pct": F,
}
WORKLOAD_COLUMNS: dict[str, pl.DataType] = {
    "cluster": S, "namespace": S, "workload_kind": S, "workload_name": S, "pods": INT, "settled": INT,
    "pending_s_median": F, "pending_s_max": F, "warmup_s_median": F, "warmup_s_max": F,
    "cpu_peak_cores_max": F, "memory_peak_bytes_max": F, "cpu_request": F, "cpu_limit": F,
    "memory_request": F, "memory_limit": F,
}
PEAK_COLUMNS: dict[str, pl.DataType] = {
    "cluster": S, "namespace": S, "pod": S, "container": S, "startup_cpu_peak": F, "startup_memory_peak": F,
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class PodStartParams(Params):
    """Parameters of the pod start analysis."""

    cluster: str | None = field(None, "cluster (all when empty)")
    namespace: str | None = field(None, "namespace (all when empty)")
    workload: str | None = field(None, "workload name or Kind/name (all when empty)")
    pod: str | None = field(None, "one pod to analyse, whenever it was created (pods created in the window when empty)")
    start: dt.datetime | str | None = field(None, "window start, UTC: pods created from here (snapshot's when empty)")
    end: dt.datetime | str | None = field(None, "window end, UTC: pods created until here (snapshot's when empty)")
    stable_window: str = field("5m", "CPU is averaged over this long after Running; stable = below that average")
    settle: str = field("1m", "CPU must stay below the average this long to count as settled")
    observe: str = field("10m", "length of the Stable Running phase measured")
    resolution: str = field("15s", "time resolution of the usage series (about the scrape interval)")

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("cluster", "namespace", "workload", "pod"):
            object.__setattr__(self, name, getattr(self, name) or None)
        object.__setattr__(self, "start", to_utc(self.start or None))
        object.__setattr__(self, "end", to_utc(self.end or None))
        if self.start is not None and self.end is not None and self.start >= self.end:
            msg = f"start ({self.start}) must be before end ({self.end})"
            raise ParameterError(msg)
        for name in ("stable_window", "settle", "observe", "resolution"):
            usage.micros(getattr(self, name), what=name)


@dataclasses.dataclass(frozen=True)
class PodStarts:
    """The pod start analysis' results (see the module docstring)."""

    params: PodStartParams
    pods: pl.DataFrame
    phases: pl.DataFrame
    series: pl.DataFrame
    workloads: pl.DataFrame
    advice: pl.DataFrame
    peaks: pl.DataFrame
    findings: list[Finding]


def _secs(text: str) -> float:
    return usage.micros(text) / 1e6


def stable_time(ts: np.ndarray, cpu: np.ndarray, running: np.datetime64, *, window_s: float,
                settle_s: float) -> tuple[np.datetime64 | None, float | None, float | None]:  # fmt: skip
    """The stable-running rule on one pod's CPU series (``ts`` datetime64[us] ascending, ``cpu``
    cores). Stable is the first sample at or after the window's peak that is below the window's
    average and whose next ``settle_s`` seconds average below it too. Returns (stable time or
    None, the window's average, the window's peak).

    >>> import numpy as np
    >>> t = np.datetime64("2026-01-01T00:00:00", "us") + np.arange(8) * np.timedelta64(60, "s")
    >>> cpu = np.array([1.0, 2.0, 2.0, 1.5, 0.5, 0.4, 0.5, 0.4])
    >>> stable, average, peak = stable_time(t, cpu, t[0], window_s=240, settle_s=60)
    >>> str(stable), round(average, 3), peak
    ('2026-01-01T00:04:00.000000', 1.4, 2.0)"""
    keep = ts >= running
    ts, cpu = ts[keep], cpu[keep]
    in_window = ts <= running + np.timedelta64(int(window_s * 1e6), "us")
    if not in_window.any():
        return None, None, None
    threshold = float(np.mean(cpu[in_window]))
    peak_i = int(np.argmax(np.where(in_window, cpu, -np.inf)))
    settle = np.timedelta64(int(settle_s * 1e6), "us")
    below = cpu < threshold
    for i in range(peak_i, len(ts)):
        if not below[i]:
            continue
        span = (ts >= ts[i]) & (ts <= ts[i] + settle)
        if float(np.mean(cpu[span])) < threshold:
            return ts[i], threshold, float(cpu[peak_i])
    return None, threshold, float(cpu[peak_i])


def _select_pods(ds: Dataset, p: PodStartParams) -> pl.DataFrame:
    pods = ds.pods(cluster=p.cluster, namespace=p.namespace, workload=p.workload)
    if p.pod is not None:
        hit = pods.filter(pl.col("name") == p.pod)
        if hit.is_empty():
            require_one_of("pod", p.pod, pods["name"].to_list())
        return hit
    lo, hi = p.start or ds.window[0], p.end or ds.window[1]
    if lo is not None:
        pods = pods.filter(pl.col("created") >= lo)
    if hi is not None:
        pods = pods.filter(pl.col("created") <= hi)
    return pods.filter(pl.col("created").is_not_null())


def _phase_stats(sub: pl.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {"samples": sub.height}
    for r, col in (("cpu", "cpu_cores"), ("memory", "memory_bytes")):
        x = sub[col].drop_nulls()
        out[f"{r}_mean"] = x.mean() if x.len() else None
        out[f"{r}_p95"] = x.quantile(0.95, interpolation="linear") if x.len() else None
        out[f"{r}_max"] = x.max() if x.len() else None
    return out


def _pct(a: float | None, b: float | None) -> float | None:
    return a / b * 100.0 if a is not None and b else None


def analyse(ds: Dataset, params: PodStartParams | None = None, **changes: Any) -> PodStarts:
    """Run the pod start analysis (:class:`PodStarts`)."""
    p = resolve_params(PodStartParams, params, changes)
    if p.cluster is not None:
        require_one_of("cluster", p.cluster, ds.clusters)
    pods = _select_pods(ds, p)
    if pods.is_empty():
        empty = usage.empty
        return PodStarts(p, empty(START_COLUMNS), empty(PHASE_COLUMNS), empty(SERIES_COLUMNS),
                         empty(WORKLOAD_COLUMNS), empty(ADVICE_COLUMNS), empty(PEAK_COLUMNS), [])  # fmt: skip
    conts = ds.containers(cluster=pods["cluster"].unique().to_list(), pod=pods["name"].unique().to_list())
    conts = conts.filter(pl.col("pod_uid").is_in(pods["uid"].implode()))
    events = pod_events(ds, pods)
    pods = pods.join(running_times(ds, pods, conts, events), on=["cluster", "uid"], how="left", nulls_equal=True)
    has_init = conts.filter(pl.col("is_init").fill_null(value=False))["pod_uid"].unique().to_list()

    lo = pods["created"].min()
    hi_data = ds.window[1]
    cont_use = usage.container_usage(ds, cluster=pods["cluster"].unique().to_list(),
                                     pod=pods["name"].unique().to_list(), start=lo, end=hi_data,
                                     step=p.resolution)  # fmt: skip
    pod_use = cont_use.group_by("cluster", "namespace", "pod", "ts").agg(
        usage.nsum("cpu_cores"), usage.nsum("memory_bytes")
    ).sort("cluster", "namespace", "pod", "ts")
    win_s, settle_s, observe = _secs(p.stable_window), _secs(p.settle), dt.timedelta(seconds=_secs(p.observe))

    rows, phase_rows, series_parts, peak_parts = [], [], [], []
    for pod in pods.sort("cluster", "namespace", "created", "name").iter_rows(named=True):
        key = (pl.col("cluster") == pod["cluster"]) & (pl.col("namespace") == pod["namespace"]) & (
            pl.col("pod") == pod["name"])
        gone = pod["deleted"]
        sel = pod_use.filter(key, pl.col("ts") >= pod["created"].replace(microsecond=0) - dt.timedelta(seconds=1))
        if gone is not None:
            sel = sel.filter(pl.col("ts") <= gone)
        sel = sel.filter(pl.col("cpu_cores").is_not_null() | pl.col("memory_bytes").is_not_null())
        running = pod["running"]
        stable = threshold = win_peak = None
        if running is not None and sel.height:
            cpu_ok = sel.filter(pl.col("cpu_cores").is_not_null())
            t_arr = cpu_ok["ts"].to_numpy().astype("datetime64[us]")
            st, threshold, win_peak = stable_time(t_arr, cpu_ok["cpu_cores"].to_numpy(),
                                                  np.datetime64(running.replace(tzinfo=None), "us"),
                                                  window_s=win_s, settle_s=settle_s)  # fmt: skip
            stable = None if st is None else st.astype(dt.datetime).replace(tzinfo=dt.UTC)
        data_end = sel["ts"].max() if sel.height else (gone or hi_data)
        # a pod that finished without a known first run has no measurable Pending phase
        done = str(pod["phase"]) in ("Succeeded", "Failed")
        bounds = {"Pending": (pod["created"], running or (None if done else gone or hi_data)),
                  "Running": (running, stable or data_end),
                  "Stable Running": (stable, None if stable is None else min(stable + observe, data_end or stable))}  # fmt: skip
        until_stable = sel.filter(pl.col("ts") < (stable or data_end or pod["created"]) + dt.timedelta(microseconds=1))
        cpu_peak = until_stable["cpu_cores"].max() if until_stable.height else None
        mem_peak = until_stable["memory_bytes"].max() if until_stable.height else None
        basis, basis_v = next(((n, v) for n, v in (("limit", pod["cpu_limit"]), ("request", pod["cpu_request"]),
                                                     ("peak", cpu_peak)) if v), (None, None))  # fmt: skip
        phase_of = pl.lit(None, dtype=pl.String)
        for name in PHASES:
            a, b = bounds[name]
            if a is None or b is None:
                continue
            sub = sel.filter(pl.col("ts") >= a, pl.col("ts") < b) if name != "Stable Running" else sel.filter(
                pl.col("ts") >= a, pl.col("ts") <= b)
            phase_rows.append({"cluster": pod["cluster"], "namespace": pod["namespace"], "pod": pod["name"],
                               "workload_name": pod["workload_name"], "phase": name, "start": a, "end": b,
                               "duration_s": (b - a).total_seconds(), **_phase_stats(sub),
                               **{k: pod[k] for k in ("cpu_request", "cpu_limit", "memory_request", "memory_limit")}})  # fmt: skip
            phase_of = pl.when(pl.col("ts") >= a).then(pl.lit(name)).otherwise(phase_of)
        shown = sel if stable is None else sel.filter(pl.col("ts") <= stable + observe)
        series_parts.append(shown.with_columns(
            ((pl.col("ts") - pod["created"]).dt.total_microseconds() / 1e6).alias("since_created_s"),
            phase_of.alias("phase"),
            (pl.col("cpu_cores") / basis_v * 100.0 if basis_v else pl.lit(None, dtype=pl.Float64)).alias("cpu_pct"),
        ))  # fmt: skip
        peak_parts.append(cont_use.filter(key, pl.col("ts") >= pod["created"].replace(microsecond=0),
                                          pl.col("ts") <= (stable or data_end or pod["created"])))  # fmt: skip
        sched, init = pod["scheduled"], pod["initialized"]
        diff = lambda a, b: (b - a).total_seconds() if a is not None and b is not None else None  # noqa: E731
        pull_ev = events.filter(pl.col("cluster") == pod["cluster"], pl.col("uid") == pod["uid"])
        if running is not None:
            pull_ev = pull_ev.filter(pl.col("first_time") <= running)
        rows.append({
            **{k: pod[k] for k in ("cluster", "namespace", "uid", "workload_kind", "workload_name", "node",
                                   "status", "restarts", "cpu_request", "cpu_limit", "memory_request",
                                   "memory_limit", "created", "scheduled", "initialized", "ready_time")},
            "pod": pod["name"], "qos_class": None if pod["qos_class"] is None else str(pod["qos_class"]),
            "running": running, "stable": stable, "scheduling_s": diff(pod["created"], sched),
            "init_s": diff(sched, init) if pod["uid"] in has_init else (0.0 if init is not None else None),
            "start_s": diff(init, running), "image_pull_s": image_pull_seconds(pull_ev),
            "pending_s": diff(pod["created"], running), "warmup_s": diff(running, stable),
            "ready_s": diff(pod["created"], pod["ready_time"]), "cpu_basis": basis,
            "cpu_threshold_cores": threshold, "cpu_threshold_pct": _pct(threshold, basis_v),
            "cpu_peak_cores": cpu_peak, "cpu_peak_pct": _pct(cpu_peak, basis_v), "memory_peak_bytes": mem_peak,
            "settled": stable is not None,
        })  # fmt: skip
    starts = usage.shape(pl.DataFrame(rows, infer_schema_length=None), START_COLUMNS)
    phases = pl.DataFrame(phase_rows, infer_schema_length=None) if phase_rows else usage.empty(PHASE_COLUMNS)
    phases = phases.with_columns(
        *[(pl.col(f"{r}_max") / pl.col(f"{r}_{k}") * 100.0).alias(f"{r}_max_pct_{k}")
          for r in ("cpu", "memory") for k in ("request", "limit")]  # fmt: skip
    )
    order = pl.col("phase").replace_strict({n: i for i, n in enumerate(PHASES)}, return_dtype=pl.Int8)
    phases = usage.shape(phases, PHASE_COLUMNS).sort("cluster", "namespace", "pod", order)
    series = usage.shape(pl.concat(series_parts, how="diagonal_relaxed"), SERIES_COLUMNS) if series_parts else \
        usage.empty(SERIES_COLUMNS)  # fmt: skip
    peaks = pl.concat(peak_parts, how="diagonal_relaxed") if peak_parts else usage.empty(usage.CONTAINER_USAGE_COLUMNS)
    peaks = usage.shape(peaks.group_by("cluster", "namespace", "pod", "container").agg(
        pl.col("cpu_cores").max().alias("startup_cpu_peak"), pl.col("memory_max_bytes").max().alias("startup_memory_peak")
    ), PEAK_COLUMNS).sort("cluster", "namespace", "pod", "container")  # fmt: skip
    tips = advice(starts, window_s=win_s)
    return PodStarts(p, starts, phases, series, workloads(starts), tips, peaks, findings(tips))


def workloads(starts: pl.DataFrame) -> pl.DataFrame:
    """The starts of each workload compared (:data:`WORKLOAD_COLUMNS`; requests and limits of
    its newest pod)."""
    if starts.is_empty():
        return usage.empty(WORKLOAD_COLUMNS)
    keys = ["cluster", "namespace", "workload_kind", "workload_name"]
    out = starts.sort("created").group_by(keys, maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias("pods"), pl.col("settled").sum().cast(pl.Int64),
        pl.col("pending_s").median().alias("pending_s_median"), pl.col("pending_s").max().alias("pending_s_max"),
        pl.col("warmup_s").median().alias("warmup_s_median"), pl.col("warmup_s").max().alias("warmup_s_max"),
        pl.col("cpu_peak_cores").max().alias("cpu_peak_cores_max"),
        pl.col("memory_peak_bytes").max().alias("memory_peak_bytes_max"),
        *[pl.col(c).last() for c in ("cpu_request", "cpu_limit", "memory_request", "memory_limit")],
    )
    return usage.shape(out, WORKLOAD_COLUMNS).sort(keys, nulls_last=True)
