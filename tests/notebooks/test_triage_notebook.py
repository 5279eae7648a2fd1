"""The triage notebook for another incident than its default: the other cluster's init container
crash loop (papermill, real kernel)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.support.notebooks import run_notebook, text_outputs


@pytest.mark.slow
def test_triage_notebook_for_another_incident_and_cluster(demo_snapshot: Path, tmp_path: Path) -> None:
    truth = json.loads((demo_snapshot / "ground_truth.json").read_text())["incidents"]
    inc = next(i for i in truth if i["kind"] == "init_crash_loop")
    start = dt.datetime.fromisoformat(inc["start"].replace("Z", "+00:00"))
    window = (start - dt.timedelta(minutes=5), start + dt.timedelta(minutes=30))
    nb = run_notebook(
        "triage",
        tmp_path,
        snapshot=str(demo_snapshot),
        cluster=inc["cluster"],
        start=window[0].isoformat(),
        end=window[1].isoformat(),
        baseline="20m",
        top=5,
    )
    text = text_outputs(nb)
    assert f"suspects in {window[0]:%Y-%m-%d %H:%M} → {window[1]:%Y-%m-%d %H:%M} UTC" in text
    assert f"against the baseline {window[0] - dt.timedelta(minutes=20):%H:%M} → {window[0]:%H:%M}" in text
    assert f"#1 Deployment/{inc['object']['name']} ({inc['namespace']})" in text
    assert f"**#1 Deployment/{inc['object']['name']}**" in text  # the explained evidence
    assert inc["details"]["container"] in text  # wait-for-db, the crashing init container
    others = [
        i["object"]["name"] for i in truth if i["cluster"] != inc["cluster"] and i["kind"] == "bad_rollout"
    ]
    assert others and all(
        f"Deployment/{name} (" not in text for name in others
    )  # the other cluster stays out
