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
# # Post-mortem
# What happened in a window of time, and what most likely caused it: the suspects ranked by
# triage with their evidence, everything that happened on one timeline (metric anomalies,
# Warning events, manifest changes, restarts, pending pods, log bursts), the key metrics of the
# top suspects, the transactions' response times, the logs that changed, and a summary.
# `workbench report post_mortem --snapshot S --start T1 --end T2 --out report.html` writes it
# as one HTML file.

# %% tags=["parameters"]
snapshot: str = "../data/demo"  # snapshot folder
start: str = "2026-11-02T08:30:00Z"  # window start, ISO 8601 UTC (empty = the snapshot's start)
end: str = "2026-11-02T09:00:00Z"  # window end, ISO 8601 UTC (empty = the snapshot's end)
cluster: str = ""  # cluster to analyse (empty = all)
namespace: str = ""  # namespace to analyse (empty = all)
suspects_shown: int = 3  # how many top suspects get their key metrics drawn

# %%
import holoviews as hv
from IPython.display import display

import workbench as wb
from workbench.analyses import hitmap, logs, pending, triage
from workbench.reports import charts
from workbench.reports import post_mortem as pm
from workbench.viz import hitmap as hitmap_viz
from workbench.viz import logs as logs_viz

hv.extension("bokeh", inline=True)
ds = wb.open(snapshot)
sc = pm.scope(ds, start=start, end=end, cluster=cluster, namespace=namespace)
result = triage.triage(ds, triage.TriageParams(start=sc.start, end=sc.end, cluster=sc.cluster, namespace=sc.namespace))
top = pm.top_suspects(result, n=suspects_shown)
pm.header(ds, sc)

# %% [markdown]
# ## What happened when
# Every entry of the triage timeline, one row per kind of signal; the window is shaded and the
# dashed line marks the first sign of the most likely cause. Hover a dot for the object and
# the detail.

# %%
charts.timeline_chart(result.timeline, start=sc.start, end=sc.end, mark=pm.first_sign(result))

# %%
pm.table(result.timeline, ["time", "signal", "object", "detail", "suspect"], max_rows=40,
         empty="nothing happened in the window")

# %% [markdown]
# ## The suspects, with their evidence
# Ranked by triage: how strong, how early and how varied the signals about each object are.

# %%
pm.table(result.suspects, ["rank", "score", "object", "cluster", "namespace", "summary", "first_seen"], max_rows=10,
         empty="no suspect stands out")

# %%
pm.table(pm.top_evidence(result, suspects=suspects_shown),
         ["rank", "object", "signal", "time", "score", "subject", "detail", "how_to_see"], max_rows=30,
         caption="The strongest evidence of the top suspects (how_to_see: the call or notebook that shows it)",
         empty="no evidence")

# %% [markdown]
# ## Key metrics of the top suspects
# Their pods' CPU, memory and Warning events, and the requests, latency and errors of the
# service of the same name, from as long before the window as the window lasts.

# %%
for suspect in top:
    display(charts.key_metrics_chart(pm.key_metrics(ds, suspect, sc), start=sc.start, end=sc.end,
                                     mark=suspect.get("first_seen"), title=suspect["name"]))

# %% [markdown]
# ## Transactions in the window (hitmap)
# Every request's finish time against its response time; errors in red.

# %%
hitmap_viz.hitmap_element(hitmap.hitmap(ds, **sc.window), title="Hitmap of the window")

# %% [markdown]
# ## Key logs
# Log volume by level (error bursts shaded), the log patterns that are new in the window or
# rose sharply, and the first line of each.

# %%
bursts = logs.error_bursts(ds, **sc.window)
new = pm.new_log_patterns(ds, sc)
logs_viz.volume_chart(logs.volume(ds, step=pm.chart_step(sc), **sc.context), bursts=bursts)

# %%
pm.table(new, ["status", "top_level", "template", "current_count", "baseline_count", "first_seen"], max_rows=15,
         empty="no new log pattern")

# %%
pm.table(bursts, ["namespace", "pod", "container", "start", "end", "count", "peak", "top_template"], max_rows=15,
         empty="no error burst")

# %%
print("\n".join(pm.example_lines(new)) or "(no example lines)")

# %% [markdown]
# ## Pending and restarted pods

# %%
waiting = pending.pending_pods(ds, pending.PendingParams(**sc.window))
restarts = pm.signal_rows(result, ("restarts", "oom_killed"))
pm.table(waiting, ["cluster", "namespace", "pod", "state", "qos_class", "primary", "pending_for"], max_rows=20,
         caption="Pods that waited for a node", empty="no pod waited for a node")

# %%
pm.table(restarts, ["time", "signal", "object", "detail"], caption="Containers that restarted, terminated or were OOM-killed",
         empty="no container restarted or terminated")

# %% [markdown]
# ## Summary

# %%
pm.summary(result, sc, pending=waiting, restarts=restarts, new_patterns=new, bursts=bursts)
