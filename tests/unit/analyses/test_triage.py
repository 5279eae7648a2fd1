"""Incident triage on small hand-made snapshots with known culprits, on a real Insights archive,
and its parameter errors."""

from __future__ import annotations

import datetime as dt
import math
import random
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import workbench as wb
from workbench.analyses import triage
from workbench.errors import ParameterError
from workbench.schema import conform
from workbench.store import SnapshotWriter

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
M = dt.timedelta(minutes=1)
WINDOW = {"start": T0 + 60 * M, "end": T0 + 90 * M}
WEB = ["web-5c8d7f9b6-x2k4p", "web-5c8d7f9b6-q7z9m", "web-5c8d7f9b6-n4t6v"]
API = "api-7b9f6d5c4-h2j4k"
LEAKY = WEB[0]


def _series(metric: str, pod: str, values: list[tuple[dt.datetime, float]], *, container: str | None = "app",
            labels: str = "{}", node: str | None = "node-a") -> list[dict[str, Any]]:  # fmt: skip
    return [{"cluster": "c1", "metric": metric, "namespace": "shop", "pod": pod, "container": container, "node": node,
             "labels": labels, "ts": t, "value": v} for t, v in values]  # fmt: skip


def _metrics_snapshot(path: Path, *, container: str | None = "app") -> wb.Dataset:
    """Two hours of 30 s samples: CPU counters and memory of four pods; from T0+60 min the
    first web pod's memory climbs 3 MiB a minute, it is OOM-killed at T0+80 min and restarts.
    ``container``: the container label of the cAdvisor series (None: pod-level series only)."""
    rnd = random.Random(1)
    times = [T0 + i * dt.timedelta(seconds=30) for i in range(240)]
    rows: list[dict[str, Any]] = []
    for pod in [*WEB, API]:
        cpu, mem = 0.0, []
        for t in times:
            cpu += 30 * (0.2 + rnd.gauss(0, 0.01))
            rows += _series("container_cpu_usage_seconds_total", pod, [(t, cpu)], container=container)
            leak = max(0.0, (t - WINDOW["start"]) / M) * 3 if pod == LEAKY and t < T0 + 80 * M else 0.0
            mem.append((t, (100 + leak + rnd.gauss(0, 0.5)) * 2**20))
        rows += _series("container_memory_working_set_bytes", pod, mem, container=container)
        restarts = [(t, 1.0 if pod == LEAKY and t >= T0 + 80 * M else 0.0) for t in times]
        rows += _series("kube_pod_container_status_restarts_total", pod, restarts, node=None)
    rows += _series(
        "kube_pod_container_status_last_terminated_reason",
        LEAKY,
        [(t, 1.0) for t in times if t >= T0 + 80 * M],
        labels='{"reason":"OOMKilled"}',
        node=None,
    )
    with SnapshotWriter(path) as w:
        w.add_source("test")
        w.set_window(T0, T0 + 120 * M)
        w.write_metrics(pl.DataFrame(rows, infer_schema_length=None))
    return wb.open(path)


@pytest.fixture(scope="module")
def metrics_ds(tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    return _metrics_snapshot(tmp_path_factory.mktemp("triage") / "metrics")


def test_a_leaking_pod_of_three_is_the_suspect_with_its_memory_restarts_and_oom(
    metrics_ds: wb.Dataset,
) -> None:
    r = triage.triage(metrics_ds, triage.TriageParams(**WINDOW))
    top = r.suspects.row(0, named=True)
    assert (top["kind"], top["name"], top["object"]) == (
        "Pod",
        LEAKY,
        f"Pod/{LEAKY}",
    )  # one pod of three: the pod
    assert {"oom_killed", "restarts", "metric_anomaly"} <= set(top["signals"])
    assert T0 + 60 * M <= top["first_seen"] <= T0 + 75 * M
    ev = r.evidence.filter(pl.col("rank") == 1)
    memory = ev.filter(pl.col("signal") == "metric_anomaly")["how_to_see"].to_list()
    assert any("container_memory_working_set_bytes" in h and LEAKY in h for h in memory)
    oom = ev.filter(pl.col("signal") == "oom_killed").row(0, named=True)
    assert T0 + 80 * M <= oom["time"] <= T0 + 81 * M
    assert API not in r.suspects["name"].to_list() or r.suspects.filter(pl.col("name") == API)["score"][0] < 1


def test_pod_level_cadvisor_series_without_a_container_label_are_scored_too(tmp_path: Path) -> None:
    ds = _metrics_snapshot(tmp_path / "podlevel", container=None)
    r = triage.triage(ds, **WINDOW)
    assert r.suspects["name"][0] == LEAKY
    memory = r.evidence.filter((pl.col("rank") == 1) & (pl.col("signal") == "metric_anomaly"))["how_to_see"]
    assert any("container_memory_working_set_bytes" in h for h in memory.to_list())


def test_the_score_is_the_weighted_sum_of_each_signals_strongest_evidence(metrics_ds: wb.Dataset) -> None:
    r = triage.triage(metrics_ds, start=WINDOW["start"], end=WINDOW["end"])
    for s in r.suspects.iter_rows(named=True):
        ev = r.evidence.filter(pl.col("rank") == s["rank"])
        assert ev.height > 0
        assert ev["score"].min() >= 0 and ev["score"].max() <= 1
        best = ev.group_by("signal").agg(pl.col("score").max(), pl.col("weight").first())
        total = sum(row["score"] * row["weight"] for row in best.iter_rows(named=True))
        assert math.isclose(s["score"], total, rel_tol=1e-6)
        assert triage.WEIGHTS[s["signals"][0]] * best.filter(pl.col("signal") == s["signals"][0])["score"][
            0
        ] == max(row["score"] * row["weight"] for row in best.iter_rows(named=True))
    assert r.suspects["rank"].to_list() == list(range(1, r.suspects.height + 1))
    assert r.suspects["score"].is_sorted(descending=True)


def test_same_snapshot_same_ranking(metrics_ds: wb.Dataset) -> None:
    a = triage.triage(metrics_ds, **WINDOW)
    b = triage.triage(metrics_ds, **WINDOW)
    assert_frame_equal(a.suspects, b.suspects)
    assert_frame_equal(a.evidence, b.evidence)
    assert_frame_equal(a.timeline, b.timeline)


@pytest.mark.parametrize("snapshot", ["metrics", "empty"])
def test_signals_run_on_threads_give_the_results_and_notes_of_a_run_one_after_another(
    snapshot: str, metrics_ds: wb.Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = metrics_ds
    if snapshot == "empty":  # many signals note what they could not use: the notes keep their order
        with SnapshotWriter(tmp_path / "empty") as w:
            w.add_source("test")
            w.set_window(T0, T0 + 120 * M)
        ds = wb.open(tmp_path / "empty")
    got = {}
    for workers in (1, 2):
        monkeypatch.setattr(triage, "WORKERS", workers)
        got[workers] = triage.triage(ds, **WINDOW)
    one, two = got[1], got[2]
    assert_frame_equal(one.suspects, two.suspects)
    assert_frame_equal(one.evidence, two.evidence)
    assert_frame_equal(one.timeline, two.timeline)
    assert one.notes == two.notes
    if snapshot == "empty":
        assert len(one.notes) > 3


def test_a_failing_signal_is_noted_in_its_place_and_the_others_still_count(
    metrics_ds: wb.Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctx: Any) -> pl.DataFrame:
        ctx.note("broken looked")
        raise ValueError("no such thing")

    signals = list(triage._SIGNALS)
    signals.insert(1, ("broken signal", broken, False))
    monkeypatch.setattr(triage, "_SIGNALS", tuple(signals))
    monkeypatch.setattr(triage, "_START_ORDER", tuple(range(len(signals)))[::-1])
    r = triage.triage(metrics_ds, **WINDOW)
    i = r.notes.index("broken looked")
    assert r.notes[i + 1] == "broken signal failed: no such thing"
    assert_frame_equal(r.suspects, triage.triage(metrics_ds, **WINDOW).suspects)


def test_context_once_computes_once_for_concurrent_callers(metrics_ds: wb.Dataset) -> None:
    import dataclasses
    import threading
    import time

    from workbench.analyses.triage._context import Context

    ctx = Context(ds=metrics_ds, cluster=None, namespace=None, start=T0, end=T0 + M, base_start=T0,
                  base_end=T0, history_start=T0, step=M, change_lead=M)  # fmt: skip
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        time.sleep(0.05)
        return len(calls)

    got: list[int] = []
    copies = [dataclasses.replace(ctx, notes=[]) for _ in range(4)]
    threads = [threading.Thread(target=lambda c=c: got.append(c.once("x", compute))) for c in copies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1] and got == [1, 1, 1, 1] and ctx.once("x", compute) == 1


# -- traces ----------------------------------------------------------------------------------------
def _span(trace: str, sid: str, parent: str | None, service: str, kind: str, start: dt.datetime, ms: float,
          *, error: bool = False, peer: str | None = None, db: str | None = None) -> dict[str, Any]:  # fmt: skip
    return {"cluster": "c1", "trace_id": trace, "span_id": sid, "parent_id": parent, "service": service,
            "operation": "GET /x", "kind": kind, "start": start, "end": start + dt.timedelta(milliseconds=ms),
            "duration_us": int(ms * 1000), "status": "ERROR" if error else "UNSET", "error": error,
            "peer_service": peer, "db_system": db}  # fmt: skip


def _traces_snapshot(path: Path, *, fault: str) -> wb.Dataset:
    """frontend → backend → postgres, one request every 10 s for two hours. In the window
    (T0+60..90 min) the fault is ``slow`` (backend's own work +100 ms), ``errors`` (one backend
    request in three fails by itself, and frontend passes the error on), ``wire`` (100 ms
    between frontend's call and backend's answer: the network) or ``db`` (postgres answers
    100 ms slower)."""
    rnd = random.Random(2)
    spans = []
    for i in range(720):
        t = T0 + i * dt.timedelta(seconds=10)
        bad = WINDOW["start"] <= t < WINDOW["end"]
        own = 20 + rnd.uniform(-2, 2) + (100 if bad and fault == "slow" else 0)
        wire = 1 + (100 if bad and fault == "wire" else 0)
        err = bad and fault == "errors" and i % 3 == 0
        db = 5 + rnd.uniform(-1, 1) + (100 if bad and fault == "db" else 0)
        back = own + db
        call = back + wire
        front = 10 + call
        tr = f"{i:032x}"
        spans += [
            _span(tr, f"{i:08x}0001", None, "frontend", "SERVER", t, front, error=err),
            _span(tr, f"{i:08x}0002", f"{i:08x}0001", "frontend", "CLIENT", t + 5 * dt.timedelta(milliseconds=1),
                  call, error=err, peer="backend"),
            _span(tr, f"{i:08x}0003", f"{i:08x}0002", "backend", "SERVER", t + dt.timedelta(milliseconds=6),
                  back, error=err),
            _span(tr, f"{i:08x}0004", f"{i:08x}0003", "backend", "CLIENT", t + dt.timedelta(milliseconds=6 + own),
                  db, peer="postgres", db="postgresql"),
        ]  # fmt: skip
    with SnapshotWriter(path) as w:
        w.add_source("test")
        w.set_window(T0, T0 + 120 * M)
        w.write("spans", conform("spans", spans))
    return wb.open(path)


@pytest.mark.parametrize("fault", ["slow", "errors", "wire"])
def test_the_service_that_causes_it_ranks_above_the_caller_that_inherits_it(
    fault: str, tmp_path: Path
) -> None:
    ds = _traces_snapshot(tmp_path / fault, fault=fault)
    r = triage.triage(ds, **WINDOW)
    top = r.suspects.row(0, named=True)
    assert (top["kind"], top["name"]) == ("Service", "backend")
    want = {"slow": "latency_caused", "errors": "errors_caused", "wire": "latency_caused"}[fault]
    assert top["signals"][0] == want
    front = r.suspects.filter(pl.col("name") == "frontend")
    assert front.is_empty() or front["score"][0] < top["score"] / 1.5
    if fault == "slow":  # frontend's latency rose too, but it only waited: said so in the timeline
        line = r.timeline.filter(
            (pl.col("object") == "Service/frontend") & (pl.col("signal") == "latency_inherited")
        )
        assert line.height == 1 and line["score"][0] == 0
    if fault == "errors":
        line = r.timeline.filter(
            (pl.col("object") == "Service/frontend") & (pl.col("signal") == "errors_inherited")
        )
        assert line.height == 1
        detail = r.evidence.filter((pl.col("rank") == 1) & (pl.col("signal") == "errors_caused"))["detail"][0]
        assert "errors start at backend" in detail
    if fault == "wire":
        detail = r.evidence.filter((pl.col("rank") == 1) & (pl.col("signal") == "latency_caused"))["detail"][
            0
        ]
        assert "frontend→backend" in detail


def test_a_slower_database_is_blamed_on_the_database_not_its_caller(tmp_path: Path) -> None:
    ds = _traces_snapshot(tmp_path / "db", fault="db")
    r = triage.triage(ds, **WINDOW)
    top = r.suspects.row(0, named=True)
    assert (top["kind"], top["name"], top["signals"][0]) == ("Service", "postgres", "latency_caused")
    assert "backend→postgres" in r.evidence.filter(pl.col("rank") == 1)["detail"][0]
    assert r.suspects.filter(pl.col("name") == "backend").is_empty()


def test_a_quiet_window_has_no_trace_suspects(tmp_path: Path) -> None:
    ds = _traces_snapshot(tmp_path / "quiet", fault="slow")
    r = triage.triage(ds, start=T0 + 30 * M, end=T0 + 55 * M)
    assert r.suspects.filter(pl.col("score") >= 1).is_empty()


# -- no data, bad parameters ------------------------------------------------------------------------
def test_an_empty_snapshot_gives_empty_frames_with_the_columns(tmp_path: Path) -> None:
    with SnapshotWriter(tmp_path / "empty") as w:
        w.add_source("test")
        w.set_window(T0, T0 + 120 * M)
    r = triage.triage(wb.open(tmp_path / "empty"), **WINDOW)
    assert r.suspects.schema == pl.Schema(triage.SUSPECT_COLUMNS) and r.suspects.is_empty()
    assert r.evidence.schema == pl.Schema(triage.EVIDENCE_COLUMNS) and r.evidence.is_empty()
    assert r.timeline.schema == pl.Schema(triage.TIMELINE_COLUMNS) and r.timeline.is_empty()
    assert any("no events" in n for n in r.notes)
    assert r.explain(1).startswith("no suspect ranked 1")
    with SnapshotWriter(tmp_path / "nothing") as w:  # not even a window
        w.add_source("test")
    r = triage.triage(wb.open(tmp_path / "nothing"), **WINDOW)
    assert r.suspects.is_empty() and r.suspects.columns == list(triage.SUSPECT_COLUMNS)
    assert r.notes == ("the snapshot holds no data",)


def test_a_window_outside_the_snapshot_names_the_snapshot_window(metrics_ds: wb.Dataset) -> None:
    with pytest.raises(
        ParameterError,
        match=r"outside the snapshot, which covers 2026-03-01T10:00:00Z → 2026-03-01T12:00:00Z",
    ):
        triage.triage(metrics_ds, start="2026-03-02T10:00Z", end="2026-03-02T11:00Z")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start": "2026-03-01T11:00Z", "end": "2026-03-01T10:00Z"}, "must be before end"),
        ({"end": "2026-03-01T10:00Z"}, "needs an incident window"),
        ({**WINDOW, "cluster": "c2"}, "no cluster named 'c2'"),
        ({**WINDOW, "namespace": "shopp"}, "closest: shop"),
        ({**WINDOW, "baseline": "soon"}, "baseline 'soon' is not a duration"),
        ({**WINDOW, "top": 0}, "top must be ≥ 1"),
        ({**WINDOW, "strat": T0}, "closest: start"),
    ],
)
def test_bad_parameters_say_what_to_do(metrics_ds: wb.Dataset, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        triage.triage(metrics_ds, **changes)


def test_a_window_past_the_snapshot_end_is_clipped_and_the_baseline_follows(metrics_ds: wb.Dataset) -> None:
    r = triage.triage(metrics_ds, start=T0 + 100 * M, end=T0 + 180 * M, baseline="20m")
    assert r.window == (T0 + 100 * M, T0 + 120 * M)
    assert r.baseline == (T0 + 80 * M, T0 + 100 * M)
    assert any("clipped" in n for n in r.notes)


def test_pod_names_tell_their_workload_when_there_is_no_pods_table() -> None:
    assert triage.infer_workload("checkout-l5fbg7jgpp-47vfn") == ("Deployment", "checkout")
    assert triage.infer_workload("ts-order-service-6d9b8c7f5-x2k4p") == ("Deployment", "ts-order-service")
    assert triage.infer_workload("orders-db-0") == ("StatefulSet", "orders-db")
    assert triage.infer_workload("node-agent-x2k4p") == ("Workload", "node-agent")
    assert triage.infer_workload("cartservice") is None


# -- real data -------------------------------------------------------------------------------------
def test_the_insights_archive_crash_looping_init_container_is_the_first_suspect(
    realdata: Path, tmp_path: Path
) -> None:
    """The archive's pod di-288312/vsystem-867f4b77cc-pqcns: init container vsystem-hana-init
    in CrashLoopBackOff (7527 restarts), last terminated Error, exit 1, at 2024-04-27T09:54:24Z."""
    from workbench.sources.importer import import_paths

    root = realdata / "k8s" / "openshift_insights_archive_sample" / "config"
    import_paths([root / "pod", root / "node"], out=tmp_path / "insights")
    ds = wb.open(tmp_path / "insights")
    r = triage.triage(ds, start="2024-04-27T09:30:00Z", end="2024-04-27T10:30:00Z")
    top = r.suspects.row(0, named=True)
    assert (top["object"], top["namespace"]) == ("Deployment/vsystem", "di-288312")
    assert top["pods"] == ["vsystem-867f4b77cc-pqcns"]
    ev = r.evidence.filter(pl.col("rank") == 1)
    restart = ev.filter(pl.col("signal") == "restarts").row(0, named=True)
    assert "init container vsystem-hana-init" in restart["detail"] and "Error (exit 1)" in restart["detail"]
    assert restart["time"] == dt.datetime(2024, 4, 27, 9, 54, 24, tzinfo=dt.UTC)
    failing = ev.filter(pl.col("signal") == "failing_pods")["detail"][0]
    assert "Init:CrashLoopBackOff" in failing


def test_a_pod_explains_a_node_anomaly_only_on_its_own_cluster_s_node() -> None:
    """Two clusters each have a node named n1, both with a CPU anomaly; a pod of cluster a on its
    n1 rose at the same time: only cluster a's n1 is explained by it (× 0.3)."""
    from workbench.analyses.triage import _metrics

    t = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)

    def node(cluster: str) -> dict[str, Any]:
        return {"level": "Node", "cluster": cluster, "name": "n1", "time": t, "strength": 0.8,
                "detail": "node CPU busy rose", "_metric": "node_cpu_seconds_total"}  # fmt: skip

    rows = [node("a"), node("b")]
    rises = pl.DataFrame(
        {"cluster": ["a"], "metric": ["container_cpu_usage_seconds_total"], "namespace": ["shop"],
         "pod": ["api-1"], "container": ["app"], "node": [None], "start": [t + dt.timedelta(minutes=2)],
         "direction": ["up"]},
        schema_overrides={"node": pl.String},
    )  # fmt: skip
    _metrics._explain_nodes(rows, rises, {("a", "shop", "api-1"): "n1"})
    a, b = rows
    assert a["strength"] == pytest.approx(0.8 * 0.3)
    assert a["detail"].endswith("explained by its pod(s) api-1")
    assert b["strength"] == 0.8  # cluster b's n1 does not run api-1
    assert b["detail"] == "node CPU busy rose"
