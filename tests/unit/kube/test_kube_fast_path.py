"""The fast paths of the normaliser give exactly what the reference functions give.

``pod_rows`` computes a pod's row and container rows in one pass for well-formed pods and the
table frames are built column by column; both must agree with the readable reference
(``pod_row``/``container_rows``, ``schema.conform``) on every real pod and on broken variants
of them, because users read the same table whichever path a pod took.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from workbench.errors import SchemaError
from workbench.kube import normalize
from workbench.kube._frames import columns_of, frame
from workbench.kube._podfast import fast_pod_rows
from workbench.kube.pods import container_rows, pod_row, pod_rows
from workbench.schema import conform
from workbench.sources.files import read_manifest_tree

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

#: Values a broken manifest may hold where a field is expected.
ODD_VALUES: list[Any] = [None, "", "x", 0, 3, True, 1.5, {}, [], [1], ["a"], {"a": 1}, "Always", "True",
                         "False", "Running", "Completed", "PodScheduled", "SchedulingGated", "100m", "1Gi",
                         "2024-05-01T12:00:00Z", {"terminated": {"exitCode": 0}}, {"waiting": {"reason": "X"}},
                         {"running": {}}, {"reason": "Error", "exitCode": 2}]  # fmt: skip


def _real_pods(realdata: Path) -> list[dict[str, Any]]:
    pods = [m.obj for m in read_manifest_tree(realdata / "k8s") if m.obj.get("kind") == "Pod"]
    assert len(pods) > 100  # every folder of samples has pods
    return pods


def _reference(pod: dict[str, Any]) -> tuple[Any, Any]:
    """What the reference functions give: the rows, or the type of what they raise."""
    try:
        row = pod_row(pod, cluster="c", observed_at=T0)
        return row, container_rows(pod, cluster="c", observed_at=T0)
    except (AttributeError, TypeError, ValueError, KeyError) as err:
        return type(err), str(err)


def _fast(pod: dict[str, Any]) -> tuple[Any, Any]:
    try:
        return pod_rows(pod, cluster="c", observed_at=T0)
    except (AttributeError, TypeError, ValueError, KeyError) as err:
        return type(err), str(err)


def _paths(obj: object, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield prefix + (key,)
            yield from _paths(value, prefix + (key,))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            yield prefix + (index,)
            yield from _paths(value, prefix + (index,))


_INTERESTING = ("status", "spec", "conditions", "containerStatuses", "initContainerStatuses", "state",
                "lastState", "containers", "initContainers", "resources", "metadata", "ownerReferences")  # fmt: skip


def _broken_variants(pods: list[dict[str, Any]], count: int) -> Iterator[dict[str, Any]]:
    """Pods with one to three fields (where kubectl status, reason and resources look) dropped
    or replaced by an odd value; deterministic."""
    rng = random.Random(20240501)
    for _ in range(count):
        pod = copy.deepcopy(rng.choice(pods))
        for _ in range(rng.choice((1, 1, 2, 3))):
            paths = [p for p in _paths(pod) if any(part in _INTERESTING for part in p[:-1]) or len(p) == 1]
            path = rng.choice(paths)
            parent: Any = pod
            for part in path[:-1]:
                parent = parent[part]
            if isinstance(parent, dict) and rng.random() < 0.3:
                del parent[path[-1]]
            else:
                parent[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
        yield pod


def test_every_real_pod_takes_the_fast_path_and_gets_the_reference_rows(realdata: Path) -> None:
    pods = _real_pods(realdata)
    fast = 0
    for pod in pods:
        fast += fast_pod_rows(pod, "c", T0) is not None
        assert _fast(pod) == _reference(pod), pod["metadata"].get("name")
    assert fast >= 0.9 * len(pods)  # real pods have the usual shape: the fast path is the common one


def test_broken_pods_get_the_reference_rows_or_the_same_error(realdata: Path) -> None:
    pods = _real_pods(realdata)
    outcomes = {"rows": 0, "error": 0}
    for pod in _broken_variants(pods, 1500):
        expected = _reference(pod)
        assert _fast(pod) == expected, pod
        outcomes["rows" if isinstance(expected[0], dict) else "error"] += 1
    assert outcomes["rows"] > 1000 and outcomes["error"] > 10  # both kinds of outcome were exercised


def test_duplicate_condition_types_follow_the_reference(realdata: Path) -> None:
    pod = next(p for p in _real_pods(realdata) if p["metadata"]["name"] == "e2e-container-pending")
    pending = copy.deepcopy(pod)
    # a second PodScheduled condition: the reference takes the first for times, any for gating
    pending["status"]["conditions"].append(
        {"type": "PodScheduled", "status": "True", "reason": "SchedulingGated"}
    )
    assert fast_pod_rows(pending, "c", T0) is None  # left to the reference
    row, _ = pod_rows(pending, cluster="c", observed_at=T0)
    assert row["status"] == "SchedulingGated"
    assert row["scheduling_message"] == pod_row(pod, cluster="c", observed_at=T0)["scheduling_message"]


def test_frames_built_by_column_equal_conform_of_the_rows(realdata: Path) -> None:
    reader = read_manifest_tree(realdata / "k8s")
    tables = normalize(reader, cluster="real", observed_at=T0)
    for name, table in tables.items():
        rows = table.to_dicts()
        assert_frame_equal(frame(name, columns_of(rows)), conform(name, rows))
    assert tables["pods"].height > 100 and tables["events"].height > 20


def test_a_value_that_does_not_fit_raises_the_schema_error_conform_raises() -> None:
    rows = [{"cluster": "c", "name": "e1", "count": 2}, {"cluster": "c", "name": "e2", "count": "many"}]
    with pytest.raises(SchemaError, match="column 'count'") as ours:
        frame("events", columns_of(rows))
    with pytest.raises(SchemaError, match="column 'count'") as reference:
        conform("events", rows)
    assert str(ours.value) == str(reference.value)
    naive = [{"cluster": "c", "first_time": datetime(2024, 5, 1)}]  # noqa: DTZ001 - the point of the test
    assert (
        frame("events", columns_of(naive))["first_time"].to_list()
        == conform("events", naive)["first_time"].to_list()
    )
    with pytest.raises(SchemaError, match="unexpected column"):
        frame("events", {"cluster": ["c"], "colour": ["red"]})


def test_timestamps_keep_their_instant_through_the_integer_path() -> None:
    from datetime import timedelta, timezone

    plus_two = timezone(timedelta(hours=2))
    times = [T0, None, datetime(2024, 5, 1, 14, 0, tzinfo=plus_two), datetime(1, 1, 1, tzinfo=UTC), T0]
    got = frame("events", {"cluster": ["c"] * 5, "first_time": times})["first_time"]
    assert got.to_list() == [T0, None, T0, datetime(1, 1, 1, tzinfo=UTC), T0]
    assert got.dtype == pl.Datetime("us", "UTC")
