"""Where a pod start's moments come from: the pod's revisions, its events and its containers;
used by :mod:`workbench.analyses.podstart`, which documents the rules."""

from __future__ import annotations

import datetime as dt
import json
import re

import polars as pl

from workbench.store import Dataset, to_utc

__all__ = ["image_pull_seconds", "pod_events", "running_times"]

TS = pl.Datetime("us", "UTC")

_GO = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)")
_GO_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_PULLED_IN = re.compile(r"\bin ((?:\d+(?:\.\d+)?(?:h|ms|m|s|us|µs|ns))+)")


def image_pull_seconds(events: pl.DataFrame) -> float | None:
    """Seconds spent pulling images, from one pod's ``Pulling``/``Pulled`` events: the durations
    in "Successfully pulled image … in 1m2.5s" messages added, else first Pulling → last Pulled;
    0 when every image was "already present"; None without such events.

    >>> import polars as pl
    >>> image_pull_seconds(pl.DataFrame({"reason": ["Pulled"], "first_time": [None],
    ...     "message": ['Successfully pulled image "x" in 1m2.5s (1m2.5s including waiting)']}))
    62.5
    """
    pulls = events.filter(pl.col("reason").is_in(["Pulling", "Pulled"]))
    if pulls.is_empty():
        return None
    total, found = 0.0, False
    for msg in pulls.filter(pl.col("reason") == "Pulled")["message"].drop_nulls().to_list():
        m = _PULLED_IN.search(msg)
        if m:
            total += sum(float(n) * _GO_UNIT[u] for n, u in _GO.findall(m.group(1)))
            found = True
    if found:
        return total
    pulling = pulls.filter(pl.col("reason") == "Pulling")["first_time"].drop_nulls()
    pulled = pulls.filter(pl.col("reason") == "Pulled")["first_time"].drop_nulls()
    if pulling.len() and pulled.len() and pulled.max() >= pulling.min():
        return (pulled.max() - pulling.min()).total_seconds()  # type: ignore[operator]
    return 0.0


def first_run(ds: Dataset, pods: pl.DataFrame) -> dict[tuple[str, str], dt.datetime]:
    """(cluster, uid) → when an app container first ran, from the pods' revisions in ``objects``
    (``state.running/terminated.startedAt`` and ``lastState.terminated.startedAt``)."""
    out: dict[tuple[str, str], dt.datetime] = {}
    revs = (
        ds.scan("objects", cluster=pods["cluster"].unique().to_list(), latest=False)
        .filter(pl.col("kind") == "Pod", pl.col("uid").is_in(pods["uid"].drop_nulls().unique().implode()))
        .select("cluster", "uid", "manifest")
        .collect()
    )
    for cluster, uid, text in revs.iter_rows():
        try:
            statuses = (json.loads(text).get("status") or {}).get("containerStatuses") or []
        except (json.JSONDecodeError, AttributeError):
            continue
        for st in statuses:
            for part in ((st.get("state") or {}).get("running"), (st.get("state") or {}).get("terminated"),
                         (st.get("lastState") or {}).get("terminated")):  # fmt: skip
                t = (
                    to_utc(part.get("startedAt"))
                    if isinstance(part, dict) and part.get("startedAt")
                    else None
                )
                if t is not None and ((cluster, uid) not in out or t < out[(cluster, uid)]):
                    out[(cluster, uid)] = t
    return out


def running_times(ds: Dataset, pods: pl.DataFrame, conts: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """(cluster, uid, running): objects revisions, else the first ``Started`` event of an app
    container, else the containers table's ``started_at`` of containers that never restarted;
    never before ``created`` (a static pod's mirror object appears after its containers ran)."""
    first = first_run(ds, pods)
    app = conts.filter(~pl.col("is_init").fill_null(value=False))
    started = (
        events.filter(pl.col("reason") == "Started")
        .join(
            app.select("cluster", pl.col("pod_uid").alias("uid"), pl.col("name").alias("_c")),
            on=["cluster", "uid"],
        )
        .filter(pl.col("message").str.ends_with(pl.col("_c")))
        .group_by("cluster", "uid")
        .agg(pl.col("first_time").min().alias("_ev"))
    )
    table = (
        app.filter(pl.col("restarts").fill_null(0) == 0)
        .group_by("cluster", "pod_uid")
        .agg(pl.col("started_at").min().alias("_ct"))
        .rename({"pod_uid": "uid"})
    )
    rows = [{"cluster": c, "uid": u, "_obj": t} for (c, u), t in first.items()]
    obj = pl.DataFrame(rows, schema={"cluster": pl.String, "uid": pl.String, "_obj": TS})
    out = pods.select("cluster", "uid")
    for other in (obj, started, table):
        out = out.join(other, on=["cluster", "uid"], how="left", nulls_equal=True)
    # A static pod's mirror object is created after the kubelet started it: no negative Pending.
    out = out.join(
        pods.select("cluster", "uid", "created"), on=["cluster", "uid"], how="left", nulls_equal=True
    )
    running = pl.coalesce("_obj", "_ev", "_ct")
    return out.select("cluster", "uid", pl.when(running.is_not_null()).then(pl.max_horizontal(running, "created"))
                      .alias("running"))  # fmt: skip


def pod_events(ds: Dataset, pods: pl.DataFrame) -> pl.DataFrame:
    ev = ds.events(cluster=pods["cluster"].unique().to_list(), pod=pods["name"].unique().to_list())
    ev = ev.filter(pl.col("involved_kind").is_null() | (pl.col("involved_kind") == "Pod"))
    ids = pods.select("cluster", pl.col("namespace").alias("_ns"), pl.col("name").alias("involved_name"),
                      pl.col("uid").alias("_uid"))  # fmt: skip
    ev = ev.with_columns(pl.coalesce("involved_namespace", "namespace").alias("_ns")).join(
        ids, on=["cluster", "_ns", "involved_name"], how="inner"
    )
    return ev.filter(
        pl.col("involved_uid").is_null() | (pl.col("involved_uid") == pl.col("_uid"))
    ).with_columns(pl.col("_uid").alias("uid"))
