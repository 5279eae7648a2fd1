"""The post-mortem notebook on another window and scope than its default: the OOM kills of the
demo's cart pod, one cluster and namespace (papermill, real kernel)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from tests.support.notebooks import run_notebook, text_outputs


@pytest.mark.slow
def test_post_mortem_of_an_oom_kill_in_one_namespace(demo_snapshot: Path, tmp_path: Path) -> None:
    truth = json.loads((demo_snapshot / "ground_truth.json").read_text())["incidents"]
    [oom] = [i for i in truth if i["kind"] == "oom_killed"]
    kill = dt.datetime.fromisoformat(oom["details"]["kills"][0])
    start, end = kill - dt.timedelta(minutes=10), kill + dt.timedelta(minutes=20)
    nb = run_notebook("post_mortem", tmp_path, snapshot=str(demo_snapshot), start=start.isoformat(),
                      end=end.isoformat(), cluster=oom["cluster"], namespace=oom["namespace"])  # fmt: skip
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    text = text_outputs(nb)
    assert f"Cluster: {oom['cluster']} · namespace: {oom['namespace']}" in text
    assert f"Window {start:%Y-%m-%d %H:%M:%S} UTC → {end:%Y-%m-%d %H:%M:%S} UTC (30 min)" in text
    # the summary: the OOM-killed pod (or its Deployment) is the most likely cause, seen at the kill
    names = "|".join(re.escape(n) for n in (*oom["pods"], oom["object"]["name"]))
    m = re.search(
        rf"^({names}) \((Pod|Deployment), {oom['namespace']}\) is the most likely cause[^\n]*OOM", text, re.M
    )
    assert m, text[-3000:]
    assert f"{kill:%H:%M:%S} oom killed" in text.lower().replace("oom_killed", "oom killed")
    # nothing from the other cluster or other namespaces
    others = {i["cluster"] for i in truth} - {oom["cluster"]}
    assert not any(c in text for c in others)
    assert "Deployment/batch-scorer" not in text
