"""The anomalies page's scopes, computed or taken from the whole snapshot's metrics, and the
scores of the series it shows, kept or scored again: the same as each computed on its own."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import workbench as wb
from workbench.analyses import anomalies as an
from workbench.ui.anomalies import _KEYS, METRICS, AnomaliesPage


@pytest.fixture(scope="module")
def ds(demo_snapshot: Path) -> wb.Dataset:
    return wb.open(demo_snapshot)


def _same(got: pl.DataFrame, want: pl.DataFrame) -> None:
    """Equal rows; the order of rows that tie (two intervals of one series with one score) is
    not fixed, so both are sorted first."""
    assert_frame_equal(got.sort(pl.all()), want.sort(pl.all()))


def test_scopes_taken_from_the_whole_snapshot_equal_those_computed_alone(ds: wb.Dataset) -> None:
    whole = AnomaliesPage(ds, load=False)
    whole._detect_all()  # the whole snapshot's, kept
    assert whole._whole is not None
    pods = ds.pods().filter(pl.col("workload_kind") == "Deployment")
    ns = pods.group_by("namespace").len().sort("len", descending=True)["namespace"][0]
    workload = pods.filter(pl.col("namespace") == ns).row(0, named=True)["workload_name"]
    lo, hi = ds.window
    scopes = [
        {"namespace": ns},
        {"workload": f"Deployment/{workload}"},
        {"cluster": ds.clusters[0], "namespace": "", "workload": ""},
        {"cluster": "", "start": (lo + (hi - lo) / 3).isoformat(), "end": hi.isoformat()},  # another window
    ]
    for scope in scopes:
        whole.scope.param.update(**scope)
        alone = AnomaliesPage(ds, load=False, **{k: getattr(whole.scope, k) for k in ("cluster", "namespace",
                                                                                   "workload", "start", "end")})  # fmt: skip
        series, _, intervals, found = whole._detect_all()
        want_series, _, want_intervals, want_found = alone._detect_all()
        for kind in _KEYS:
            assert_frame_equal(series[kind], want_series[kind])
            _same(intervals[kind], want_intervals[kind])
        _same(found, want_found)
        assert found["score"].to_list() == want_found["score"].to_list()
    assert found.height > 0 and (found["kind"] == "metric").any()


def test_a_series_shown_is_scored_as_among_its_scope(ds: wb.Dataset) -> None:
    """In a window under two days the page keeps no scores: the one series shown is scored on
    its own, with the same result as the scope's scoring of every series of its metric."""
    page = AnomaliesPage(ds, load=False)
    page.refresh()
    assert page._scored["metric"] is None and not page.anomalies.is_empty()
    metric = page.anomalies.filter(pl.col("kind") == "metric").row(0, named=True)
    kind, _, rest = metric["id"].partition("|")
    keys = _KEYS[kind]
    where = dict(zip(keys, [v or None for v in rest.split("|", len(keys) - 1)], strict=True))
    mask = pl.all_horizontal(pl.col(k) == v for k, v in where.items())
    frame = page._series[kind].filter(pl.col("metric") == where["metric"])
    want = an.score(frame, keys=keys, min_scale=METRICS[where["metric"]][0]).filter(mask)
    assert want.height > 10
    assert_frame_equal(page._scores(kind, where, mask), want)
    page.series = metric["id"]
    assert page._chart_note.object.startswith(metric["series"])
