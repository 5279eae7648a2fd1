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
# # Pod view
# The pods at the snapshot's end as cards grouped by Namespace, Node, ReplicaSet, Deployment,
# DaemonSet, StatefulSet, Job, CronJob or Service, with counts; problem pods stand out, each
# card shows its containers' states.

# %% tags=["parameters"]
snapshot: str = "../data/demo"  # snapshot folder
cluster: str = ""  # cluster to show (empty for all)
namespace: str = ""  # namespace to show (empty for all)
group_by: str = "node"  # namespace, node, replicaset, deployment, daemonset, statefulset, job, cronjob or service
only_problems: bool = False  # show only problem pods

# %%
import holoviews as hv
from IPython.display import Markdown, display

import workbench as wb
from workbench.analyses import podview
from workbench.viz import podview as vv

hv.extension("bokeh", inline=True)
ds = wb.open(snapshot)
params = podview.PodViewParams(cluster=cluster or None, namespace=namespace or None, group_by=group_by,
                               only_problems=only_problems)
cards = podview.pods(ds, params)
groups = podview.groups(cards)

# %%
problems = cards.filter(cards["is_problem"]).unique(["cluster", "namespace", "name"])
display(Markdown(f"**{cards['name'].n_unique()}** pods in **{groups.height}** groups by {group_by}; "
                 f"**{problems.height}** problem pods."))
for row in problems.sort("cluster", "namespace", "name").iter_rows(named=True):
    states = ", ".join(f"{c}={s}" for c, s in zip(row["containers"], row["states"], strict=False))
    print(f"{row['cluster']} {row['namespace']}/{row['name']} [{row['group']}]: {row['status']} "
          f"{row['ready']} ({row['problem']}) {states}")

# %%
vv.pod_cards(cards)

# %%
vv.group_bars(groups)

# %%
groups
