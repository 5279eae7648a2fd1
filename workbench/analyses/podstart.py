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
stable, used by right-sizing), and the same per pod (``pod_peaks``, :data:`POD_PEAK_COLUMNS`, by
uid: :func:`scope_peaks` gives the ``peaks`` of fewer pods from them without reading metrics).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
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
    "ADVICE_COLUMNS",
    "PEAK_COLUMNS",
    "PHASES",
    "PHASE_COLUMNS",
    "POD_PEAK_COLUMNS",
    "SERIES_COLUMNS",
    "START_COLUMNS",
    "WORKLOAD_COLUMNS",
    "PodStartParams",
    "PodStarts",
    "advice",
    "analyse",
    "image_pull_seconds",
    "scope_peaks",
    "stable_time",
    "workloads",
]

log = logging.getLogger(__name__)
TS = pl.Datetime("us", "UTC")
F, S, INT = pl.Float64(), pl.String(), pl.Int64()
PHASES = ("Pending", "Running", "Stable Running")

START_COLUMNS: dict[str, pl.DataType] = {
    "cluster": S,
    "namespace": S,
    "pod": S,
    "uid": S,
    "workload_kind": S,
    "workload_name": S,
    "node": S,
    "qos_class": S,
    "status": S,
    "restarts": pl.Int32(),
    "cpu_request": F,
    "cpu_limit": F,
    "memory_request": pl.Int64(),
    "memory_limit": pl.Int64(),
    "created": TS,
    "scheduled": TS,
    "initialized": TS,
    "running": TS,
    "stable": TS,
    "ready_time": TS,
    "scheduling_s": F,
    "init_s": F,
    "start_s": F,
    "image_pull_s": F,
    "pending_s": F,
    "warmup_s": F,
    "ready_s": F,
    "cpu_basis": S,
    "cpu_threshold_cores": F,
    "cpu_threshold_pct": F,
    "cpu_peak_cores": F,
    "cpu_peak_pct": F,
    "memory_peak_bytes": F,
    "settled": pl.Boolean(),
}
_STATS = {f"{r}_{s}": F for r in ("cpu", "memory") for s in ("mean", "p95", "max")}
PHASE_COLUMNS: dict[str, pl.DataType] = {
    "cluster": S,
    "namespace": S,
    "pod": S,
    "workload_name": S,
    "phase": S,
    "start": TS,
    "end": TS,
    "duration_s": F,
    "samples": INT,
    **_STATS,
    "cpu_request": F,
    "cpu_limit": F,
    "memory_request": F,
    "memory_limit": F,
    "cpu_max_pct_request": F,
    "cpu_max_pct_limit": F,
    "memory_max_pct_request": F,
    "memory_max_pct_limit": F,
}
SERIES_COLUMNS: dict[str, pl.DataType] = {
    "cluster": S,
    "namespace": S,
    "pod": S,
    "ts": TS,
    "since_created_s": F,
    "phase": S,
    "cpu_cores": F,
    "memory_bytes": F,
    "cpu_pct": F,
}
WORKLOAD_COLUMNS: dict[str, pl.DataType] = {
    "cluster": S,
    "namespace": S,
    "workload_kind": S,
    "workload_name": S,
    "pods": INT,
    "settled": INT,
    "pending_s_median": F,
    "pending_s_max": F,
    "warmup_s_median": F,
    "warmup_s_max": F,
    "cpu_peak_cores_max": F,
    "memory_peak_bytes_max": F,
    "cpu_request": F,
    "cpu_limit": F,
    "memory_request": F,
    "memory_limit": F,
}
PEAK_COLUMNS: dict[str, pl.DataType] = {
    "cluster": S,
    "namespace": S,
    "pod": S,
    "container": S,
    "startup_cpu_peak": F,
    "startup_memory_peak": F,
}
POD_PEAK_COLUMNS: dict[str, pl.DataType] = {
    "cluster": S,
    "namespace": S,
    "pod": S,
    "uid": S,
    "container": S,
    "startup_cpu_peak": F,
    "startup_memory_peak": F,
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class PodStartParams(Params):
    """Parameters of the pod start analysis."""

    cluster: str | None = field(None, "cluster (all when empty)")
    namespace: str | None = field(None, "namespace (all when empty)")
    workload: str | None = field(None, "workload name or Kind/name (all when empty)")
    pod: str | None = field(
        None, "one pod to analyse, whenever it was created (pods created in the window when empty)"
    )
    start: dt.datetime | str | None = field(
        None, "window start, UTC: pods created from here (snapshot's when empty)"
    )
    end: dt.datetime | str | None = field(
        None, "window end, UTC: pods created until here (snapshot's when empty)"
    )
    stable_window: str = field(
        "5m", "CPU is averaged over this long after Running; stable = below that average"
    )
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
    pod_peaks: pl.DataFrame = dataclasses.field(default_factory=lambda: usage.empty(POD_PEAK_COLUMNS))


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


def _by(frame: pl.DataFrame, *keys: str) -> Callable[[tuple[Any, ...]], pl.DataFrame]:
    """``frame``'s rows split by ``keys``: a function of the key values giving their rows in
    ``frame``'s order (none for a key with a null, as a filter on equality would)."""
    parts = frame.partition_by(*keys, as_dict=True, maintain_order=True) if frame.height else {}
    none = frame.clear()

    def of(key: tuple[Any, ...]) -> pl.DataFrame:
        return none if any(k is None for k in key) else parts.get(key, none)

    return of


def _usage_rows(pod_use: pl.DataFrame, order: pl.DataFrame) -> pl.DataFrame:
    """Each pod's usage rows (``_i``: its row in ``order``), by time: from a second before it was
    created (whole seconds) until it was deleted, where CPU or memory is known."""
    keyed = order.select("_i", "cluster", "namespace", pl.col("name").alias("pod"),
                         (pl.col("created").dt.truncate("1s") - dt.timedelta(seconds=1)).alias("_from"),
                         pl.col("deleted").alias("_to"))  # fmt: skip
    return pod_use.join(keyed, on=["cluster", "namespace", "pod"]).filter(
        pl.col("ts") >= pl.col("_from"), pl.col("_to").is_null() | (pl.col("ts") <= pl.col("_to")),
        pl.col("cpu_cores").is_not_null() | pl.col("memory_bytes").is_not_null(),
    ).drop("_from", "_to").sort("_i", "ts")  # fmt: skip


def _phases(order: pl.DataFrame, sel: pl.DataFrame, spans: list[list[tuple[Any, Any]]]) -> pl.DataFrame:
    """:data:`PHASE_COLUMNS`: per pod and phase with both bounds (``spans``, per pod in order),
    CPU and memory over the usage rows ``sel`` in it (Stable Running includes its end)."""
    frame = pl.DataFrame(
        [{"_i": i, "_p": k, "phase": PHASES[k], "start": a, "end": b, "duration_s": (b - a).total_seconds()}
         for i, bounds in enumerate(spans) for k, (a, b) in enumerate(bounds) if a is not None],
        schema={"_i": pl.UInt32, "_p": pl.Int8, "phase": S, "start": TS, "end": TS, "duration_s": F},
    )  # fmt: skip
    if frame.is_empty():
        return usage.empty(PHASE_COLUMNS)
    inside = sel.join(frame.select("_i", "_p", "start", "end"), on="_i").filter(
        pl.col("ts") >= pl.col("start"),
        pl.when(pl.col("_p") == 2).then(pl.col("ts") <= pl.col("end")).otherwise(pl.col("ts") < pl.col("end")),
    )  # fmt: skip
    stats = inside.group_by("_i", "_p").agg(pl.len().cast(INT).alias("samples"), *[
        e for r, col in (("cpu", "cpu_cores"), ("memory", "memory_bytes")) for e in (
            pl.col(col).mean().alias(f"{r}_mean"), pl.col(col).quantile(0.95, interpolation="linear").alias(f"{r}_p95"),
            pl.col(col).max().alias(f"{r}_max"))])  # fmt: skip
    pods = order.select("_i", "cluster", "namespace", pl.col("name").alias("pod"), "workload_name", "cpu_request",
                        "cpu_limit", "memory_request", "memory_limit")  # fmt: skip
    out = frame.join(stats, on=["_i", "_p"], how="left").join(pods, on="_i", how="left")
    out = out.with_columns(pl.col("samples").fill_null(0), *[
        (pl.col(f"{r}_max") / pl.col(f"{r}_{k}") * 100.0).alias(f"{r}_max_pct_{k}")
        for r in ("cpu", "memory") for k in ("request", "limit")])  # fmt: skip
    rank = pl.col("phase").replace_strict({n: i for i, n in enumerate(PHASES)}, return_dtype=pl.Int8)
    return usage.shape(out, PHASE_COLUMNS).sort("cluster", "namespace", "pod", rank)


def _series(order: pl.DataFrame, sel: pl.DataFrame, spans: list[list[tuple[Any, Any]]], per: pl.DataFrame,
            bases: list[float | None], observe: dt.timedelta) -> pl.DataFrame:  # fmt: skip
    """:data:`SERIES_COLUMNS`: each pod's usage rows until the end of Stable Running, with the
    phase each falls in, seconds since creation and CPU as a share of the pod's basis."""
    starts = {f"_a{k}": [bounds[k][0] for bounds in spans] for k in range(len(PHASES))}
    info = per.select("_i", (pl.col("_stable") + observe).alias("_shown_to")).with_columns(
        order["created"].alias("_created"), pl.Series("_basis", [v or None for v in bases], dtype=F),
        *[pl.Series(k, v, dtype=TS) for k, v in starts.items()],
    )  # fmt: skip
    ts = pl.col("ts")
    # the last phase begun (as each phase's start overrides the one before)
    phase = pl.when(ts >= pl.col("_a2")).then(pl.lit(PHASES[2]))
    phase = phase.when(ts >= pl.col("_a1")).then(pl.lit(PHASES[1]))
    phase = phase.when(ts >= pl.col("_a0")).then(pl.lit(PHASES[0])).otherwise(pl.lit(None, dtype=S))
    out = sel.join(info, on="_i", how="left")
    out = out.filter(pl.col("_shown_to").is_null() | (ts <= pl.col("_shown_to")))
    return usage.shape(out.with_columns(
        ((ts - pl.col("_created")).dt.total_microseconds() / 1e6).alias("since_created_s"), phase.alias("phase"),
        (pl.col("cpu_cores") / pl.col("_basis") * 100.0).alias("cpu_pct"),
    ), SERIES_COLUMNS)  # fmt: skip


def _pod_peaks(order: pl.DataFrame, cont_use: pl.DataFrame, cuts: list[Any]) -> pl.DataFrame:
    """:data:`POD_PEAK_COLUMNS`: per pod and container, the highest CPU and memory from the pod's
    creation (whole seconds) to ``cuts`` (per pod in order: stable, else the end of its data).
    The usage is by pod name: a pod that reuses an earlier pod's name (a StatefulSet's) sees the
    usage of both in its own span."""
    keyed = order.select("cluster", "namespace", pl.col("name").alias("pod"), "uid",
                         pl.col("created").dt.truncate("1s").alias("_from")).with_columns(pl.Series("_to", cuts, dtype=TS))  # fmt: skip
    rows = cont_use.join(keyed, on=["cluster", "namespace", "pod"]).filter(
        pl.col("ts") >= pl.col("_from"), pl.col("ts") <= pl.col("_to")
    )
    return usage.shape(rows.group_by("cluster", "namespace", "pod", "uid", "container").agg(
        pl.col("cpu_cores").max().alias("startup_cpu_peak"), pl.col("memory_max_bytes").max().alias("startup_memory_peak")
    ), POD_PEAK_COLUMNS).sort("cluster", "namespace", "pod", "uid", "container", nulls_last=True)  # fmt: skip


def _peaks(pod_peaks: pl.DataFrame) -> pl.DataFrame:
    """:data:`PEAK_COLUMNS` from :func:`_pod_peaks`: per container name, the highest of its pods'."""
    return usage.shape(pod_peaks.group_by("cluster", "namespace", "pod", "container").agg(
        pl.col("startup_cpu_peak").max(), pl.col("startup_memory_peak").max()
    ), PEAK_COLUMNS).sort("cluster", "namespace", "pod", "container")  # fmt: skip


def scope_peaks(ds: Dataset, pod_peaks: pl.DataFrame, params: PodStartParams | None = None,
                **changes: Any) -> pl.DataFrame:  # fmt: skip
    """``analyse(ds, params).peaks`` (:data:`PEAK_COLUMNS`) from the ``pod_peaks`` of an analysis
    of more pods (``analyse(ds).pod_peaks``: every pod created in the snapshot's window), without
    reading metrics: the same when the pods ``params`` selects are among those (a pod's peaks
    depend on that pod only)."""
    p = resolve_params(PodStartParams, params, changes)
    pods = _select_pods(ds, p).select("cluster", "namespace", pl.col("name").alias("pod"), "uid")
    keys = ["cluster", "namespace", "pod", "uid"]
    return _peaks(pod_peaks.join(pods, on=keys, how="semi", nulls_equal=True))


def _pct(a: float | None, b: float | None) -> float | None:
    return a / b * 100.0 if a is not None and b else None


def analyse(
    ds: Dataset, params: PodStartParams | None = None, *, base: PodStarts | None = None, **changes: Any
) -> PodStarts:
    """Run the pod start analysis (:class:`PodStarts`).

    ``base``: the analysis of a wider scope of the same data (a served page keeps the one of the
    whole snapshot, ``analyse(ds)``, with the same ``stable_window``, ``settle``, ``observe`` and
    ``resolution``): the pods of this scope are taken from it instead of being measured again
    (a pod's start does not depend on the other pods analysed). Pods it lacks (another version
    of the data, a window reaching outside the snapshot's) are measured as without it."""
    p = resolve_params(PodStartParams, params, changes)
    if p.cluster is not None:
        require_one_of("cluster", p.cluster, ds.clusters)
    pods = _select_pods(ds, p)
    if base is not None and (taken := _taken(base, pods, p)) is not None:
        return taken
    if pods.is_empty():
        empty = usage.empty
        return PodStarts(p, empty(START_COLUMNS), empty(PHASE_COLUMNS), empty(SERIES_COLUMNS),
                         empty(WORKLOAD_COLUMNS), empty(ADVICE_COLUMNS), empty(PEAK_COLUMNS), [],
                         empty(POD_PEAK_COLUMNS))  # fmt: skip
    conts = ds.containers(cluster=pods["cluster"].unique().to_list(), pod=pods["name"].unique().to_list())
    conts = conts.filter(pl.col("pod_uid").is_in(pods["uid"].implode()))
    events = pod_events(ds, pods)
    pods = pods.join(
        running_times(ds, pods, conts, events), on=["cluster", "uid"], how="left", nulls_equal=True
    )
    has_init = conts.filter(pl.col("is_init").fill_null(value=False))["pod_uid"].unique().to_list()

    lo = pods["created"].min()
    hi_data = ds.window[1]
    cont_use = usage.container_usage(ds, cluster=pods["cluster"].unique().to_list(),
                                     pod=pods["name"].unique().to_list(), start=lo, end=hi_data,
                                     step=p.resolution)  # fmt: skip
    pod_use = (
        cont_use.group_by("cluster", "namespace", "pod", "ts")
        .agg(usage.nsum("cpu_cores"), usage.nsum("memory_bytes"))
        .sort("cluster", "namespace", "pod", "ts")
    )
    win_s, settle_s, observe = _secs(p.stable_window), _secs(p.settle), dt.timedelta(seconds=_secs(p.observe))
    order = pods.sort("cluster", "namespace", "created", "name").with_row_index("_i")
    sel = _usage_rows(pod_use, order)
    ends = dict(sel.group_by("_i").agg(pl.col("ts").max()).iter_rows())
    cpu_ok = sel.filter(pl.col("cpu_cores").is_not_null())
    at, cpu_all = cpu_ok["_i"].to_numpy(), cpu_ok["cpu_cores"].to_numpy()
    t_all = cpu_ok["ts"].to_numpy().astype("datetime64[us]")
    events_of = _by(events, "cluster", "uid")
    has_init = set(conts.filter(pl.col("is_init").fill_null(value=False))["pod_uid"].unique().to_list())

    # per pod (in order): when it turned stable and its phases' bounds (the usage rows are
    # then measured for every pod at once)
    pod_rows = list(order.iter_rows(named=True))
    found, cuts, spans = [], [], []
    for pod in pod_rows:
        i, gone, running = pod["_i"], pod["deleted"], pod["running"]
        stable = threshold = None
        if running is not None and i in ends:
            a, b = np.searchsorted(at, i, side="left"), np.searchsorted(at, i, side="right")
            st, threshold, _ = stable_time(t_all[a:b], cpu_all[a:b], np.datetime64(running.replace(tzinfo=None), "us"),
                                           window_s=win_s, settle_s=settle_s)  # fmt: skip
            stable = None if st is None else st.astype(dt.datetime).replace(tzinfo=dt.UTC)
        data_end = ends.get(i) or gone or hi_data
        # a pod that finished without a known first run has no measurable Pending phase
        done = str(pod["phase"]) in ("Succeeded", "Failed")
        bounds = ((pod["created"], running or (None if done else gone or hi_data)), (running, stable or data_end),
                  (stable, None if stable is None else min(stable + observe, data_end or stable)))  # fmt: skip
        found.append((stable, threshold))
        cuts.append(stable or data_end or pod["created"])
        spans.append([(a, b) if a is not None and b is not None else (None, None) for a, b in bounds])
    per = pl.DataFrame({"_i": order["_i"], "_cut": cuts, "_stable": [s for s, _ in found]},
                       schema={"_i": pl.UInt32, "_cut": TS, "_stable": TS})  # fmt: skip
    peak_of = {i: (c, m) for i, c, m in sel.join(per, on="_i").filter(
        pl.col("ts") < pl.col("_cut") + dt.timedelta(microseconds=1)).group_by("_i").agg(
        pl.col("cpu_cores").max(), pl.col("memory_bytes").max()).iter_rows()}  # fmt: skip

    rows, bases = [], []
    for pod, (stable, threshold) in zip(pod_rows, found, strict=True):
        running = pod["running"]
        cpu_peak, mem_peak = peak_of.get(pod["_i"], (None, None))
        basis, basis_v = next(((n, v) for n, v in (("limit", pod["cpu_limit"]), ("request", pod["cpu_request"]),
                                                     ("peak", cpu_peak)) if v), (None, None))  # fmt: skip
        bases.append(basis_v)
        sched, init = pod["scheduled"], pod["initialized"]
        diff = lambda a, b: (b - a).total_seconds() if a is not None and b is not None else None  # noqa: E731
        pull_ev = events_of((pod["cluster"], pod["uid"]))
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
    phases = _phases(order, sel, spans)
    series = _series(order, sel, spans, per, bases, observe)
    pod_peaks = _pod_peaks(order, cont_use, cuts)
    tips = advice(starts, window_s=win_s)
    peaks = _peaks(pod_peaks)
    return PodStarts(p, starts, phases, series, workloads(starts), tips, peaks, findings(tips), pod_peaks)


def _taken(base: PodStarts, pods: pl.DataFrame, p: PodStartParams) -> PodStarts | None:
    """The analysis of ``pods`` (selected for ``p``) taken from ``base``'s rows, or None when
    ``base`` cannot give it: other tuning parameters, or a pod it lacks. Every pod of a name
    that ``base`` has must be selected too (rows of phases, series and peaks are per name)."""
    tuning = ("stable_window", "settle", "observe", "resolution")
    if any(getattr(base.params, k) != getattr(p, k) for k in tuning):
        return None
    ids = pods.select("cluster", pl.col("uid"))
    had = base.pods.select("cluster", "uid")
    if ids.join(had, on=["cluster", "uid"], how="anti", nulls_equal=True).height:
        return None
    names = pods.select("cluster", "namespace", pl.col("name").alias("pod")).unique()
    same_name = base.pods.join(
        names, on=["cluster", "namespace", "pod"], how="semi", nulls_equal=True, maintain_order="left"
    )
    if same_name.height != ids.height:  # a pod of the same name outside the scope
        return None
    starts = same_name
    keys = ["cluster", "namespace", "pod"]

    def of(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.join(names, on=keys, how="semi", nulls_equal=True, maintain_order="left")

    tips = advice(starts, window_s=_secs(p.stable_window))
    return PodStarts(p, starts, of(base.phases), of(base.series), workloads(starts), tips, of(base.peaks),
                     findings(tips), of(base.pod_peaks))  # fmt: skip


def workloads(starts: pl.DataFrame) -> pl.DataFrame:
    """The starts of each workload compared (:data:`WORKLOAD_COLUMNS`; requests and limits of
    its newest pod)."""
    if starts.is_empty():
        return usage.empty(WORKLOAD_COLUMNS)
    keys = ["cluster", "namespace", "workload_kind", "workload_name"]
    out = (
        starts.sort("created")
        .group_by(keys, maintain_order=True)
        .agg(
            pl.len().cast(pl.Int64).alias("pods"),
            pl.col("settled").sum().cast(pl.Int64),
            pl.col("pending_s").median().alias("pending_s_median"),
            pl.col("pending_s").max().alias("pending_s_max"),
            pl.col("warmup_s").median().alias("warmup_s_median"),
            pl.col("warmup_s").max().alias("warmup_s_max"),
            pl.col("cpu_peak_cores").max().alias("cpu_peak_cores_max"),
            pl.col("memory_peak_bytes").max().alias("memory_peak_bytes_max"),
            *[pl.col(c).last() for c in ("cpu_request", "cpu_limit", "memory_request", "memory_limit")],
        )
    )
    return usage.shape(out, WORKLOAD_COLUMNS).sort(keys, nulls_last=True)
