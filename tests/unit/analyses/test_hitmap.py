"""The hitmap: every cell's count and error count equal a brute-force loop over random spans,
box selections return exactly the spans inside the box, trace waterfalls are depth first
(checked on real Jaeger and Zipkin files), and the plots render with bokeh."""

from __future__ import annotations

import bisect
import datetime as dt
import json
import math
import sys
from pathlib import Path

import holoviews as hv
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from workbench.analyses import hitmap as H
from workbench.analyses.apm import duration_us
from workbench.errors import ParameterError
from workbench.schema import conform
from workbench.sources.traces import read_traces
from workbench.viz import hitmap as hv_hitmap

REALDATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "realdata"
TRACES = REALDATA / "traces"
SMARTTHINGS = TRACES / "zipkin_lens_testdata" / "smartthings-mobile-web-install.json"
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
US = dt.timedelta(microseconds=1)


@pytest.fixture(scope="module")
def spans() -> pl.DataFrame:
    """5000 spans over 20 minutes: SERVER spans of three services with response times from
    50 µs to 200 s (below and above the default 1 ms–60 s range), plus CLIENT spans that are
    not transactions."""
    rng = np.random.default_rng(20260301)
    n = 5000
    start = rng.integers(0, 20 * 60_000_000, n)
    dur = np.exp(rng.uniform(math.log(50), math.log(200_000_000), n)).astype(np.int64) + 1
    rows = [
        {
            "cluster": "c1",
            "trace_id": f"{i:032x}",
            "span_id": f"{i:016x}",
            "service": ["a", "b", "c"][i % 3],
            "kind": "SERVER" if i % 5 else "CLIENT",
            "start": T0 + US * int(start[i]),
            "end": T0 + US * int(start[i] + dur[i]),
            "duration_us": int(dur[i]),
            "error": bool(rng.random() < 0.1),
            "operation": "op",
        }
        for i in range(n)
    ]
    return conform("spans", rows)


def _brute(spans: pl.DataFrame, t0: dt.datetime, step_us: int, n_time: int, edges: list[float],
           service: str | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    counts = np.zeros((len(edges) - 1, n_time), dtype=np.int64)
    errors = np.zeros_like(counts)
    for r in spans.iter_rows(named=True):
        if r["kind"] != "SERVER" or (service is not None and r["service"] != service):
            continue
        t = (r["end"] - t0) // US // step_us
        if not 0 <= t < n_time:
            continue
        row = min(max(bisect.bisect_right(edges, r["duration_us"] / 1000.0) - 1, 0), len(edges) - 2)
        counts[row, t] += 1
        errors[row, t] += r["error"]
    return counts, errors


def test_every_cell_equals_a_brute_force_count(spans: pl.DataFrame) -> None:
    end = T0 + dt.timedelta(minutes=15)
    hm = H.hitmap(spans, time_bin="30s", start=T0, end=end, bins_per_decade=10)
    assert (hm.t0, hm.time_bin_us, hm.n_time) == (T0, 30_000_000, 30)
    edges = [1.0 * 10 ** (k / 10) for k in range(hm.n_rt + 1)]  # 48 rows: 1 ms … 63 s covers 60 s
    assert hm.n_rt == 48 and edges[-1] >= 60_000 > edges[-2]
    want_counts, want_errors = _brute(spans, T0, 30_000_000, 30, edges)
    counts, errors = hm.grid()
    np.testing.assert_array_equal(counts, want_counts)
    np.testing.assert_array_equal(errors, want_errors)
    assert counts[0].sum() > 0 and counts[-1].sum() > 0  # faster than 1 ms / slower than 60 s: clipped in
    # the cells frame says the same, with the cell's time and response-time edges
    for r in hm.cells.iter_rows(named=True):
        assert r["count"] == want_counts[r["rt_bin"], r["t_bin"]] > 0
        assert r["ts"] == T0 + dt.timedelta(seconds=30 * r["t_bin"])
        assert r["rt_lo_ms"] == pytest.approx(edges[r["rt_bin"]])
        assert r["rt_hi_ms"] == pytest.approx(edges[r["rt_bin"] + 1])
    assert hm.cells.height == int((want_counts > 0).sum())


def test_multi_service_hitmap_is_one_grid_per_service(spans: pl.DataFrame) -> None:
    end = T0 + dt.timedelta(minutes=25)
    hm = H.hitmap(spans, time_bin="1m", start=T0, end=end, by=("service",))
    assert hm.groups() == [("a",), ("b",), ("c",)]
    edges = list(hm.rt_edges_ms())
    total = np.zeros((hm.n_rt, hm.n_time), dtype=np.int64)
    for (svc,) in hm.groups():
        counts, errors = hm.grid((svc,))
        want_counts, want_errors = _brute(spans, T0, 60_000_000, hm.n_time, edges, service=svc)
        np.testing.assert_array_equal(counts, want_counts)
        np.testing.assert_array_equal(errors, want_errors)
        total += counts
    np.testing.assert_array_equal(total, hm.grid()[0])


def test_transactions_picked_once_bin_per_group_as_their_spans_do(spans: pl.DataFrame) -> None:
    """Transactions keep their groups as categoricals, counted one grid per group by their codes;
    the cells are those of the spans' (counted by a group_by), with a null group too."""
    from workbench.analyses import apm

    row = pl.int_range(pl.len())
    odd = spans.with_columns(
        pl.when(row % 7 == 0).then(None).otherwise(pl.col("service")).alias("service"),  # "unknown"
        pl.when(row % 3 == 0).then(pl.lit("/x")).when(row % 3 == 1).then(pl.lit("/y")).alias("http_route"),
        pl.when(row % 4 == 0).then(None).otherwise(pl.col("pod")).alias("pod"),
    )
    tx = apm.scoped_transactions(odd)
    assert tx.frame.schema["service"] == pl.Categorical()
    for by in (("service",), ("service", "endpoint"), ("pod", "service")):
        for window in ({}, {"start": T0 + dt.timedelta(minutes=3), "end": T0 + dt.timedelta(minutes=17)}):
            want = H.hitmap(odd, by=by, **window)
            got = H.hitmap(tx, by=by, **window)
            assert got.cells.height > 0 and got.cells.select(by).unique().height > 1
            assert_frame_equal(got.cells, want.cells)
            assert (got.t0, got.n_time, got.time_bin_us) == (want.t0, want.n_time, want.time_bin_us)


def test_automatic_time_bin_is_a_round_width_and_counts_every_transaction(spans: pl.DataFrame) -> None:
    hm = H.hitmap(spans, time_bins=50)
    n_tx = spans.filter(pl.col("kind") == "SERVER").height
    assert hm.cells["count"].sum() == n_tx
    assert hm.time_bin_us in [duration_us(b) for b in H.NICE_BINS]
    span_us = (spans["end"].max() - spans.filter(pl.col("kind") == "SERVER")["end"].min()) // US
    assert hm.time_bin_us * 50 >= span_us and hm.n_time <= 51


def test_select_returns_exactly_the_transactions_in_the_box(spans: pl.DataFrame) -> None:
    boxes = [(2, 9, 5.0, 800.0), (0, 30, 0.0, 1.0), (10, 11, 1_000.0, 1e9), (3, 3, 0.0, 1e9)]
    for a, b, lo, hi in boxes:
        t0, t1 = T0 + dt.timedelta(minutes=a), T0 + dt.timedelta(minutes=b, seconds=7)
        got = H.select(spans, t0, t1, lo, hi)
        want = {
            r["span_id"]
            for r in spans.iter_rows(named=True)
            if r["kind"] == "SERVER" and t0 <= r["end"] <= t1 and lo <= r["duration_us"] / 1000.0 <= hi
        }
        assert set(got["span_id"].to_list()) == want, (a, b, lo, hi)
        assert got.height == len(want)
        assert got["rt_ms"].is_sorted(descending=True)
    top = H.select(spans, T0, T0 + dt.timedelta(hours=1), 0.0, 1e9, limit=5, service="b")
    assert top.height == 5 and set(top["service"]) == {"b"}


def test_a_box_lists_its_slowest_and_counts_the_rest_as_select_does(spans: pl.DataFrame) -> None:
    """``select_slowest`` lists what ``select`` lists first and counts what it selects and how
    many failed (the spans or their transactions, ids packed or kept as strings)."""
    from workbench.analyses import apm

    boxes = [
        (2, 9, 5.0, 800.0),
        (0, 30, 0.0, 1.0),
        (10, 11, 1_000.0, 1e9),
        (3, 3, 0.0, 1e9),
        (0, 60, 0.0, 1e9),
    ]
    for data in (spans, apm.scoped_transactions(spans), apm.scoped_transactions(spans, pack=False)):
        for a, b, lo, hi in boxes:
            box = (T0 + dt.timedelta(minutes=a), T0 + dt.timedelta(minutes=b, seconds=7), lo, hi)
            for service, limit in ((None, 7), ("b", 3), (None, 100_000)):
                want = H.select(data, *box, service=service)
                listed, n, errors = H.select_slowest(data, *box, service=service, limit=limit)
                assert (n, errors) == (want.height, int(want["error"].sum())), (box, service)
                assert_frame_equal(listed, want.head(limit))
                packed, _, _ = H.select_slowest(data, *box, service=service, limit=limit, ids=False)
                if isinstance(data, apm.Transactions) and data.packed:
                    assert "trace_id" not in packed.columns
                assert_frame_equal(
                    data.with_ids(packed) if isinstance(data, apm.Transactions) else packed, listed
                )
    assert H.select_slowest(spans, T0, T0 + dt.timedelta(hours=1), 0.0, 1e9, limit=1)[1] > 1
    assert H.select_slowest(spans, T0, T0, 1e8, 1e9, limit=5)[1:] == (0, 0)


def test_parameters_are_checked(spans: pl.DataFrame) -> None:
    with pytest.raises(ParameterError, match="rt_max_ms"):
        H.hitmap(spans, rt_min_ms=100, rt_max_ms=10)
    with pytest.raises(ParameterError, match="time_bin"):
        H.hitmap(spans, time_bin="fast")
    with pytest.raises(ParameterError, match="closest: bins_per_decade"):
        H.hitmap(spans, bins_per_decde=5)
    with pytest.raises(ParameterError, match="t0 ≤ t1"):
        H.select(spans, T0 + US, T0, 0, 1)


def test_empty_input_gives_an_empty_grid() -> None:
    hm = H.hitmap(conform("spans", []), start=T0, end=T0 + dt.timedelta(minutes=10), time_bin="1m")
    assert hm.cells.is_empty() and list(hm.cells.columns) == list(H.CELL_COLUMNS)
    counts, errors = hm.grid()
    assert counts.shape == (hm.n_rt, 10) and counts.sum() == errors.sum() == 0
    assert H.trace(conform("spans", []), "nope").is_empty()
    assert hv.render(hv_hitmap.hitmap_element(H.hitmap(conform("spans", []))), backend="bokeh") is not None


def test_waterfall_of_the_jaeger_test_trace_is_depth_first() -> None:
    spans = read_traces(TRACES / "jaeger_ui_testdata" / "testTrace.json", cluster="c").spans
    w = H.trace(spans, "trace-123")
    assert list(w.columns) == list(H.WATERFALL_COLUMNS)
    # read off testTrace.json: span-1's children by start time, each followed by its own subtree
    assert w.select("span_id", "depth").rows() == [
        ("span-1", 0),
        ("span-2", 1),
        ("span-3", 1),
        ("span-4", 2),
        ("span-5", 3),
        ("span-2_1", 1),
        ("span-6", 1),
        ("span-7", 2),
        ("span-12", 1),
        ("span-13", 2),
        ("span-14", 2),
    ]
    row = w.filter(pl.col("span_id") == "span-3").row(0, named=True)
    assert (row["offset_ms"], row["duration_ms"], row["service"]) == (180.0, 66.0, "service1")


def test_waterfall_puts_a_zipkin_server_half_under_its_client_half() -> None:
    spans = read_traces(TRACES / "zipkin_lens_testdata" / "yelp.json", cluster="c").spans
    w = H.trace(spans, spans["trace_id"][0])
    halves = (
        w.filter(pl.col("span_id") == "f5f268651b2a2b34").select("row", "kind", "depth", "service").rows()
    )
    assert [(k, s) for _, k, _, s in halves] == [("CLIENT", "yelp-main"), ("SERVER", "mobile_api")]
    (r1, _, d1, _), (r2, _, d2, _) = halves
    assert (r2, d2) == (r1 + 1, d1 + 1)


def test_waterfall_of_the_smartthings_trace_keeps_every_span_but_fragments() -> None:
    raw = json.loads(SMARTTHINGS.read_text())
    halves = {s["id"] for s in raw if s.get("kind") in ("CLIENT", "SERVER")}
    fragments = [s for s in raw if not s.get("kind") and s["id"] in halves]
    w = H.trace(read_traces(SMARTTHINGS, cluster="c").spans, raw[0]["traceId"])
    assert w.height == len(raw) - len(fragments)
    rows = w.rows(named=True)
    for i, r in enumerate(rows):  # depth first: a span's parent is the last row before it one level up
        if r["depth"] == 0:
            continue
        parent = next(p for p in reversed(rows[:i]) if p["depth"] == r["depth"] - 1)
        shared = parent["span_id"] == r["span_id"] and (parent["kind"], r["kind"]) == ("CLIENT", "SERVER")
        assert parent["span_id"] == r["parent_id"] or shared, r
    assert w["depth"].max() > 5


def test_plots_render_with_bokeh_on_real_data() -> None:
    spans = read_traces(SMARTTHINGS, cluster="c").spans
    hm = H.hitmap(spans, time_bin="1s", by=("service",))
    el = hv_hitmap.hitmap_element(hm)
    stream = hv.streams.BoundsXY(source=el)  # what the UI will attach
    assert stream.source is el
    assert hv.render(el, backend="bokeh") is not None
    assert hv.render(hv_hitmap.multi_hitmap(hm), backend="bokeh") is not None
    w = H.trace(spans, spans["trace_id"][0])
    assert hv.render(hv_hitmap.waterfall(w), backend="bokeh") is not None


def test_box_bounds_convert_back_to_a_selection() -> None:
    ms = T0.timestamp() * 1000  # bokeh's datetime axis speaks ms since the epoch
    t0, t1, lo, hi = hv_hitmap.box_from_bounds((ms + 60_000, 2.0, ms, 0.0))
    assert (t0, t1) == (T0, T0 + dt.timedelta(minutes=1))
    assert (lo, hi) == (1.0, 100.0)
    t0, _, _, _ = hv_hitmap.box_from_bounds(
        (np.datetime64("2026-03-01T12:00:00"), 0, np.datetime64("2026-03-01T12:01"), 1)
    )
    assert t0 == T0


# -- binning exactly as defined, whatever the input ------------------------------------------------
def _spans_with_durations(durations: list[int], *, kind: str = "SERVER") -> pl.DataFrame:
    rows = [{"cluster": "c1", "trace_id": f"{i:032x}", "span_id": f"{i:016x}", "service": "a", "kind": kind,
             "start": T0 + US * (i % 600_000_000), "end": T0 + US * (i % 600_000_000 + d), "duration_us": d,
             "error": i % 7 == 0, "operation": "op"} for i, d in enumerate(durations)]  # fmt: skip
    return conform("spans", rows)


@pytest.mark.parametrize(("rt_min_ms", "per_decade", "rt_max_ms"), [(1.0, 20, 60_000.0), (0.37, 7, 5_000.0),
                                                                    (0.001, 200, 100.0)])  # fmt: skip
def test_every_span_lands_in_the_row_the_definition_gives_even_on_an_edge(
    rt_min_ms: float, per_decade: int, rt_max_ms: float
) -> None:
    """Durations just below, on and above every row's edge, negative, zero, and far beyond a
    second (binned by a table and thresholds, not a log10 per span): each row holds exactly the
    spans that ``floor((log10(rt_ms) − log10(rt_min_ms)) · bins_per_decade)`` puts there."""
    p = H.HitmapParams(rt_min_ms=rt_min_ms, bins_per_decade=per_decade, rt_max_ms=rt_max_ms)
    edges_us = [round(rt_min_ms * 1000 * 10 ** (k / per_decade)) for k in range(p.n_rt + 1)]
    durations = sorted({max(0, e + d) for e in edges_us for d in (-1, 0, 1)} | {-5, 0, 1, 999_999, 1_048_575,
                        1_048_576, 3_000_000, 7 * 10**9})  # fmt: skip
    spans = _spans_with_durations(durations)
    want = (
        pl.DataFrame({"rt_ms": spans["duration_us"] / 1000.0})
        .select(H._rt_bin(p, p.n_rt))["rt_ms"]
        .to_numpy()
    )
    for data in (spans, apm_tx(spans)):
        hm = H.hitmap(
            data, rt_min_ms=rt_min_ms, bins_per_decade=per_decade, rt_max_ms=rt_max_ms, time_bin="1h"
        )
        counts, errors = hm.grid()
        np.testing.assert_array_equal(counts.sum(axis=1), np.bincount(want, minlength=p.n_rt))
        np.testing.assert_array_equal(
            errors.sum(axis=1), np.bincount(want[spans["error"].to_numpy()], minlength=p.n_rt)
        )


def apm_tx(spans: pl.DataFrame) -> object:
    from workbench.analyses import apm

    return apm.scoped_transactions(spans)


def test_a_snapshot_gives_the_hitmap_of_its_spans_with_missing_ends_and_durations(tmp_path: Path,
                                                                                  spans: pl.DataFrame) -> None:  # fmt: skip
    """Spans written without an end finish at start + duration; spans without a duration are not
    transactions: the snapshot (whose files' footers show these nulls) bins as its frame does."""
    import workbench as wb
    from workbench.store import SnapshotWriter

    row = pl.int_range(pl.len())
    holes = spans.with_columns(pl.when(row % 11 == 0).then(None).otherwise(pl.col("end")).alias("end"),
                               pl.when(row % 13 == 0).then(None).otherwise(pl.col("duration_us")).alias("duration_us"))  # fmt: skip
    with SnapshotWriter(tmp_path / "snap") as w:
        w.write("spans", holes)
    ds = wb.open(tmp_path / "snap")
    got = H.hitmap(ds, time_bin="1m", start=T0, end=T0 + dt.timedelta(minutes=30))
    want_counts, want_errors = _brute(
        spans.filter(row % 13 != 0), T0, 60_000_000, 30, list(got.rt_edges_ms())
    )
    counts, errors = got.grid()
    np.testing.assert_array_equal(counts, want_counts)
    np.testing.assert_array_equal(errors, want_errors)
    assert_frame_equal(
        got.cells, H.hitmap(holes, time_bin="1m", start=T0, end=T0 + dt.timedelta(minutes=30)).cells
    )
    # the same spans without holes (nothing to fill: the start times are not read) bin as their frame
    with SnapshotWriter(tmp_path / "full") as w:
        w.write("spans", spans)
    whole = H.hitmap(wb.open(tmp_path / "full"), time_bins=50)
    assert_frame_equal(whole.cells, H.hitmap(spans, time_bins=50).cells)


def test_the_hitmap_of_a_real_zipkin_trace_holds_its_timed_server_spans() -> None:
    raw = json.loads(SMARTTHINGS.read_text())
    timed = [s for s in raw if s.get("kind") == "SERVER" and "timestamp" in s and "duration" in s]
    hm = H.hitmap(read_traces(SMARTTHINGS, cluster="c").spans, time_bin="1s", by=("service",))
    assert hm.cells["count"].sum() == len(timed)
    per_service = hm.cells.group_by("service").agg(pl.col("count").sum()).rows()
    want: dict[str, int] = {}
    for s in timed:
        want[s["localEndpoint"]["serviceName"]] = want.get(s["localEndpoint"]["serviceName"], 0) + 1
    assert dict(per_service) == want
    assert [want[g] for (g,) in hm.ranked()] == sorted(want.values(), reverse=True)  # busiest first


def test_bands_put_the_busiest_service_on_top_and_a_tap_names_its_service(spans: pl.DataFrame) -> None:
    hm = H.hitmap(spans.filter(pl.col("service") != "c").vstack(spans.filter(pl.col("service") == "c").head(50)),
                  time_bin="1m", by=("service",))  # fmt: skip
    layout = hv_hitmap.bands(hm, rows=24)
    totals = dict(hm.cells.group_by("service").agg(pl.col("count").sum()).rows())
    assert [g for (g,) in layout.groups] == sorted(totals, key=lambda s: (-totals[s], s))
    assert layout.groups[-1] == ("c",)  # the quietest at the bottom
    assert (layout.rows, layout.merge) == (24, 4)  # 96 rows of the hitmap, four to a band row
    n = len(layout.groups)
    for k, group in enumerate(layout.groups):  # band k from the top
        bottom = (n - 1 - k) * layout.pitch
        assert layout.group_at(bottom + 0.1) == group == layout.group_at(bottom + layout.rows - 0.1)
        assert layout.group_at(bottom + layout.rows + 0.5) is None  # the gap above it
    assert layout.group_at(-1) is None and layout.group_at(n * layout.pitch + 1) is None
    stacked, _ = hm.stack(list(layout.groups))
    for k, group in enumerate(layout.groups):
        np.testing.assert_array_equal(stacked[k], hm.grid(group)[0])
    el = hv_hitmap.band_hitmap(hm, layout)
    assert hv.render(el, backend="bokeh") is not None
    image = el.get(0).data["count"] if hasattr(el.get(0), "data") else None
    assert image is not None and image.sum() == hm.cells["count"].sum()
    narrow = hv_hitmap.bands(
        hm, rows=24, span=(20, 59)
    )  # 2 decades: faster and slower ones fold into the edges
    assert (narrow.first, narrow.rows, narrow.merge) == (20, 20, 2)
    image = hv_hitmap.band_hitmap(hm, narrow).get(0).data["count"]
    assert image.sum() == hm.cells["count"].sum()
    k = narrow.groups.index(("a",))
    first_row = (
        len(narrow.groups) - 1 - k
    ) * narrow.pitch  # service a's band row 0: hitmap rows 20-21 and faster
    assert (
        image[first_row].sum()
        == hm.cells.filter((pl.col("service") == "a") & (pl.col("rt_bin") < 22))["count"].sum()
    )


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(
    ("rt_min_ms", "per_decade", "n_rt"), [(1.0, 20, 96), (0.001, 200, 1000), (3.0, 3, 4)]
)
def test_the_compiled_dense_count_equals_the_numpy_binning(monkeypatch: pytest.MonkeyPatch, threads: int,
                                                          rt_min_ms: float, per_decade: int, n_rt: int) -> None:  # fmt: skip
    """:func:`grid_cells` (the compiled kernel, one pass per chunk, shares of the rows on
    threads) gives the cells that :func:`cell_indexes` and ``numpy.bincount`` give, on rows in
    several chunks with negative, tiny, table-edge and very slow durations; so does it without
    the kernel (a small input while it is not loaded)."""
    from workbench.analyses import _hitmap_bins as B
    from workbench.analyses import _kernels

    rng = np.random.default_rng(7)
    n = 30_000
    dur = np.concatenate([rng.integers(-3, 2_000, n // 3), rng.integers(0, 1 << 21, n // 3),
                          np.exp(rng.uniform(0, math.log(10**10), n - 2 * (n // 3))).astype(np.int64)])  # fmt: skip
    dur[:6] = [-1, 0, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 2**62]
    end = rng.integers(10**12, 10**12 + 3_600_000_000, n)
    failed = rng.random(n) < 0.2
    rows = pl.concat([pl.DataFrame({"_e": end[a:b], "_d": dur[a:b], "_f": failed[a:b]})
                      for a, b in ((0, 7_000), (7_000, 7_001), (7_001, n))], rechunk=False)  # fmt: skip
    assert rows.n_chunks() == 3
    step = 60_000_000
    t0 = int(end.min()) // step * step
    size = (-(-(int(end.max()) + 1 - t0) // step)) * n_rt
    rt = (rt_min_ms, per_decade, n_rt)
    want = B.count_cells(B.cell_indexes(rows, us=True, t0=t0, step=step, rt=rt), size, n)
    monkeypatch.setattr(_kernels, "KERNEL_ROWS", n + 1)  # and as if the kernel were not loaded
    monkeypatch.delitem(sys.modules, "workbench.analyses._hitmap_kernel", raising=False)
    plain = B.grid_cells(rows, us=True, t0=t0, step=step, rt=rt, size=size)
    assert "workbench.analyses._hitmap_kernel" not in sys.modules  # counted without it
    monkeypatch.setattr(_kernels, "KERNEL_ROWS", n)  # big enough: loaded
    monkeypatch.setattr(B, "_PARALLEL_ROWS", n // threads)
    got = B.grid_cells(rows, us=True, t0=t0, step=step, rt=rt, size=size)
    assert "workbench.analyses._hitmap_kernel" in sys.modules  # counted by it
    assert_frame_equal(plain, want)
    assert_frame_equal(got, want)
    assert got["count"].sum() == n


def test_the_columns_that_may_hold_nulls_are_read_from_the_files_as_the_frame_counts_them(
    tmp_path: Path, spans: pl.DataFrame
) -> None:
    """:func:`nullable_columns` of a snapshot names the columns of start, end, duration and
    error that hold a null in its files, as the null counts of its frame do: one null in the
    last of many row groups is found, a file without statistics is read, a missing column
    holds nulls (a snapshot's writer refuses spans without a start: that case only as a file)."""
    import workbench as wb
    from workbench.analyses._transactions import _NULLABLE, SpanParams, _file_nulls, nullable_columns
    from workbench.store import SnapshotWriter

    p = SpanParams()
    last = pl.int_range(pl.len()) == pl.len() - 1
    cases = {"none": spans} | {
        c: spans.with_columns(pl.when(last).then(None).otherwise(pl.col(c)).alias(c)) for c in _NULLABLE
    }
    for name, frame in cases.items():
        want = {c for c in _NULLABLE if frame[c].null_count()}
        assert want == ({name} if name != "none" else set()) == nullable_columns(frame, p)
        if name != "start":
            with SnapshotWriter(tmp_path / name) as w:
                w.write("spans", frame)
            assert nullable_columns(wb.open(tmp_path / name), p) == want
        for stats in (True, False):
            path = tmp_path / f"{name}-{stats}.parquet"
            frame.write_parquet(path, row_group_size=500, statistics=stats)
            assert _file_nulls(str(path), 0, 0) == want
    path = tmp_path / "no-error.parquet"
    spans.drop("error").write_parquet(path)
    assert _file_nulls(str(path), 0, 0) == {"error"}
