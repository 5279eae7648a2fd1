# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Metrics anomaly detection
# Which series left their usual range, when, and by how much — pod CPU, memory and CPU
# throttling; each service's throughput, latency and error rate from its spans; the rate of
# each log pattern — and where a series' level shifted for good (change points). Each point is
# compared with a robust baseline of the points before it (rolling median and median absolute
# deviation, with a daily seasonal reference when there are two days or more); see
# `docs/anomalies.md` for the method and its precision and recall on the demo.

# %% tags=["parameters"]
snapshot: str = "../data/demo"  # snapshot folder
cluster: str = ""  # cluster (empty = all)
namespace: str = ""  # namespace (empty = all)
start: str = ""  # window start, ISO 8601 UTC (empty = the snapshot start)
end: str = ""  # window end, ISO 8601 UTC (empty = the snapshot end)
step: str = "1m"  # bucket of the pod metric series
span_step: str = "5m"  # bucket of the span and log-pattern series (sparser, so wider)
threshold: float = 6.0  # anomaly score above which a point is anomalous
window: int = 60  # points before a point that form its baseline
min_points: int = 1  # shortest run of anomalous points that makes an interval
cpu_floor: float = 0.01  # smallest scale of the CPU series, in cores
memory_floor: float = 4194304.0  # smallest scale of the memory series, in bytes (4 MiB)
throttle_floor: float = 0.1  # smallest scale of the throttling series, in throttled periods per second
error_floor: float = 0.05  # smallest scale of the span error-rate series, as a share
pattern_floor: float = 0.1  # smallest scale of the log-pattern series, in lines per minute
change_threshold: float = 8.0  # noise-scaled shift of the level a change point needs
change_window: int = 12  # points compared on each side of a change point
top: int = 6  # series plotted per section

# %%
import holoviews as hv
import polars as pl
from IPython.display import Markdown, display

import workbench as wb
from workbench.analyses import anomalies as an
from workbench.viz import anomalies as an_viz

hv.extension("bokeh", inline=True)
ds = wb.open(snapshot)
where = {"cluster": cluster or None, "namespace": namespace or None, "start": start or None, "end": end or None}
detector = an.AnomalyParams(threshold=threshold, window=window, min_points=min_points)
changer = an.ChangeParams(threshold=change_threshold, window=change_window)
METRICS = {  # metric, its unit and the smallest scale of its score
    "container_cpu_usage_seconds_total": ("cores", cpu_floor),
    "container_memory_working_set_bytes": ("bytes", memory_floor),
    "container_cpu_cfs_throttled_periods_total": ("throttled periods/s", throttle_floor),
}
POD_KEYS = ["cluster", "metric", "namespace", "pod"]

# %% [markdown]
# ## Pods: CPU, memory and throttling

# %%
pod_series = {m: an.metric_series(ds, m, by=("namespace", "pod"), step=step, **where) for m in METRICS}
pod_scored = pl.concat([an.score(s, detector, keys=POD_KEYS, min_scale=METRICS[m][1]) for m, s in pod_series.items()])
pod_found = an.intervals(pod_scored, detector, keys=POD_KEYS)
pod_changes = pl.concat([an.change_points(s, changer, keys=POD_KEYS) for s in pod_series.values()])
display(Markdown(f"**{pod_found.height}** anomalous intervals and **{pod_changes.height}** change points in "
                 f"{sum(s.select(POD_KEYS).n_unique() for s in pod_series.values())} pod series."))
for row in pod_found.iter_rows(named=True):
    print(f"Anomaly: {row['metric']} of {row['cluster']}/{row['namespace']}/{row['pod']}: "
          f"{row['start']:%H:%M} → {row['end']:%H:%M}, peak {row['peak_value']:.4g} against {row['baseline']:.4g} "
          f"{METRICS[row['metric']][0]} expected (score {row['peak_score']:.0f}, {row['direction']})")
pod_found

# %%
an_viz.grid(pod_scored, pod_found, changes=pod_changes, top=top)

# %% [markdown]
# ## Services: throughput, latency and errors from their spans

# %%
span_keys = ["cluster", "service", "signal"]
spans = an.span_series(ds, step=span_step, **where)
floors = {"tps": 0.0, "latency_p90_ms": 0.0, "error_rate": error_floor}
span_scored = pl.concat([an.score(spans.filter(pl.col("signal") == sig), detector, keys=span_keys, min_scale=floor)
                         for sig, floor in floors.items()])
span_found = an.intervals(span_scored, detector, keys=span_keys)
span_changes = an.change_points(spans, changer, keys=span_keys)
print(f"{span_found.height} anomalous intervals in {spans.select(span_keys).n_unique()} service series.")
for row in span_found.iter_rows(named=True):
    print(f"Anomaly: {row['signal']} of {row['cluster']}/{row['service']}: {row['start']:%H:%M} → {row['end']:%H:%M}, "
          f"peak {row['peak_value']:.4g} against {row['baseline']:.4g} expected (score {row['peak_score']:.0f})")
an_viz.grid(span_scored, span_found, changes=span_changes, top=top)

# %% [markdown]
# ## Log patterns: lines per minute of the most frequent patterns

# %%
pattern_keys = ["pattern_id", "template"]
lines = an.pattern_series(ds, step=span_step, **where)
pattern_scored = an.score(lines, detector, keys=pattern_keys, min_scale=pattern_floor)
pattern_found = an.intervals(pattern_scored, detector, keys=pattern_keys)
pattern_changes = an.change_points(lines, changer, keys=pattern_keys)
print(f"{pattern_found.height} anomalous intervals in {lines['pattern_id'].n_unique()} log patterns.")
for row in pattern_found.iter_rows(named=True):
    print(f"Anomaly: log pattern {row['template'][:80]!r}: {row['start']:%H:%M} → {row['end']:%H:%M}, "
          f"{row['peak_value']:.2f} lines/min against {row['baseline']:.2f} expected")
an_viz.grid(pattern_scored, pattern_found, changes=pattern_changes, top=top, keys=["template"])

# %% [markdown]
# ## Change points: where a level shifted, in time order

# %%
shifts = pl.concat([
    pod_changes.select(pl.concat_str("cluster", "namespace", "pod", "metric", separator="/").alias("series"),
                       "ts", "before_mean", "after_mean", "score"),
    span_changes.select(pl.concat_str("cluster", "service", "signal", separator="/").alias("series"),
                        "ts", "before_mean", "after_mean", "score"),
    pattern_changes.select(pl.col("template").alias("series"), "ts", "before_mean", "after_mean", "score"),
]).sort("ts")
for row in shifts.iter_rows(named=True):
    print(f"Change point {row['ts']:%H:%M}: {row['series']}: {row['before_mean']:.4g} → {row['after_mean']:.4g} "
          f"(score {row['score']:.0f})")
shifts
