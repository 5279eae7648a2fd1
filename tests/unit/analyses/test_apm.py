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
