"""The pod view notebook grouped by Deployment, for one cluster and namespace, problems only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.notebooks import run_notebook, text_outputs


@pytest.mark.slow
def test_pod_view_notebook_lists_the_problem_pods_of_one_namespace(
    demo_snapshot: Path, tmp_path: Path
) -> None:
    truth = json.loads((demo_snapshot / "ground_truth.json").read_text())["incidents"]
    cluster = "gke-prod-europe-west1"
    init = next(i for i in truth if i["kind"] == "init_crash_loop" and i["cluster"] == cluster)
    nb = run_notebook("pod_view", tmp_path, snapshot=str(demo_snapshot), cluster=cluster, namespace=init["namespace"],
                      group_by="deployment", only_problems=True)  # fmt: skip
    text = text_outputs(nb)
    assert "groups by deployment" in text
    line = next(x for x in text.splitlines() if init["pods"][0] in x)
    assert line.startswith(
        f"{cluster} {init['namespace']}/{init['pods'][0]} [{init['object']['name']}]: Init:CrashLoopBackOff"
    )
    assert f"init:{init['details']['container']}=waiting:CrashLoopBackOff" in line
    assert "eks-prod-us-east-1" not in text
