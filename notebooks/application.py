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
# # Application dashboard: transactions, hitmap and one slow trace
# How did the services behave in a window — throughput (TPS), response time, errors and
# transactions in flight — and what is behind the slow or failed ones? The hitmap (X-View)
# plots every transaction's finish time against its response time, one per service; a box on
# it (the `box_*` parameters) lists the transactions inside, the slowest one opens as a
# waterfall, next to its trace's log lines and its pod's CPU and memory at that moment.

# %% tags=["parameters"]
snapshot: str = "../data/demo"  # snapshot folder
cluster: str = "eks-prod-us-east-1"  # cluster (empty = all)
namespace: str = "shop"  # namespace (empty = all)
service: str = ""  # service (empty = all)
start: str = "2026-11-02T08:00:00Z"  # window start, ISO 8601 UTC (empty = the first span)
end: str = "2026-11-02T09:30:00Z"  # window end, ISO 8601 UTC (empty = the last span)
bucket: str = "5m"  # bucket width of the curves over time
change_at: str = "2026-11-02T08:42:00Z"  # compare each service before and after this moment (empty = no comparison)
box_start: str = "2026-11-02T08:42:00Z"  # selection box, earliest finish time
box_end: str = "2026-11-02T09:30:00Z"  # selection box, latest finish time
box_rt_min_ms: float = 400.0  # selection box, fastest response time in ms
box_rt_max_ms: float = 60000.0  # selection box, slowest response time in ms
trace_id: str = ""  # trace to open (empty = the slowest transaction in the box)
moment: str = ""  # moment for the transactions in flight, ISO 8601 UTC (empty = halfway through the opened trace)
context_minutes: int = 15  # minutes of pod CPU and memory shown on each side of the opened trace

# %%
import datetime as dt

import holoviews as hv
from IPython.display import Markdown, display

import workbench as wb
from workbench.analyses import apm, hitmap, logs, perf
from workbench.viz import apm as apm_viz
from workbench.viz import hitmap as hitmap_viz
from workbench.viz import perf as perf_viz

hv.extension("bokeh", inline=True)
ds = wb.open(snapshot)
scope = apm.ApmParams(cluster=cluster or None, namespace=namespace or None, service=service or None,
                      start=start or None, end=end or None, bucket=bucket)
series = apm.series(ds, scope)
active = apm.active_series(ds, scope)
totals = apm.summary(ds, scope)

# %% [markdown]
# ## Services over the window

# %%
display(Markdown(f"**{totals['transactions'].sum()}** transactions of **{totals.height}** services in "
                 f"`{cluster or 'all clusters'}` / `{namespace or 'all namespaces'}`."))
for row in totals.iter_rows(named=True):
    print(f"{row['service']}: {row['transactions']} transactions, {row['tps']:.2f} TPS, "
          f"error rate {100 * row['error_rate']:.1f}%, p90 {row['rt_p90_ms']:.0f} ms, max {row['rt_max_ms']:.0f} ms")

# %%
if change_at:
    before = apm.summary(ds, scope, end=change_at)
    after = apm.summary(ds, scope, start=change_at)
    was = {r["service"]: r for r in before.iter_rows(named=True)}
    print(f"Before → after {change_at}:")
    for row in after.iter_rows(named=True):
        b = was.get(row["service"])
        if b is not None:
            print(f"{row['service']}: error rate {100 * b['error_rate']:.1f}% → {100 * row['error_rate']:.1f}%, "
                  f"p90 {b['rt_p90_ms']:.0f} → {row['rt_p90_ms']:.0f} ms, TPS {b['tps']:.2f} → {row['tps']:.2f}")

# %%
apm_viz.dashboard(series, active)

# %% [markdown]
# ## Hitmap: every transaction's finish time × response time (errors in red)

# %%
by_service = hitmap.hitmap(ds, cluster=cluster or None, namespace=namespace or None, service=service or None,
                           start=start or None, end=end or None, by=("service",))
hitmap_viz.multi_hitmap(by_service)

# %% [markdown]
# ## The transactions inside the selection box

# %%
selected = hitmap.select(ds, box_start, box_end, box_rt_min_ms, box_rt_max_ms, cluster=cluster or None,
                         namespace=namespace or None, service=service or None)
print(f"{selected.height} transactions finished {box_start} → {box_end} in "
      f"{box_rt_min_ms:g}–{box_rt_max_ms:g} ms, {selected['error'].sum()} of them failed.")
for row in selected.group_by("service", "endpoint").len().sort("len", descending=True).iter_rows(named=True):
    print(f"  {row['service']} {row['endpoint']}: {row['len']}")
selected.head(20)

# %% [markdown]
# ## The slowest one as a waterfall

# %%
chosen = selected.filter(selected["trace_id"] == trace_id) if trace_id else selected
if chosen.is_empty():
    print(f"No transaction to open: the box holds {'no transaction of trace ' + trace_id if trace_id else 'none'}; "
          "widen the box_* parameters or pick another trace_id.")
else:
    tx = chosen.row(0, named=True)
    spans = hitmap.trace(ds, tx["trace_id"], cluster=tx["cluster"], start=tx["start"] - dt.timedelta(minutes=1),
                         end=tx["end"] + dt.timedelta(minutes=1))
    print(f"Trace {tx['trace_id']}: {tx['service']} {tx['endpoint']} on pod {tx['pod']}, {tx['rt_ms']:.0f} ms, "
          f"{'failed' if tx['error'] else 'succeeded'}, {spans.height} spans in "
          f"{spans['service'].n_unique()} services.")
    for row in spans.sort("duration_ms", descending=True).head(3).iter_rows(named=True):
        print(f"  {row['service']} {row['operation']} ({row['kind']}): {row['duration_ms']:.1f} ms")
    display(hitmap_viz.waterfall(spans))

# %% [markdown]
# ## That trace's log lines

# %%
if not chosen.is_empty():
    lines = logs.search(ds, trace_id=tx["trace_id"], cluster=tx["cluster"], start=tx["start"] - dt.timedelta(minutes=1),
                        end=tx["end"] + dt.timedelta(minutes=1))
    print(f"{lines.height} log lines carry trace {tx['trace_id']}:")
    for row in lines.sort("ts").iter_rows(named=True):
        print(f"  {row['ts']:%H:%M:%S.%f} {row['pod']} {row['level']}: {row['preview']}")

# %% [markdown]
# ## Its pod's CPU and memory around that moment

# %%
if not chosen.is_empty():
    around = dt.timedelta(minutes=context_minutes)
    pod_view = perf.browse(ds, cluster=tx["cluster"], namespace=tx["namespace"], pods=(tx["pod"],),
                           metrics=("cpu_usage", "cpu_limit", "memory_usage", "memory_limit"),
                           start=tx["start"] - around, end=tx["end"] + around, step="1m")
    for row in pod_view.summary.iter_rows(named=True):
        print(f"{row['pod']} {row['metric']}: mean {row['mean']:.4g}, max {row['max']:.4g} {row['unit']}")
    display(perf_viz.metric_grid(pod_view.data))

# %% [markdown]
# ## Transactions in flight at one moment

# %%
at = moment or (None if chosen.is_empty() else tx["start"] + (tx["end"] - tx["start"]) / 2)
if at is None:
    print("No moment to look at: set the moment parameter.")
else:
    in_flight = apm.active_at(ds, at, cluster=cluster or None, namespace=namespace or None, service=service or None)
    print(f"{in_flight.height} transactions in flight at {at}:")
    for row in in_flight.head(10).iter_rows(named=True):
        print(f"  {row['service']} {row['endpoint']} on {row['pod']}: running {row['elapsed_ms']:.0f} ms, "
              f"{row['db_calls']} database and {row['external_calls']} external calls so far")
    display(in_flight)
