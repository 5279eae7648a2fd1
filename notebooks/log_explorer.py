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
# # Log explorer: search, facets, bursts and new patterns
# Which log lines match a search (text, regular expression, level, where), how they split by
# level, pod, container, log pattern ("category") and parsed field, how their volume moved over
# time, where a container suddenly logged far more errors than usual, and which log patterns are
# new in the window compared with a baseline window — with example lines.

# %% tags=["parameters"]
snapshot: str = "../data/demo"  # snapshot folder
cluster: str = "eks-prod-us-east-1"  # cluster (empty = all)
namespace: str = "shop"  # namespace (empty = all)
pod: str = ""  # pod (empty = all)
container: str = ""  # container name (empty = all)
start: str = "2026-11-02T08:42:00Z"  # window start, ISO 8601 UTC (empty = the first line)
end: str = "2026-11-02T09:30:00Z"  # window end, ISO 8601 UTC (empty = the last line)
baseline_start: str = "2026-11-02T07:54:00Z"  # baseline window start for new patterns, ISO 8601 UTC
baseline_end: str = "2026-11-02T08:42:00Z"  # baseline window end, ISO 8601 UTC
text: str = ""  # text the message must contain, any case (empty = any)
regex: str = ""  # regular expression the message must match, Rust syntax (empty = any)
levels: str = ""  # levels to keep, comma-separated, e.g. ERROR,FATAL (empty = all)
step: str = "5m"  # bucket width of the volume chart and the error bursts
burst_threshold: float = 5.0  # robust z-score a bucket needs to be part of an error burst
burst_min_count: int = 5  # fewest error lines in a bucket of an error burst
limit: int = 20  # example lines shown

# %%
import holoviews as hv
from IPython.display import Markdown, display

import workbench as wb
from workbench.analyses import logs, patterns
from workbench.viz import logs as logs_viz

hv.extension("bokeh", inline=True)
ds = wb.open(snapshot)
scope = {"cluster": cluster or None, "namespace": namespace or None, "pod": pod or None,
         "container": container or None, "start": start or None, "end": end or None}
search = logs.SearchParams(**scope, text=text or None, regex=regex or None,
                           levels=[lv.strip() for lv in levels.split(",") if lv.strip()] or None, limit=limit)
found = logs.search(ds, search)
counts = logs.facets(ds, search)
volume = logs.volume(ds, search, step=step)

# %% [markdown]
# ## Matching lines

# %%
total = int(counts.filter(counts["facet"] == "level")["count"].sum())
display(Markdown(f"**{total}** lines match in `{cluster or 'all clusters'}` / `{namespace or 'all namespaces'}`, "
                 f"{start or 'first line'} → {end or 'last line'}; the newest {found.height} are listed."))
for row in counts.filter(counts["facet"] == "level").iter_rows(named=True):
    print(f"level {row['value']}: {row['count']} lines")
for row in found.iter_rows(named=True):
    print(f"{row['ts']:%H:%M:%S} {row['pod']} {row['level']}: {row['preview']}")

# %% [markdown]
# ## Facets: level, pod, container, pattern and parsed fields

# %%
(logs_viz.facet_bars(counts, "level") + logs_viz.facet_bars(counts, "pod")
 + logs_viz.facet_bars(counts, "category") + logs_viz.facet_bars(counts, "field")).cols(2).opts(shared_axes=False)

# %%
counts.filter(counts["facet"].is_in(["container", "category", "field"]))

# %% [markdown]
# ## Volume by level, with error bursts shaded

# %%
bursts = logs.error_bursts(ds, **scope, step=step, threshold=burst_threshold, min_count=burst_min_count)
if bursts.is_empty():
    print(f"No error burst: no container logged {burst_min_count} or more ERROR/FATAL lines in a {step} bucket "
          f"with a robust z-score of {burst_threshold:g} or more.")
for row in bursts.iter_rows(named=True):
    print(f"Error burst in {row['pod']}/{row['container']}: {row['start']:%H:%M} → {row['end']:%H:%M}, "
          f"{row['count']} error lines (usually {row['baseline']:g} per {step}), z {row['z']:.1f}; "
          f"top pattern: {row['top_template']}")
logs_viz.volume_chart(volume, bursts=bursts)

# %% [markdown]
# ## Log patterns of the window

# %%
window_patterns = patterns.patterns(ds, **scope)
print(f"{window_patterns.height} patterns in the window:")
for row in window_patterns.head(10).iter_rows(named=True):
    print(f"  {row['count']} lines ({row['level_mix']}): {row['template']}")
logs_viz.pattern_timeline(patterns.pattern_counts(ds, step=step, **scope), window_patterns)

# %% [markdown]
# ## New patterns against the baseline window

# %%
if start and end:
    fresh = patterns.new_patterns(ds, cluster=scope["cluster"], namespace=scope["namespace"], pod=scope["pod"],
                                  container=scope["container"], baseline=(baseline_start, baseline_end),
                                  current=(start, end))
    print(f"{fresh.height} patterns are new or rose against {baseline_start} → {baseline_end}:")
    for row in fresh.iter_rows(named=True):
        print(f"  {row['status']} {row['top_level']} pattern, {row['current_count']} lines "
              f"(baseline {row['baseline_count']}), first seen {row['first_seen']:%H:%M:%S}: {row['template']}")
    for row in fresh.head(3).iter_rows(named=True):
        examples = logs.search(ds, cluster=scope["cluster"], namespace=scope["namespace"], pod=scope["pod"],
                               container=scope["container"], start=start, end=end, category=row["pattern_id"], limit=3)
        for line in examples.iter_rows(named=True):
            print(f"    e.g. {line['ts']:%H:%M:%S} {line['pod']} {line['level']}: {line['preview']}")
else:
    print("Set start and end to compare the window's log patterns with the baseline window.")
