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
# # Right-sizing
# CPU and memory request and limit advice per container of each workload, from the usage
# percentile you choose plus headroom; it respects HPAs that scale on utilisation, raises memory
# for containers that were OOM-killed, keeps limits above start-up peaks and raises CPU limits
# that throttle. Current and advised values side by side, with the total change in cores and GiB.

# %% tags=["parameters"]
snapshot: str = "../data/demo"  # snapshot folder
cluster: str = ""  # cluster (empty = all)
namespace: str = ""  # namespace (empty = all)
workload: str = ""  # workload name or Kind/name (empty = all)
start: str = ""  # window start, ISO 8601 UTC (empty = the snapshot's start)
end: str = ""  # window end, ISO 8601 UTC (empty = the snapshot's end)
cpu_request_percentile: float = 90.0  # percentile of CPU usage the request covers
cpu_limit: str = "percentile"  # CPU limit policy: percentile, none or keep
memory_request_percentile: float = 99.0  # percentile of the working set the request covers
export_csv: str = ""  # write the advice to this CSV file (empty = do not)

# %%
import holoviews as hv
import polars as pl
from IPython.display import Markdown, display

import workbench as wb
from workbench.analyses import rightsizing
from workbench.viz import rightsizing as rv

hv.extension("bokeh", inline=True)
ds = wb.open(snapshot)
rs = rightsizing.analyse(ds, cluster=cluster or None, namespace=namespace or None, workload=workload or None,
                         start=start or None, end=end or None, cpu_request_percentile=cpu_request_percentile,
                         cpu_limit=cpu_limit, memory_request_percentile=memory_request_percentile)
if export_csv:
    print(f"advice written to {rs.to_csv(export_csv)}")

# %%
total = rs.totals.filter(pl.col("cluster") == "(all)")
for row in total.iter_rows(named=True):
    display(Markdown(
        f"**{row['containers']}** workload containers with advice. Requests: CPU "
        f"{row['cpu_request_current_cores']:.2f} → {row['cpu_request_advised_cores']:.2f} cores "
        f"({row['cpu_request_change_cores']:+.2f}), memory {row['memory_request_current_gib']:.2f} → "
        f"{row['memory_request_advised_gib']:.2f} GiB ({row['memory_request_change_gib']:+.2f})."
    ))
for status, n in rs.advice.group_by("status").len().sort("status").iter_rows():
    print(f"{status}: {n}")
for f in rs.findings:
    print(f"[{f.severity}] {f.title}: {f.detail}")

# %%
rv.current_vs_advised(rs.advice) + rv.current_vs_advised(rs.advice, resource="memory")

# %%
rv.current_vs_advised(rs.advice, kind="limit") + rv.current_vs_advised(rs.advice, resource="memory", kind="limit")

# %%
rv.totals_bars(rs.totals)

# %% [markdown]
# ## Advice per workload container (millicores and MiB)

# %%
rv.advice_table(rs.advice)

# %%
rs.advice.filter(pl.col("notes") != "").select("cluster", "namespace", "workload_name", "container", "status", "notes")

# %% [markdown]
# ## HPAs taken into account

# %%
rs.hpas
