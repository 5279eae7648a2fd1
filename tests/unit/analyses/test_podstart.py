"""Pod start analysis: Pending (scheduling, init, start, image pulls) → Running → Stable Running,
usage per phase, and start-up advice."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import workbench as wb
from tests.support.resources import MI, T0, write_empty_snapshot, write_resource_snapshot
from workbench.analyses import podstart

M = dt.timedelta(minutes=1)


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    return wb.open(write_resource_snapshot(tmp_path_factory.mktemp("res") / "snap"))


def _np_times(seconds: list[int]) -> np.ndarray:
    return np.datetime64("2026-01-01T00:00:00", "us") + np.array(seconds) * np.timedelta64(1, "s")


def test_stable_time_follows_the_products_rule() -> None:
    # A JVM-like start every 15 s: 4 quiet samples, a burst at 1.9 cores, a slow decline, then 0.2.
    cpu = np.array([0.1, 0.1, 0.1, 0.1] + [1.9] * 8 + [1.5, 1.2, 0.9, 0.6, 0.4] + [0.2] * 20)
    t = _np_times([15 * i for i in range(len(cpu))])
    stable, average, peak = podstart.stable_time(t, cpu, t[0], window_s=300, settle_s=60)
    window = cpu[t <= t[0] + np.timedelta64(300, "s")]
    assert average == pytest.approx(window.mean()) and peak == 1.9
    # the quiet samples before the burst are below the average but come before the peak;
    # the first sample after the peak below the average whose next minute averages below it
    first = next(i for i in range(4, len(cpu)) if cpu[i] < window.mean())
    assert stable == t[first]


def test_stable_time_is_none_when_cpu_never_settles() -> None:
    t = _np_times([15 * i for i in range(30)])
    cpu = np.linspace(0.1, 2.0, 30)  # rising all along
    stable, _, _ = podstart.stable_time(t, cpu, t[0], window_s=300, settle_s=60)
    assert stable is None


def test_image_pull_seconds() -> None:
    ev = pl.DataFrame({"reason": ["Pulling", "Pulled", "Pulled"], "first_time": [T0, T0 + M, T0 + 2 * M],
                       "message": ['Pulling image "a"', 'Successfully pulled image "a" in 1m2.5s (1m3s including waiting)',
                                   'Successfully pulled image "b" in 512ms (512ms including waiting)']})  # fmt: skip
    assert podstart.image_pull_seconds(ev) == pytest.approx(63.012)
    # no durations in the messages: first Pulling → last Pulled
    plain = ev.with_columns(pl.lit("Pulled image").alias("message"))
    assert podstart.image_pull_seconds(plain) == 120.0
    present = pl.DataFrame(
        {"reason": ["Pulled"], "first_time": [T0], "message": ['image "a" already present on machine']}
    )
    assert podstart.image_pull_seconds(present) == 0.0
    assert podstart.image_pull_seconds(present.filter(pl.col("reason") == "Created")) is None


def test_a_start_split_into_phases_with_known_times(ds: wb.Dataset) -> None:
    r = podstart.analyse(ds)
    assert r.pods.columns == list(podstart.START_COLUMNS)
    assert sorted(r.pods["pod"]) == ["job-x", "new-0", "pend-0"]  # created in the window
    s = r.pods.filter(pl.col("pod") == "new-0").row(0, named=True)
    # created 10:10:00, scheduled :05, initialized :20, app container started :30
    assert (s["scheduling_s"], s["init_s"], s["start_s"], s["pending_s"]) == (5.0, 15.0, 10.0, 30.0)
    assert s["image_pull_s"] == 9.5  # "Successfully pulled image … in 9.5s"
    # CPU over 10:10:30–10:15:30 is 0.4 at every sample (10:12…10:15): average 0.4 = the limit;
    # the first sample after the peak below it is 10:16 (0.1)
    assert s["cpu_basis"] == "limit" and s["cpu_threshold_cores"] == pytest.approx(0.4)
    assert s["stable"] == T0 + 16 * M and s["warmup_s"] == 330.0 and s["settled"]
    assert (s["cpu_peak_cores"], s["cpu_peak_pct"]) == (pytest.approx(0.4), pytest.approx(100.0))
    assert s["memory_peak_bytes"] == 120 * MI and s["qos_class"] == "Burstable"


def test_phase_statistics_against_requests_and_limits(ds: wb.Dataset) -> None:
    ph = podstart.analyse(ds, pod="new-0").phases
    assert ph.columns == list(podstart.PHASE_COLUMNS)
    assert ph["phase"].to_list() == ["Pending", "Running", "Stable Running"]
    running = ph.filter(pl.col("phase") == "Running").row(0, named=True)
    assert (running["start"], running["end"]) == (T0 + 10 * M + dt.timedelta(seconds=30), T0 + 16 * M)
    assert running["cpu_max"] == pytest.approx(0.4) and running["cpu_max_pct_request"] == pytest.approx(200.0)
    assert running["memory_max_pct_limit"] == pytest.approx(120 / 128 * 100)
    stable = ph.filter(pl.col("phase") == "Stable Running").row(0, named=True)
    # observe = 10 min: 10:16 … 10:26, eleven samples at 0.1 cores and 60Mi
    assert (stable["samples"], stable["cpu_mean"], stable["memory_max"]) == (11, pytest.approx(0.1), 60 * MI)
    series = podstart.analyse(ds, pod="new-0").series
    assert series.filter(pl.col("ts") == T0 + 12 * M)["phase"].to_list() == ["Running"]
    assert series.filter(pl.col("ts") == T0 + 20 * M)["phase"].to_list() == ["Stable Running"]


def test_advice_for_a_start_at_the_limits(ds: wb.Dataset) -> None:
    r = podstart.analyse(ds)
    issues = set(r.advice.filter(pl.col("pod") == "new-0")["issue"])
    assert issues == {"cpu_at_limit", "cpu_peak_above_request", "memory_at_limit", "slow_warmup"}
    assert {f.severity for f in r.findings} == {"warning", "critical"}
    assert r.peaks.row(0, named=True) == {"cluster": "c1", "namespace": "shop", "pod": "new-0", "container": "api",
                                         "startup_cpu_peak": pytest.approx(0.4), "startup_memory_peak": 120 * MI}  # fmt: skip


def test_pending_and_finished_pods(ds: wb.Dataset) -> None:
    r = podstart.analyse(ds)
    pend = r.phases.filter(pl.col("pod") == "pend-0")
    assert pend["phase"].to_list() == ["Pending"] and pend["duration_s"][0] == 1200.0  # 10:40 → 11:00
    # job-x finished without a known first run: no phase can be measured
    assert r.phases.filter(pl.col("pod") == "job-x").is_empty()
    w = r.workloads.filter(pl.col("workload_name") == "api").row(0, named=True)
    assert (w["pods"], w["settled"], w["warmup_s_max"]) == (1, 1, 330.0)


def test_unknown_pod_lists_the_closest_names(ds: wb.Dataset) -> None:
    with pytest.raises(wb.ParameterError, match="no pod named 'new-O'; closest: new-0"):
        podstart.analyse(ds, pod="new-O")
    with pytest.raises(wb.ParameterError, match="stable_window"):
        podstart.PodStartParams(stable_window="five minutes")


def test_a_named_pod_is_analysed_whenever_it_was_created(ds: wb.Dataset) -> None:
    r = podstart.analyse(ds, pod="web-0")  # created an hour before the window
    assert r.pods["pod"].to_list() == ["web-0"] and r.pods["created"][0] < T0


def test_empty_snapshot(tmp_path: Path) -> None:
    r = podstart.analyse(wb.open(write_empty_snapshot(tmp_path / "e")))
    for frame, cols in ((r.pods, podstart.START_COLUMNS), (r.phases, podstart.PHASE_COLUMNS),
                        (r.series, podstart.SERIES_COLUMNS), (r.advice, podstart.ADVICE_COLUMNS),
                        (r.workloads, podstart.WORKLOAD_COLUMNS), (r.peaks, podstart.PEAK_COLUMNS)):  # fmt: skip
        assert_frame_equal(frame, pl.DataFrame(schema=cols))


# -- real data: a minikube cluster dumped with kubectl ----------------------------------------------


@pytest.fixture(scope="module")
def minikube(tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    from tests.conftest import REALDATA
    from workbench.kube import normalize
    from workbench.sources.files import read_manifests
    from workbench.store import SnapshotWriter

    seen = dt.datetime(2026, 6, 26, 10, 15, tzinfo=dt.UTC)
    tables = normalize(read_manifests(REALDATA / "k8s" / "nri_kubernetes_k8s_1_35" / "pods.yaml"), cluster="mk",
                       observed_at=seen)  # fmt: skip
    path = tmp_path_factory.mktemp("minikube") / "snap"
    with SnapshotWriter(path) as w:
        for name, frame in tables.items():
            if frame.height:
                w.write(name, frame)
    return wb.open(path)


def test_real_pod_timelines(minikube: wb.Dataset) -> None:
    """Read off pods.yaml: coredns-7d764666f9-qdcxt created 10:12:19, PodScheduled 10:12:39, its
    container running since 10:12:40; e2e-scraper-5f97dc94d8-vkcjl created and scheduled
    10:12:51, running since 10:14:08; etcd-datagen-1-35 is a static pod whose container started
    (10:12:10) before its mirror object was created (10:12:13)."""
    r = podstart.analyse(minikube, start="2026-06-26T10:12:00Z", end="2026-06-26T10:15:00Z")
    by = {row["pod"]: row for row in r.pods.iter_rows(named=True)}
    assert (by["coredns-7d764666f9-qdcxt"]["scheduling_s"], by["coredns-7d764666f9-qdcxt"]["pending_s"]) == (
        20.0,
        21.0,
    )
    assert (
        by["e2e-scraper-5f97dc94d8-vkcjl"]["scheduling_s"],
        by["e2e-scraper-5f97dc94d8-vkcjl"]["pending_s"],
    ) == (0.0, 77.0)
    assert by["etcd-datagen-1-35"]["pending_s"] == 0.0
    # e2e-container-pending has no node and no container status: Pending, no start
    assert (
        by["e2e-container-pending"]["running"] is None and by["e2e-container-pending"]["scheduling_s"] is None
    )


# -- the demo --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_demo_slow_jvm_start_is_found(demo_snapshot: Path) -> None:
    ds = wb.open(demo_snapshot)
    truth = next(i for i in ds.ground_truth["incidents"] if i["kind"] == "slow_start")
    (pod,) = truth["pods"]
    r = podstart.analyse(ds, cluster=truth["cluster"], namespace=truth["namespace"])
    row = r.pods.filter(pl.col("pod") == pod).row(0, named=True)
    assert row["settled"] and row["warmup_s"] > 180  # minutes of CPU before it settles
    assert row["cpu_request"] == truth["details"]["cpu_request"]
    assert row["cpu_peak_cores"] > 1.5 * row["cpu_request"]
    # of every pod started in the window, it has the highest start-up peak relative to its request
    ratio = r.pods.with_columns((pl.col("cpu_peak_cores") / pl.col("cpu_request")).alias("x")).drop_nulls("x")
    assert ratio.sort("x", descending=True)["pod"][0] == pod
    # and the slowest warm-up of its workload's starts
    same = r.pods.filter(pl.col("workload_name") == truth["object"]["name"])
    assert same.sort("warmup_s", descending=True, nulls_last=True)["pod"][0] == pod
    assert "cpu_at_limit" in r.advice.filter(pl.col("pod") == pod)["issue"].to_list()


def _close(got: float | None, want: float | None) -> bool:
    if got is None or want is None:
        return got is None and want is None
    return got == pytest.approx(want, rel=1e-12)


@pytest.mark.slow
def test_each_pods_phases_series_and_peaks_equal_a_per_pod_reference(demo_snapshot: Path) -> None:
    """Every pod is measured at once; each pod's figures must be those of its own usage rows
    (from a second before its creation, whole seconds, to its deletion), cut by its phases."""
    from workbench.analyses import usage

    ds = wb.open(demo_snapshot)
    r = podstart.analyse(ds, namespace="shop")
    meta = ds.pods(namespace="shop").select("cluster", "namespace", pl.col("name").alias("pod"), "deleted")
    pods = r.pods.join(meta, on=["cluster", "namespace", "pod"], how="left")
    cont = usage.container_usage(ds, cluster=pods["cluster"].unique().to_list(), pod=pods["pod"].unique().to_list(),
                                 start=pods["created"].min(), end=ds.window[1], step=r.params.resolution)  # fmt: skip
    keys = ["cluster", "namespace", "pod"]
    use = cont.group_by(*keys, "ts").agg(usage.nsum("cpu_cores"), usage.nsum("memory_bytes"))
    observe = dt.timedelta(minutes=10)
    checked = 0
    for pod in pods.iter_rows(named=True):
        key = pl.all_horizontal(pl.col(k) == pod[k] for k in keys)
        first = pod["created"].replace(microsecond=0)
        mine = use.filter(key, pl.col("ts") >= first - dt.timedelta(seconds=1),
                          pl.col("cpu_cores").is_not_null() | pl.col("memory_bytes").is_not_null())  # fmt: skip
        if pod["deleted"] is not None:
            mine = mine.filter(pl.col("ts") <= pod["deleted"])
        for ph in r.phases.filter(key).iter_rows(named=True):
            inside = mine.filter(pl.col("ts") >= ph["start"], (pl.col("ts") <= ph["end"]) if ph["phase"] == "Stable Running"
                                 else (pl.col("ts") < ph["end"]))  # fmt: skip
            assert ph["samples"] == inside.height
            assert ph["cpu_max"] == inside["cpu_cores"].max()
            assert ph["memory_max"] == inside["memory_bytes"].max()
            assert _close(ph["cpu_mean"], inside["cpu_cores"].mean())
            assert _close(ph["memory_p95"], inside["memory_bytes"].quantile(0.95, interpolation="linear"))
            checked += 1
        shown = mine if pod["stable"] is None else mine.filter(pl.col("ts") <= pod["stable"] + observe)
        assert r.series.filter(key).height == shown.height
        # a start's peaks: from creation until stable (else the end of its data)
        if pod["pod"] == pods["pod"][0]:
            end = mine["ts"].max() if mine.height else None
            to = pod["stable"] or end or pod["deleted"] or ds.window[1]
            want = cont.filter(key, pl.col("ts") >= first, pl.col("ts") <= to).group_by("container").agg(
                pl.col("cpu_cores").max(), pl.col("memory_max_bytes").max()).sort("container")  # fmt: skip
            got = r.peaks.filter(key).sort("container")
            assert got["startup_cpu_peak"].to_list() == want["cpu_cores"].to_list()
            assert got["startup_memory_peak"].to_list() == want["memory_max_bytes"].to_list()
    assert checked > 2 * pods.height


def test_charts_render(ds: wb.Dataset) -> None:
    import holoviews as hv

    from workbench.viz import podstart as pv

    hv.extension("bokeh")
    r = podstart.analyse(ds)
    for chart in (pv.timeline(r.pods), pv.start_curves(r.series, r.pods, pod="new-0"),
                  pv.workload_curves(r.series, r.pods, workload="api"), pv.timeline(r.pods.head(0))):  # fmt: skip
        assert hv.render(chart) is not None
    # the timeline stacks scheduling, init, start and warm-up of the pods that ran
    d = pv.timeline(r.pods).dframe()
    assert dict(zip(d["segment"], d["seconds"], strict=True)) == {"scheduling": 5.0, "init": 15.0, "start": 10.0,
                                                                  "warm-up": 330.0}  # fmt: skip


_FRAMES = ("pods", "phases", "series", "workloads", "advice", "peaks", "pod_peaks")


def _same_starts(got: podstart.PodStarts, want: podstart.PodStarts) -> None:
    for name in _FRAMES:
        assert_frame_equal(getattr(got, name), getattr(want, name))
    assert got.findings == want.findings


def test_a_scope_taken_from_the_whole_snapshot_equals_its_own_analysis(demo_snapshot: Path) -> None:
    ds = wb.open(demo_snapshot)
    whole = podstart.analyse(ds)
    pods = whole.pods
    lo, hi = ds.window
    third = (hi - lo) / 3
    busiest = pods.group_by("namespace").len().sort("len", descending=True)["namespace"][0]
    mine = pods.filter(pl.col("namespace") == busiest, pl.col("workload_name").is_not_null())
    workload = mine.row(0, named=True)
    scopes: list[dict[str, object]] = [
        {}, *({"cluster": c} for c in ds.clusters), *({"namespace": n} for n in pods["namespace"].unique().sort()),
        {"namespace": busiest, "workload": f"{workload['workload_kind']}/{workload['workload_name']}"},
        {"start": lo + third, "end": lo + 2 * third}, {"namespace": busiest, "start": hi - third},
        {"cluster": pods["cluster"][0], "pod": pods["pod"][0]}, {"namespace": "no-such-namespace"},
    ]  # fmt: skip
    # a marked copy of the whole snapshot's analysis shows where a result was taken from
    marked = dataclasses.replace(whole, pods=whole.pods.with_columns(pl.lit("marked").alias("node")))
    for scope in scopes:
        want = podstart.analyse(ds, **scope)  # type: ignore[arg-type]
        _same_starts(podstart.analyse(ds, base=whole, **scope), want)  # type: ignore[arg-type]
        taken = podstart.analyse(ds, base=marked, **scope)  # type: ignore[arg-type]
        assert taken.pods.height == want.pods.height
        assert set(taken.pods["node"]) <= {"marked"}, scope  # every scope inside the window is taken from it


def test_a_base_that_cannot_give_the_scope_is_not_used(demo_snapshot: Path) -> None:
    ds = wb.open(demo_snapshot)
    whole = podstart.analyse(ds)
    a, b = whole.pods["namespace"].unique().sort().to_list()[:2]
    narrow = podstart.analyse(ds, namespace=a)  # lacks the pods of namespace b
    _same_starts(podstart.analyse(ds, base=narrow, namespace=b), podstart.analyse(ds, namespace=b))
    # other tuning: measured again
    slow = podstart.analyse(ds, namespace=a, stable_window="2m")
    _same_starts(podstart.analyse(ds, base=whole, namespace=a, stable_window="2m"), slow)
    # a window reaching before the snapshot's: pods the base does not have are measured
    early = ds.window[0] - dt.timedelta(days=1)
    _same_starts(podstart.analyse(ds, base=whole, start=early), podstart.analyse(ds, start=early))


def test_peaks_of_fewer_pods_come_from_the_pod_peaks_of_all(ds: wb.Dataset, demo_snapshot: Path) -> None:
    """``scope_peaks`` gives, from every pod's start-up peaks, what an analysis of the scope's
    pods alone gives (right-sizing takes them from the whole snapshot's analysis)."""
    for snap in (ds, wb.open(demo_snapshot)):
        everything = podstart.analyse(snap)
        assert everything.pod_peaks.columns == list(podstart.POD_PEAK_COLUMNS)
        assert everything.pod_peaks.height >= everything.peaks.height > 0
        lo, hi = snap.window
        namespaces = snap.pods()["namespace"].unique().sort().to_list()
        scopes = [
            {},
            {"start": lo + (hi - lo) / 3, "end": hi - (hi - lo) / 3},
            *({"namespace": n} for n in namespaces),
        ]
        workload = snap.pods().filter(pl.col("workload_name").is_not_null()).row(0, named=True)
        scopes.append({"namespace": workload["namespace"], "workload": workload["workload_name"]})
        for scope in scopes:
            want = podstart.analyse(snap, **scope).peaks
            assert_frame_equal(podstart.scope_peaks(snap, everything.pod_peaks, **scope), want)
