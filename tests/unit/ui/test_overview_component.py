"""The Overview component without a browser: what it shows follows its cluster/namespace."""

from __future__ import annotations

from pathlib import Path

import panel as pn
import pytest

import workbench as wb
from tests.support.snapshots import write_small_snapshot
from workbench.analyses import overview
from workbench.ui import Overview
from workbench.ui.common import format_age, format_bytes, format_cores, snapshot_argument


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    return wb.open(write_small_snapshot(tmp_path_factory.mktemp("ui") / "small"))


def _names(o: Overview) -> list[str]:
    return sorted(o._problems.value["name"].tolist())


def test_table_follows_cluster_and_namespace(ds: wb.Dataset) -> None:
    o = Overview(ds)
    assert _names(o) == sorted(overview.problem_pods(ds)["name"].to_list())
    o.namespace = "batch"
    assert _names(o) == ["job-y", "pending-z"]
    o.cluster = "kind-b"  # batch is not a namespace of kind-b: back to all namespaces
    assert o.namespace == ""
    assert o._namespace_select.options == {"All namespaces": "", "shop": "shop"}
    assert _names(o) == ["img-b"]


def test_starts_with_the_given_scope_and_renders_inline(ds: wb.Dataset) -> None:
    o = Overview(ds.path, cluster="kind-a", namespace="shop")
    assert _names(o) == ["api-2", "cache-4", "cart-0"]
    root = pn.panel(o).get_root()  # what JupyterLab displays
    assert root is not None
    assert o._incident_table.value["id"].tolist() == ["inc-1"]  # incidents follow the scope


def test_an_empty_snapshot_renders(tmp_path: Path) -> None:
    from workbench.store import SnapshotWriter

    with SnapshotWriter(tmp_path / "empty") as w:
        w.add_source("test")
    o = Overview(tmp_path / "empty")
    assert o._problems.value.empty
    assert pn.panel(o).get_root() is not None


def test_a_value_not_in_the_snapshot_is_refused(ds: wb.Dataset) -> None:
    o = Overview(ds)
    with pytest.raises(ValueError, match="nowhere"):
        o.namespace = "nowhere"


def test_snapshot_argument_order(tmp_path: Path) -> None:
    assert snapshot_argument(["--snapshot", "a"], {"WORKBENCH_SNAPSHOT": "b"}) == Path("a")
    assert snapshot_argument([], {"WORKBENCH_SNAPSHOT": "b"}) == Path("b")
    assert snapshot_argument(["--other", "x"], {}) == Path("data/demo")


def test_units() -> None:
    assert (format_cores(0.25), format_cores(2.0)) == ("250m", "2 cores")
    assert (format_bytes(256 * 2**20), format_bytes(1.5 * 2**30)) == ("256 MiB", "1.5 GiB")
    import datetime as dt

    assert format_age(dt.timedelta(days=3, hours=7)) == "3d7h"
    assert format_age(dt.timedelta(seconds=45)) == "45s"
