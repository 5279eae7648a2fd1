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
# # Resource browser
# A table of one kind (Pod, Container, Node, Namespace, Deployment, ReplicaSet, DaemonSet,
# StatefulSet, Job, CronJob, Service) with status, age, ready, restarts and CPU/memory usage
# against request and limit; then one object's detail: Detail, YAML, Events, Logs and
# Performance.

# %% tags=["parameters"]
snapshot: str = "../data/demo"  # snapshot folder
cluster: str = "eks-prod-us-east-1"  # cluster to browse (empty for all)
kind: str = "Deployment"  # kind of the table and of the object
namespace: str = "shop"  # namespace (empty for all; for the object: empty for Nodes and Namespaces)
object_name: str = "checkout"  # the object to show in detail (a container: pod/container)
at: str = ""  # show the YAML as of this moment, ISO 8601 UTC (empty for the end of the snapshot)
usage_minutes: float = 5.0  # usage is the mean over this many minutes before the end of the snapshot

# %%
import holoviews as hv
from IPython.display import Markdown, display

import workbench as wb
from workbench.analyses import browser
from workbench.viz import podview as vv

hv.extension("bokeh", inline=True)
ds = wb.open(snapshot)
rows = browser.table(ds, kind, cluster=cluster or None, namespace=namespace or None, usage_minutes=usage_minutes)
detail = browser.detail(ds, kind, namespace or None, object_name, at=at or None, cluster=cluster or None,
                        usage_minutes=usage_minutes)

# %%
display(Markdown(f"**{rows.height}** {kind} objects; showing **{detail.kind} {detail.name}** "
                 f"({detail.field('Status')}, ready {detail.field('Ready')})."))
rows.drop("kind")

# %% [markdown]
# ## Detail

# %%
for field, value in detail.info.iter_rows():
    if value is not None:
        print(f"{field}: {value}")

# %%
detail.containers if detail.containers.height else detail.pods

# %%
detail.ports

# %% [markdown]
# ## YAML

# %%
print(detail.yaml)

# %% [markdown]
# ## Events

# %%
detail.events.select("last_time", "type", "involved_kind", "involved_name", "reason", "message", "count")

# %% [markdown]
# ## Logs (last lines)

# %%
detail.logs.select("ts", "pod", "container", "level", "message").tail(30)

# %% [markdown]
# ## Performance: usage against request and limit

# %%
vv.performance_chart(detail.performance)
