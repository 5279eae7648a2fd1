"""APM analyses: TPS, percentiles and error rates checked against numpy on random spans, active
transactions against brute-force counts, the entry-span fallback, real Zipkin data, the demo's
known bad rollout, and the charts rendering with bokeh."""

from __future__ import annotations

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

import workbench as wb
from workbench.analyses import _kernels, apm
from workbench.analyses._transactions import PACKED
from workbench.errors import ParameterError
from workbench.schema import conform
from workbench.sources.traces import read_traces
from workbench.store import to_utc
from workbench.viz import apm as apm_viz

REALDATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "realdata"
SMARTTHINGS = REALDATA / "traces" / "zipkin_lens_testdata" / "smartthings-mobile-web-install.json"
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
US = dt.timedelta(microseconds=1)


def random_spans(seed: int = 7, traces: int = 600, minutes: int = 30) -> pl.DataFrame:
    """Traces of an ``api``/``web`` SERVER root with DB, external and ``backend`` calls, plus a
    ``batch`` service that records only INTERNAL spans (roots, children and one orphan)."""
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    for i in range(traces):
        tid = f"{i:032x}"
        start = T0 + US * int(rng.integers(0, minutes * 60_000_000))
        dur = int(rng.lognormal(math.log(40_000), 1.0)) + 1
        svc = "api" if rng.random() < 0.6 else "web"
        route = ["/a", "/b", "/c"][int(rng.integers(0, 3))]
        rows.append(
            {
                "trace_id": tid,
                "span_id": f"{i:08x}0000000a",
                "service": svc,
                "kind": "SERVER",
                "start": start,
                "duration_us": dur,
                "error": bool(rng.random() < 0.05),
                "http_route": route,
                "operation": f"GET {route}",
                "pod": f"{svc}-{int(rng.integers(0, 2))}",
            }
        )
        for j in range(int(rng.integers(0, 4))):
            off, d = int(rng.integers(0, dur)), int(rng.integers(1, 5_000))
            kind = "CLIENT"
            rows.append(
                {
                    "trace_id": tid,
                    "span_id": f"{i:08x}000001{j:02x}",
                    "parent_id": f"{i:08x}0000000a",
                    "service": svc,
                    "kind": kind,
                    "start": start + US * off,
                    "duration_us": d,
                    "error": False,
                    "db_system": "postgresql",
                    "operation": "SELECT",
                }
            )
        if rng.random() < 0.5:
            off = int(rng.integers(0, dur))
            rows.append(
                {
                    "trace_id": tid,
                    "span_id": f"{i:08x}0000000c",
                    "parent_id": f"{i:08x}0000000a",
                    "service": svc,
                    "kind": "CLIENT",
                    "start": start + US * off,
                    "duration_us": 900,
                    "peer_service": "backend",
                    "operation": "POST /x",
                    "error": False,
                }
            )
            rows.append(
                {
                    "trace_id": tid,
                    "span_id": f"{i:08x}0000000d",
                    "parent_id": f"{i:08x}0000000c",
                    "service": "backend",
                    "kind": "SERVER",
                    "start": start + US * (off + 100),
                    "duration_us": 700,
                    "operation": "POST /x",
                    "error": bool(rng.random() < 0.1),
                }
            )
    for i in range(60):  # the batch service: no SERVER spans at all
        tid = f"b{i:031x}"
        start = T0 + US * int(rng.integers(0, minutes * 60_000_000))
        rows.append(
            {
                "trace_id": tid,
                "span_id": f"b{i:07x}00000001",
                "service": "batch",
                "kind": "INTERNAL",
                "start": start,
                "duration_us": 2_000_000,
                "operation": "run",
                "error": False,
            }
        )
        rows.append(
            {
                "trace_id": tid,
                "span_id": f"b{i:07x}00000002",
                "parent_id": f"b{i:07x}00000001",
                "service": "batch",
                "kind": "INTERNAL",
                "start": start + US * 10,
                "duration_us": 1_000,
                "operation": "step",
                "error": False,
            }
        )
    rows.append(
        {
            "trace_id": "c" * 32,
            "span_id": "c" * 16,
            "parent_id": "d" * 16,
            "service": "batch",
            "kind": "INTERNAL",
            "start": T0 + dt.timedelta(minutes=3),
            "duration_us": 5_000,
            "operation": "orphan",
            "error": False,
        }
    )
    for r in rows:
        r["cluster"] = "c1"
        r["end"] = r["start"] + US * r["duration_us"]
    return conform("spans", rows)


@pytest.fixture(scope="module")
def spans() -> pl.DataFrame:
    return random_spans()


def _transactions(spans: pl.DataFrame) -> list[dict]:
    """The transactions by the documented rule, computed row by row."""
    ids = {(r["trace_id"], r["span_id"]) for r in spans.iter_rows(named=True)}
    servers = {r["service"] for r in spans.iter_rows(named=True) if r["kind"] in ("SERVER", "CONSUMER")}
    out = []
    for r in spans.iter_rows(named=True):
        if r["kind"] in ("SERVER", "CONSUMER") or (
            r["service"] not in servers
            and (r["parent_id"] is None or (r["trace_id"], r["parent_id"]) not in ids)
        ):
            out.append(r)
    return out


def test_series_equals_numpy_per_service_and_bucket(spans: pl.DataFrame) -> None:
    got = apm.series(spans, bucket="1m", by=("service",), start=T0, end=T0 + dt.timedelta(minutes=30))
    assert got.columns == ["service", *apm.SERIES_COLUMNS]
    tx = _transactions(spans)
    checked = 0
    for svc in ("api", "web", "backend", "batch"):
        for k in range(30):
            lo = T0 + dt.timedelta(minutes=k)
            hi = lo + dt.timedelta(minutes=1)
            mine = [r for r in tx if r["service"] == svc and lo <= r["end"] < hi]
            row = got.filter((pl.col("service") == svc) & (pl.col("ts") == lo))
            assert row.height == 1, (svc, lo)
            row = row.row(0, named=True)
            assert row["transactions"] == len(mine)
            assert row["tps"] == pytest.approx(len(mine) / 60.0)
            assert row["errors"] == sum(r["error"] for r in mine)
            if not mine:
                assert row["rt_p50_ms"] is None and row["error_rate"] is None
                continue
            rt = np.array([r["duration_us"] / 1000.0 for r in mine])
            assert row["rt_mean_ms"] == pytest.approx(rt.mean())
            for q, col in ((50, "rt_p50_ms"), (90, "rt_p90_ms"), (99, "rt_p99_ms")):
                assert row[col] == pytest.approx(np.percentile(rt, q))
            assert row["rt_max_ms"] == pytest.approx(rt.max())
            assert row["error_rate"] == pytest.approx(sum(r["error"] for r in mine) / len(mine))
            checked += 1
    assert checked > 60


def test_summary_equals_numpy(spans: pl.DataFrame) -> None:
    end = T0 + dt.timedelta(minutes=20)
    got = apm.summary(spans, by=("service", "endpoint"), start=T0, end=end)
    tx = [r for r in _transactions(spans) if T0 <= r["end"] < end]
    assert got["transactions"].sum() == len(tx)
    assert got["transactions"].is_sorted(descending=True)
    for row in got.iter_rows(named=True):
        mine = [r for r in tx if r["service"] == row["service"]
                and (r["http_route"] or r["operation"]) == row["endpoint"]]  # fmt: skip
        rt = np.array([r["duration_us"] / 1000.0 for r in mine])
        assert row["transactions"] == len(mine)
        assert row["tps"] == pytest.approx(len(mine) / 1200.0)
        assert row["rt_p90_ms"] == pytest.approx(np.percentile(rt, 90))
        assert row["rt_p99_ms"] == pytest.approx(np.percentile(rt, 99))


def test_service_without_server_spans_counts_its_entry_spans(spans: pl.DataFrame) -> None:
    tx = apm.transactions(spans, service="batch")
    # 60 roots and the orphan (its parent is not in the data); never the child "step" spans
    assert tx.height == 61
    assert set(tx["endpoint"].to_list()) == {"run", "orphan"}
    backend = apm.transactions(spans, service="backend")
    assert (
        backend.height == spans.filter((pl.col("service") == "backend") & (pl.col("kind") == "SERVER")).height
    )


def test_active_series_equals_brute_force() -> None:
    spans = random_spans(seed=11, traces=800, minutes=1)  # busy: about one transaction in flight
    got = apm.active_series(spans, bucket="1s", by=("service",), start=T0, end=T0 + dt.timedelta(minutes=1))
    tx = _transactions(spans)
    step = 1_000_000
    nonzero = 0
    for row in got.iter_rows(named=True):
        t = row["ts"]
        mine = [r for r in tx if r["service"] == row["service"]]
        assert row["active"] == sum(1 for r in mine if r["start"] <= t < r["end"])
        t1 = t + US * step
        overlap = sum(max(0.0, (min(r["end"], t1) - max(r["start"], t)) / US) for r in mine)
        assert row["active_mean"] == pytest.approx(overlap / step, abs=1e-9)
        nonzero += row["active"] > 0
    assert nonzero > 20


@pytest.mark.parametrize("bucket", ["1s", "7s", "1m"])
def test_active_series_by_the_compiled_kernel_equals_counting_passes(
    monkeypatch: pytest.MonkeyPatch, bucket: str
) -> None:
    """Big inputs are binned by a compiled kernel (one pass), small ones by ``bincount`` passes:
    both give the same series, windowed or not (transactions before and after the grid too)."""
    spans = random_spans(seed=5, traces=900, minutes=3)
    tx = apm.scoped_transactions(spans)
    windows = [{}, {"start": T0 + dt.timedelta(seconds=61), "end": T0 + dt.timedelta(seconds=150)}]
    for by in ((), ("service",), ("service", "endpoint")):
        for w in windows:
            monkeypatch.setattr(_kernels, "KERNEL_ROWS", 10**12)  # and as if the kernel were not loaded
            monkeypatch.delitem(sys.modules, "workbench.analyses._active_kernel", raising=False)
            want = apm.active_series(tx, by=by, bucket=bucket, **w)
            assert "workbench.analyses._active_kernel" not in sys.modules  # counted without it
            monkeypatch.setattr(_kernels, "KERNEL_ROWS", 0)
            got = apm.active_series(tx, by=by, bucket=bucket, **w)
            assert "workbench.analyses._active_kernel" in sys.modules  # counted by it
            assert want["active"].sum() > 0
            assert_frame_equal(got, want)


def test_active_at_lists_exactly_the_transactions_in_flight(spans: pl.DataFrame) -> None:
    tx = _transactions(spans)
    moments = [r["start"] + US * 3 for r in tx[::97]] + [
        T0 + dt.timedelta(minutes=m, seconds=7) for m in (1, 9, 17)
    ]
    for t in moments:
        got = apm.active_at(spans, t)
        want = {
            (r["trace_id"], r["span_id"]): (t - r["start"]) / US / 1000.0
            for r in tx
            if r["start"] <= t < r["end"]
        }
        assert {(a, b) for a, b in got.select("trace_id", "span_id").rows()} == set(want)
        for tid, sid, elapsed in got.select("trace_id", "span_id", "elapsed_ms").rows():
            assert elapsed == pytest.approx(want[(tid, sid)])
        assert got["elapsed_ms"].is_sorted(descending=True)


def test_active_at_counts_db_and_external_calls_made_so_far() -> None:
    ms = dt.timedelta(milliseconds=1)

    def span(sid: str, parent: str | None, svc: str, kind: str, a: int, b: int, **kw: object) -> dict:
        return {
            "cluster": "c",
            "trace_id": "t1",
            "span_id": sid,
            "parent_id": parent,
            "service": svc,
            "kind": kind,
            "start": T0 + a * ms,
            "end": T0 + b * ms,
            "duration_us": (b - a) * 1000,
            "error": False,
            **kw,
        }

    rows = [
        span("root", None, "shop", "SERVER", 0, 1000, http_route="/buy"),
        span("db1", "root", "shop", "CLIENT", 10, 20, db_system="postgresql"),
        span("db2", "root", "shop", "CLIENT", 700, 710, db_system="postgresql"),  # after t: not yet
        span("work", "root", "shop", "INTERNAL", 30, 600),
        span("db3", "work", "shop", "CLIENT", 40, 50, db_system="redis"),  # nested deeper: counted
        span("pay", "work", "shop", "CLIENT", 60, 400, peer_service="payment"),
        span("pay-s", "pay", "payment", "SERVER", 70, 390, http_route="/charge"),
        span("pay-db", "pay-s", "payment", "CLIENT", 80, 90, db_system="postgresql"),  # payment's, not shop's
        span("pay-ext", "pay-s", "payment", "CLIENT", 100, 300, peer_service="bank"),
    ]
    got = apm.active_at(conform("spans", rows), T0 + 200 * ms)
    calls = {
        r["span_id"]: (r["db_calls"], r["external_calls"], r["elapsed_ms"]) for r in got.iter_rows(named=True)
    }
    assert calls == {"root": (2, 1, 200.0), "pay-s": (1, 1, 130.0)}
    assert got["endpoint"].to_list() == ["/buy", "/charge"]  # longest running first


def test_parameters_are_checked() -> None:
    with pytest.raises(ParameterError, match="closest: bucket"):
        apm.series(random_spans(traces=5), buckets="1m")
    with pytest.raises(ParameterError, match="not a positive duration"):
        apm.ApmParams(bucket="1 minute")
    with pytest.raises(ParameterError, match="did you mean service"):
        apm.ApmParams(by=("servce",))
    with pytest.raises(ParameterError, match="must be before end"):
        apm.ApmParams(start=T0, end=T0)
    with pytest.raises(ParameterError, match="spans frame lacks"):
        apm.series(pl.DataFrame({"x": [1]}))


def test_empty_input_gives_empty_frames_with_the_columns() -> None:
    empty = conform("spans", [])
    assert apm.series(empty).columns == ["cluster", "service", *apm.SERIES_COLUMNS]
    assert apm.summary(empty, by=()).columns == list(apm.SUMMARY_COLUMNS)
    assert apm.active_series(empty).is_empty()
    assert dict(apm.active_at(empty, T0).schema) == apm.ACTIVE_COLUMNS
    assert dict(apm.transactions(empty).schema) == apm.TRANSACTION_COLUMNS


def test_real_zipkin_trace_transactions_are_its_timed_server_spans() -> None:
    raw = json.loads(SMARTTHINGS.read_text())
    timed = [s for s in raw if s.get("kind") == "SERVER" and "timestamp" in s and "duration" in s]
    tx = apm.transactions(read_traces(SMARTTHINGS, cluster="c").spans)
    assert tx.height == len(timed)
    # the endpoint is the http.path tag (query stripped) when it is set and not empty, else the span name
    want = sorted(((s.get("tags") or {}).get("http.path") or s.get("name")).split("?")[0] for s in timed)
    assert sorted(tx["endpoint"].to_list()) == want
    by_service = apm.summary(read_traces(SMARTTHINGS, cluster="c").spans, by=("service",))
    for row in by_service.iter_rows(named=True):
        mine = [s for s in timed if s["localEndpoint"]["serviceName"] == row["service"]]
        assert row["transactions"] == len(mine)
        assert row["rt_max_ms"] == pytest.approx(max(s["duration"] for s in mine) / 1000.0)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    from workbench.sources.demo import generate

    return wb.open(generate(tmp_path_factory.mktemp("demo") / "snap", hours=2))


@pytest.mark.slow
def test_demo_bad_rollout_raises_checkout_error_rate(demo: wb.Dataset) -> None:
    inc = next(i for i in demo.ground_truth["incidents"] if i["kind"] == "bad_rollout")
    start = to_utc(inc["start"])
    common = {"cluster": inc["cluster"], "service": inc["object"]["name"], "by": ()}
    before = apm.summary(demo, end=start, **common).row(0, named=True)
    after = apm.summary(demo, start=start, **common).row(0, named=True)
    assert after["error_rate"] > 3 * before["error_rate"]
    pods = apm.summary(demo, start=start, cluster=inc["cluster"], service=inc["object"]["name"], by=("pod",))
    bad = pods.filter(pl.col("pod").is_in(inc["pods"]))
    assert bad.height == len(inc["pods"])
    assert bad["errors"].sum() > 0.9 * pods["errors"].sum()


@pytest.mark.slow
def test_demo_charts_render_with_bokeh(demo: wb.Dataset) -> None:
    series = apm.series(demo, bucket="5m")
    active = apm.active_series(demo, bucket="5m")
    for obj in (apm_viz.dashboard(series, active), apm_viz.rt_curve(series, stat="rt_p99_ms"),
                apm_viz.active_curve(active, mean=True)):  # fmt: skip
        assert hv.render(obj, backend="bokeh") is not None
    empty = apm.series(conform("spans", []))
    assert hv.render(apm_viz.tps_curve(empty), backend="bokeh") is not None


def test_charts_render_on_real_traces() -> None:
    spans = read_traces(SMARTTHINGS, cluster="c").spans
    layout = apm_viz.dashboard(apm.series(spans, bucket="1s"), apm.active_series(spans, bucket="1s"))
    assert isinstance(layout, hv.Layout)
    assert hv.render(layout, backend="bokeh") is not None


def test_transactions_picked_once_give_what_the_spans_give(spans: pl.DataFrame) -> None:
    """A dashboard picks a scope's transactions once and asks every question of them: the
    answers are those of the spans (fallback services included)."""
    window = {"start": T0 + dt.timedelta(minutes=5), "end": T0 + dt.timedelta(minutes=25)}
    tx = apm.scoped_transactions(spans, **window)
    assert isinstance(tx, apm.Transactions) and tx.kinds == ("SERVER", "CONSUMER")
    assert set(tx.frame["service"].unique()) == {"api", "web", "backend", "batch"}
    for f, extra in ((apm.series, {"bucket": "1m"}), (apm.summary, {}), (apm.active_series, {"bucket": "1m"}),
                     (apm.transactions, {})):  # fmt: skip
        for by in (("service",), ("service", "endpoint")):
            opts = {**window, **extra, **({"by": by} if f is not apm.transactions else {})}
            want, got = f(spans, **opts), f(tx, **opts)
            if f is apm.transactions:
                want, got = want.sort("trace_id", "span_id"), got.sort("trace_id", "span_id")
            assert_frame_equal(got, want, check_exact=False, rel_tol=1e-12)
    assert_frame_equal(
        apm.summary(tx, service="batch", **window), apm.summary(spans, service="batch", **window)
    )
    with pytest.raises(ParameterError, match="picked with kinds SERVER, CONSUMER"):
        apm.summary(tx, kinds=("SERVER",))
    with pytest.raises(ParameterError, match="needs the spans themselves"):
        apm.active_at(tx, T0 + dt.timedelta(minutes=10))


def test_a_snapshot_picks_the_transactions_its_spans_frame_picks(tmp_path: Path, spans: pl.DataFrame) -> None:
    """Read from Parquet (the kind column first, then the transactions' rows), the batch service
    still falls back to its entry spans."""
    from workbench.store import SnapshotWriter

    with SnapshotWriter(tmp_path / "snap") as w:
        w.write("spans", spans)
    ds = wb.open(tmp_path / "snap")
    got = apm.transactions(ds).sort("trace_id", "span_id")
    assert_frame_equal(got, apm.transactions(spans).sort("trace_id", "span_id"))
    assert got.filter(pl.col("service") == "batch").height == 61
    assert sorted(got["span_id"]) == sorted(r["span_id"] for r in _transactions(spans))


def _snapshot_in_parts(path: Path, spans: pl.DataFrame, parts: int = 3) -> wb.Dataset:
    """``spans`` shuffled and written as ``parts`` files of one snapshot."""
    from workbench.store import SnapshotWriter

    with SnapshotWriter(path) as w:
        for part in spans.sample(fraction=1.0, shuffle=True, seed=1).iter_slices(spans.height // parts + 1):
            w.write("spans", part)
    ds = wb.open(path)
    assert len(ds.files("spans")) == parts
    return ds


def _same_answers(tx: apm.Transactions, want: apm.Transactions, window: dict[str, dt.datetime]) -> None:
    """Every result of ``tx`` that lists transactions (their ids as strings) equals ``want``'s."""
    from workbench.analyses import hitmap

    key, strings = ["trace_id", "span_id"], dict(apm.TRANSACTION_COLUMNS)
    assert_frame_equal(
        tx.with_ids(tx.frame).cast(strings).sort(key), want.with_ids(want.frame).cast(strings).sort(key)
    )
    some = tx.frame.sample(n=60, seed=2)  # a subset, in no order: kept in its order
    got = tx.with_ids(some)
    assert got.columns == [c for c in want.frame.columns if c in got.columns or c in key]
    same = got.cast(strings).join(want.frame.cast(strings), on=key, how="inner", maintain_order="left")
    assert same.height == some.height
    for c in ("start", "end", "service", "pod", "rt_ms"):
        assert same[c].equals(same[f"{c}_right"]), c
    for trace in got["trace_id"][:5]:
        assert tx.of_trace(trace).height >= 1
        assert_frame_equal(
            tx.of_trace(trace).cast(strings).sort(key), want.of_trace(trace).cast(strings).sort(key)
        )
    assert tx.of_trace("no-such-trace").is_empty() and tx.of_trace("e" * 32).is_empty()  # none such
    assert_frame_equal(apm.transactions(tx, **window).sort(key), apm.transactions(want, **window).sort(key))
    for box in ((T0 + dt.timedelta(minutes=8), T0 + dt.timedelta(minutes=12), 1.0, 1e9),
                (T0, T0 + dt.timedelta(hours=1), 40.0, 80.0)):  # fmt: skip
        expected = hitmap.select(want, *box)
        assert expected.height > 0
        assert_frame_equal(hitmap.select(tx, *box).sort(key), expected.sort(key))
        assert_frame_equal(hitmap.select(tx, *box, limit=7), hitmap.select(want, *box, limit=7))
        assert_frame_equal(tx.with_ids(hitmap.select(tx, *box, ids=False)), hitmap.select(tx, *box))


def test_ids_kept_packed_equal_the_strings_read_from_the_files(tmp_path: Path, spans: pl.DataFrame) -> None:
    """Picked from a snapshot of several files, the transactions keep their ids packed (three
    ``UInt64`` columns instead of the strings); every id a result lists, the transactions of a
    trace and the box selections equal those of the transactions that keep the strings read."""
    ds = _snapshot_in_parts(tmp_path / "snap", spans)
    window = {"start": T0 + dt.timedelta(minutes=5), "end": T0 + dt.timedelta(minutes=25)}
    packed = apm.scoped_transactions(ds, **window)
    strings = apm.scoped_transactions(ds, pack=False, **window)
    assert packed.packed and not strings.packed and packed.height == strings.height > 0
    assert "trace_id" not in packed.frame.columns
    assert [packed.frame.schema[c] for c in PACKED] == [pl.UInt64()] * 3
    assert strings.with_ids(strings.frame) is strings.frame  # nothing to format
    _same_answers(packed, strings, window)
    direct = ds.scan("spans").select("trace_id", "span_id").collect()  # the strings as written
    ids = packed.with_ids(packed.frame).select("trace_id", "span_id")
    assert ids.join(direct, on=["trace_id", "span_id"], how="anti").is_empty()


def test_a_scope_with_ids_that_are_not_otel_hex_keeps_the_strings(
    tmp_path: Path, spans: pl.DataFrame
) -> None:
    """Ids that are not lowercase hex of 32 (trace) or 16 (span) digits (upper case, a sign,
    another length, not hex, null) cannot be packed: the scope keeps the strings, with the same
    answers; ids of the right form but some null are packed (null)."""
    window = {"start": T0 + dt.timedelta(minutes=5), "end": T0 + dt.timedelta(minutes=25)}
    tid = pl.col("trace_id")
    first = tid.str.ends_with("a")  # some traces, with a letter to write in upper case
    for name, odd in (
        ("upper", tid.str.to_uppercase()),
        ("sign", pl.lit("+") + tid.str.slice(1)),
        ("length", tid.str.slice(1)),
        ("not hex", tid.str.slice(0, 31) + pl.lit("g")),
    ):
        bad = spans.with_columns(pl.when(first).then(odd).otherwise(tid).alias("trace_id"))
        odd_ids = spans.filter(first).select(odd.alias("trace_id"))["trace_id"]
        ds = _snapshot_in_parts(tmp_path / name.replace(" ", "_"), bad)
        tx, want = apm.scoped_transactions(ds, **window), apm.scoped_transactions(ds, pack=False, **window)
        assert not tx.packed and tx.frame.equals(want.frame), name
        assert tx.frame["trace_id"].is_in(odd_ids.implode()).any(), name  # in the scope
        _same_answers(tx, want, window)
        assert not apm.scoped_transactions(
            bad.with_columns(pl.col("span_id").str.slice(0, 15)), **window
        ).packed
    some = pl.int_range(pl.len()) % 50 == 0
    nulls = spans.with_columns(
        pl.when(some).then(None).otherwise(pl.col(c)).alias(c) for c in ("trace_id", "span_id")
    )
    tx, want = apm.scoped_transactions(nulls, **window), apm.scoped_transactions(nulls, pack=False, **window)
    assert tx.packed and tx.frame["_span"].null_count() > 0
    assert_frame_equal(tx.with_ids(tx.frame).sort("start", "rt_ms"), want.frame.sort("start", "rt_ms"))


def test_packing_ids_by_the_kernel_or_by_polars_gives_the_same_lossless_columns() -> None:
    """The compiled kernel and polars pack the same ids to the same columns (zero padding, the
    largest values, repeated trace ids, nulls), refuse the same ids, and formatting them back
    gives the strings they were; and so for batches where one cannot be packed."""
    from workbench.analyses._transactions import one_frame, pack_ids, unpack_ids

    rng = np.random.default_rng(3)
    words = rng.integers(0, 1 << 64, size=(3, 500), dtype=np.uint64, endpoint=False)
    words[:, :4] = [[0, 1, (1 << 64) - 1, 1 << 63]] * 3
    trace = [f"{a:016x}{b:016x}" for a, b in zip(words[0].tolist(), words[1].tolist(), strict=True)]
    trace[10:14] = [trace[9]] * 4  # one trace's transactions, one after the other
    frame = pl.DataFrame(
        {
            "cluster": ["c"] * 500,
            "trace_id": trace,
            "span_id": [f"{s:016x}" for s in words[2].tolist()],
            "rt_ms": np.arange(500.0),
        }  # fmt: skip
    ).with_columns(
        pl.when(pl.int_range(pl.len()) % 97 == 5).then(None).otherwise(pl.col("span_id")).alias("span_id")
    )
    got = {compiled: pack_ids(frame, compiled=compiled) for compiled in (True, False)}
    assert got[True] is not None and got[False] is not None
    assert_frame_equal(got[True], got[False])
    assert got[True].columns == ["cluster", *PACKED, "rt_ms"]
    assert got[True]["_trace_hi"][:4].to_list() == [0, 1, (1 << 64) - 1, 1 << 63]
    assert got[True]["_span"].null_count() == frame["span_id"].null_count() > 0
    assert_frame_equal(unpack_ids(got[True]), frame)
    for column, ok in (("trace_id", "0123456789abcdef" * 2), ("span_id", "0123456789abcdef")):
        for bad in (
            ok.upper(),
            "+" + ok[1:],
            "-" + ok[1:],
            ok[1:],
            ok + "0",
            ok[:-1] + "g",
            ok[:-1] + "é",
            "",
            "span-1",
        ):
            odd = frame.with_columns(pl.Series(column, [*frame[column][:-1], bad]))
            assert pack_ids(odd, compiled=True) is None and pack_ids(odd, compiled=False) is None, (
                column,
                bad,
            )
    assert_frame_equal(unpack_ids(pack_ids(frame.clear())), frame.clear())  # type: ignore[arg-type]
    short = pl.DataFrame({"trace_id": ["a", None, "b"], "span_id": ["a-0", "a-1", None]})  # held inline
    assert pack_ids(short, compiled=True) is None and pack_ids(short, compiled=False) is None
    # a batch that cannot be packed after one that was: the strings of every batch
    odd = frame.with_columns(pl.Series("trace_id", [*trace[:-1], ok.upper()]))
    for batches in (
        [frame[:200], odd[200:], frame[200:300]],
        [odd[:200], frame[200:]],
        [frame[:250], frame[250:]],
    ):
        one = one_frame(batches, frame.schema)
        assert one.n_chunks("all") == [1] * one.width
        assert_frame_equal(unpack_ids(one), pl.concat(batches))
        assert ("trace_id" in one.columns) == any(b["trace_id"].str.contains("[A-Z]").any() for b in batches)
    assert one_frame([], frame.schema).columns == ["cluster", *PACKED, "rt_ms"]
    assert_frame_equal(one_frame([frame], frame.schema, pack=False), frame)
