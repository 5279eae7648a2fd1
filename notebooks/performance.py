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
# # Performance browser
# Pick a window, a workload, some of its pods (all by default) and metrics from the catalogue —
# CPU usage/request/limit (millicores), throttling, memory usage/request/limit (bytes), volume
# and filesystem usage, network receive/transmit, Normal and Warning events — and compare them
# side by side on one time axis, with a summary per pod and metric.

# %% tags=["parameters"]
snapshot: str = "../data/demo"  # snapshot folder
cluster: str = "eks-prod-us-east-1"  # cluster (empty = all)
namespace: str = "shop"  # namespace (empty = all)
workload: str = "checkout"  # workload name or Kind/name (empty = every pod of the namespace)
pods: str = ""  # pods to compare, comma-separated (empty = all of the workload's)
metrics: str = "cpu_usage,cpu_request,cpu_limit,memory_usage,memory_limit,network_rx,network_tx,events_warning"  # comma-separated
start: str = ""  # window start, ISO 8601 UTC (empty = the snapshot's start)
end: str = ""  # window end, ISO 8601 UTC (empty = the snapshot's end)
step: str = "1m"  # bucket width

# %%
import holoviews as hv
from IPython.display import Markdown, display

import workbench as wb
from workbench.analyses import perf
from workbench.viz import perf as fv

hv.extension("bokeh", inline=True)
ds = wb.open(snapshot)
view = perf.browse(ds, cluster=cluster or None, namespace=namespace or None, workload=workload or None,
                   pods=tuple(p.strip() for p in pods.split(",") if p.strip()),
                   metrics=tuple(m.strip() for m in metrics.split(",") if m.strip()), start=start or None,
                   end=end or None, step=step)

# %%
display(Markdown(f"**{view.pods.height}** pods of `{workload or namespace or 'all'}`, "
                 f"{len(view.params.metrics)} metrics, {view.data['ts'].n_unique()} buckets of {step}."))
for row in view.summary.iter_rows(named=True):
    print(f"{row['pod']} {row['metric']}: mean {row['mean']:.4g}, p95 {row['p95']:.4g}, max {row['max']:.4g} "
          f"{row['unit']}")

# %%
fv.metric_grid(view.data)

# %%
fv.summary_table(view.summary)
