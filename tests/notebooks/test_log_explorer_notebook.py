"""The log explorer notebook on one container's errors around the demo's bad rollout (papermill)."""

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
def test_log_explorer_finds_the_rollouts_new_error_pattern(demo_snapshot: Path, tmp_path: Path) -> None:
    truth = json.loads((demo_snapshot / "ground_truth.json").read_text())["incidents"]
    inc = next(i for i in truth if i["kind"] == "bad_rollout")
    t = dt.datetime.fromisoformat(inc["start"].replace("Z", "+00:00"))
    hour = dt.timedelta(hours=1)
    nb = run_notebook("log_explorer", tmp_path, snapshot=str(demo_snapshot), cluster=inc["cluster"],
                      namespace=inc["namespace"], container=inc["object"]["name"], levels="ERROR,FATAL",
                      start=inc["start"], end=_iso(t + hour), baseline_start=_iso(t - hour), baseline_end=inc["start"],
                      step="10m", limit=50)  # fmt: skip
    text = text_outputs(nb)

    # only ERROR lines of the checkout container: the level facet has nothing else
    assert re.findall(r"^level (\w+): \d+ lines", text, flags=re.MULTILINE) == ["ERROR"]
    # the example lines come from the new ReplicaSet's pods and carry the new error
    examples = re.findall(r"^\d\d:\d\d:\d\d (\S+) ERROR: (.*)$", text, flags=re.MULTILINE)
    assert examples and {pod for pod, _ in examples} <= set(inc["pods"])
    assert any(inc["details"]["error_message"].startswith(msg.rstrip("…")) for _, msg in examples)
    # and the pattern is new against the hour before the rollout
    new = re.search(
        r"^  new ERROR pattern, (\d+) lines \(baseline 0\), first seen [\d:]+: (.*)$", text, re.MULTILINE
    )
    assert new is not None and new.group(2) == inc["details"]["error_message"], text
