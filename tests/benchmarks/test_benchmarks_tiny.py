"""Every benchmark at a tiny scale, so none of them rots: the workbench and each alternative
must give the same answers (no timing is asserted). The same checks run at full scale in
``python -m benchmarks``; here they run in-process, in seconds.

Agreement means: the same rows (keys equal exactly) and floats within 1e-9 relative —
percentiles are linear interpolation between the nearest ranks in every engine (numpy's
``linear``: pandas' default, DuckDB ``quantile_cont``, polars ``interpolation="linear"``),
histogram counts identical, the same typed values after ingest, the same match, facet and
pattern counts for logs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import ModuleType, SimpleNamespace

import polars as pl
import pytest

import benchmarks
import workbench as wb
from benchmarks import Case, Check, b5_dashboard, compare, missing_modules
from benchmarks.report import render
from benchmarks.runner import BenchResult, CaseResult, run_benchmark

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, realdata: Path) -> Path:
    """Generated data for the whole module (B3 and B4 grow theirs from ``realdata``)."""
    assert benchmarks.REALDATA.resolve() == realdata
    return tmp_path_factory.mktemp("bench-data")


def _answers(bench: str, workdir: Path) -> tuple[dict[str, Case], dict[str, dict[str, pl.DataFrame]]]:
    mod = benchmarks.load(bench)
    mod.setup("tiny", workdir)
    cases = mod.run()
    answers = {}
    for name, case in cases.items():
        if missing_modules(case.requires):
            continue
        answers[name] = case.answer(case.work())
    return cases, answers


def _assert_agree(cases: dict[str, Case], answers: dict[str, dict[str, pl.DataFrame]]) -> int:
    """Each checked case against its group's workbench case; returns how many were compared."""
    compared = 0
    for name, ans in answers.items():
        case = cases[name]
        if case.ours or not case.check:
            continue
        ref = next(n for n, c in cases.items() if c.ours and c.group == case.group)
        problems = compare.agree(answers[ref], ans)
        assert not problems, f"{name} disagrees with {ref}: {problems}"
        compared += 1
    return compared


def test_b1_percentiles_agree_across_workbench_pandas_duckdb(workdir: Path) -> None:
    cases, answers = _answers("B1", workdir)
    assert _assert_agree(cases, answers) >= 2  # container_stats and pandas at least (DuckDB when installed)
    ours = answers["all containers / workbench"]
    # 12 containers × 6 h at 30 s: 720 samples per series, 719 rates per CPU series
    assert ours["cpu"].height == 12 and ours["memory"].height == 12
    assert ours["memory"]["samples"].to_list() == [720] * 12
    assert ours["cpu"]["samples"].to_list() == [719] * 12
    # the working set is whole 4 KiB pages, and p50 ≤ p90 ≤ p99 ≤ max
    mem = ours["memory"]
    assert (mem["max"] % 4096 == 0).all()
    assert (
        (mem["p50"] <= mem["p90"]).all()
        and (mem["p90"] <= mem["p99"]).all()
        and (mem["p99"] <= mem["max"]).all()
    )
    assert (ours["cpu"]["p50"] > 0).all()  # a rate, not the cumulative counter, and resets do not go negative


def test_b1_duckdb_agrees_when_installed(workdir: Path) -> None:
    if missing_modules(("duckdb",)):
        pytest.skip("duckdb not installed: B1/B7 report it as 'not installed'")
    cases, answers = _answers("B1", workdir)
    ref = answers["all containers / workbench"]
    assert not compare.agree(ref, answers["all containers / duckdb"])


def test_b2_hitmap_counts_identical_to_histogram2d(workdir: Path) -> None:
    cases, answers = _answers("B2", workdir)
    assert _assert_agree(cases, answers) == 2  # pandas + histogram2d, and the one-pass polars sketch
    grid = answers["hitmap + raster / workbench"]["grid"]
    assert grid["total"][0] == 20_000  # every span is a transaction and lands in exactly one cell
    assert 0 < grid["errors"][0] < 20_000
    assert grid["rows"][0] == 96  # 1 ms .. 60 s at 20 rows per decade


def test_b3_ingest_same_typed_rows_as_kubernetes_client(workdir: Path) -> None:
    cases, answers = _answers("B3", workdir)
    assert _assert_agree(cases, answers) == 4  # the kubernetes client and the per-object path, twice
    pods = answers["200 pods / workbench"]["pods"]
    assert pods.height == 200 and pods["uid"].n_unique() == 200
    assert pods.schema["created"] == pl.Datetime("us", "UTC")
    events = answers["500 events / workbench"]["events"]
    assert events.height == 500 and events["name"].n_unique() == 500
    containers = answers["200 pods / workbench"]["containers"]
    assert 0.1 in containers["cpu_request"].to_list()  # "100m", as the recorded coredns pods request


def test_b4_logs_same_matches_facets_and_patterns_as_pandas(workdir: Path) -> None:
    cases, answers = _answers("B4", workdir)
    assert _assert_agree(cases, answers) == 3
    n = answers["search / workbench"]["matches"]["matches"][0]
    assert 0 < n < 20_000
    facets = answers["facets / workbench"]["facets"]
    levels = facets.filter(pl.col("facet") == "level")
    assert set(levels["value"]) <= {"WARN", "ERROR", "FATAL"} and levels["count"].sum() == n
    pats = answers["patterns / workbench"]["patterns"]
    assert pats["count"].sum() == 20_000  # every line belongs to one pattern


def test_b7_rollup_same_in_polars_streaming_and_duckdb(workdir: Path) -> None:
    cases, answers = _answers("B7", workdir)
    if missing_modules(("duckdb",)):
        pytest.skip("duckdb not installed")
    assert _assert_agree(cases, answers) == 1
    hourly = answers["hourly roll-up / workbench (polars streaming)"]["hourly"]
    assert hourly.height == 40 * 12 and hourly["samples"].sum() == 40 * 1440  # 40 series × 12 h × 120


@pytest.fixture(scope="module")
def b5(workdir: Path) -> ModuleType:
    """B5 set up on the tiny demo (one hour of the default demo), generated once for B5 and B6."""
    mod = benchmarks.load("B5")
    mod.setup("tiny", workdir)
    return mod


@pytest.mark.parametrize("slug", list(b5_dashboard.PAGES))
def test_b5_filter_changes_refresh_every_page_and_are_timed(b5: ModuleType, slug: str) -> None:
    """Each page is built as its app builds it, rendered, and its filters changed: every change
    is a real change of a filter the page reacts to, the page shows something new, and nothing
    is left loading."""
    snapshot = next(iter(b5._state["sets"].values()))
    out = b5.measure(slug, snapshot, n=3)
    changes = out["changes"]
    assert len(changes) == 3
    kinds = b5.PAGES[slug][2]
    assert [c["what"].split()[0] for c in changes] == [kinds[i % len(kinds)] for i in range(3)]
    # the sidebar's links follow every change: the main area must show something new (a change
    # may leave it as it was when the data are the same: the demo's logs all come from one namespace)
    assert any(c["updated"] for c in changes), f"{slug}: no filter change changed what the page shows"
    assert not [c["what"] for c in changes if c["loading"]], f"{slug}: a loading indicator stayed on"
    assert all(c["ms"] > 0 and c["cpu_ms"] >= 0 for c in changes)
    assert out["build_s"] > 0 and out["render_s"] > 0


def test_b5_hitmap_box_selection_lists_transactions(b5: ModuleType) -> None:
    snapshot = next(iter(b5._state["sets"].values()))
    out = b5.measure("application", snapshot, action=b5.SELECT, n=3)
    assert len(out["changes"]) == 3
    assert all(c["updated"] and c["what"].startswith("box (") for c in out["changes"])


def test_b5_plan_skips_values_the_scope_already_has(b5: ModuleType) -> None:
    ds = wb.open(next(iter(b5._state["sets"].values())))
    scope = SimpleNamespace(
        namespace="", workload="", start="", end="", cluster=ds.clusters[0], traced_only=False
    )
    changes = list(b5.plan(ds, ("cluster",), scope, n=2))
    assert [c for _, c in changes] == [
        {"cluster": ds.clusters[1]},
        {"cluster": ""},
    ]  # the first cluster is skipped


def test_b5_judge_gives_p50_p95_per_page_and_action(b5: ModuleType) -> None:
    """p95 is the nearest rank over every change of every run; the target is judged on the
    first (default) demo only."""
    label = next(iter(b5._state["sets"]))
    fast, slow = f"overview @ {label} / {b5.FILTER}", f"cluster @ {label} / {b5.FILTER}"
    for name, ms in ((fast, range(10, 210, 10)), (slow, [100.0] * 18 + [400.0, 900.0])):
        changes = [{"what": f"namespace {i}", "ms": float(m), "cpu_ms": float(m) / 2, "updated": True, "loading": 0}
                   for i, m in enumerate(ms)]  # fmt: skip
        b5.record(
            name, {"page": name, "action": b5.FILTER, "build_s": 1.0, "render_s": 0.5, "changes": changes}
        )
    checks = {c.target: c for c in b5.judge({fast: 3.0, slow: 9.0}, {fast: 2**30, slow: 2**30})}
    ok = checks[f"overview: {b5.FILTER} p95 < 300 ms ({label})"]
    assert ok.met is True and "p50 100 ms, p95 190 ms (CPU p95 95 ms) over 20 changes" in ok.detail
    bad = checks[f"cluster: {b5.FILTER} p95 < 300 ms ({label})"]
    assert bad.met is False and "p95 400 ms" in bad.detail and "slowest: namespace 19" in bad.detail
    assert checks[f"triage: {b5.FILTER} p95 < 300 ms ({label})"].met is None  # not measured
    assert b5_dashboard.percentile([5.0], 95) == 5.0


def test_b6_report_end_to_end_counts_the_kernel(workdir: Path) -> None:
    """The command runs in its own process; its kernel is part of the measured tree; the
    report is complete and self-contained."""
    b6 = benchmarks.load("B6")
    b6.setup("tiny", workdir)
    out = b6.report_cli(b6._state["snapshot"], b6._state["window"])
    assert out["has_summary"] and not out["external"]
    assert out["processes"] >= 2  # the CLI and the kernel papermill started
    assert out["peak_tree"] > 200 * 2**20 and out["cpu_s"] > 1
    assert 0 < out["params_s"] < out["notebook_s"] and out["html_s"] > 0 and out["other_s"] > 0
    b6.record(b6.CLI_CASE, out)
    checks = b6.judge({b6.CLI_CASE: out["wall_s"]}, {})
    assert checks[0].target == "< 30 s wall" and checks[0].met is (out["wall_s"] < 30)
    assert "notebook" in checks[0].detail and "MiB" in checks[1].detail


def test_runner_writes_report_with_agreement_and_targets(workdir: Path, tmp_path: Path) -> None:
    """The runner end to end on B2: cases in their own processes, answers compared, Markdown written."""
    res = run_benchmark("B2", scale="tiny", repeat=1, workdir=workdir, profile_missed=False)
    assert all(r.status == "ok" and len(r.times) == 1 and r.peak > 0 for r in res.cases.values())
    assert "hitmap + raster: pandas + numpy.histogram2d vs workbench: same answer" in res.agreement
    assert all(line.endswith("same answer") for line in res.agreement)
    assert all(c.met is None for c in res.checks)  # targets are judged at full scale only
    text = render([res], scale="tiny", started=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), load=((0, 0, 0), (0, 0, 0)),
                  command="python -m benchmarks --scale tiny --only B2")  # fmt: skip
    assert "| hitmap + raster / workbench (ours) |" in text
    assert "polars 2" in text.replace("polars 1", "polars 2")  # versions listed
    assert "Intel" in text or "CPU:" in text


def test_missing_engine_is_reported_not_installed() -> None:
    assert missing_modules(("polars", "no_such_engine_xyz")) == ["no_such_engine_xyz"]
    spec = benchmarks.Spec(id="BX", title="t", workload="w", compared_with="c", target="x")
    case = Case(group="g", engine="nosuch", work=lambda: None, answer=lambda r: {})
    r = CaseResult(case, status="not installed", error="nosuch not installed (uv pip install nosuch)")
    res = BenchResult("BX", SimpleNamespace(SPEC=spec, __doc__=""), "d", 0.0, {case.name: r}, [],
                      [Check("x", None, "not measured")], 1)  # fmt: skip
    text = render([res], scale="tiny", started=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), load=((0, 0, 0), (0, 0, 0)),
                  command="x")  # fmt: skip
    assert "| g / nosuch | not installed: nosuch not installed (uv pip install nosuch) |" in text


def test_unknown_benchmark_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="B1, B2, B3, B4, B5, B6, B7"):
        benchmarks.load("B9")
