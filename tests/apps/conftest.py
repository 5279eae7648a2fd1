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
from tests.support.browser import REPO, PanelServer, launch, require_chromium
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


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw, launch(pw) as b:
        yield b


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
