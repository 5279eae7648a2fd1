"""Driving Debian's Chromium through Playwright, and serving Panel apps for browser tests.

Playwright's own browsers are never downloaded (``playwright install`` is neither needed nor
possible here): :func:`launch` starts ``/usr/bin/chromium``. :class:`PanelServer` runs
``panel serve`` on a free loopback port in its own process session and stops it by PID.

>>> with sync_playwright() as pw, launch(pw) as browser:       # doctest: +SKIP
...     page = browser.new_page()
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
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
    "free_port",
    "launch",
    "require_chromium",
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
