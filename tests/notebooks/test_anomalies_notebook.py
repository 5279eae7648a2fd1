"""The anomalies notebook on one cluster and namespace around the demo's CPU throttling (papermill)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from tests.support.notebooks import run_notebook, text_outputs


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.slow
def test_anomalies_notebook_finds_the_throttled_pod(demo_snapshot: Path, tmp_path: Path) -> None:
    gt = json.loads((demo_snapshot / "ground_truth.json").read_text())
    inc = next(i for i in gt["incidents"] if i["kind"] == "cpu_throttling")
    start, end = _time(inc["start"]), _time(inc["end"])
    pad = dt.timedelta(minutes=40)
    nb = run_notebook(
        "anomalies",
        tmp_path,
        snapshot=str(demo_snapshot),
        cluster=inc["cluster"],
        namespace=inc["namespace"],
        start=_iso(start - pad),
        end=_iso(min(end + pad, _time(gt["end"]))),
    )
    text = text_outputs(nb)

    pod = inc["pods"][0]
    where = f"{inc['cluster']}/{inc['namespace']}/{pod}"
    found = re.findall(r"^Anomaly: (\S+) of (\S+): (\d\d:\d\d) → (\d\d:\d\d), peak", text, flags=re.MULTILINE)
    throttled = [f for f in found if f[0] == "container_cpu_cfs_throttled_periods_total" and f[1] == where]
    assert throttled, text
    began = dt.datetime.combine(start.date(), dt.time.fromisoformat(throttled[0][2]), tzinfo=dt.UTC)
    assert abs(began - start) <= dt.timedelta(minutes=5)  # found when it started, not later
    # the thumbnailer's usage at its limit shows as a CPU anomaly too, and only this cluster is read
    assert any(f[0] == "container_cpu_usage_seconds_total" and f[1] == where for f in found)
    assert all(f[1].startswith(f"{inc['cluster']}/") for f in found)
    # the level shift up and back down are change points of the throttling series
    shifts = re.findall(
        rf"^Change point (\d\d:\d\d): {where}/container_cpu_cfs_throttled_periods_total",
        text,
        flags=re.MULTILINE,
    )
    moments = [dt.datetime.combine(start.date(), dt.time.fromisoformat(s), tzinfo=dt.UTC) for s in shifts]
    for edge in (start, end):
        assert any(abs(m - edge) <= dt.timedelta(minutes=5) for m in moments), (edge, shifts)
