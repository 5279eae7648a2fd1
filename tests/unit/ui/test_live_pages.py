"""Live mode on the pages not built on :class:`~workbench.ui.live.LivePage`: each has its
``live`` controls, and a look at the snapshot after an append (as ``workbench watch`` does:
objects normalised and written with ``SnapshotWriter(mode="append")``) shows the appended data
with the page's scope and selection kept. What a refreshed page shows is checked against the
analysis of the grown snapshot or against a page opened on it afresh."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import holoviews as hv
import panel as pn
import polars as pl
import pytest

import workbench as wb
from tests.support.snapshots import T0, T1, write_small_snapshot
from workbench.analyses import overview
from workbench.kube.normalize import Normalizer
from workbench.schema import conform
from workbench.store import SnapshotWriter
from workbench.ui.anomalies import AnomaliesPage
from workbench.ui.application import ApplicationPage
from workbench.ui.live import LiveControls, LivePage
from workbench.ui.logs import LogsPage
from workbench.ui.manifests import ManifestHistory
from workbench.ui.overview import Overview
from workbench.ui.pending import PendingPods
from workbench.ui.podview import PodView
from workbench.ui.resources import ResourceBrowser
from workbench.ui.scope import SCOPE_PARAMS
from workbench.ui.servicemap import ServiceMapPage

_M = dt.timedelta(minutes=1)
LATER = T1 + _M  # when the appended objects are observed: the window grows to it


@pytest.fixture(scope="module", autouse=True)
def _bokeh() -> None:
    hv.extension("bokeh", logo=False)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return write_small_snapshot(tmp_path / "snap")


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(namespace: str, name: str, *, waiting: str | None = None, pending: bool = False) -> dict[str, Any]:
    """A pod manifest as the API gives it: running on node-1, waiting (``waiting`` reason) or
    not scheduled (``pending``: no node has room)."""
    status: dict[str, Any] = {"phase": "Pending" if pending else "Running"}
    if pending:
        status["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                 "message": "0/2 nodes are available: 2 Insufficient cpu."}]  # fmt: skip
    else:
        state = {"waiting": {"reason": waiting, "message": "back-off"}} if waiting else {"running": {}}
        status["containerStatuses"] = [{"name": "main", "ready": waiting is None, "restartCount": 3 if waiting else 0,
                                        "image": "busybox", "state": state}]  # fmt: skip
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "creationTimestamp": _iso(T1 - 10 * _M)},
        "spec": {**({} if pending else {"nodeName": "node-1"}),
                 "containers": [{"name": "main", "image": "busybox", "resources": {"requests": {"cpu": "100m"}}}]},
        "status": status,
    }  # fmt: skip


def append(path: Path, manifests: list[dict[str, Any]] = (), **tables: pl.DataFrame) -> None:  # type: ignore[assignment]
    """Append to the snapshot as a running ``workbench watch`` does: ``manifests`` observed at
    :data:`LATER` through the normaliser, and rows of other ``tables``."""
    normalizer = Normalizer(cluster="kind-a")
    for m in manifests:
        normalizer.add(m, observed_at=LATER)
    with SnapshotWriter(path, mode="append") as w:
        for table, frame in [*normalizer.tables().items(), *tables.items()]:
            if frame.height:
                w.write(table, frame)


def warning(namespace: str, pod_name: str, message: str) -> pl.DataFrame:
    return conform("events", [{
        "cluster": "kind-a", "namespace": namespace, "name": f"{pod_name}.live", "involved_kind": "Pod",
        "involved_namespace": namespace, "involved_name": pod_name, "type": "Warning", "reason": "BackOff",
        "message": message, "first_time": LATER, "last_time": LATER, "count": 1, "observed_at": LATER,
    }])  # fmt: skip


def spans(trace: str, services: list[str], start: dt.datetime) -> pl.DataFrame:
    """A trace whose SERVER spans call each other in the order of ``services``."""
    return conform("spans", [
        {"cluster": "kind-a", "trace_id": trace, "span_id": f"{trace}-{i}", "parent_id": f"{trace}-{i - 1}" if i else None,
         "service": s, "operation": "GET /", "kind": "SERVER", "start": start + i * dt.timedelta(milliseconds=10),
         "end": start + dt.timedelta(milliseconds=200), "duration_us": 200_000 - i * 10_000, "namespace": "shop",
         "pod": "web-1"}
        for i, s in enumerate(services)
    ])  # fmt: skip


def test_a_look_while_a_refresh_runs_is_skipped(path: Path) -> None:
    """A slow refresh is not stacked: a look due while it runs (the snapshot grew again
    meanwhile) does nothing, and the next look after it sees the new append."""
    ds = wb.open(path)
    inner: list[bool] = []

    def slow_refresh() -> None:
        if not inner:  # the first refresh: watch appends again before it ends, and a look falls due
            append(path, events=warning("shop", "web-1", "appended again"))
            inner.append(live.check())

    live = LiveControls(ds, slow_refresh)
    append(path, events=warning("shop", "web-1", "appended"))
    assert live.check() is True
    assert inner == [False]  # the look made during the refresh ran no second refresh
    assert live.check() is True and live.changes == 2  # the next look sees the second append
    assert live.check() is False


def test_overview(path: Path) -> None:
    page = Overview(wb.open(path), namespace="shop")
    assert "live-1" not in page._problems.value["name"].tolist()
    append(path, [pod("shop", "live-1", waiting="CrashLoopBackOff"), pod("extra", "new-ns-pod")])
    assert page.live.check() is True
    ds = wb.open(path)
    want = overview.problem_pods(ds, namespace="shop")["name"].to_list()
    assert page._problems.value["name"].tolist() == want and "live-1" in want
    assert page.namespace == "shop" and set(page._problems.value["namespace"]) == {"shop"}
    assert "extra" in page._namespace_select.options.values()  # a namespace that appeared can be chosen
    assert page._problem_note.object == f"{len(want)} problem pod(s) in shop"


def test_pod_view(path: Path) -> None:
    page = PodView(wb.open(path), namespace="shop", group_by="node")
    assert "live-1" not in page._cards.object
    append(path, [pod("shop", "live-1", waiting="CrashLoopBackOff")])
    assert page.live.check() is True
    assert "live-1" in page._cards.object
    assert (page.group_by, page.scope.namespace) == ("node", "shop")
    assert (
        page.cards()["name"].to_list()
        == PodView(wb.open(path), namespace="shop", group_by="node").cards()["name"].to_list()
    )


def test_resource_browser_keeps_the_object_and_its_tab(path: Path) -> None:
    page = ResourceBrowser(wb.open(path), namespace="shop", kind="Pod", selected="shop/web-1", tab="events")
    page._tabs.active = 2  # the events tab, opened by hand
    assert page.tab == "events"
    append(
        path,
        [pod("shop", "live-1", waiting="CrashLoopBackOff")],
        events=warning("shop", "web-1", "live warning"),
    )
    assert page.live.check() is True
    assert "live-1" in page._rows["name"].to_list()  # the table lists the new pod
    assert (page.kind, page.selected, page.tab, page._tabs.active) == ("Pod", "shop/web-1", "events", 2)
    assert page.detail is not None and "live warning" in page.detail.events["message"].to_list()
    assert page._picker.end == LATER.replace(tzinfo=None)  # the YAML's moment can be the new end


def test_service_map_keeps_the_service(path: Path) -> None:
    page = ServiceMapPage(wb.open(path), service="web")
    assert page.map.edges.is_empty()
    append(path, spans=spans("live", ["web", "cart"], T1 - 5 * _M))
    assert page.live.check() is True
    assert page.service == "web" and page._service_select.value == "web"
    edges = page.map.edges.select("caller", "callee").rows()
    assert ("web", "cart") in edges
    assert "cart" in page._service_select.options.values()


def test_application_keeps_the_box_and_the_open_trace(path: Path) -> None:
    page = ApplicationPage(wb.open(path), service="web")
    page.select_box(T0, T1 + 10 * _M, 0.001, 1e6)
    page.trace = "t1"
    before = set(page.selection["trace_id"])
    shown = page.transaction.trace.height
    assert before == {"t1"} and shown == 3
    append(path, spans=spans("live", ["web"], T1 - 5 * _M))  # a new transaction in the box
    assert page.live.check() is True
    assert page.box is not None and page.box[:2] == (T0, T1 + 10 * _M)  # the box kept
    # its transactions listed again: those of a page opened on the grown snapshot
    fresh = ApplicationPage(wb.open(path), service="web").select_box(T0, T1 + 10 * _M, 0.001, 1e6)
    assert "live" in fresh["trace_id"].to_list() and page.selection.equals(fresh)
    assert page.trace == "t1"  # the opened trace is still there: still open
    assert page.transaction.trace.height == shown and set(page.transaction.trace["trace_id"]) == {"t1"}
    assert page.transaction._note.object.startswith("Trace t1:")


def test_logs_keep_the_query(path: Path) -> None:
    page = LogsPage(wb.open(path), namespace="shop", q="boom")
    assert page.results.is_empty()
    lines = conform("logs", [{"cluster": "kind-a", "ts": T1 - i * _M, "namespace": "shop", "pod": "web-1",
                              "container": "main", "stream": "stdout", "level": "ERROR", "message": f"boom {i}"}
                             for i in range(3)])  # fmt: skip
    append(path, logs=lines)
    assert page.live.check() is True
    assert (page.q, page.scope.namespace) == ("boom", "shop")
    assert sorted(page.results["message"].to_list()) == ["boom 0", "boom 1", "boom 2"]


def test_anomalies_keep_the_series(path: Path) -> None:
    page = AnomaliesPage(wb.open(path), namespace="shop")
    series = "metric|kind-a|shop|web-1|main|container_memory_working_set_bytes"
    page.series = series
    n = page._series["metric"].height
    later = [T0 + i * _M for i in range(4, 60)]
    metrics = pl.DataFrame(
        {"cluster": "kind-a", "metric": "container_memory_working_set_bytes", "ts": later,
         "value": [1.3e8] * (len(later) - 1) + [9e9], "namespace": "shop", "pod": "web-1", "container": "main",
         "node": "node-1", "labels": None},
        schema_overrides={"ts": pl.Datetime("us", "UTC"), "labels": pl.String},
    )  # fmt: skip
    with SnapshotWriter(path, mode="append") as w:
        w.write_metrics(metrics)
    assert page.live.check() is True
    assert page.series == series and page.scope.namespace == "shop"
    assert page._series["metric"].height > n
    fresh = AnomaliesPage(wb.open(path), namespace="shop")
    assert page.anomalies.equals(fresh.anomalies)


def test_pending_pods_keep_the_selected_pod(path: Path) -> None:
    page = PendingPods(wb.open(path), namespace="batch", pod="batch/pending-z")
    assert "live-p" not in page.rows["pod"].to_list()
    append(path, [pod("batch", "live-p", pending=True)])
    assert page.live.check() is True
    assert "live-p" in page.rows["pod"].to_list()
    assert (page.pod, page.scope.namespace) == ("batch/pending-z", "batch")
    selected = page.selected()
    assert selected is not None and selected["pod"] == "pending-z"
    fresh = PendingPods(wb.open(path), namespace="batch", pod="batch/pending-z")
    assert page.rows.equals(fresh.rows)


def test_manifest_history_keeps_the_object(path: Path) -> None:
    append(path, [pod("shop", "live-1")])
    page = ManifestHistory(wb.open(path), namespace="shop", kind="Pod", selected="shop/live-1")
    assert page.revisions.height == 1
    changed = pod("shop", "live-1")
    changed["spec"]["containers"][0]["image"] = "busybox:2"
    normalizer = Normalizer(cluster="kind-a")
    normalizer.add(changed, observed_at=LATER + _M)
    with SnapshotWriter(path, mode="append") as w:
        for table, frame in normalizer.tables().items():
            if frame.height:
                w.write(table, frame)
    assert page.live.check() is True
    assert (page.kind, page.selected, page.scope.namespace) == ("Pod", "shop/live-1", "shop")
    assert page.revisions.height == 2  # the new revision, and the diff between the two
    assert "busybox:2" in page._diff.object


# -- the sidebar's choices -------------------------------------------------------------------------
class Counted(LivePage):
    """The smallest :class:`LivePage`: each refresh records the filters it ran with."""

    slug = "cluster"

    def _build(self) -> None:
        self.refreshed: list[dict[str, Any]] = []

    def sections(self) -> list[pn.viewable.Viewable]:
        return []

    def refresh(self) -> None:
        self.refreshed.append(self.scope.filters(time=True))


def sidebar_widgets(column: pn.Column) -> dict[str, Any]:
    """The widgets of a :meth:`Scope.widgets` column by label, drawn (as a served page's are:
    a drawn menu whose value is not among its options falls back to the first)."""
    column.get_root()
    return {w.label: w for w in column.objects}


def later_metrics() -> pl.DataFrame:
    """Samples of web-1's memory after the snapshot's end, up to :data:`LATER`."""
    times = [T1 + dt.timedelta(seconds=15 * i) for i in range(1, 5)]
    return pl.DataFrame(
        {"cluster": "kind-a", "metric": "container_memory_working_set_bytes", "ts": times, "value": 1.3e8,
         "namespace": "shop", "pod": "web-1", "container": "main", "node": "node-1", "labels": None},
        schema_overrides={"ts": pl.Datetime("us", "UTC"), "labels": pl.String},
    )  # fmt: skip


def test_the_sidebar_lists_what_appeared_and_keeps_the_choices(path: Path) -> None:
    """A followed page's menus list a namespace (and workload) that appeared, with the new
    counts, and its window picker the grown window (the page's was "all"), with the chosen
    namespace kept; the page refreshes once, with its filters unchanged."""
    page = Counted(wb.open(path), namespace="shop")
    widgets = sidebar_widgets(page.sidebar()[0])
    namespace, workload, picker = widgets["Namespace"], widgets["Workload"], widgets["Window (UTC)"]
    page.start()
    assert page.refreshed == [{"namespace": "shop", "start": T0, "end": T1}]
    assert "shop (8)" in namespace.options and "extra" not in namespace.options.values()
    append(
        path, [pod("extra", "new-ns-pod"), pod("shop", "live-1")], events=warning("shop", "web-1", "later")
    )
    with SnapshotWriter(path, mode="append") as w:
        w.write_metrics(later_metrics())
    assert page.live.check() is True
    assert page.refreshed == [  # once more, for the grown window, the namespace kept
        {"namespace": "shop", "start": T0, "end": T1},
        {"namespace": "shop", "start": T0, "end": LATER},
    ]
    assert namespace.options == {"All namespaces": "", "batch (3)": "batch", "extra (1)": "extra",
                                 "kube-system (1)": "kube-system", "shop (9)": "shop"}  # fmt: skip
    assert namespace.value == "shop" and page.scope.namespace == "shop"
    assert workload.options["Pod/live-1 (1)"] == "Pod/live-1" and workload.value == ""
    assert (picker.start, picker.end) == (T0.replace(tzinfo=None), LATER.replace(tzinfo=None))
    assert picker.value == (T0.replace(tzinfo=None), LATER.replace(tzinfo=None))
    assert (page.scope.start, page.scope.end) == ("", "")  # still "all": it follows the snapshot
    assert page.live.check() is False and len(page.refreshed) == 2
    # the picker's new end is the whole window, still "all"; an earlier end is a chosen window
    picker.value = (T0.replace(tzinfo=None), LATER.replace(tzinfo=None))
    assert (page.scope.start, page.scope.end) == ("", "") and len(page.refreshed) == 2
    picker.value = (T0.replace(tzinfo=None), T1.replace(tzinfo=None))
    assert (page.scope.start, page.scope.end) == (T0.isoformat(), T1.isoformat())
    assert page.refreshed[-1] == {"namespace": "shop", "start": T0, "end": T1}


def test_the_sidebar_keeps_a_value_the_snapshot_lacks_and_a_chosen_window(path: Path) -> None:
    """A page (the log explorer) on a namespace the snapshot lacks and a window of its own:
    after an append the namespace is still chosen, shown as "(0)" next to the namespace that
    appeared, and the window is kept inside the grown bounds; no filter changed."""
    start, end = T0 + 30 * _M, T1 - 30 * _M
    page = LogsPage(wb.open(path), cluster="kind-a", namespace="ghost", start=start.isoformat(),
                    end=end.isoformat())  # fmt: skip
    widgets = sidebar_widgets(page.scope.widgets())
    cluster, namespace, picker = widgets["Cluster"], widgets["Namespace"], widgets["Window (UTC)"]
    assert namespace.value == "ghost" and "ghost (0)" in namespace.options
    changes: list[str] = []
    page.scope.param.watch(lambda e: changes.append(e.name), list(SCOPE_PARAMS))
    append(path, [pod("extra", "new-ns-pod")])
    assert page.live.check() is True
    assert changes == []
    assert namespace.options == {"All namespaces": "", "batch (3)": "batch", "extra (1)": "extra",
                                 "kube-system (1)": "kube-system", "shop (6)": "shop", "ghost (0)": "ghost"}  # fmt: skip
    assert (namespace.value, page.scope.namespace) == ("ghost", "ghost")
    assert cluster.value == "kind-a" and cluster.options == {
        "All clusters": "",
        "kind-a": "kind-a",
        "kind-b": "kind-b",
    }
    assert picker.end == LATER.replace(tzinfo=None)
    assert picker.value == (start.replace(tzinfo=None), end.replace(tzinfo=None))
    assert page.search_options()["namespace"] == "ghost"


def test_a_window_open_at_its_end_follows_the_snapshot(path: Path) -> None:
    """A window with a start only (``?start=``) ends at the snapshot's end: after an append the
    picker shows it up to the new end, and the end stays unset (no filter change)."""
    start = T0 + 30 * _M
    page = Counted(wb.open(path), start=start.isoformat())
    picker = sidebar_widgets(page.scope.widgets())["Window (UTC)"]
    page.start()
    append(path, [pod("shop", "live-1")])
    assert page.live.check() is True
    assert picker.value == (start.replace(tzinfo=None), LATER.replace(tzinfo=None))
    assert (page.scope.start, page.scope.end) == (start.isoformat(), "")
    assert page.refreshed == [{"start": start, "end": T1}, {"start": start, "end": LATER}]
