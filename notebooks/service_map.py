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
# # Service map (MSA analysis): who calls whom, and what changed
# The call graph of the services, their databases and external dependencies, built from the
# spans of a window and set beside the same graph for a baseline window: per edge the calls,
# errors and latency and how much each changed; per service the time spent in its own code
# (self time) against the time spent waiting on its callees. The edges that degraded most are
# named at the end.

# %% tags=["parameters"]
snapshot: str = "../data/demo"  # snapshot folder
cluster: str = "eks-prod-us-east-1"  # cluster (empty = all; services of several clusters merge by name)
namespace: str = "shop"  # namespace (empty = all)
service: str = ""  # keep only the edges that touch this service (empty = all)
start: str = "2026-11-02T08:45:00Z"  # window start, ISO 8601 UTC
end: str = "2026-11-02T09:30:00Z"  # window end, ISO 8601 UTC
baseline_start: str = "2026-11-02T07:55:00Z"  # baseline window start, ISO 8601 UTC
baseline_end: str = "2026-11-02T08:40:00Z"  # baseline window end, ISO 8601 UTC
min_calls: int = 1  # leave out edges with fewer calls
error_rise: float = 0.01  # an edge degraded when its error rate rose by at least this share (0.01 is one point)
latency_ratio: float = 1.5  # or when its median latency grew at least this many times
top: int = 5  # degraded edges to name

# %%
import holoviews as hv
import polars as pl
from IPython.display import Markdown, display

import workbench as wb
from workbench.analyses import servicemap as sm
from workbench.viz import servicemap as sm_viz

hv.extension("bokeh", inline=True)
ds = wb.open(snapshot)
scope = sm.ServiceMapParams(cluster=cluster or None, namespace=namespace or None, service=service or None,
                            min_calls=min_calls)
now = sm.service_map(ds, scope, start=start, end=end)
was = sm.service_map(ds, scope, start=baseline_start, end=baseline_end)
diff = sm.compare(ds, window=(start, end), baseline=(baseline_start, baseline_end), params=scope)

# %%
display(Markdown(f"**{now.edges.height}** edges between **{now.services.height}** nodes in {start} → {end}; "
                 f"**{was.edges.height}** edges in the baseline {baseline_start} → {baseline_end}."))
for row in now.services.iter_rows(named=True):
    print(f"{row['service']} ({row['node_kind']}): {row['calls']} calls, error rate {100 * (row['error_rate'] or 0):.1f}%, "
          f"p99 {row['latency_p99_ms'] or 0:.0f} ms")

# %% [markdown]
# ## The call graph: window and baseline, same layout (edge label: calls · error rate · p99)

# %%
(sm_viz.service_graph(now, title=f"Window {start} → {end}")
 + sm_viz.service_graph(was, title=f"Baseline {baseline_start} → {baseline_end}")).cols(1)

# %% [markdown]
# ## Per edge: calls, errors and latency against the baseline

# %%
edges = diff.edges.select(
    "caller", "callee", "callee_kind", "calls", "calls_base", "errors", "errors_base", "error_rate", "error_rate_base",
    "error_rate_delta", "latency_p50_ms", "latency_p50_ms_base", "latency_p50_ms_ratio", "latency_p99_ms",
    "latency_p99_ms_base", "latency_p99_ms_delta")
edges

# %% [markdown]
# ## Per service: self time against time waiting on callees

# %%
times = diff.services.filter(pl.col("node_kind") == "service").select(
    "service", "self_time_ms", "wait_time_ms", "self_ratio", "self_ratio_base", "self_time_ms_base", "wait_time_ms_base")
for row in times.iter_rows(named=True):
    print(f"{row['service']}: self {row['self_time_ms'] or 0:.0f} ms (baseline {row['self_time_ms_base'] or 0:.0f} ms), "
          f"waiting {row['wait_time_ms'] or 0:.0f} ms (baseline {row['wait_time_ms_base'] or 0:.0f} ms), "
          f"{100 * (row['self_ratio'] or 0):.0f}% of its time in its own code (baseline {100 * (row['self_ratio_base'] or 0):.0f}%)")
stack = times.select("service", pl.col("self_time_ms").alias("own code"), pl.col("wait_time_ms").alias("waiting on callees"))
hv.Bars(stack.unpivot(index="service", variable_name="time", value_name="ms").to_pandas(),
        kdims=["service", "time"], vdims=["ms"]).opts(
    stacked=True, invert_axes=True, tools=["hover"], responsive=True, min_width=400, height=300, legend_position="right",
    title="Where each service spent its time in the window", xlabel="", ylabel="ms", xformatter="%.0f")

# %% [markdown]
# ## The edges that degraded most

# %%
degraded = diff.edges.filter(
    (pl.col("error_rate_delta") >= error_rise) | (pl.col("latency_p50_ms_ratio") >= latency_ratio)
).sort(["error_rate_delta", "latency_p50_ms_ratio"], descending=True, nulls_last=True).head(top)
if degraded.is_empty():
    print(f"No edge degraded: no error rate rose by {100 * error_rise:g} percentage points and no median latency grew "
          f"{latency_ratio:g} times against the baseline.")
for row in degraded.iter_rows(named=True):
    print(f"Degraded edge {row['caller']} → {row['callee']}: error rate {100 * (row['error_rate_base'] or 0):.1f}% → "
          f"{100 * (row['error_rate'] or 0):.1f}%, median latency {row['latency_p50_ms_base'] or 0:.0f} → "
          f"{row['latency_p50_ms'] or 0:.0f} ms, p99 {row['latency_p99_ms_base'] or 0:.0f} → "
          f"{row['latency_p99_ms'] or 0:.0f} ms, {row['calls']} calls (baseline {row['calls_base']})")
