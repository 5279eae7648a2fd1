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
# # Object manifest history
# How one object's manifest changed over a period, next to the Warning events about it (and
# about its pods, for a workload); the diff of its manifest between two moments; and what
# changed anywhere in the cluster around a moment (images, replicas, resources, taints,
# labels, config…), nearest first.

# %% tags=["parameters"]
snapshot: str = "../data/demo"  # snapshot folder
cluster: str = "eks-prod-us-east-1"  # cluster of the object (empty for the only one holding it)
kind: str = "Deployment"  # kind of the object (Deployment, Node, Pod, Service, ConfigMap…)
namespace: str = "shop"  # namespace of the object (empty for Nodes and other cluster-wide kinds)
object_name: str = "checkout"  # name of the object
period: str = "7d"  # how far back from the end of the snapshot to look (30m, 6h, 7d…)
t1: str = ""  # diff from this moment, ISO 8601 UTC (empty for its first stored revision)
t2: str = ""  # diff to this moment (empty for the end of the snapshot)
around: str = ""  # rank cluster-wide changes by nearness to this moment (empty for the end of the snapshot)
ignore_noise: bool = True  # leave out fields that change by themselves (resourceVersion, heartbeats…)

# %%
import holoviews as hv
from IPython.display import Markdown, display

import workbench as wb
from workbench.analyses import manifests
from workbench.viz import manifests as vm

hv.extension("bokeh", inline=True)
ds = wb.open(snapshot)
history = manifests.HistoryParams(cluster=cluster or None, period=period, ignore_noise=ignore_noise)
revisions = manifests.revisions(ds, kind, namespace or None, object_name, history)
timeline = manifests.timeline(ds, kind, namespace or None, object_name, history)
diff = manifests.diff(ds, kind, namespace or None, object_name, t1 or None, t2 or None, cluster=cluster or None,
                      ignore_noise=ignore_noise)
changes = manifests.what_changed(ds, cluster=cluster or None, around=around or None, ignore_noise=ignore_noise)

# %%
display(Markdown(f"**{kind} {object_name}**: {revisions.height} revisions in the last {period}, "
                 f"{timeline.filter(timeline['source'] == 'event').height} Warning events."))
for row in revisions.filter(revisions["changes"] > 0).iter_rows(named=True):
    print(f"{row['observed_at']:%Y-%m-%d %H:%M:%S} {', '.join(row['categories'])}: {row['summary']}")

# %%
vm.history_timeline(timeline)

# %% [markdown]
# ## Diff between the two moments

# %%
print(f"{diff.before_at} → {diff.after_at}: {len(diff.added)} lines added, {len(diff.removed)} removed")
for change in diff.changes.iter_rows(named=True):
    print(f"{change['category']}: {change['path']}: {change['old']} → {change['new']}")

# %%
vm.diff_view(diff)

# %% [markdown]
# ## What changed in the cluster, nearest to the moment first

# %%
vm.changes_chart(changes, around=around or manifests.snapshot_end(ds))

# %%
for row in changes.head(15).iter_rows(named=True):
    print(f"#{row['rank']} {row['time']:%H:%M:%S} {row['kind']}/{row['name']} {row['category']} "
          f"{row['path']}: {row['old']} → {row['new']}")
