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
# # Pod start analysis
# How the pods created in the window (or one named pod) got from created to Running to *stable*
# running: Pending split into scheduling, init containers and container start (image pulls
# counted apart), then the warm-up until CPU settles below its average of the first minutes
# after Running. CPU and memory in each phase against requests and limits, the starts of one
# workload compared, and advice for setting requests and limits for start-up.

# %% tags=["parameters"]
snapshot: str = "../data/demo"  # snapshot folder
cluster: str = ""  # cluster (empty = all)
namespace: str = ""  # namespace (empty = all)
workload: str = ""  # workload name or Kind/name (empty = all)
pod: str = ""  # one pod to analyse, whenever it was created (empty = the pods created in the window)
start: str = ""  # window start, ISO 8601 UTC: pods created from here (empty = the snapshot's start)
end: str = ""  # window end, ISO 8601 UTC (empty = the snapshot's end)
stable_window: str = "5m"  # CPU is averaged over this long after Running; stable = below that average

# %%
import holoviews as hv
import polars as pl
from IPython.display import Markdown, display

import workbench as wb
from workbench.analyses import podstart
from workbench.viz import podstart as pv

hv.extension("bokeh", inline=True)
ds = wb.open(snapshot)
starts = podstart.analyse(ds, cluster=cluster or None, namespace=namespace or None, workload=workload or None,
                          pod=pod or None, start=start or None, end=end or None, stable_window=stable_window)
# the pod shown in detail: the one asked for, else the start with the highest CPU peak for its request
focus = pod or starts.pods.sort(pl.col("cpu_peak_cores") / pl.col("cpu_request"), descending=True,
                                nulls_last=True)["pod"].first()

# %%
ran = starts.pods.filter(pl.col("running").is_not_null())
m = lambda cores: "none" if cores is None else f"{cores * 1000:.0f}m"  # noqa: E731  (millicores for reading)
display(Markdown(f"**{starts.pods.height}** pods analysed: {ran.height} ran, "
                 f"{starts.pods['settled'].sum()} settled to stable running."))
for row in starts.pods.iter_rows(named=True):
    if row["running"] is None:
        print(f"{row['namespace']}/{row['pod']}: {row['status']}, never ran")
        continue
    warm = f"stable after {row['warmup_s']:.0f} s" if row["settled"] else "not stable in the data"
    print(f"{row['namespace']}/{row['pod']}: Pending {row['pending_s']:.0f} s, {warm}; CPU peak "
          f"{m(row['cpu_peak_cores'])} (request {m(row['cpu_request'])}, limit {m(row['cpu_limit'])})")

# %% [markdown]
# ## Pods: QoS, restarts, requests and limits, start time

# %%
starts.pods.select("namespace", "pod", "qos_class", "restarts", "cpu_request", "cpu_limit", "memory_request",
                   "memory_limit", "created", "status")

# %% [markdown]
# ## Timeline: Pending (scheduling, init, start) and warm-up

# %%
pv.timeline(starts.pods)

# %% [markdown]
# ## One start in detail: CPU and memory by phase

# %%
pv.start_curves(starts.series, starts.pods, pod=focus)

# %%
starts.phases.filter(pl.col("pod") == focus)

# %% [markdown]
# ## The starts of one workload compared

# %%
starts.workloads

# %%
pv.workload_curves(starts.series, starts.pods,
                   workload=starts.pods.filter(pl.col("pod") == focus)["workload_name"].first() or "")

# %% [markdown]
# ## Advice for start-up

# %%
for row in starts.advice.iter_rows(named=True):
    print(f"[{row['severity']}] {row['pod']}: {row['message']}")
