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
# # Cluster overview
# The nodes of each cluster (status, roles, zone, instance type, age), its pods by status and the
# pods in trouble, and the node resource matrix: per node and cluster-wide, how much CPU and
# memory is used, requested and limited against what the nodes can give (allocatable), with the
# network in and out — at the end of the window and over it.

# %% tags=["parameters"]
snapshot: str = "../data/demo"  # snapshot folder
cluster: str = ""  # cluster to show (empty = all)
namespace: str = ""  # namespace for pods by status and problem pods (empty = all)
start: str = ""  # window start, ISO 8601 UTC (empty = the snapshot's start)
end: str = ""  # window end, ISO 8601 UTC (empty = the snapshot's end)
step: str = "5m"  # bucket width of the charts over time (1m, 5m, 1h…)

# %%
import holoviews as hv
from IPython.display import Markdown, display

import workbench as wb
from workbench.analyses import cluster as cl
from workbench.viz import cluster as cv
from workbench.viz.overview import status_bars

hv.extension("bokeh", inline=True)
ds = wb.open(snapshot)
view = cl.analyse(ds, cluster=cluster or None, namespace=namespace or None, start=start or None, end=end or None,
                  step=step)

# %%
for row in view.cluster_matrix.iter_rows(named=True):
    display(Markdown(
        f"**{row['cluster']}**: {row['nodes_ready']}/{row['nodes']} nodes Ready, {row['pods']} pods on them. "
        f"CPU: {row['cpu_usage_pct']:.0f}% used, {row['cpu_requests_pct']:.0f}% requested, "
        f"{row['cpu_limits_pct']:.0f}% in limits of {row['cpu_allocatable']:.1f} allocatable cores. "
        f"Memory: {row['memory_usage_pct']:.0f}% used, {row['memory_requests_pct']:.0f}% requested of "
        f"{row['memory_allocatable'] / 2**30:.0f} GiB."
    ))
print(f"{view.problem_pods.height} problem pods")
for f in view.findings:
    print(f"[{f.severity}] {f.title}" + (f": {f.detail}" if f.detail else ""))

# %% [markdown]
# ## Nodes

# %%
cv.nodes_table(view.nodes)

# %% [markdown]
# ## Pods by status, and the pods in trouble

# %%
status_bars(view.pods_by_status)

# %%
view.problem_pods.select("cluster", "namespace", "name", "node", "status", "ready", "restarts", "age", "reason",
                         "last_warning")

# %% [markdown]
# ## Node resource matrix: usage (mean over the window) vs requests and limits (at its end), % of allocatable

# %%
cv.matrix_bars(view.matrix) + cv.matrix_bars(view.matrix, resource="memory")

# %%
view.matrix.select("cluster", "node", "status", "pods", "cpu_usage_pct", "cpu_requests_pct", "cpu_limits_pct",
                   "memory_usage_pct", "memory_requests_pct", "memory_limits_pct", "network_rx_bytes_per_s",
                   "network_tx_bytes_per_s")

# %% [markdown]
# ## Over time

# %%
hv.Layout([
    chart
    for name in view.cluster_matrix["cluster"]
    for chart in (cv.resources_over_time(view.cluster_resources, cluster=name),
                  cv.resources_over_time(view.cluster_resources, resource="memory", cluster=name),
                  cv.network_curves(view.node_resources, cluster=name))
]).cols(1)

# %%
cv.node_heatmap(view.node_resources) + cv.node_heatmap(view.node_resources, column="cpu_requests_pct")
