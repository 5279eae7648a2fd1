"""The application notebook for one service around the demo's bad rollout (papermill, real kernel)."""

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
def test_application_notebook_shows_the_rollout_of_one_service(demo_snapshot: Path, tmp_path: Path) -> None:
    truth = json.loads((demo_snapshot / "ground_truth.json").read_text())["incidents"]
    inc = next(i for i in truth if i["kind"] == "bad_rollout")
    service = inc["object"]["name"]
    rollout = dt.datetime.fromisoformat(inc["start"].replace("Z", "+00:00"))
    end = rollout + dt.timedelta(minutes=40)
    nb = run_notebook("application", tmp_path, snapshot=str(demo_snapshot), cluster=inc["cluster"],
                      namespace=inc["namespace"], service=service, start=_iso(rollout - dt.timedelta(minutes=30)),
                      end=_iso(end), bucket="10m", change_at=inc["start"], box_start=inc["start"], box_end=_iso(end),
                      box_rt_min_ms=100.0)  # fmt: skip
    text = text_outputs(nb)

    # only the chosen service is summarised, and its error rate rose at the rollout
    summarised = re.findall(r"^([\w-]+): \d+ transactions", text, flags=re.MULTILINE)
    assert summarised == [service]
    before, after = map(
        float, re.search(rf"^{service}: error rate ([\d.]+)% → ([\d.]+)%", text, re.MULTILINE).groups()
    )
    assert after > before

    # the slowest transaction after the rollout ran in a pod of the new ReplicaSet
    opened = re.search(rf"^Trace (\w+): {service} \S+ on pod (\S+), ", text, flags=re.MULTILINE)
    assert opened is not None, text
    trace_id, pod = opened.groups()
    assert pod in inc["pods"]
    assert re.search(rf"log lines carry trace {trace_id}:", text)
    assert f"{pod} cpu_usage: mean" in text and f"{pod} memory_usage: mean" in text
    assert re.search(rf"^  {service} /\S+ on {pod}: running \d+ ms", text, flags=re.MULTILINE)
