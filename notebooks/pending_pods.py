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
# # Pending pods
# Which pods could not be scheduled in the window (still waiting, or waiting earlier), why — the
# scheduler's reasons by category with node counts — counted by QoS class, namespace and
# workload, how long they waited, and whether the nodes' free allocatable at that moment could
# take them ("fits on node X if its cpu request were ≤ Y").

# %% tags=["parameters"]
snapshot: str = "../data/demo"  # snapshot folder
cluster: str = ""  # cluster to analyse (empty for all)
namespace: str = ""  # namespace to analyse (empty for all)
start: str = ""  # window start, ISO 8601 UTC (empty for the start of the snapshot)
end: str = ""  # window end, ISO 8601 UTC (empty for the end of the snapshot)
include_past: bool = True  # also pods that waited earlier in the window and then got a node

# %%
import holoviews as hv
from IPython.display import Markdown, display

import workbench as wb
from workbench.analyses import pending
from workbench.viz import pending as vp

hv.extension("bokeh", inline=True)
ds = wb.open(snapshot)
params = pending.PendingParams(
    cluster=cluster or None, namespace=namespace or None, start=start or None, end=end or None, include_past=include_past
)
pods = pending.pending_pods(ds, params)
reasons = pending.reasons(pods)
by_qos = pending.summary(pods, by="qos_class")
by_workload = pending.summary(pods, by=("namespace", "workload"))
fit = pending.fit(ds, params, pending=pods)
short = pending.shortfall(ds, params, pending=pods)

# %%
waiting = pods.filter(pods["still_pending"])
display(Markdown(f"**{pods.height}** pods waited for a node in the window; **{waiting.height}** still wait at its end."))
for row in pods.iter_rows(named=True):
    print(f"{row['namespace']}/{row['pod'] or row['owner_name'] + ' (creation refused)'}: {row['state']}, "
          f"{row['qos_class']}, primary reason {row['primary']}, waited {row['pending_for']}")

# %% [markdown]
# ## By QoS class and reason

# %%
vp.qos_bars(by_qos) + vp.reason_bars(reasons)

# %%
by_qos

# %%
by_workload

# %% [markdown]
# ## Reasons, as the scheduler gave them (one row per reason)

# %%
reasons.select("namespace", "pod", "qos_class", "category", "nodes", "nodes_total", "primary", "detail")

# %% [markdown]
# ## How long they waited

# %%
vp.pending_timeline(pods)

# %% [markdown]
# ## Would they fit? Free allocatable per node at the moment each pod waited

# %%
fit.filter(fit["candidate"]).select("pod", "node", "at", "fits", "advice")

# %%
vp.headroom_bars(pending.headroom(ds, cluster=cluster or None))

# %%
for row in short.iter_rows(named=True):
    print(f"{row['cluster']}: {row['summary']}")
