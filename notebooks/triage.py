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
# # Incident triage
# Who is to blame for what went wrong in a time window? Every signal the snapshot holds —
# metric anomalies, the latency and errors each service *causes* (not those it inherits from
# the services it calls), new log patterns and error bursts, Warning events, manifest changes
# shortly before, restarts and OOM kills, pending pods, nodes going NotReady — is turned into
# evidence, rolled up to workloads, pods, nodes and services, and ranked by a documented
# weighted score. Each suspect lists its evidence and where to look next.

# %% tags=["parameters"]
snapshot: str = "../data/demo"  # snapshot folder
start: str = "2026-11-02T08:37:00Z"  # incident window start, ISO 8601 UTC (e.g. 5 min before the alert)
end: str = "2026-11-02T09:12:00Z"  # incident window end, ISO 8601 UTC
cluster: str = "eks-prod-us-east-1"  # cluster to triage (empty = all)
namespace: str = ""  # namespace to triage (empty = all; nodes always count)
baseline: str = ""  # how long before start counts as normal, e.g. 30m (empty = the window's length)
top: int = 10  # suspects to list

# %%
import holoviews as hv
from IPython.display import Markdown, display

import workbench as wb
from workbench.analyses import triage
from workbench.viz import triage as vt

hv.extension("bokeh", inline=True)
ds = wb.open(snapshot)
params = triage.TriageParams(start=start, end=end, cluster=cluster or None, namespace=namespace or None,
                             baseline=baseline or None, top=top)
result = triage.triage(ds, params)
suspects = result.suspects

# %%
w0, w1 = result.window or (params.start, params.end)
display(Markdown(f"**{suspects.height}** suspects in {w0:%Y-%m-%d %H:%M} → {w1:%Y-%m-%d %H:%M} UTC"
                 + (f", against the baseline {result.baseline[0]:%H:%M} → {result.baseline[1]:%H:%M}." if result.baseline else ".")))
for row in suspects.head(5).iter_rows(named=True):
    print(f"#{row['rank']} {row['object']} ({row['namespace'] or 'cluster-wide'}): score {row['score']:.2f}, "
          f"signals {', '.join(row['signals'])}")
for note in result.notes:
    print(f"note: {note}")

# %% [markdown]
# ## Suspects and what each signal adds to their score

# %%
vt.score_bars(result)

# %%
suspects.select("rank", "score", "object", "namespace", "signals", "first_seen", "summary")

# %% [markdown]
# ## The evidence for the top suspects (and where to see it)

# %%
display(Markdown("\n\n".join(result.explain(r) for r in suspects["rank"].head(3).to_list())))

# %% [markdown]
# ## The story: everything found, in time order

# %%
vt.timeline(result)

# %%
result.timeline.select("time", "signal", "object", "score", "suspect", "detail")
