"""Browser tests of the served dashboards: ONE real ``panel serve`` of every page in ``apps/`` on
a free loopback port, driven by Debian Chromium through Playwright.

The server is rooted at a temporary folder (``--snapshots ROOT``) where each test snapshot is
published (symlinked) under a name when a test first needs it; pages open it with
``?snapshot=NAME``. The fixtures of the page groups are thin aliases: ``server``/``insight_server``
(``app``), ``browse_server`` (``browse``), ``signals_server`` (``signals``, the server's default,
so its links need no query), the ``*_docs_server`` (``demo``: ``data/demo``, for the docs'
screenshots) are :class:`~tests.support.browser.ServedSnapshot` views of the one server, and
each ``*_page`` fixture is a page whose ``goto`` adds that snapshot to the URL.

The ``app`` snapshot is the demo (one hour) with one Warning event appended whose message holds
a ``<script>``, so the pages can be checked for HTML injection. Without the demo simulator the
small hand-made snapshot of ``tests/support/snapshots.py`` (which has such an event) is used.
``minikube`` is imported from the real minikube dump in ``realdata/`` (a second, different
snapshot for the tests of ``?snapshot=``).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from tests.support.browser import (
    REPO,
    PanelServer,
    ServedSnapshot,
    publish,
    recording_page,
    require_chromium,
    table_rows,
)
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


#: The name under which each test snapshot is served; the default snapshot (no ``?snapshot=``).
DEFAULT_NAME = "signals"


@pytest.fixture(scope="session")
def snapshots_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the one server offers snapshots from (``--snapshots``): symlinks to the test
    snapshots, added by :func:`serve_snapshot` as tests need them (the server lists it on every load)."""
    return tmp_path_factory.mktemp("served")


@pytest.fixture(scope="session")
def app_server(snapshots_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PanelServer]:
    """``panel serve apps/*.py`` on 127.0.0.1:<free port> with ``--args --snapshot
    ROOT/signals --snapshots ROOT``: every page, every test snapshot."""
    require_chromium()
    log = tmp_path_factory.mktemp("panel") / "panel.log"
    apps = sorted((REPO / "apps").glob("*.py"))
    args = ["--snapshot", str(snapshots_root / DEFAULT_NAME), "--snapshots", str(snapshots_root)]
    with PanelServer(apps, args=args, log_path=log) as srv:
        yield srv


def serve_snapshot(server: PanelServer, root: Path, name: str, snapshot: Path) -> ServedSnapshot:
    """``snapshot`` offered as ``?snapshot=<name>`` by the one ``server`` (see
    :func:`~tests.support.browser.publish`)."""
    return publish(server, root, name, snapshot, default=name == DEFAULT_NAME)


@pytest.fixture(scope="session")
def server(app_server: PanelServer, snapshots_root: Path, app_snapshot: Path) -> ServedSnapshot:
    """:func:`app_snapshot` on the one server (``?snapshot=app``)."""
    return serve_snapshot(app_server, snapshots_root, "app", app_snapshot)


@pytest.fixture
def page(browser: Any, server: ServedSnapshot) -> Iterator[Any]:
    """A fresh browser page on :func:`server`'s snapshot that records console errors, uncaught
    exceptions and requests to anywhere but the server."""
    pg = recording_page(browser, server)
    yield pg
    pg.context.close()


@pytest.fixture(scope="session")
def minikube_snapshot(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real minikube cluster of ``realdata/k8s/nri_kubernetes_k8s_1_35`` (pods, nodes,
    namespaces, services) imported as cluster ``minikube``."""
    from workbench.sources.importer import import_paths

    dump = realdata / "k8s" / "nri_kubernetes_k8s_1_35"
    out = tmp_path_factory.mktemp("minikube") / "snapshot"
    files = [dump / f for f in ("pods.yaml", "nodes.yaml", "namespaces.yaml", "services.yaml")]
    import_paths(files, out=out, cluster="minikube")
    return out


@pytest.fixture(scope="session")
def minikube_server(app_server: PanelServer, snapshots_root: Path, minikube_snapshot: Path) -> ServedSnapshot:
    """:func:`minikube_snapshot` on the one server (``?snapshot=minikube``)."""
    return serve_snapshot(app_server, snapshots_root, "minikube", minikube_snapshot)


@pytest.fixture(scope="session")
def docs_server(app_server: PanelServer, snapshots_root: Path, demo_snapshot: Path) -> ServedSnapshot:
    """The default demo (``data/demo``, what ``./run serve`` shows) on the one server
    (``?snapshot=demo``), for the docs' screenshots."""
    return serve_snapshot(app_server, snapshots_root, "demo", demo_snapshot)


def _docs_page(browser: Any, served: ServedSnapshot) -> Any:
    if os.environ.get("WORKBENCH_UPDATE_SCREENSHOTS") != "1":
        pytest.skip("set WORKBENCH_UPDATE_SCREENSHOTS=1 to remake docs/img/page-*.png")
    return recording_page(browser, served)


# -- resource browser, pod view, pending pods, manifest history ---------------------------------
#: The four object pages, whose tests use :func:`browse_server`.
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


@pytest.fixture(scope="session")
def browse_server(app_server: PanelServer, snapshots_root: Path, browse_snapshot: Path) -> ServedSnapshot:
    """:func:`browse_snapshot` on the one server (``?snapshot=browse``), for the object pages
    (:data:`BROWSE_APPS`)."""
    return serve_snapshot(app_server, snapshots_root, "browse", browse_snapshot)


@pytest.fixture(scope="session")
def browse_docs_server(docs_server: ServedSnapshot) -> ServedSnapshot:
    """The default demo for the object pages' screenshots (:func:`docs_server`)."""
    return docs_server


@pytest.fixture
def browse_page(browser: Any, browse_server: ServedSnapshot) -> Iterator[Any]:
    """A fresh page on :func:`browse_server` recording console errors and outside requests."""
    pg = recording_page(browser, browse_server)
    yield pg
    pg.context.close()


@pytest.fixture
def browse_docs_page(browser: Any, browse_docs_server: ServedSnapshot) -> Iterator[Any]:
    """A fresh page on :func:`browse_docs_server` (skipped unless ``WORKBENCH_UPDATE_SCREENSHOTS=1``)."""
    pg = _docs_page(browser, browse_docs_server)
    yield pg
    pg.context.close()


@pytest.fixture(scope="session")
def oom_pod(browse_snapshot: Path) -> dict[str, Any]:
    """The ground truth's OOM-killed pod incident (cluster, namespace, pods, details…)."""
    return _oom_incident(wb.open(browse_snapshot).ground_truth)


# -- cluster, performance, pod start, right-sizing, triage ---------------------------------------
#: The five analysis pages, whose tests use :func:`insight_server`.
INSIGHT_APPS = ("cluster", "performance", "pod_start", "right_sizing", "triage")


def incident(snapshot: Path, kind: str) -> dict[str, Any]:
    """The first ground-truth incident of ``kind`` in ``snapshot`` (skips without a ground truth)."""
    truth = wb.open(snapshot).ground_truth or {}
    found = [i for i in truth.get("incidents", []) if i["kind"] == kind]
    if not found:
        pytest.skip(f"these page tests need the demo snapshot (its ground truth names a {kind} incident)")
    return found[0]


@pytest.fixture(scope="session")
def insight_server(server: ServedSnapshot) -> ServedSnapshot:
    """:func:`app_snapshot` on the one server, for the analysis pages (:data:`INSIGHT_APPS`)."""
    return server


@pytest.fixture
def insight_page(browser: Any, insight_server: ServedSnapshot) -> Iterator[Any]:
    """A fresh page on :func:`insight_server` recording console errors and outside requests."""
    pg = recording_page(browser, insight_server)
    yield pg
    pg.context.close()


@pytest.fixture(scope="session")
def insight_docs_server(docs_server: ServedSnapshot) -> ServedSnapshot:
    """The default demo for the analysis pages' screenshots (:func:`docs_server`)."""
    return docs_server


@pytest.fixture
def insight_docs_page(browser: Any, insight_docs_server: ServedSnapshot) -> Iterator[Any]:
    """A fresh page on :func:`insight_docs_server` (skipped unless ``WORKBENCH_UPDATE_SCREENSHOTS=1``)."""
    pg = _docs_page(browser, insight_docs_server)
    yield pg
    pg.context.close()


@pytest.fixture
def read_table() -> Any:
    """:func:`~tests.support.browser.table_rows`, for the test modules
    (``read_table(page, ".wb-advice", ["workload"])``)."""
    return table_rows


@pytest.fixture
def find_incident() -> Any:
    """:func:`incident`, for the test modules (``find_incident(snapshot, "node_failure")``)."""
    return incident


# -- application, service map, log explorer, anomalies --------------------------------------------
#: The four signal pages (traces, logs, anomalies), whose tests use :func:`signals_server`.
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
    pods = ds.pods(cluster=rollout["cluster"], namespace=rollout["namespace"]).filter(
        pl.col("phase") == "Running"
    )
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


@pytest.fixture(scope="session")
def signals_server(app_server: PanelServer, snapshots_root: Path, signals_snapshot: Path) -> ServedSnapshot:
    """:func:`signals_snapshot` on the one server, for the signal pages (:data:`SIGNAL_APPS`);
    it is the server's default snapshot (no ``?snapshot=`` needed)."""
    return serve_snapshot(app_server, snapshots_root, DEFAULT_NAME, signals_snapshot)


@pytest.fixture
def signals_page(browser: Any, signals_server: ServedSnapshot) -> Iterator[Any]:
    """A fresh page on :func:`signals_server` recording console errors and outside requests."""
    pg = recording_page(browser, signals_server)
    yield pg
    pg.context.close()


@pytest.fixture(scope="session")
def signals_docs_server(docs_server: ServedSnapshot) -> ServedSnapshot:
    """The default demo for the signal pages' screenshots (:func:`docs_server`)."""
    return docs_server


@pytest.fixture
def signals_docs_page(browser: Any, signals_docs_server: ServedSnapshot) -> Iterator[Any]:
    """A fresh page on :func:`signals_docs_server` (skipped unless ``WORKBENCH_UPDATE_SCREENSHOTS=1``)."""
    pg = _docs_page(browser, signals_docs_server)
    yield pg
    pg.context.close()
