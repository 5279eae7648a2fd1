"""The service map notebook around the demo's bad rollout, for one service (papermill, real kernel)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from tests.support.notebooks import run_notebook, text_outputs


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.slow
@pytest.mark.parametrize("where", ["incident cluster", "other cluster"])
def test_service_map_names_the_edge_the_rollout_degraded(
    demo_snapshot: Path, tmp_path: Path, where: str
) -> None:
    gt = json.loads((demo_snapshot / "ground_truth.json").read_text())
    inc = next(i for i in gt["incidents"] if i["kind"] == "bad_rollout")
    cluster = (
        inc["cluster"]
        if where == "incident cluster"
        else next(c for c in gt["clusters"] if c != inc["cluster"])
    )
    service, caller = inc["object"]["name"], inc["details"]["caller_service"]
    t = dt.datetime.fromisoformat(inc["start"].replace("Z", "+00:00"))
    minutes = dt.timedelta(minutes=1)
    nb = run_notebook("service_map", tmp_path, snapshot=str(demo_snapshot), cluster=cluster, namespace=inc["namespace"],
                      service=service, start=_iso(t + 3 * minutes), end=_iso(t + 48 * minutes),
                      baseline_start=_iso(t - 48 * minutes), baseline_end=_iso(t - 3 * minutes))  # fmt: skip
    text = text_outputs(nb)

    # the map keeps the nodes that touch the chosen service only
    nodes = set(
        re.findall(r"^([\w-]+) \((?:service|database|external)\): \d+ calls", text, flags=re.MULTILINE)
    )
    assert {service, caller} <= nodes
    assert "recommendation" not in nodes and "redis" not in nodes  # neither calls nor is called by checkout
    degraded = re.findall(
        r"^Degraded edge ([\w-]+) → ([\w-]+): error rate ([\d.]+)% → ([\d.]+)%", text, re.MULTILINE
    )
    if where == "incident cluster":
        assert degraded[0][:2] == (caller, service), text
        assert float(degraded[0][3]) > float(degraded[0][2])
        # the new version spends its extra time in its own code, not waiting on its callees
        self_now, self_base = map(
            int, re.search(rf"^{service}: self (\d+) ms \(baseline (\d+) ms\)", text, re.MULTILINE).groups()
        )
        assert self_now > 5 * self_base
    else:
        assert degraded == [] and "No edge degraded" in text
