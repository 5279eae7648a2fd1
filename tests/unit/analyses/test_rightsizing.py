"""Right-sizing: percentiles chosen by the user, headroom, HPA floors, OOM kills, throttling,
start-up peaks, totals and export."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal

import workbench as wb
from tests.support.resources import (
    GI,
    MI,
    db_memory,
    web1_rates,
    write_empty_snapshot,
    write_resource_snapshot,
)
from workbench.analyses import rightsizing


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    return wb.open(write_resource_snapshot(tmp_path_factory.mktemp("res") / "snap"))


@pytest.fixture(scope="module")
def rs(ds: wb.Dataset) -> rightsizing.RightSizing:
    return rightsizing.analyse(ds)


def _row(frame: pl.DataFrame, workload: str) -> dict:
    return frame.filter(pl.col("workload_name") == workload).row(0, named=True)


def test_percentiles_equal_numpys_on_the_same_samples(ds: wb.Dataset) -> None:
    for q in (50.0, 90.0, 99.0):
        got = rightsizing.analyse(ds, cpu_request_percentile=q, memory_request_percentile=q).containers
        web1 = got.filter(pl.col("pod") == "web-1").row(0, named=True)
        assert web1["cpu_request_basis"] == pytest.approx(np.percentile(web1_rates(), q), abs=1e-12)
        db = got.filter(pl.col("pod") == "db-0").row(0, named=True)
        assert db["memory_request_basis"] == pytest.approx(
            np.percentile([db_memory(k) for k in range(61)], q)
        )
    # a workload's value is its busiest pod's: web-1 (0.6 at p90), not web-0 (0.2)
    assert (
        rightsizing.analyse(ds).advice.filter(pl.col("workload_name") == "web")["cpu_request_basis"][0] == 0.6
    )


def test_advice_follows_the_documented_rules(rs: rightsizing.RightSizing) -> None:
    assert rs.advice.columns == list(rightsizing.ADVICE_COLUMNS)
    web = _row(rs.advice, "web")
    # CPU request = p90 (0.6) × 1.15; memory request = p99 of the working set × 1.15, rounded up to MiB
    assert web["cpu_request_advised"] == pytest.approx(0.69)
    mem = np.percentile([150.0 * MI + (k % 10) * 10 * MI for k in range(61)], 99) * 1.15
    assert web["memory_request_advised"] == np.ceil(mem / MI) * MI
    # memory limit = max (240Mi) × 1.3, rounded up to MiB
    assert web["memory_limit_advised"] == np.ceil(240 * 1.3) * MI
    assert web["cpu_request_change"] == pytest.approx(0.69 - 0.5)
    assert web["replicas"] == 2 and web["pods"] == 2


def test_throttled_container_gets_a_higher_cpu_limit(rs: rightsizing.RightSizing, ds: wb.Dataset) -> None:
    web = _row(rs.advice, "web")
    assert web["throttled_pct"] == pytest.approx(30.0)  # web-1: 180 of 600 periods
    assert "throttled" in web["flags"] and web["status"] == "under-provisioned"
    assert web["cpu_limit_advised"] == pytest.approx(1.5)  # current 1 core × 1.5
    # below the threshold nothing is said
    calm = _row(rightsizing.analyse(ds, throttle_threshold_pct=40).advice, "web")
    assert "throttled" not in calm["flags"]
    # with no CPU limits advised, the raise is the limit's removal
    none = _row(rightsizing.analyse(ds, cpu_limit="none").advice, "web")
    assert none["cpu_limit_advised"] is None and "removed" in none["notes"]


def test_oom_killed_container_is_under_provisioned(rs: rightsizing.RightSizing) -> None:
    db = _row(rs.advice, "db")
    assert db["oom_killed"] and "oom-killed" in db["flags"] and db["status"] == "under-provisioned"
    assert db["memory_limit_advised"] == 1.5 * GI  # current 1Gi × oom_bump 1.5
    assert db["memory_request_advised"] >= GI
    assert any(f.severity == "critical" and f.name == "db" for f in rs.findings)


def test_hpa_keeps_the_cpu_request_at_its_target(ds: wb.Dataset) -> None:
    # p50 of the busiest pod (web-1) is 0.45; the HPA scales web on 50% CPU and the pods' mean
    # usage is (0.2 + 0.44667) / 2 = 0.3233, so a request of 0.3233 / 0.5 = 0.6467 keeps the
    # target; the floor is min(current 0.5, 0.6467) = 0.5.
    kw = {"cpu_request_percentile": 50, "cpu_request_headroom": 1.0}
    aware = _row(rightsizing.analyse(ds, **kw).advice, "web")
    assert aware["hpa_cpu_target_pct"] == 50.0
    assert aware["cpu_request_advised"] == pytest.approx(0.5) and "hpa-floor" in aware["flags"]
    blind = _row(rightsizing.analyse(ds, hpa_aware=False, **kw).advice, "web")
    assert blind["cpu_request_advised"] == pytest.approx(0.45) and "hpa-floor" not in blind["flags"]


def test_limits_stay_above_start_up_peaks(ds: wb.Dataset) -> None:
    # new-0 (api) peaked at 0.4 cores and 120Mi while starting; with a tiny limit headroom the
    # percentile rule alone would cut the CPU limit below the peak.
    kw = {"cpu_limit_percentile": 50, "cpu_limit_headroom": 1.0, "memory_limit_headroom": 1.0}
    aware = _row(rightsizing.analyse(ds, **kw).advice, "api")
    assert aware["startup_cpu_peak"] == pytest.approx(0.4) and aware["cpu_limit_advised"] == pytest.approx(
        0.4
    )
    assert "startup-peak" in aware["flags"]
    blind = _row(rightsizing.analyse(ds, startup_aware=False, **kw).advice, "api")
    # p50 is 0.1 core; the limit never goes below the advised request, 0.1 × 1.15
    assert blind["cpu_limit_advised"] == pytest.approx(0.115) and "startup-peak" not in blind["flags"]


def test_little_data_gives_no_advice(rs: rightsizing.RightSizing) -> None:
    pend = _row(rs.advice, "batch")
    assert pend["status"] == "not enough data" and pend["cpu_request_advised"] is None


def test_totals_multiply_by_replicas(rs: rightsizing.RightSizing) -> None:
    t = rs.totals.filter(pl.col("cluster") == "(all)").row(0, named=True)
    adv = rs.advice.filter(pl.col("status") != "not enough data")
    want = (adv["cpu_request_advised"] * adv["replicas"]).sum()
    assert t["cpu_request_advised_cores"] == pytest.approx(want)
    assert t["cpu_request_current_cores"] == pytest.approx(0.2 + 2 * 0.5 + 1.0)  # api, web ×2, db
    assert t["memory_request_change_gib"] == pytest.approx(
        ((adv["memory_request_advised"] - adv["memory_request"]) * adv["replicas"]).sum() / GI
    )


def test_csv_and_json_round_trip(rs: rightsizing.RightSizing, tmp_path: Path) -> None:
    assert_frame_equal(rightsizing.read_csv(rs.to_csv(tmp_path / "a.csv")), rs.advice)
    assert_frame_equal(rightsizing.read_json(rs.to_json(tmp_path / "a.json")), rs.advice)


def test_bad_parameters(ds: wb.Dataset) -> None:
    with pytest.raises(wb.ParameterError, match="cpu_request_percentile must be ≤ 100"):
        rightsizing.analyse(ds, cpu_request_percentile=120)
    with pytest.raises(wb.ParameterError, match="cpu_limit must be one of percentile, none, keep"):
        rightsizing.RightSizingParams(cpu_limit="unlimited")
    with pytest.raises(wb.ParameterError, match="closest: c1"):
        rightsizing.analyse(ds, cluster="c-1")


def test_empty_snapshot(tmp_path: Path) -> None:
    r = rightsizing.analyse(wb.open(write_empty_snapshot(tmp_path / "e")))
    assert_frame_equal(r.advice, pl.DataFrame(schema=rightsizing.ADVICE_COLUMNS))
    assert_frame_equal(r.totals, pl.DataFrame(schema=rightsizing.TOTAL_COLUMNS))
    assert r.findings == []


def test_hpa_targets_of_real_manifests(realdata: Path) -> None:
    """Read off the files: v1 ``targetCPUUtilizationPercentage: 80``; v2beta1 memory 150% and
    CPU 80% (``targetAverageUtilization``); v2beta2 CPU 65% (``target.averageUtilization``) of an
    Argo Rollout."""
    base = realdata / "k8s" / "argo_gitops_engine_health"
    docs = [yaml.safe_load((base / f).read_text()) for f in
            ("hpa-v1-healthy-toofew.yaml", "hpa-v2beta1-healthy.yaml", "hpa-v2beta2-healthy.yaml")]  # fmt: skip
    got = rightsizing.hpa_targets_from_manifests(docs).select(
        "target_kind", "target_name", "cpu_target_pct", "memory_target_pct").rows()  # fmt: skip
    assert got == [("Deployment", "sample", 80.0, None), ("Deployment", "argocd-repo-server", 80.0, 150.0),
                   ("Rollout", "credential-rollout", 65.0, None)]  # fmt: skip


# -- the demo --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(demo_snapshot: Path) -> tuple[wb.Dataset, rightsizing.RightSizing]:
    ds = wb.open(demo_snapshot)
    return ds, rightsizing.analyse(ds)


def _truth(ds: wb.Dataset, kind: str) -> dict:
    return next(i for i in ds.ground_truth["incidents"] if i["kind"] == kind)


@pytest.mark.slow
def test_demo_oom_container_is_under_provisioned(demo: tuple[wb.Dataset, rightsizing.RightSizing]) -> None:
    ds, rs = demo
    t = _truth(ds, "oom_killed")
    row = rs.advice.filter(pl.col("cluster") == t["cluster"], pl.col("namespace") == t["namespace"],
                           pl.col("workload_name") == t["object"]["name"],
                           pl.col("container") == t["details"]["container"]).row(0, named=True)  # fmt: skip
    assert row["status"] == "under-provisioned" and "oom-killed" in row["flags"]
    assert row["memory_limit"] == t["details"]["memory_limit"]
    assert row["memory_limit_advised"] > t["details"]["memory_limit"]


@pytest.mark.slow
def test_demo_throttled_neighbour_gets_a_cpu_limit_raise(
    demo: tuple[wb.Dataset, rightsizing.RightSizing],
) -> None:
    ds, rs = demo
    t = _truth(ds, "cpu_throttling")
    row = rs.advice.filter(pl.col("cluster") == t["cluster"], pl.col("workload_name") == t["object"]["name"],
                           pl.col("container") == t["details"]["container"]).row(0, named=True)  # fmt: skip
    assert "throttled" in row["flags"] and row["throttled_pct"] > 10
    assert row["cpu_limit"] == t["details"]["cpu_limit"]
    assert row["cpu_limit_advised"] > t["details"]["cpu_limit"]
    # nobody else in the cluster is throttled that much
    others = rs.advice.filter(
        pl.col("cluster") == t["cluster"], pl.col("workload_name") != t["object"]["name"]
    )
    assert others["throttled_pct"].drop_nulls().max() < row["throttled_pct"]


@pytest.mark.slow
def test_demo_is_fast_enough(demo_snapshot: Path) -> None:
    ds = wb.open(demo_snapshot)
    t0 = dt.datetime.now()
    rightsizing.analyse(ds)
    assert (dt.datetime.now() - t0).total_seconds() < 30


def test_charts_render(rs: rightsizing.RightSizing) -> None:
    import holoviews as hv

    from workbench.viz import rightsizing as rv

    hv.extension("bokeh")
    for chart in (rv.current_vs_advised(rs.advice), rv.current_vs_advised(rs.advice, resource="memory", kind="limit"),
                  rv.totals_bars(rs.totals), rv.advice_table(rs.advice), rv.current_vs_advised(rs.advice.head(0)),
                  rv.totals_bars(rs.totals.head(0))):  # fmt: skip
        assert hv.render(chart) is not None
    d = rv.current_vs_advised(rs.advice).dframe()
    web = d[d["cpu_request_of"] == "web/main"].set_index("value")["millicores"]
    assert web["current"] == 500.0 and web["advised"] == pytest.approx(690.0)


@pytest.mark.slow
def test_demo_hpas_come_in_one_order(demo: tuple[wb.Dataset, rightsizing.RightSizing]) -> None:
    """The HPAs taken into account are listed by cluster, namespace and name (the page's table
    of them kept reshuffling)."""
    ds, rs = demo
    assert rs.hpas.height >= 2 and rs.hpas["cluster"].n_unique() > 1
    assert rs.hpas.equals(rs.hpas.sort("cluster", "namespace", "hpa"))
    assert rightsizing.analyse(ds).hpas.equals(rs.hpas)


def test_chart_bars_in_the_order_holoviews_gives_them(rs: rightsizing.RightSizing) -> None:
    """current_vs_advised declares the order of a container's two bars (HoloViews then need not
    work it out from the data); it must be the order HoloViews works out."""
    import holoviews as hv

    from workbench.viz import rightsizing as rv

    hv.extension("bokeh")
    chart = rv.current_vs_advised(rs.advice)
    value = chart.kdims[1]
    assert value.values  # declared
    undeclared = chart.clone(kdims=[chart.kdims[0], hv.Dimension(value.name)])
    assert hv.render(chart).y_range.factors == hv.render(undeclared).y_range.factors


def test_shared_gives_each_scope_the_advice_read_for_it_alone(demo_snapshot: Path) -> None:
    """What a page keeps of the whole snapshot (``rightsizing.shared``) gives every scope the
    same advice, containers and totals as reading that scope's metrics; it is used only where
    it fits (the snapshot's window for the statistics and its percentiles, a window within the
    snapshot's for the start-up peaks)."""
    ds = wb.open(demo_snapshot)
    shared = rightsizing.shared(ds)
    lo, hi = ds.window
    inner = {"start": lo + (hi - lo) / 4, "end": hi - (hi - lo) / 4}
    pods = ds.pods().filter(pl.col("workload_kind") == "Deployment")
    ns = pods.group_by("namespace").len().sort("len", descending=True)["namespace"][0]
    workload = pods.filter(pl.col("namespace") == ns).row(0, named=True)
    scopes = [
        ({}, True, True),
        ({"namespace": ns}, True, True),
        ({"namespace": ns, "workload": f"Deployment/{workload['workload_name']}"}, True, True),
        ({"cluster": ds.clusters[-1]}, True, True),
        ({"namespace": ns, **inner}, False, True),
        ({"namespace": ns, "cpu_request_percentile": 95.0}, False, True),
        ({"start": lo - dt.timedelta(hours=1)}, False, False),
        ({"namespace": ns, "startup_aware": False}, True, True),
    ]
    for scope, stats_used, peaks_used in scopes:
        p = rightsizing.RightSizingParams(**scope)
        want, got = rightsizing.analyse(ds, p), rightsizing.analyse(ds, p, shared=shared)
        assert want.advice.height > 0, scope
        for part in ("advice", "containers", "totals", "hpas"):
            assert_frame_equal(getattr(got, part), getattr(want, part))
        assert got.findings == want.findings
        assert (shared.stats_for(ds, p) is not None) == stats_used, scope
        window = (p.start or lo, p.end or hi)
        assert (shared.peaks_for(ds, p, *window) is not None) == peaks_used, scope
    other = rightsizing.shared(ds, cpu_request_percentile=95.0, pod_peaks=shared.pod_peaks)
    assert other.pod_peaks is shared.pod_peaks
    assert other.stats_for(ds, rightsizing.RightSizingParams()) is None
    p = rightsizing.RightSizingParams(namespace=ns, cpu_request_percentile=95.0)
    assert other.stats_for(ds, p) is not None
    assert_frame_equal(rightsizing.analyse(ds, p, shared=other).advice, rightsizing.analyse(ds, p).advice)
