"""Browser tests of the served dashboards: a real ``panel serve`` on a free loopback port and
Debian Chromium driven by Playwright.

The snapshot is the demo (one hour) with one Warning event appended whose message holds a
``<script>``, so the pages can be checked for HTML injection. Without the demo simulator the
small hand-made snapshot of ``tests/support/snapshots.py`` (which has such an event) is used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from tests.support.browser import REPO, PanelServer, require_chromium
from tests.support.snapshots import XSS, write_small_snapshot
from workbench.analyses import overview
from workbench.schema import conform
from workbench.store import SnapshotWriter


def _demo_generate() -> Any:
    try:
        from workbench.sources.demo import generate
    except ImportError:
        return None
    return generate


def _add_script_event(path: Path) -> None:
    """Append a Warning event about the first problem pod whose message holds :data:`XSS`,
    newest of all, so it becomes that pod's ``last_warning``."""
    ds = wb.open(path)
    pod = overview.problem_pods(ds).row(0, named=True)
    pods = ds.pods(cluster=pod["cluster"], namespace=pod["namespace"], pod=pod["name"])
    end = ds.window[1] or dt.datetime.now(dt.UTC)
    with SnapshotWriter(path, mode="append") as w:
        w.write(
            "events",
            conform(
                "events",
                [
                    {
                        "cluster": pod["cluster"],
                        "namespace": pod["namespace"],
                        "name": f"{pod['name']}.xss-test",
                        "involved_kind": "Pod",
                        "involved_namespace": pod["namespace"],
                        "involved_name": pod["name"],
                        "involved_uid": pods["uid"][0],
                        "type": "Warning",
                        "reason": "Injected",
                        "message": f"probe said {XSS}",
                        "first_time": end,
                        "last_time": end,
                        "count": 1,
                        "observed_at": end,
                    }
                ],
            ),
        )


@pytest.fixture(scope="session")
def app_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The snapshot the served apps show (see the module docstring)."""
    root = tmp_path_factory.mktemp("apps")
    generate = _demo_generate()
    if generate is None:
        return write_small_snapshot(root / "small")
    path = generate(root / "demo", hours=1, seed=0)
    _add_script_event(path)
    return Path(path)


@pytest.fixture(scope="session")
def server(app_snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PanelServer]:
    """``panel serve apps/*.py`` on 127.0.0.1:<free port> with the snapshot passed as
    ``--args --snapshot``."""
    require_chromium()
    log = tmp_path_factory.mktemp("panel") / "panel.log"
    apps = sorted((REPO / "apps").glob("*.py"))
    with PanelServer(apps, args=["--snapshot", str(app_snapshot)], log_path=log) as srv:
        yield srv


@pytest.fixture
def page(browser: Any, server: PanelServer) -> Iterator[Any]:
    """A fresh browser page that records console errors, uncaught exceptions and requests
    to anywhere but the server."""
    context = browser.new_context(viewport={"width": 1600, "height": 1200})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.console_errors = []  # type: ignore[attr-defined]
    pg.outside_requests = []  # type: ignore[attr-defined]
    pg.on("console", lambda m: pg.console_errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.console_errors.append(f"uncaught: {e}"))

    def _request(req: Any) -> None:
        if not req.url.startswith((server.url, "ws://127.0.0.1", "data:", "blob:", "about:")):
            pg.outside_requests.append(req.url)

    pg.on("request", _request)
    yield pg
    context.close()


# -- resource browser, pod view, pending pods, manifest history ---------------------------------
#: The four object pages, served together by :func:`browse_server`.
BROWSE_APPS = ("resources", "pod_view", "pending_pods", "manifest_history")
#: The annotation the browse snapshot adds to the ground-truth OOM-killed pod.
XSS_ANNOTATION = "workbench.test/note"


def _oom_incident(ground_truth: dict[str, Any] | None) -> dict[str, Any]:
    incidents = [i for i in (ground_truth or {}).get("incidents", []) if i["kind"] == "oom_killed"]
    if not incidents:
        pytest.skip("these page tests need the demo snapshot (its ground truth names an OOM-killed pod)")
    return incidents[0]


@pytest.fixture(scope="session")
def browse_snapshot(app_snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of :func:`app_snapshot` where the ground truth's OOM-killed pod has one more
    revision, observed at the window's end, whose annotation :data:`XSS_ANNOTATION` holds
    :data:`~tests.support.snapshots.XSS`; appended through the normaliser as a watch would."""
    import json
    import shutil

    import polars as pl

    from workbench.kube.normalize import Normalizer

    path = tmp_path_factory.mktemp("browse") / "snapshot"
    shutil.copytree(app_snapshot, path)
    ds = wb.open(path)
    oom = _oom_incident(ds.ground_truth)
    revs = (
        ds.objects(cluster=oom["cluster"], namespace=oom["namespace"])
        .filter(pl.col("kind") == "Pod", pl.col("name") == oom["pods"][0])
        .sort("observed_at")
    )
    assert revs.height, f"no revision of pod {oom['pods'][0]} in {app_snapshot}"
    manifest = json.loads(revs["manifest"][-1])
    manifest["metadata"].setdefault("annotations", {})[XSS_ANNOTATION] = XSS
    end = ds.window[1]
    assert end is not None and end > revs["observed_at"][-1]
    normalizer = Normalizer(cluster=oom["cluster"])
    normalizer.add(manifest, observed_at=end)
    with SnapshotWriter(path, mode="append") as w:
        for table, frame in normalizer.tables().items():
            if frame.height:
                w.write(table, frame)
    return path


def _serve(snapshot: Path, log: Path) -> PanelServer:
    return PanelServer(
        [REPO / "apps" / f"{slug}.py" for slug in BROWSE_APPS],
        args=["--snapshot", str(snapshot)],
        log_path=log,
    )


@pytest.fixture(scope="session")
def browse_server(browse_snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PanelServer]:
    """The four object pages (:data:`BROWSE_APPS`) served on :func:`browse_snapshot`."""
    require_chromium()
    with _serve(browse_snapshot, tmp_path_factory.mktemp("panel-browse") / "panel.log") as srv:
        yield srv


@pytest.fixture(scope="session")
def browse_docs_server(
    demo_snapshot: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PanelServer]:
    """The four object pages served on the default demo (``data/demo``), for the docs' screenshots."""
    require_chromium()
    snapshot = demo_snapshot.relative_to(REPO) if demo_snapshot.is_relative_to(REPO) else demo_snapshot
    with _serve(snapshot, tmp_path_factory.mktemp("panel-docs") / "panel.log") as srv:
        yield srv


def _recording_page(browser: Any, server: PanelServer) -> Any:
    context = browser.new_context(viewport={"width": 1600, "height": 1200})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.console_errors = []  # type: ignore[attr-defined]
    pg.outside_requests = []  # type: ignore[attr-defined]
    pg.on("console", lambda m: pg.console_errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.console_errors.append(f"uncaught: {e}"))
    pg.on("request", lambda r: None if r.url.startswith((server.url, "ws://127.0.0.1", "data:", "blob:", "about:"))
          else pg.outside_requests.append(r.url))  # fmt: skip
    return pg


@pytest.fixture
def browse_page(browser: Any, browse_server: PanelServer) -> Iterator[Any]:
    """A fresh page on :func:`browse_server` recording console errors and outside requests."""
    pg = _recording_page(browser, browse_server)
    yield pg
    pg.context.close()


@pytest.fixture
def browse_docs_page(browser: Any, browse_docs_server: PanelServer) -> Iterator[Any]:
    """A fresh page on :func:`browse_docs_server` (skipped unless ``WORKBENCH_UPDATE_SCREENSHOTS=1``)."""
    import os

    if os.environ.get("WORKBENCH_UPDATE_SCREENSHOTS") != "1":
        pytest.skip("set WORKBENCH_UPDATE_SCREENSHOTS=1 to remake docs/img/page-*.png")
    pg = _recording_page(browser, browse_docs_server)
    yield pg
    pg.context.close()


@pytest.fixture(scope="session")
def oom_pod(browse_snapshot: Path) -> dict[str, Any]:
    """The ground truth's OOM-killed pod incident (cluster, namespace, pods, details…)."""
    return _oom_incident(wb.open(browse_snapshot).ground_truth)


# -- cluster, performance, pod start, right-sizing, triage ---------------------------------------
#: The five analysis pages, served together by :func:`insight_server`.
INSIGHT_APPS = ("cluster", "performance", "pod_start", "right_sizing", "triage")


def serve_insight(snapshot: Path, log: Path) -> PanelServer:
    """:data:`INSIGHT_APPS` served on ``snapshot`` (not started)."""
    return PanelServer([REPO / "apps" / f"{slug}.py" for slug in INSIGHT_APPS], args=["--snapshot", str(snapshot)], log_path=log)


def incident(snapshot: Path, kind: str) -> dict[str, Any]:
    """The first ground-truth incident of ``kind`` in ``snapshot`` (skips without a ground truth)."""
    truth = wb.open(snapshot).ground_truth or {}
    found = [i for i in truth.get("incidents", []) if i["kind"] == kind]
    if not found:
        pytest.skip(f"these page tests need the demo snapshot (its ground truth names a {kind} incident)")
    return found[0]


@pytest.fixture(scope="session")
def insight_server(app_snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PanelServer]:
    """The five analysis pages (:data:`INSIGHT_APPS`) served on :func:`app_snapshot`."""
    require_chromium()
    with serve_insight(app_snapshot, tmp_path_factory.mktemp("panel-insight") / "panel.log") as srv:
        yield srv


@pytest.fixture
def insight_page(browser: Any, insight_server: PanelServer) -> Iterator[Any]:
    """A fresh page on :func:`insight_server` recording console errors and outside requests."""
    pg = _recording_page(browser, insight_server)
    yield pg
    pg.context.close()


@pytest.fixture(scope="session")
def insight_docs_server(demo_snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PanelServer]:
    """The five analysis pages served on the default demo (``data/demo``), for the docs' screenshots."""
    require_chromium()
    snapshot = demo_snapshot.relative_to(REPO) if demo_snapshot.is_relative_to(REPO) else demo_snapshot
    with serve_insight(snapshot, tmp_path_factory.mktemp("panel-insight-docs") / "panel.log") as srv:
        yield srv


@pytest.fixture
def insight_docs_page(browser: Any, insight_docs_server: PanelServer) -> Iterator[Any]:
    """A fresh page on :func:`insight_docs_server` (skipped unless ``WORKBENCH_UPDATE_SCREENSHOTS=1``)."""
    import os

    if os.environ.get("WORKBENCH_UPDATE_SCREENSHOTS") != "1":
        pytest.skip("set WORKBENCH_UPDATE_SCREENSHOTS=1 to remake docs/img/page-*.png")
    pg = _recording_page(browser, insight_docs_server)
    yield pg
    pg.context.close()


def table_rows(page: Any, table: str, fields: list[str]) -> list[dict[str, str]]:
    """The rows of the Tabulator matching the CSS selector ``table`` (every page of it) as
    {field: text}; waits for its first row."""
    cell = ".tabulator-row .tabulator-cell[tabulator-field='{field}']"
    loc = page.locator(table)
    loc.locator(".tabulator-row").first.wait_for()
    out: list[dict[str, str]] = []
    while True:
        columns = [[t.strip() for t in loc.locator(cell.format(field=f)).all_inner_texts()] for f in fields]
        out += [dict(zip(fields, values, strict=True)) for values in zip(*columns, strict=True)]
        nxt = loc.locator(".tabulator-page[data-page='next']")
        if nxt.count() == 0 or nxt.is_disabled():
            return out
        nxt.click()


@pytest.fixture
def read_table() -> Any:
    """:func:`table_rows`, for the test modules (``read_table(page, ".wb-advice", ["workload"])``)."""
    return table_rows


@pytest.fixture
def find_incident() -> Any:
    """:func:`incident`, for the test modules (``find_incident(snapshot, "node_failure")``)."""
    return incident


# -- application, service map, log explorer, anomalies --------------------------------------------
#: The four signal pages (traces, logs, anomalies), served together by :func:`signals_server`.
SIGNAL_APPS = ("application", "service_map", "logs", "anomalies")
#: The message of the log line :func:`signals_snapshot` appends (it holds a ``<script>``).
XSS_LOG = f"user agent was {XSS}"


@pytest.fixture(scope="session")
def signals_snapshot(app_snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of :func:`app_snapshot` with one more log line, a minute before the window's end,
    from the first running pod of the bad rollout's namespace, whose message is :data:`XSS_LOG`."""
    import shutil

    import polars as pl

    path = tmp_path_factory.mktemp("signals") / "snapshot"
    shutil.copytree(app_snapshot, path)
    ds = wb.open(path)
    rollout = incident(path, "bad_rollout")
    pods = ds.pods(cluster=rollout["cluster"], namespace=rollout["namespace"]).filter(pl.col("phase") == "Running")
    pod = pods.sort("name").row(0, named=True)
    end = ds.window[1]
    assert end is not None
    line = {
        "cluster": pod["cluster"], "ts": end - dt.timedelta(minutes=1), "namespace": pod["namespace"],
        "pod": pod["name"], "container": pod["workload_name"] or pod["name"], "stream": "stdout",
        "level": "WARN", "message": XSS_LOG, "fields": '{"note": "<b>bold</b>"}', "truncated": False,
    }  # fmt: skip
    with SnapshotWriter(path, mode="append") as w:
        w.write("logs", conform("logs", [line]))
    return path


def serve_signals(snapshot: Path, log: Path) -> PanelServer:
    """:data:`SIGNAL_APPS` served on ``snapshot`` (not started)."""
    return PanelServer([REPO / "apps" / f"{s}.py" for s in SIGNAL_APPS], args=["--snapshot", str(snapshot)], log_path=log)


@pytest.fixture(scope="session")
def signals_server(signals_snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PanelServer]:
    """The four signal pages (:data:`SIGNAL_APPS`) served on :func:`signals_snapshot`."""
    require_chromium()
    with serve_signals(signals_snapshot, tmp_path_factory.mktemp("panel-signals") / "panel.log") as srv:
        yield srv


@pytest.fixture
def signals_page(browser: Any, signals_server: PanelServer) -> Iterator[Any]:
    """A fresh page on :func:`signals_server` recording console errors and outside requests."""
    pg = _recording_page(browser, signals_server)
    yield pg
    pg.context.close()


@pytest.fixture(scope="session")
def signals_docs_server(demo_snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PanelServer]:
    """The four signal pages served on the default demo (``data/demo``), for the docs' screenshots."""
    require_chromium()
    snapshot = demo_snapshot.relative_to(REPO) if demo_snapshot.is_relative_to(REPO) else demo_snapshot
    with serve_signals(snapshot, tmp_path_factory.mktemp("panel-signals-docs") / "panel.log") as srv:
        yield srv


@pytest.fixture
def signals_docs_page(browser: Any, signals_docs_server: PanelServer) -> Iterator[Any]:
    """A fresh page on :func:`signals_docs_server` (skipped unless ``WORKBENCH_UPDATE_SCREENSHOTS=1``)."""
    import os

    if os.environ.get("WORKBENCH_UPDATE_SCREENSHOTS") != "1":
        pytest.skip("set WORKBENCH_UPDATE_SCREENSHOTS=1 to remake docs/img/page-*.png")
    pg = _recording_page(browser, signals_docs_server)
    yield pg
    pg.context.close()
