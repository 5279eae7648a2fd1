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


def test_a_value_not_in_the_snapshot_is_shown_and_filters_on_it(ds: wb.Dataset) -> None:
    """As on the other pages (workbench.ui.scope.choose): a link's namespace or cluster that the
    snapshot lacks is the menu's choice, labelled, and the page shows nothing for it rather
    than every namespace; a cluster chosen afterwards drops the namespace it lacks."""
    o = Overview(ds, namespace="nowhere")
    assert o.namespace == "nowhere" and o._namespace_select.value == "nowhere"
    assert o._namespace_select.options["nowhere (0)"] == "nowhere"
    assert o._problems.value.empty and "in nowhere" in o._problem_note.object
    o.param.update(cluster="kind-b", namespace="elsewhere")  # a link naming both keeps both
    assert (o._cluster_select.value, o._namespace_select.value) == ("kind-b", "elsewhere")
    assert o._namespace_select.options == {"All namespaces": "", "shop": "shop", "elsewhere (0)": "elsewhere"}
    assert o._problems.value.empty
    o.cluster = "no-such-cluster"
    assert o._cluster_select.options["no-such-cluster (not in this snapshot)"] == "no-such-cluster"
    assert o.namespace == "" and o._namespace_select.value == ""  # the namespace went with the change
    assert o._problems.value.empty
    o._cluster_select.value = ""  # back to everything from the menu
    assert o.cluster == "" and _names(o) == sorted(overview.problem_pods(ds)["name"].to_list())
    o._namespace_select.value = "batch"
    assert o.namespace == "batch" and _names(o) == ["job-y", "pending-z"]


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
