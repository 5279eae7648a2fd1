"""Live mode: a page that follows its snapshot shows what ``workbench watch`` appends, without
losing the user's selection.

The first browser test serves the cluster page on a copy of the app snapshot with
``?live=true&every=1`` and a namespace selected, appends a crash-looping pod (through the
normaliser, as a watch does) and a Warning event about it, and waits for the problem-pod table to
list them while the namespace stays selected. The second does the same for a page not built on
:class:`~workbench.ui.live.LivePage`, the log explorer with a search query: appended lines that
match it are listed, the query kept. A unit test checks :meth:`LiveControls.check` itself;
``tests/unit/ui/test_live_pages.py`` checks every other page's refresh without a browser.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import shutil
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import workbench as wb
from tests.support.browser import PanelServer, ServedSnapshot, publish
from tests.support.snapshots import write_small_snapshot
from workbench.analyses import overview
from workbench.kube.normalize import Normalizer
from workbench.schema import conform
from workbench.store import SnapshotWriter
from workbench.ui.live import LiveControls

NAMESPACE = "shop"


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def append_crashing_pod(path: Path, *, namespace: str, name: str) -> str:
    """Append, as ``workbench watch`` would, a crash-looping copy of a Running pod of
    ``namespace`` (observed at the snapshot's end) and a Warning event about it; returns the
    event's message."""
    ds = wb.open(path)
    end = ds.window[1]
    assert end is not None
    pods = ds.objects(namespace=namespace).filter(pl.col("kind") == "Pod").sort("observed_at")
    running = [
        json.loads(m)
        for m in pods["manifest"].to_list()
        if json.loads(m).get("status", {}).get("phase") == "Running"
    ]
    assert running, f"no Running pod in {namespace} of {path}"
    cluster = pods.filter(pl.col("name") == running[-1]["metadata"]["name"])["cluster"][0]
    m = copy.deepcopy(running[-1])
    m["metadata"].update(
        name=name, uid=str(uuid.uuid4()), creationTimestamp=_iso(end - dt.timedelta(minutes=10))
    )
    m["metadata"].pop("resourceVersion", None)
    for c in m["status"].get("containerStatuses", []):
        c.update(ready=False, restartCount=4, started=False,
                 state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}},
                 lastState={"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": _iso(end - dt.timedelta(minutes=1)),
                                           "startedAt": _iso(end - dt.timedelta(minutes=2))}})  # fmt: skip
    normalizer = Normalizer(cluster=cluster)
    normalizer.add(m, observed_at=end)
    message = f"Back-off restarting failed container in pod {name}"
    event = conform("events", [{
        "cluster": cluster, "namespace": namespace, "name": f"{name}.live", "involved_kind": "Pod",
        "involved_namespace": namespace, "involved_name": name, "involved_uid": m["metadata"]["uid"],
        "type": "Warning", "reason": "BackOff", "message": message, "first_time": end, "last_time": end, "count": 3,
        "observed_at": end,
    }])  # fmt: skip
    with SnapshotWriter(path, mode="append") as w:
        for table, frame in normalizer.tables().items():
            if frame.height:
                w.write(table, frame)
        w.write("events", event)
    return message


# -- the component -------------------------------------------------------------------------------
def test_check_refreshes_only_when_the_snapshot_changed(tmp_path: Path) -> None:
    path = write_small_snapshot(tmp_path / "snap")
    ds = wb.open(path)
    calls: list[int] = []
    live = LiveControls(ds, lambda: calls.append(1), interval=5)
    assert live.check() is False and calls == []  # nothing appended yet
    problems = overview.problem_pods(ds, namespace=None)
    event = problems.row(0, named=True)
    with SnapshotWriter(path, mode="append") as w:
        w.write("events", conform("events", [{
            "cluster": event["cluster"], "namespace": event["namespace"], "name": "x.live", "involved_kind": "Pod",
            "involved_namespace": event["namespace"], "involved_name": event["name"], "type": "Warning",
            "reason": "Probe", "message": "appended", "observed_at": ds.window[1], "last_time": ds.window[1],
        }]))  # fmt: skip
    assert live.check() is True and calls == [1]  # the page refreshed once…
    assert "appended" in overview.problem_pods(ds).filter(pl.col("name") == event["name"])["last_warning"][0]
    assert live.check() is False and calls == [1]  # …and not again while nothing changes


# -- in the browser ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def live_snapshot(app_snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the app snapshot that this module appends to."""
    path = tmp_path_factory.mktemp("live") / "snapshot"
    shutil.copytree(app_snapshot, path)
    return path


@pytest.fixture(scope="module")
def live_server(app_server: PanelServer, snapshots_root: Path, live_snapshot: Path) -> ServedSnapshot:
    """:func:`live_snapshot` on the one server of the app tests (``?snapshot=live``)."""
    return publish(app_server, snapshots_root, "live", live_snapshot)


@pytest.mark.browser
@pytest.mark.slow
def test_a_followed_page_shows_appended_problems_and_keeps_the_selection(
    browser: Any, live_server: PanelServer, live_snapshot: Path, read_table: Any
) -> None:
    page = browser.new_page(viewport={"width": 1600, "height": 1200})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    try:
        page.goto(
            live_server.link(
                f"{live_server.url}/cluster?{urllib.parse.urlencode({'namespace': NAMESPACE, 'live': 'true', 'every': 1})}"
            )
        )
        before = read_table(page, ".wb-problem-pods", ["name", "namespace"])
        assert before and {r["namespace"] for r in before} == {NAMESPACE}
        page.locator(".wb-live").get_by_text("following").wait_for()  # the link turned following on
        menu = page.locator("select", has=page.locator("option", has_text=f"{NAMESPACE} ("))
        chosen = menu.locator("option:checked")
        label = re.fullmatch(rf"{NAMESPACE} \((\d+)\)", chosen.inner_text().strip())
        assert label, chosen.inner_text()

        name = f"live-crasher-{uuid.uuid4().hex[:5]}"
        message = append_crashing_pod(live_snapshot, namespace=NAMESPACE, name=name)
        cell = page.locator(".wb-problem-pods .tabulator-cell[tabulator-field='name']", has_text=name)
        cell.first.wait_for(timeout=20_000)  # within a few intervals
        rows = read_table(page, ".wb-problem-pods", ["name", "namespace", "status", "last_warning"])
        mine = [r for r in rows if r["name"] == name]
        assert mine and mine[0]["status"] == "CrashLoopBackOff"
        assert message in mine[0]["last_warning"]
        assert {r["namespace"] for r in rows} == {NAMESPACE}  # the selection survived the refresh
        # the sidebar counts the new pod in the namespace, still chosen
        grown = rf"^{NAMESPACE} \({int(label.group(1)) + 1}\)$"
        menu.locator("option:checked", has_text=re.compile(grown)).wait_for(state="attached", timeout=10_000)
        assert menu.input_value().startswith(f"{NAMESPACE} (")
        query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
        assert query["namespace"] == [NAMESPACE] and query["live"] == ["true"]
        assert errors == [], live_server.log()
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.slow
def test_a_followed_log_explorer_shows_appended_lines_and_keeps_the_query(
    browser: Any, live_server: PanelServer, live_snapshot: Path, read_table: Any
) -> None:
    """One of the pages not built on LivePage: the log explorer with a query and a namespace,
    following (``?live=true&every=1``), lists the lines appended that match the query."""
    marker = f"live-marker-{uuid.uuid4().hex[:6]}"
    page = browser.new_page(viewport={"width": 1600, "height": 1200})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    try:
        query = {"namespace": NAMESPACE, "q": marker, "live": "true", "every": 1}
        page.goto(live_server.link(f"{live_server.url}/logs?{urllib.parse.urlencode(query)}"))
        page.locator(".wb-logs-note", has_text="No log line matches").wait_for(timeout=90_000)
        page.locator(".wb-live").get_by_text("following").wait_for()  # the link turned following on

        ds = wb.open(live_snapshot)
        end = ds.window[1]
        assert end is not None
        pod = (
            ds.pods(namespace=NAMESPACE).filter(pl.col("phase") == "Running").sort("name").row(0, named=True)
        )
        lines = conform("logs", [{
            "cluster": pod["cluster"], "ts": end - dt.timedelta(seconds=10 * i), "namespace": NAMESPACE,
            "pod": pod["name"], "container": "main", "stream": "stdout", "level": "ERROR",
            "message": f"{marker} appended {i}",
        } for i in range(3)])  # fmt: skip
        with SnapshotWriter(live_snapshot, mode="append") as w:  # what a running `workbench watch` does
            w.write("logs", lines)
        cell = page.locator(".wb-log-lines .tabulator-cell[tabulator-field='preview']", has_text=marker)
        cell.first.wait_for(timeout=20_000)  # within a few intervals
        rows = read_table(page, ".wb-log-lines", ["namespace", "preview"])
        assert sorted(r["preview"] for r in rows) == [f"{marker} appended {i}" for i in range(3)]
        assert {r["namespace"] for r in rows} == {NAMESPACE}  # the scope survived the refresh
        assert page.get_by_placeholder("text…").input_value() == marker  # and the query
        url_query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
        assert url_query["q"] == [marker] and url_query["live"] == ["true"]
        assert errors == [], live_server.log()
    finally:
        page.close()
