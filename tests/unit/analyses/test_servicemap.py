"""The service map: edges and call counts of real Zipkin and Jaeger traces equal the parent links
walked independently in the raw JSON, exclusive time of overlapping children, window vs
baseline comparison, the demo's designed call graph, and the graph rendering with bokeh."""

from __future__ import annotations

import collections
import datetime as dt
import json
from pathlib import Path
from typing import Any

import holoviews as hv
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import workbench as wb
from workbench.analyses import servicemap as SM
from workbench.errors import ParameterError
from workbench.schema import conform
from workbench.sources.traces import read_traces
from workbench.store import to_utc
from workbench.viz import servicemap as sm_viz

REALDATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "realdata"
ZIPKIN = REALDATA / "traces" / "zipkin_lens_testdata"
JAEGER = REALDATA / "traces" / "jaeger_ui_testdata"
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
US = dt.timedelta(microseconds=1)
Pairs = collections.Counter[tuple[str, str]]


def _zipkin_edges(raw: list[dict[str, Any]]) -> tuple[Pairs, Pairs]:
    """(caller → callee counts through parent links, counts of unmatched outbound calls) from
    raw Zipkin v2 JSON: a shared server half's caller is its client half; children of an id
    belong to its server half; kind-less repeats of a half's id are fragments and skipped."""
    by_id: dict[str, list[dict]] = collections.defaultdict(list)
    for s in raw:
        by_id[s["id"]].append(s)

    def svc(s: dict) -> str:
        return (s.get("localEndpoint") or {}).get("serviceName") or "unknown"

    def fragment(s: dict) -> bool:
        return not s.get("kind") and any(o.get("kind") for o in by_id[s["id"]])

    def first(cands: list[dict], kinds: tuple[str, ...]) -> dict | None:
        hits = [o for o in cands if o.get("kind") in kinds]
        return min(hits, key=lambda o: o.get("timestamp", float("inf"))) if hits else None

    def parent(s: dict) -> dict | None:
        if s.get("kind") in ("SERVER", "CONSUMER"):
            client = first(by_id[s["id"]], ("CLIENT", "PRODUCER"))
            if client is not None:
                return client
        cands = [o for o in by_id.get(s.get("parentId") or "", []) if not fragment(o)]
        any_kind = min(cands, key=lambda o: o.get("timestamp", float("inf"))) if cands else None
        return first(cands, ("SERVER", "CONSUMER")) or first(cands, ("CLIENT", "PRODUCER")) or any_kind

    traced: Pairs = collections.Counter()
    called_out: set[int] = set()  # spans with a child in another service
    spans = [s for s in raw if not fragment(s)]
    for s in spans:
        p = parent(s)
        if p is not None and svc(p) != svc(s):
            traced[(svc(p), svc(s))] += 1
            called_out.add(id(p))
    untraced: Pairs = collections.Counter()
    for s in spans:
        peer = (s.get("remoteEndpoint") or {}).get("serviceName")
        if s.get("kind") in ("CLIENT", "PRODUCER") and peer and id(s) not in called_out:
            untraced[(svc(s), peer)] += 1
    return traced, untraced


def _check(edges: pl.DataFrame, traced: Pairs, untraced: Pairs) -> None:
    got = {
        (r["caller"], r["callee"]): (r["traced_calls"], r["calls"] - r["traced_calls"])
        for r in edges.iter_rows(named=True)
    }
    want = {k: (traced.get(k, 0), untraced.get(k, 0)) for k in set(traced) | set(untraced)}
    assert got == want


@pytest.mark.parametrize(
    "name",
    [
        "smartthings-mobile-web-install.json",
        "smartthings-oauth-authorization.json",
        "yelp.json",
        "messaging.json",
        "messaging2.json",
        "ascend.json",
        "skew.json",
    ],
)
def test_zipkin_edges_equal_the_raw_parent_links(name: str) -> None:
    raw = json.loads((ZIPKIN / name).read_text())
    traced, untraced = _zipkin_edges(raw)
    sm = SM.service_map(read_traces(ZIPKIN / name, cluster="c").spans)
    _check(sm.edges, traced, untraced)
    if name.startswith("smartthings-mobile"):
        assert len({s for pair in traced for s in pair}) == 16  # every one of the 16 services takes part


def _jaeger_edges(doc: dict[str, Any]) -> tuple[Pairs, Pairs]:
    t = doc["data"][0] if "data" in doc else doc
    service = {pid: p["serviceName"] for pid, p in t["processes"].items()}
    spans = {s["spanID"]: s for s in t["spans"]}

    def tag(s: dict, *keys: str) -> str | None:
        return next((x["value"] for x in s.get("tags", []) if x["key"] in keys), None)

    traced: Pairs = collections.Counter()
    has_remote_child: set[str] = set()
    for s in t["spans"]:
        # the parent: the CHILD_OF reference, else FOLLOWS_FROM (a message consumer's producer)
        refs = [
            r["spanID"]
            for t_ in ("CHILD_OF", "FOLLOWS_FROM")
            for r in s.get("references") or []
            if r["refType"] == t_ and r["spanID"] in spans
        ]
        if refs and service[spans[refs[0]]["processID"]] != service[s["processID"]]:
            traced[(service[spans[refs[0]]["processID"]], service[s["processID"]])] += 1
            has_remote_child.add(refs[0])
    untraced: Pairs = collections.Counter()
    for s in t["spans"]:
        kind = tag(s, "span.kind")
        db, peer = tag(s, "db.system", "db.type"), tag(s, "peer.service")
        outbound = kind in ("client", "producer") or (db is not None and kind not in ("server", "consumer"))
        if outbound and (peer or db) and s["spanID"] not in has_remote_child:
            untraced[(service[s["processID"]], peer or db)] += 1
    return traced, untraced


@pytest.mark.parametrize(
    "name", ["testTrace.json", "spansAmongEachOther.json", "spanAmongEachOtherGroupedAndSpans.json"]
)
def test_jaeger_edges_equal_the_raw_references(name: str) -> None:
    traced, untraced = _jaeger_edges(json.loads((JAEGER / name).read_text()))
    sm = SM.service_map(read_traces(JAEGER / name, cluster="c").spans)
    _check(sm.edges, traced, untraced)


def test_jaeger_test_trace_edge_latency_is_the_callers_client_span() -> None:
    sm = SM.service_map(read_traces(JAEGER / "testTrace.json", cluster="c").spans)
    edge = sm.edges.filter(pl.col("caller") == "service1").row(0, named=True)
    # span-3 (CLIENT, 66 ms) → span-4, span-6 (PRODUCER, 20 ms) → span-7 in testTrace.json
    assert (edge["callee"], edge["calls"], edge["errors"]) == ("service2", 2, 0)
    assert edge["latency_mean_ms"] == pytest.approx(43.0)
    assert edge["latency_p99_ms"] == pytest.approx(np.percentile([66.0, 20.0], 99))
    sql = sm.services.filter(pl.col("service") == "sql").row(0, named=True)
    assert (sql["node_kind"], sql["calls"]) == ("database", 1)


def _span(sid: str, parent: str | None, svc: str, kind: str, a: float, b: float, **kw: Any) -> dict[str, Any]:
    return {
        "cluster": "c",
        "trace_id": kw.pop("trace", "t1"),
        "span_id": sid,
        "parent_id": parent,
        "service": svc,
        "kind": kind,
        "start": T0 + round(a * 1000) * US,
        "end": T0 + round(b * 1000) * US,
        "duration_us": round(b * 1000) - round(a * 1000),
        "error": kw.pop("error", False),
        **kw,
    }


def test_exclusive_time_subtracts_the_union_of_overlapping_children() -> None:
    spans = conform(
        "spans",
        [
            _span("root", None, "shop", "SERVER", 0, 100),
            _span("a", "root", "shop", "CLIENT", 10, 40, peer_service="stock"),
            _span("a-s", "a", "stock", "SERVER", 15, 35),
            _span("b", "root", "shop", "CLIENT", 20, 50, db_system="postgresql"),  # overlaps a
            _span("c", "root", "shop", "INTERNAL", 60, 70),
            _span("d", "root", "shop", "INTERNAL", 90, 120),  # runs past its parent: clipped at 100
        ],
    )
    t = {r["span_id"]: r for r in SM.span_times(spans).iter_rows(named=True)}
    # children of root cover [10,50] ∪ [60,70] ∪ [90,100] = 60 ms (not 30+30+10+30 = 100)
    assert (t["root"]["children_us"], t["root"]["exclusive_us"], t["root"]["wait_us"]) == (
        60_000,
        40_000,
        40_000,
    )
    assert (t["a"]["exclusive_us"], t["d"]["exclusive_us"], t["a-s"]["exclusive_us"]) == (
        10_000,
        30_000,
        20_000,
    )
    svc = {r["service"]: r for r in SM.service_map(spans).services.iter_rows(named=True)}
    # shop works 40 (root) + 10 (c) + 30 (d) ms and waits 40 ms on stock and the database
    assert (svc["shop"]["self_time_ms"], svc["shop"]["wait_time_ms"]) == (80.0, 40.0)
    assert svc["shop"]["self_ratio"] == pytest.approx(80 / 120)
    assert (svc["stock"]["self_time_ms"], svc["stock"]["calls"]) == (20.0, 1)
    assert svc["postgresql"]["node_kind"] == "database"


def test_exclusive_time_equals_a_brute_force_union_on_random_traces() -> None:
    rng = np.random.default_rng(5)
    rows, want = [], {}
    for i in range(200):
        dur = int(rng.integers(1_000, 100_000))
        rows.append(_span(f"r{i}", None, "s", "SERVER", 0, dur / 1000, trace=f"t{i}"))
        kids = []
        for j in range(int(rng.integers(0, 6))):
            a = int(rng.integers(-5_000, dur))
            b = a + int(rng.integers(1, dur))
            rows.append(_span(f"r{i}-{j}", f"r{i}", "s", "INTERNAL", a / 1000, b / 1000, trace=f"t{i}"))
            kids.append((max(a, 0), min(b, dur)))
        covered = sorted(k for k in kids if k[1] > k[0])
        total, reach = 0, None
        for a, b in covered:  # plain interval-union sweep
            if reach is None or a > reach:
                total += b - a
                reach = b
            elif b > reach:
                total += b - reach
                reach = b
        want[f"r{i}"] = dur - total
    got = SM.span_times(conform("spans", rows)).filter(pl.col("span_id").str.contains("-").not_())
    assert dict(got.select("span_id", "exclusive_us").rows()) == want


def test_compare_gives_deltas_and_ratios_against_the_baseline() -> None:
    rows = []
    for i in range(40):  # baseline: 10:00–10:10; window: 10:10–10:20 with more errors and a new callee
        late = i >= 20
        t = 1000 * 30 * i  # every 30 s
        tid = f"t{i}"
        rows += [
            _span(f"{i}a", None, "web", "SERVER", t, t + 50, trace=tid),
            _span(f"{i}b", f"{i}a", "web", "CLIENT", t + 5, t + 25, trace=tid, peer_service="api"),
            _span(f"{i}c", f"{i}b", "api", "SERVER", t + 6, t + 24, trace=tid, error=late and i % 2 == 0),
        ]
        if late:
            rows.append(
                _span(f"{i}d", f"{i}a", "web", "CLIENT", t + 30, t + 40, trace=tid, peer_service="cache")
            )
    spans = conform("spans", rows)
    mid = T0 + dt.timedelta(minutes=10)
    cmp = SM.compare(spans, window=(mid, mid + dt.timedelta(minutes=10)), baseline=(T0, mid))
    e = {(r["caller"], r["callee"]): r for r in cmp.edges.iter_rows(named=True)}
    api = e[("web", "api")]
    assert (api["calls"], api["calls_base"], api["calls_delta"], api["calls_ratio"]) == (20, 20, 0, 1.0)
    assert (api["errors"], api["errors_base"], api["error_rate"]) == (10, 0, 0.5)
    assert api["errors_ratio"] is None  # nothing to divide by
    cache = e[("web", "cache")]
    assert (cache["calls"], cache["calls_base"], cache["callee_kind"]) == (20, 0, "external")
    svc = {r["service"]: r for r in cmp.services.iter_rows(named=True)}
    assert svc["cache"]["calls_base"] == 0 and svc["api"]["error_rate_base"] == 0.0
    # the window's map, when a page already has it, gives the same comparison
    now = SM.service_map(spans, start=mid, end=mid + dt.timedelta(minutes=10))
    again = SM.compare(spans, window=(mid, mid + dt.timedelta(minutes=10)), baseline=(T0, mid), current=now)
    assert_frame_equal(again.edges, cmp.edges)
    assert_frame_equal(again.services, cmp.services)


def test_maps_of_spans_linked_once_for_every_cluster_equal_the_maps_read_per_cluster() -> None:
    # two clusters with the very same trace and span ids (Zipkin shared client/server halves
    # included) but other service names in "d": links must not cross clusters
    c = read_traces(ZIPKIN / "smartthings-mobile-web-install.json", cluster="c").spans
    d = c.with_columns(pl.lit("d").alias("cluster"), ("d-" + pl.col("service")).alias("service"))
    spans = pl.concat([c, read_traces(ZIPKIN / "yelp.json", cluster="c").spans, d], how="diagonal_relaxed")
    mid = spans["start"].sort()[spans.height // 2]
    lo, hi = spans["start"].min(), spans["start"].max() + dt.timedelta(seconds=1)
    window = spans.filter(pl.col("start") >= mid)
    linked = (
        SM.link(window, keep=("cluster",)),
        SM.link(spans.filter(pl.col("start") < mid), keep=("cluster",)),
    )
    for cluster in ("c", "d"):
        want = SM.service_map(spans, cluster=cluster, start=mid, end=hi)
        # data not read
        got = SM.service_map(spans.head(0), cluster=cluster, start=mid, end=hi, linked=linked[0])
        assert want.edges.height > 0
        assert_frame_equal(got.edges, want.edges)
        assert_frame_equal(got.services, want.services)
        want = SM.compare(spans, cluster=cluster, window=(mid, hi), baseline=(lo, mid))
        got = SM.compare(spans, cluster=cluster, window=(mid, hi), baseline=(lo, mid), linked=linked)
        assert_frame_equal(got.edges, want.edges)
        assert_frame_equal(got.services, want.services)
    with pytest.raises(ParameterError, match="cluster column"):
        SM.service_map(spans, cluster="c", linked=SM.link(window))


def test_maps_of_every_cluster_in_one_pass_equal_compare_of_each_cluster() -> None:
    """compare_clusters maps every cluster's window and baseline at once: each cluster's
    comparison equals compare of that cluster alone (a cluster without spans: empty maps)."""
    c = read_traces(ZIPKIN / "smartthings-mobile-web-install.json", cluster="c").spans
    d = c.with_columns(pl.lit("d").alias("cluster"), ("d-" + pl.col("service")).alias("service"))
    calls = _random_calls().with_columns(pl.lit("e").alias("cluster"))
    yelp = read_traces(ZIPKIN / "yelp.json", cluster="c").spans
    spans = pl.concat([c, yelp, d, calls], how="diagonal_relaxed")
    for where in ([], [pl.col("cluster") != "d"]):
        part = spans.filter(*where) if where else spans
        mid = part["start"].sort()[part.height // 2]
        lo, hi = part["start"].min(), part["start"].max() + dt.timedelta(seconds=1)
        linked = (SM.link(part.filter(pl.col("start") >= mid), keep=("cluster",)),
                  SM.link(part.filter(pl.col("start") < mid), keep=("cluster",)))  # fmt: skip
        got = SM.compare_clusters(linked, ["c", "d", "e", "nowhere"], min_calls=2)
        for cluster in ("c", "d", "e", "nowhere"):
            want = SM.compare(part, cluster=cluster, window=(mid, hi), baseline=(lo, mid), min_calls=2)
            assert_frame_equal(got[cluster].edges, want.edges)
            assert_frame_equal(got[cluster].services, want.services)
        assert got["c"].edges.height > 0 and got["e"].services.height > 0
        assert got["nowhere"].services.is_empty()
    with pytest.raises(ParameterError, match="cluster column"):
        SM.compare_clusters((SM.link(spans), SM.link(spans)), ["c"])


def test_service_filter_keeps_the_edges_that_touch_it() -> None:
    spans = read_traces(ZIPKIN / "smartthings-mobile-web-install.json", cluster="c").spans
    sm = SM.service_map(spans, service="bookie", min_calls=2)
    assert sm.edges.height > 0 and (sm.edges["calls"] >= 2).all()
    assert ((sm.edges["caller"] == "bookie") | (sm.edges["callee"] == "bookie")).all()
    assert "bookie" in sm.services["service"].to_list()
    with pytest.raises(ParameterError, match="closest: min_calls"):
        SM.service_map(spans, min_call=2)
    empty = SM.service_map(conform("spans", []))
    assert empty.edges.columns == list(SM.EDGE_COLUMNS) and empty.services.is_empty()


def _random_calls(seed: int = 11, traces: int = 400) -> pl.DataFrame:
    """Traces over an hour: a web SERVER root (namespace front) calling api (namespace back)
    through a CLIENT span, api calling a database and sometimes another api, errors here and
    there, children running past their parents."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(traces):
        t, tid = float(rng.uniform(0, 3_600_000)), f"t{i}"
        dur = float(rng.uniform(20, 400))
        pod = f"web-{i % 3}"
        rows.append(
            _span(
                f"{i}r",
                None,
                "web",
                "SERVER",
                t,
                t + dur,
                trace=tid,
                namespace="front",
                pod=pod,
                error=bool(rng.random() < 0.05),
            )
        )
        for j in range(int(rng.integers(0, 4))):
            a = t + float(rng.uniform(0, dur))
            b = a + float(rng.uniform(1, 300))
            rows += [
                _span(
                    f"{i}c{j}",
                    f"{i}r",
                    "web",
                    "CLIENT",
                    a,
                    b,
                    trace=tid,
                    namespace="front",
                    pod=pod,
                    peer_service="api",
                ),
                _span(
                    f"{i}s{j}",
                    f"{i}c{j}",
                    "api",
                    "SERVER",
                    a + 1,
                    b - 0.5,
                    trace=tid,
                    namespace="back",
                    pod=f"api-{j % 2}",
                    error=bool(rng.random() < 0.1),
                ),
                _span(
                    f"{i}d{j}",
                    f"{i}s{j}",
                    "api",
                    "CLIENT",
                    a + 2,
                    a + 3,
                    trace=tid,
                    namespace="back",
                    pod=f"api-{j % 2}",
                    db_system="postgresql",
                ),
            ]
            if rng.random() < 0.3:  # api calls api: a cycle in the graph
                rows.append(
                    _span(
                        f"{i}x{j}",
                        f"{i}s{j}",
                        "api",
                        "INTERNAL",
                        a + 3,
                        b,
                        trace=tid,
                        namespace="back",
                        pod=f"api-{(j + 1) % 2}",
                    )
                )
    return conform("spans", rows)


def test_linked_spans_map_a_subset_as_the_subset_is_mapped() -> None:
    """A dashboard links the snapshot's spans once and maps its scopes and windows from them:
    each map equals the map of the spans a scan of that scope and window gives, whether ids are
    unique (parents found by position) or repeated (Zipkin shared spans: linked again)."""
    calls = _random_calls()
    zipkin = read_traces(ZIPKIN / "smartthings-mobile-web-install.json", cluster="c").spans
    for spans in (calls, zipkin, pl.concat([calls, zipkin], how="diagonal_relaxed")):
        linked = SM.LinkedSpans.of(spans)
        assert (linked.parent is None) == (spans["span_id"].n_unique() < spans.height)
        lo, hi = spans["start"].min(), spans["start"].max()
        assert isinstance(lo, dt.datetime) and isinstance(hi, dt.datetime)
        third = (hi - lo) / 3
        scopes: list[list[pl.Expr]] = [[], [pl.col("namespace") == "back"], [pl.col("pod").is_in(["web-1", "api-0"])],
                                       [pl.col("service") != "web"], [pl.col("cluster") == "nowhere"]]  # fmt: skip
        windows = [{}, {"start": lo + third, "end": lo + 2 * third}, {"start": lo + third / 7, "end": hi}]
        for where in scopes:
            for window in windows:
                want = SM.service_map(spans.filter(*where) if where else spans, **window)
                got = linked.service_map(where, **window)
                assert_frame_equal(got.edges, want.edges)
                assert_frame_equal(got.services, want.services)
        mid = lo + (hi - lo) / 2
        cmp = SM.compare(spans, window=(mid, hi), baseline=(lo, mid))
        both = SM.versus(linked.service_map(start=mid, end=hi), linked.service_map(start=lo, end=mid))
        assert_frame_equal(both.edges, cmp.edges)
        assert_frame_equal(both.services, cmp.services)


def test_linked_spans_link_a_subset_with_the_columns_asked_as_link_keeps_them() -> None:
    """``LinkedSpans.link(where, columns=...)`` is :func:`link` of the subset with those columns
    kept, and ``select`` the subset itself (what the triage's trace evidence takes instead of
    reading the spans again)."""
    calls = _random_calls()
    zipkin = read_traces(ZIPKIN / "smartthings-mobile-web-install.json", cluster="c").spans
    for spans in (calls, pl.concat([calls, zipkin], how="diagonal_relaxed")):
        linked = SM.LinkedSpans.of(spans)
        mid = spans["start"].min() + (spans["start"].max() - spans["start"].min()) / 2
        for where in ([], [pl.col("namespace") == "back"], [pl.col("start") >= mid]):
            for columns in ((), ("cluster", "start"), ("cluster", "namespace", "start")):
                want = SM.link(spans.filter(*where) if where else spans, keep=columns)
                assert_frame_equal(linked.link(where, columns=columns), want)
                read = (spans.filter(*where) if where else spans).select(
                    *columns, *SM._COLUMNS, pl.col("parent_id").is_null().alias("root")
                )
                assert_frame_equal(linked.select(where, columns=columns), read.with_columns(
                    pl.col("service").fill_null("unknown")))  # fmt: skip


@pytest.mark.parametrize("limit", [1, 97])
def test_maps_computed_a_part_of_the_traces_at_a_time_equal_the_map_of_all(
    limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above PART_SPANS spans a map is linked and mapped a set of whole traces at a time and
    the parts are merged (counts and times added, percentiles from every latency): the same
    map as all spans at once, Zipkin shared spans and fragments included."""
    calls = _random_calls()
    zipkin = read_traces(ZIPKIN / "smartthings-mobile-web-install.json", cluster="c").spans
    for spans in (calls, zipkin, pl.concat([calls, zipkin], how="diagonal_relaxed")):
        lo, hi = spans["start"].min(), spans["start"].max()
        assert isinstance(lo, dt.datetime) and isinstance(hi, dt.datetime)
        cases: list[dict[str, Any]] = [
            {},
            {"start": lo + (hi - lo) / 3},
            {"namespace": "back"},
            {"service": "api"},
        ]
        wants = [SM.service_map(spans, **case) for case in cases]
        assert spans.height > limit and wants[0].edges.height > 0
        with monkeypatch.context() as m:
            m.setattr(SM, "PART_SPANS", limit)
            for case, want in zip(cases, wants, strict=True):
                got = SM.service_map(spans, **case)
                assert_frame_equal(got.edges, want.edges)
                assert_frame_equal(got.services, want.services)


def test_maps_per_cluster_merged_from_parts_equal_the_map_of_each_cluster() -> None:
    """Group keys go through the parts: maps per cluster of sets of whole traces, merged, equal
    the per-cluster map of all spans at once and service_map of each cluster alone (a callee is
    a traced service only where it has spans in that cluster)."""
    c = read_traces(ZIPKIN / "smartthings-mobile-web-install.json", cluster="c").spans
    d = c.with_columns(pl.lit("d").alias("cluster"), ("d-" + pl.col("service")).alias("service"))
    calls = _random_calls().with_columns(pl.lit("e").alias("cluster"))
    spans = pl.concat([c, d, calls], how="diagonal_relaxed")

    def mapped(part: pl.DataFrame) -> tuple[pl.DataFrame, int]:
        linked = SM.link(part, keep=("cluster",))
        return SM._with_parent(linked).filter(~pl.col("_fragment")), linked.height

    halves = [spans.filter((pl.col("trace_id").hash() % 2) == i) for i in range(2)]
    assert all(h.height for h in halves)
    got = SM._merge([SM._partial(*mapped(h), by=("cluster",)) for h in halves])
    want = SM._compute(*mapped(spans), by=("cluster",))
    assert_frame_equal(got.edges, want.edges)
    assert_frame_equal(got.services, want.services)
    assert got.edges.columns == ["cluster", *SM.EDGE_COLUMNS]
    for cluster in ("c", "d", "e"):
        alone = SM.service_map(spans, cluster=cluster)
        assert_frame_equal(got.edges.filter(pl.col("cluster") == cluster).drop("cluster"), alone.edges)
        assert_frame_equal(got.services.filter(pl.col("cluster") == cluster).drop("cluster"), alone.services)
    assert set(got.edges["cluster"]) == {"c", "d", "e"}
    kinds = dict(got.edges.filter(pl.col("cluster") == "d").select("callee", "callee_kind").rows())
    assert "external" in kinds.values()  # callees named like services of cluster c only
    empty = SM._compute(mapped(spans)[0].clear(), 0, by=("cluster",))
    assert empty.edges.columns == ["cluster", *SM.EDGE_COLUMNS] and empty.services.is_empty()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    from workbench.sources.demo import generate

    return wb.open(generate(tmp_path_factory.mktemp("demo") / "snap", hours=2))


@pytest.mark.slow
def test_demo_map_follows_the_designed_calls_and_shows_the_bad_rollout(demo: wb.Dataset) -> None:
    from workbench.sources.demo.apps import SHOP_CALLS

    inc = next(i for i in demo.ground_truth["incidents"] if i["kind"] == "bad_rollout")
    sm = SM.service_map(demo, cluster=inc["cluster"])
    designed = {(a, b) for a, bs in SHOP_CALLS.items() for b in bs}
    assert set(sm.edges.select("caller", "callee").rows()) <= designed
    kinds = dict(sm.services.select("service", "node_kind").rows())
    assert (kinds["orders-db"], kinds["redis"], kinds["payment-gateway"]) == (
        "database",
        "database",
        "external",
    )
    start, end = to_utc(inc["start"]), to_utc(inc["end"])
    cmp = SM.compare(demo, cluster=inc["cluster"], window=(start, end), baseline=(demo.window[0], start))
    edge = cmp.edges.filter((pl.col("caller") == "frontend") & (pl.col("callee") == inc["object"]["name"]))
    assert edge.row(0, named=True)["error_rate_ratio"] > 2
    assert hv.render(sm_viz.service_graph(sm), backend="bokeh") is not None


def test_graph_renders_with_bokeh_and_a_stable_layout() -> None:
    spans = read_traces(ZIPKIN / "smartthings-mobile-web-install.json", cluster="c").spans
    sm = SM.service_map(spans)
    graph = sm_viz.service_graph(sm)
    assert isinstance(graph, hv.Overlay) and isinstance(graph.get(0), hv.Graph)
    assert hv.render(graph, backend="bokeh") is not None
    pos = sm_viz.layout(sm)
    assert pos.equals(sm_viz.layout(SM.service_map(spans.sample(fraction=1.0, shuffle=True, seed=3))))
    x = dict(pos.select("service", "x").rows())
    pairs = set(sm.edges.select("caller", "callee").rows())

    def reaches(a: str, b: str) -> bool:
        todo, seen = [a], {a}
        while todo:
            n = todo.pop()
            if n == b:
                return True
            for c, d in pairs:
                if c == n and d not in seen:
                    seen.add(d)
                    todo.append(d)
        return False

    for caller, callee in pairs:  # callees sit right of their callers, unless the call closes a cycle
        if caller != callee and x[callee] <= x[caller]:
            assert reaches(callee, caller), (caller, callee)
    jaeger = SM.service_map(read_traces(JAEGER / "testTrace.json", cluster="c").spans)
    assert hv.render(sm_viz.service_graph(jaeger), backend="bokeh") is not None


def test_layers_ignore_cycles() -> None:
    depth = sm_viz.layers(["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("c", "b"), ("b", "d"), ("d", "d")])
    assert depth == {"a": 0, "b": 1, "c": 2, "d": 2}
