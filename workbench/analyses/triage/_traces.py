"""Trace evidence: the latency and errors a service *causes*, as opposed to what it inherits
from the services it calls.

The window's and the baseline's call graphs come from
:func:`workbench.analyses.servicemap.compare` (every cluster's in one pass:
:func:`~workbench.analyses.servicemap.compare_clusters`; per service: inbound calls, errors, mean latency,
self time — its spans' duration minus the time spent in their children — and per edge the
caller-side latency).

- ``latency_caused``: a service whose own work per request grew. With ``self`` = self time ÷
  inbound calls, ``rel = (self_window − self_baseline) / max(latency_baseline, 1 ms)`` (the rise
  as a share of its usual response time), strength = clip((rel − 0.1) / 0.5, 0, 1). A service
  whose latency rose while its self time did not is *inheriting* (a ``latency_inherited`` row
  with strength 0, for the timeline). Time spent between a caller's CLIENT span and the
  callee's SERVER span (the network, a proxy, a delayed pod's packets) is charged to both ends
  of the edge: with ``rel`` = the gap's rise ÷ the edge's baseline latency, the callee gets
  ``rel`` and the caller ``rel / 2``, summed over a service's edges into its ``credit``; the
  network strength is clip((credit − 0.1) / 0.5, 0, 1) × credit ÷ the largest credit (the end
  that touches the most slowed-down calls wins over its neighbours). A database or external
  callee (no spans of its own) gets, per calling service, ``rel`` = the rise of the call's
  latency × calls per request of the caller ÷ the caller's baseline response time. The larger
  of the self and the network strength is the service's ``latency_caused``.
- ``errors_caused``: errors that start at a service. An error span *inherits* when one of its
  child spans is an error too; otherwise the error originates at its service — or, for an
  outbound (CLIENT/PRODUCER or database) span, at the callee: its child's service, else its
  ``peer_service``/``db_system``. With ``n`` originating errors over ``calls`` inbound calls in
  the window and the baseline rate ``r_b``: ``excess = n − r_b·calls``,
  ``z = excess / √(r_b·calls + 1)``, strength = min(1, (excess / calls) / 0.05) ×
  clip((z − 1) / 3, 0, 1) (five points of error rate above the baseline, and clearly more than
  chance). Services whose errors only inherit get an ``errors_inherited`` row with strength 0.

Onsets come from the service's p90 latency and error rate per bucket
(:func:`workbench.analyses.anomalies.span_series`): the strongest upward
:func:`~workbench.analyses.anomalies.change_points` near or in the window, else the first
anomalous interval (``detect``), else the first two buckets in a row above 1.1 × the
baseline's 95th percentile; else the first originating error, else the window's start.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
from typing import Any

import polars as pl

from workbench.analyses import anomalies as an
from workbench.analyses import servicemap as sm
from workbench.analyses._kept import kept_by_cluster
from workbench.analyses.triage._context import Context, fmt_time, raw, raw_frame, signature
from workbench.analyses.triage._context import spans_named as _named

__all__ = ["trace_evidence"]

log = logging.getLogger(__name__)

_MIN_CALLS = 10


def _spans(ctx: Context, lo: dt.datetime, hi: dt.datetime) -> pl.LazyFrame:
    lf = ctx.ds.scan("spans", cluster=ctx.cluster, namespace=ctx.namespace, start=lo, end=hi)
    return lf.filter((pl.col("start") >= lo) & (pl.col("start") < hi))


#: The span columns read once for the baseline and the window (what :func:`servicemap.link` and
#: :func:`_namespaces` need).
_READ = (
    "cluster",
    "namespace",
    "trace_id",
    "span_id",
    "parent_id",
    "service",
    "kind",
    "start",
    "end",
    "duration_us",
    "error",
    "peer_service",
    "db_system",
)


def _linked(spans: pl.DataFrame, lo: dt.datetime, hi: dt.datetime) -> pl.DataFrame:
    """The ``spans`` that started in [lo, hi), linked (:func:`servicemap.link`) once for both the
    error origins and the service maps of every cluster."""
    return sm.link(
        spans.filter((pl.col("start") >= lo) & (pl.col("start") < hi)),
        keep=("cluster", "start", "service", "error", "peer_service", "db_system"),
    )


def _kept_links(ctx: Context) -> tuple[tuple[pl.DataFrame, pl.DataFrame], dict[str, dict[str, str]]]:
    """What :func:`_linked` and :func:`_namespaces` make of the spans read, taken from the
    snapshot's spans linked once (``ctx.spans``): the window's and the baseline's spans of the
    scope, linked, and each service's namespace."""
    scope = [
        pl.col(c) == v for c, v in (("cluster", ctx.cluster), ("namespace", ctx.namespace)) if v is not None
    ]
    now, was = (ctx.spans.link([*scope, pl.col("start") >= lo, pl.col("start") < hi],
                               columns=("cluster", "namespace", "start"))
                for lo, hi in ((ctx.start, ctx.end), (ctx.base_start, ctx.start)))  # fmt: skip
    namespaces = _namespaces(pl.concat([was.select("cluster", "service", "namespace"),
                                        now.select("cluster", "service", "namespace")]))  # fmt: skip
    return (now.drop("namespace"), was.drop("namespace")), namespaces


def _origins(b: pl.DataFrame) -> pl.DataFrame:
    """Per (cluster, origin) of the linked spans ``b``: originating errors and the first one's time."""
    schema = {"cluster": pl.String, "origin": pl.String, "n": pl.UInt32, "first": pl.Datetime("us", "UTC")}
    if b.is_empty():
        return pl.DataFrame(schema=schema)
    b = b.select(
        "cluster",
        "start",
        "_row",
        "_parent",
        "service",
        "peer_service",
        "db_system",
        "_outbound",
        "_fragment",
        pl.col("error").fill_null(value=False),
    ).filter(~pl.col("_fragment"))
    errs = b.filter("error")
    # the children of the error spans only (the others' are not asked about)
    kids = (
        b.select("_parent", "error", "service")
        .filter(pl.col("_parent").is_in(errs["_row"].implode()))
        .group_by("_parent")
        .agg(pl.col("error").any().alias("_kid_err"), pl.col("service").first().alias("_kid_service"))
    )
    errs = errs.join(kids, left_on="_row", right_on="_parent", how="left").filter(
        ~pl.col("_kid_err").fill_null(value=False)
    )
    origin = (
        pl.when(pl.col("_outbound"))
        .then(
            pl.coalesce(
                pl.when(pl.col("_kid_service") != pl.col("service")).then(pl.col("_kid_service")),
                "peer_service",
                "db_system",
                "service",
            )
        )
        .otherwise(pl.col("service"))
    )
    return (
        errs.with_columns(origin.alias("origin"))
        .group_by("cluster", "origin")
        .agg(pl.len().alias("n"), pl.col("start").min().alias("first"))
        .cast(schema)
    )  # type: ignore[arg-type]


def _onsets(ctx: Context) -> dict[tuple[str, str, str], dt.datetime]:
    """(cluster, service, signal) → when its p90 latency or error rate started to rise: the
    strongest upward change point near or in the window, else the start of its first anomalous
    interval in the window, else the first two buckets in a row above 1.1 × the baseline's
    95th percentile."""
    scope = {"cluster": ctx.cluster, "namespace": ctx.namespace, "start": ctx.history_start, "end": ctx.end}
    if ctx.spans is not None and _named(ctx.ds):
        # the spans a scan of the scope gives, from those linked once (of parent_id, only whether
        # it is null counts)
        kept_spans = ctx.spans.select(ctx.ds.predicates("spans", **scope), columns=("cluster", "start"))
        kept_spans = kept_spans.select(
            pl.exclude("root"), pl.when(~pl.col("root")).then(pl.lit("")).alias("parent_id")
        )
        s = an.span_series(kept_spans, step=ctx.step)
    else:
        s = an.span_series(ctx.ds, step=ctx.step, **scope)
    if s.is_empty():
        return {}
    s = s.filter(pl.col("signal") != "tps")
    keys = ["cluster", "service", "signal"]
    out: dict[tuple[str, str, str], dt.datetime] = {}
    base_points = max(1, int((ctx.start - ctx.history_start) / ctx.step))
    lo = ctx.start - 5 * ctx.step
    cps = an.change_points(s, keys=keys, window=max(3, min(15, base_points // 3)), threshold=6.0).filter(
        (pl.col("ts") >= lo) & (pl.col("ts") < ctx.end) & (pl.col("shift") > 0)
    )
    for r in cps.sort("score", descending=True).unique(keys, keep="first").iter_rows(named=True):
        out[(r["cluster"], r["service"], r["signal"])] = r["ts"]
    p = an.AnomalyParams(window=max(10, min(60, base_points // 2)), min_history=10, seasonality="none")
    found = an.detect(s, p, keys=keys).filter(
        (pl.col("end") >= ctx.start) & (pl.col("start") < ctx.end) & (pl.col("direction") == "up")
    )
    for r in found.group_by(keys).agg(pl.col("start").min()).iter_rows(named=True):
        out.setdefault((r["cluster"], r["service"], r["signal"]), r["start"])
    in_b = (pl.col("ts") >= ctx.base_start) & (pl.col("ts") < ctx.start)
    ref = s.filter(in_b).group_by(keys).agg(pl.col("value").quantile(0.95).alias("_q"))
    above = (
        s.filter(pl.col("ts") >= ctx.start)
        .join(ref, on=keys)
        .sort(*keys, "ts")
        .with_columns((pl.col("value") > pl.col("_q") * 1.1 + 1e-9).alias("_up"))
        .with_columns(
            (pl.col("_up") & pl.col("_up").shift(-1).over(keys).fill_null(value=True)).alias("_both")
        )
    )
    for r in above.filter("_both").group_by(keys).agg(pl.col("ts").min()).iter_rows(named=True):
        out.setdefault((r["cluster"], r["service"], r["signal"]), r["ts"])
    return out


def _how(ctx: Context, cluster: str, service: str) -> str:
    return (
        f"wb.analyses.servicemap.compare(ds, cluster={cluster!r}, window=('{fmt_time(ctx.start)}', "
        f"'{fmt_time(ctx.end)}'), baseline=('{fmt_time(ctx.base_start)}', '{fmt_time(ctx.start)}')); "
        f"ds.spans(cluster={cluster!r}, service={service!r}, {ctx.window_args()})"
    )


def _f(x: Any) -> float:
    return float(x) if x is not None and not (isinstance(x, float) and math.isnan(x)) else 0.0


def trace_evidence(ctx: Context) -> pl.DataFrame:
    """``latency_caused``/``errors_caused`` evidence (and ``*_inherited`` rows of strength 0)."""
    if not ctx.has_baseline:
        ctx.note("no baseline before the window: trace latency and errors not compared")
        return raw_frame([])
    if ctx.spans is not None and _named(ctx.ds):
        # a cluster's evidence is its own (its spans, maps, error origins and onsets are apart
        # from the other clusters'): each cluster's is kept, for a scope of every cluster to
        # take what a scope of one found, and back; put together in the order of the clusters
        clusters = [ctx.cluster] if ctx.cluster else ctx.ds.clusters
        keys = {c: _cluster_key(ctx, c) for c in clusters}

        def every() -> dict[str, tuple[bool, pl.DataFrame]]:  # several clusters found in one pass
            where, frame = _evidence(ctx)
            return {c: (c in where, frame.filter(pl.col("cluster") == c)) for c in clusters}

        got = kept_by_cluster(
            "trace evidence", keys, lambda c: _cluster_evidence(ctx, c), every, size=KEEP_CLUSTERS
        )
        found, frame = any(f for f, _ in got), pl.concat([e for _, e in got]) if got else raw_frame([])
    else:
        where, frame = _evidence(ctx)
        found = bool(where)
    if not found:
        ctx.note("no spans in scope: trace latency and errors not used")
        return raw_frame([])
    return frame


#: How many clusters' trace evidence (each of a namespace and window) is kept.
KEEP_CLUSTERS = 16


def _cluster_key(ctx: Context, cluster: str) -> tuple[Any, ...]:
    """What a cluster's trace evidence is kept for: the snapshot version (and spans linked
    once), the cluster, the namespace and the window."""
    return (signature(ctx.ds), id(ctx.spans), cluster, ctx.namespace, ctx.start, ctx.end, ctx.base_start,
            ctx.history_start, ctx.step)  # fmt: skip


def _cluster_evidence(ctx: Context, cluster: str) -> tuple[bool, pl.DataFrame]:
    """Whether ``cluster`` has spans in the scope's namespace and window, and its evidence."""
    where, frame = _evidence(dataclasses.replace(ctx, cluster=cluster, notes=[], _read={}))
    return bool(where), frame


def _evidence(ctx: Context) -> tuple[set[str], pl.DataFrame]:
    """The clusters with spans in the scope (the window or the baseline), and the evidence
    (:func:`trace_evidence` without notes)."""
    if ctx.spans is not None and _named(ctx.ds):
        linked, namespaces = _kept_links(ctx)
        where = {c for f in linked for c in f["cluster"].unique().to_list()}
    else:
        spans = _spans(ctx, ctx.base_start, ctx.end).select(_READ).collect()  # read once for everything below
        where = set(spans["cluster"].unique().to_list())
        if where:
            linked = _linked(spans, ctx.start, ctx.end), _linked(spans, ctx.base_start, ctx.start)
            namespaces = _namespaces(spans)
    if not where:
        return where, raw_frame([])
    rows: list[dict[str, Any]] = []
    clusters = [ctx.cluster] if ctx.cluster else ctx.ds.clusters
    onsets = _onsets(ctx)
    now, was = _origins(linked[0]), _origins(linked[1])
    # every cluster's window and baseline maps in one pass (as sm.compare of each cluster)
    maps = sm.compare_clusters(linked, clusters, namespace=ctx.namespace)
    for cluster in clusters:
        cmp = maps[cluster]
        if cmp.services.is_empty():
            continue
        ns_of = namespaces.get(cluster, {})
        net = _network(cmp)
        origins = (
            now.filter(pl.col("cluster") == cluster)
            .select("origin", "n", "first")
            .join(
                was.filter(pl.col("cluster") == cluster).select("origin", pl.col("n").alias("nb")),
                on="origin",
                how="full",
                coalesce=True,
            )
        )
        orig = {r["origin"]: r for r in origins.iter_rows(named=True)}
        for s in cmp.services.sort("service").iter_rows(named=True):
            rows += _service_rows(
                ctx,
                cluster,
                s,
                ns_of.get(s["service"]),
                net.get(s["service"], (0.0, [])),
                orig.get(s["service"]),
                onsets,
            )
    return where, raw_frame(rows)


def _namespaces(spans: pl.DataFrame) -> dict[str, dict[str, str]]:
    """Per cluster: each service's namespace (the one most of its ``spans`` are in)."""
    got = (
        spans.group_by("cluster", "service", "namespace")
        .agg(pl.len())
        .sort("len", "namespace", descending=[True, False])
        .unique(["cluster", "service"], keep="first")
    )
    out: dict[str, dict[str, str]] = {}
    for r in got.iter_rows(named=True):
        if r["namespace"]:
            out.setdefault(r["cluster"], {})[r["service"]] = r["namespace"]
    return out


def _network(cmp: sm.ServiceMap) -> dict[str, tuple[float, list[str]]]:
    """Per service: the summed network-gap credit and the edges behind it."""
    lat = {
        r["service"]: (r["latency_mean_ms"], r["latency_mean_ms_base"])
        for r in cmp.services.iter_rows(named=True)
    }
    out: dict[str, tuple[float, list[str]]] = {}
    edges = cmp.edges.filter(
        (pl.col("callee_kind") == "service")
        & (pl.col("traced_calls") >= _MIN_CALLS)
        & (pl.col("traced_calls_base") >= _MIN_CALLS)
    )
    for e in edges.sort("caller", "callee").iter_rows(named=True):
        now_callee, base_callee = lat.get(e["callee"], (None, None))
        if None in (e["latency_mean_ms"], e["latency_mean_ms_base"], now_callee, base_callee):
            continue
        gap_w = _f(e["latency_mean_ms"]) - _f(now_callee)
        gap_b = _f(e["latency_mean_ms_base"]) - _f(base_callee)
        rel = (gap_w - gap_b) / max(_f(e["latency_mean_ms_base"]), 1.0)
        if rel <= 0.1:
            continue
        text = f"{e['caller']}→{e['callee']} +{gap_w - gap_b:.0f} ms"
        for svc, share in ((e["callee"], 1.0), (e["caller"], 0.5)):
            credit, names = out.get(svc, (0.0, []))
            out[svc] = (credit + rel * share, [*names, text])
    calls = {
        r["service"]: (r["calls_base"], r["latency_mean_ms_base"]) for r in cmp.services.iter_rows(named=True)
    }
    outside = cmp.edges.filter(
        (pl.col("callee_kind") != "service")
        & (pl.col("calls") >= _MIN_CALLS)
        & (pl.col("calls_base") >= _MIN_CALLS)
    )
    for e in outside.sort("caller", "callee").iter_rows(named=True):
        # a database or external call: all its time is the callee's; weigh it by how much of the
        # caller's usual response time it adds per request
        n_base, lat_base = calls.get(e["caller"], (None, None))
        if not n_base or e["latency_mean_ms"] is None or e["latency_mean_ms_base"] is None:
            continue
        added = (_f(e["latency_mean_ms"]) - _f(e["latency_mean_ms_base"])) * _f(e["calls_base"]) / n_base
        rel = added / max(_f(lat_base), 1.0)
        if rel <= 0.1:
            continue
        credit, names = out.get(e["callee"], (0.0, []))
        out[e["callee"]] = (
            credit + rel,
            [*names, f"{e['caller']}→{e['callee']} +{added:.0f} ms per request"],
        )
    top = max((credit for credit, _ in out.values()), default=0.0)
    # strength: clip((credit − 0.1) / 0.5) × credit / the largest credit (the end that touches
    # the most slowed-down calls wins over its neighbours)
    return {
        svc: (min(1.0, max(0.0, (credit - 0.1) / 0.5)) * credit / top, names)
        for svc, (credit, names) in out.items()
    }


def _service_rows(
    ctx: Context,
    cluster: str,
    s: dict[str, Any],
    ns: str | None,
    net: tuple[float, list[str]],
    orig: dict[str, Any] | None,
    onsets: dict[tuple[str, str, str], dt.datetime],
) -> list[dict[str, Any]]:
    svc, rows = s["service"], []
    calls, calls_b = int(_f(s["calls"])), int(_f(s["calls_base"]))
    lat, lat_b = _f(s["latency_mean_ms"]), _f(s["latency_mean_ms_base"])
    how = _how(ctx, cluster, svc)
    common = {"level": "Service", "cluster": cluster, "namespace": ns, "name": svc, "how_to_see": how}
    t_lat = onsets.get((cluster, svc, "latency_p90_ms"), ctx.start)
    if calls >= _MIN_CALLS and calls_b >= _MIN_CALLS and s["node_kind"] == "service":
        self_w, self_b = _f(s["self_time_ms"]) / calls, _f(s["self_time_ms_base"]) / calls_b
        rel = (self_w - self_b) / max(lat_b, 1.0)
        self_strength = (rel - 0.1) / 0.5
        net_strength = net[0]
        if max(self_strength, net_strength) >= 0.05:
            if self_strength >= net_strength:
                detail = (
                    f"{svc} does more work per request: self time {self_b:.1f} → {self_w:.1f} ms per call "
                    f"(response time {lat_b:.0f} → {lat:.0f} ms, {calls} calls)"
                )
            else:
                detail = f"time on the wire to/from {svc} rose ({'; '.join(net[1][:4])})"
            rows.append(
                raw(
                    **common,
                    signal="latency_caused",
                    time=t_lat,
                    strength=max(self_strength, net_strength),
                    detail=detail,
                )
            )
        elif lat_b > 0 and (lat - lat_b) / lat_b > 0.2:
            rows.append(
                raw(
                    **common,
                    signal="latency_inherited",
                    time=t_lat,
                    strength=0.0,
                    detail=f"{svc} response time {lat_b:.0f} → {lat:.0f} ms, but its own work per call did "
                    f"not grow ({self_b:.1f} → {self_w:.1f} ms): it waits on its callees",
                )
            )
    elif net[0] >= 0.05 and s["node_kind"] != "service":
        rows.append(
            raw(
                **common,
                signal="latency_caused",
                time=t_lat,
                strength=net[0],
                detail=f"calls to {svc} got slower ({'; '.join(net[1][:4])})",
            )
        )
    n, nb = (int(orig["n"] or 0), int(orig["nb"] or 0)) if orig else (0, 0)
    if calls > 0 and n > 0:
        rate_b = nb / calls_b if calls_b else 0.0
        expected = rate_b * calls
        excess = n - expected
        z = excess / math.sqrt(expected + 1)
        strength = min(1.0, excess / calls / 0.05) * min(1.0, max(0.0, (z - 1) / 3))
        t_err = onsets.get((cluster, svc, "error_rate")) or (orig or {}).get("first") or ctx.start
        if strength >= 0.05:
            rows.append(
                raw(
                    **common,
                    signal="errors_caused",
                    time=t_err,
                    strength=strength,
                    detail=f"{n} errors start at {svc} ({n / calls:.1%} of {calls} calls; baseline "
                    f"{rate_b:.1%}): not explained by errors of the services it calls",
                )
            )
    errors, errors_b = int(_f(s["errors"])), int(_f(s["errors_base"]))
    if calls and errors > 2 * max(errors_b * calls / max(calls_b, 1), 1) and n <= max(1, errors // 4):
        rows.append(
            raw(
                **common,
                signal="errors_inherited",
                time=onsets.get((cluster, svc, "error_rate"), ctx.start),
                strength=0.0,
                detail=f"{svc} answered {errors} errors (baseline {errors_b}), passed on from the services it "
                f"calls",
            )
        )
    return rows
