"""Driving Debian's Chromium through Playwright, and serving Panel apps for browser tests.

Playwright's own browsers are never downloaded (``playwright install`` is neither needed nor
possible here): :func:`launch` starts ``/usr/bin/chromium``. :class:`PanelServer` runs
``panel serve`` on a free loopback port in its own process session and stops it by PID.

One server serves every test snapshot (``--snapshots DIR``); :class:`ServedSnapshot` is one of
them, and :func:`recording_page` a page whose ``goto`` opens that snapshot (adds
``?snapshot=NAME``) and that records console errors and requests to anywhere but the server.
Helpers shared by the page tests: :func:`table_rows` (a Tabulator's rows, every page of it),
:func:`page_query` (the URL query now), :func:`unescaped_text_columns` (tables that could
render cluster text as HTML).

>>> with sync_playwright() as pw, launch(pw) as browser:       # doctest: +SKIP
...     page = browser.new_page()
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "PanelServer",
    "ServedSnapshot",
    "free_port",
    "launch",
    "page_query",
    "publish",
    "recording_page",
    "require_chromium",
    "table_rows",
    "unescaped_text_columns",
]

CHROMIUM = os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]


def require_chromium() -> None:
    """Skip the calling test when Chromium or Playwright is missing (``./run setup`` installs
    both)."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip(f"{CHROMIUM} not found; install Debian's chromium (./run setup does)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


@contextmanager
def launch(playwright: Any, **options: Any) -> Iterator[Any]:
    """Launch Debian Chromium headless with the flags that work on these machines."""
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
        headless=True,
        args=list(CHROMIUM_ARGS),
        **options,
    )
    try:
        yield browser
    finally:
        browser.close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PanelServer:
    """``panel serve`` of some app files on 127.0.0.1:<free port>, as a context manager.

    The server runs in its own process session (``start_new_session``) and is stopped by its
    PID (SIGTERM to its process group, SIGKILL after a grace period). Its output goes to
    ``log_path`` so a failing test can show it.
    """

    def __init__(
        self,
        apps: Sequence[Path],
        *,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        log_path: Path,
        startup_timeout: float = 60.0,
    ) -> None:
        self.apps = [Path(a) for a in apps]
        self.args = list(args)
        self.env = dict(env or {})
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> PanelServer:
        cmd = [
            sys.executable,
            "-m",
            "panel",
            "serve",
            *map(str, self.apps),
            "--address",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--allow-websocket-origin",
            f"127.0.0.1:{self.port}",
            "--liveness",
        ]
        if self.args:
            cmd += ["--args", *self.args]
        env = {**os.environ, **self.env, "BOKEH_BROWSER": "none"}
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                cmd,
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                msg = f"panel serve exited with {self.proc.returncode}:\n{self.log()}"
                raise RuntimeError(msg)
            try:
                with urllib.request.urlopen(f"{self.url}/liveness", timeout=2):
                    return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.25)
        self.stop()
        msg = f"panel serve did not answer on {self.url} within {self.startup_timeout:.0f}s:\n{self.log()}"
        raise RuntimeError(msg)

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # its own session: the group id is its PID
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def __enter__(self) -> PanelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ServedSnapshot:
    """One snapshot of a :class:`PanelServer` serving several (``--snapshots DIR``): ``url`` and
    ``log()`` as the server's; :meth:`link` makes a URL of that server open this snapshot."""

    def __init__(self, server: PanelServer, name: str, path: Path, *, default: bool = False) -> None:
        self.server = server
        self.name = name
        self.path = path
        self.default = default

    @property
    def url(self) -> str:
        return self.server.url

    def log(self) -> str:
        """What the server printed so far."""
        return self.server.log()

    def link(self, url: str) -> str:
        """``url`` with ``snapshot=<name>`` added, if it is a page of this server without one
        (the default snapshot needs none)."""
        parts = urllib.parse.urlsplit(url)
        if self.default or not url.startswith(self.url):
            return url
        query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        if any(k == "snapshot" for k, _v in query):
            return url
        return urllib.parse.urlunsplit(
            parts._replace(query=urllib.parse.urlencode([("snapshot", self.name), *query]))
        )

    def __repr__(self) -> str:
        return f"ServedSnapshot({self.name!r} at {self.url})"


def publish(
    server: PanelServer, root: Path, name: str, snapshot: Path, *, default: bool = False
) -> ServedSnapshot:
    """Offer ``snapshot`` on ``server`` (serving ``--snapshots root``) as ``?snapshot=<name>``:
    a symlink ``root/name`` (the server lists ``root`` on every page load)."""
    link = root / name
    if not link.exists():
        link.symlink_to(Path(snapshot).resolve(), target_is_directory=True)
    return ServedSnapshot(server, name, link, default=default)


def recording_page(browser: Any, served: ServedSnapshot | PanelServer) -> Any:
    """A fresh page (own context, 1600×1200) whose ``goto`` opens ``served``'s snapshot, with
    ``console_errors`` (console errors, uncaught exceptions) and ``outside_requests``
    (requests to anywhere but the server). Close it with ``page.context.close()``."""
    context = browser.new_context(viewport={"width": 1600, "height": 1200})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.console_errors = []
    pg.outside_requests = []
    pg.on("console", lambda m: pg.console_errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.console_errors.append(f"uncaught: {e}"))
    local = (served.url, "ws://127.0.0.1", "data:", "blob:", "about:")
    pg.on("request", lambda r: None if r.url.startswith(local) else pg.outside_requests.append(r.url))
    if isinstance(served, ServedSnapshot):
        goto = pg.goto
        pg.goto = lambda url, **options: goto(served.link(url), **options)
    return pg


CELL = ".tabulator-row .tabulator-cell[tabulator-field='{field}']"


def table_rows(page: Any, table: str, fields: list[str]) -> list[dict[str, str]]:
    """The rows of the Tabulator matching the CSS selector ``table`` (every page of it) as
    {field: text}; waits for its first row."""
    loc = page.locator(table)
    loc.locator(".tabulator-row").first.wait_for()
    out: list[dict[str, str]] = []
    while True:
        columns = [[t.strip() for t in loc.locator(CELL.format(field=f)).all_inner_texts()] for f in fields]
        out += [dict(zip(fields, values, strict=True)) for values in zip(*columns, strict=True)]
        nxt = loc.locator(".tabulator-page[data-page='next']")
        if nxt.count() == 0 or nxt.is_disabled():
            return out
        nxt.click()


def page_query(page: Any) -> dict[str, list[str]]:
    """The page's URL query now (``page.url`` only follows navigations Playwright has seen)."""
    return urllib.parse.parse_qs(page.evaluate("window.location.search").lstrip("?"))


def unescaped_text_columns(view: Any) -> list[str]:
    """Text columns of the tables of a page component (``view.__panel__()``) whose formatter
    would not escape HTML (anything but ``plaintext``/``textarea``)."""
    import pandas as pd
    import panel as pn

    bad = []
    for table in view.__panel__().select(pn.widgets.Tabulator):
        for column in table.value.columns:
            series = table.value[column]
            if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
                continue
            if table.formatters.get(column) not in ("plaintext", "textarea"):
                bad.append(f"{column} ({table.css_classes})")
    return bad


def wait_for_text(page: Any, css: str, pattern: str, *, timeout: float = 60) -> str:
    """The text of the Str pane(s) ``css`` once it matches ``pattern`` (a regex), polled until
    ``timeout`` seconds; fails saying what the pane showed instead."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = " ".join(page.locator(f"{css} pre").all_inner_texts())
        if re.search(pattern, text):
            return text
        time.sleep(0.25)
    raise AssertionError(f"{css} never matched {pattern!r}; it says {text!r}")
