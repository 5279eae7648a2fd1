"""``workbench serve``: serve every dashboard page (``apps/*.py``) with ``panel serve``.

One server offers a default snapshot (``--snapshot``) and every snapshot folder directly under
``--snapshots DIR`` (default: the default snapshot's parent folder); a page opened with
``?snapshot=NAME`` shows that one (see :mod:`workbench.ui.serving`).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import click
from rich.text import Text

import workbench
from workbench.cli._base import cli, err_console, out_console
from workbench.cli.demo import generate_demo
from workbench.errors import WorkbenchError

# The same as workbench.ui.serving's (not imported from there: importing panel makes every
# command slow to start).
ENV_SNAPSHOT = "WORKBENCH_SNAPSHOT"
ENV_SNAPSHOTS = "WORKBENCH_SNAPSHOTS"
DEFAULT_SNAPSHOT = "data/demo"

#: The script ``panel serve`` runs before serving (not imported here, for the same reason).
WARM_UP = Path(workbench.__file__).resolve().parent / "ui" / "warmup.py"

__all__ = ["WARM_UP", "base_url", "default_apps_dir", "panel_command", "serve", "snapshot_folders"]

log = logging.getLogger(__name__)


def default_apps_dir() -> Path:
    """The ``apps/`` folder of the workbench checkout (beside the ``workbench`` package)."""
    return Path(workbench.__file__).resolve().parents[1] / "apps"


def _app_files(apps: Path) -> list[Path]:
    if not apps.is_dir():
        msg = f"no apps folder at {apps}; pass the folder holding the dashboard scripts with --apps"
        raise WorkbenchError(msg)
    files = sorted(p for p in apps.glob("*.py") if not p.name.startswith("_"))
    if not files:
        msg = f"{apps} holds no app scripts (*.py); pass the right folder with --apps"
        raise WorkbenchError(msg)
    return files


def snapshot_folders(folder: Path) -> dict[str, Path]:
    """The snapshots directly under ``folder`` (name → path), sorted: sub-folders with a
    ``manifest.json``, hidden ones skipped. The same rule as
    :func:`workbench.ui.serving.snapshot_folders` (a test keeps them equal)."""
    try:
        children = sorted(folder.iterdir())
    except OSError:
        return {}
    return {c.name: c for c in children if not c.name.startswith(".") and (c / "manifest.json").is_file()}


def _is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _url_host(address: str) -> str:
    """``address`` as a URL's host (an IPv6 address in brackets: ``[::1]``)."""
    return f"[{address}]" if ":" in address else address


def base_url(address: str, port: int) -> str:
    """Where a browser on this machine opens the dashboards served on ``address:port``
    (loopback for every interface).

    >>> base_url("127.0.0.1", 5006), base_url("0.0.0.0", 8080), base_url("::1", 5006)
    ('http://127.0.0.1:5006', 'http://127.0.0.1:8080', 'http://[::1]:5006')
    """
    host = "127.0.0.1" if address in ("0.0.0.0", "::") else _url_host(address)
    return f"http://{host}:{port}"


def _check_port_free(address: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError as err:
            msg = f"cannot listen on {address}:{port} ({err.strerror}); choose another --port or --address"
            raise WorkbenchError(msg) from err


def panel_command(
    apps: Sequence[Path],
    *,
    snapshot: Path,
    snapshots: Path | None = None,
    address: str,
    port: int,
    origins: Sequence[str] = (),
    show: bool = False,
    basic_auth: str | None = None,
) -> list[str]:
    """The ``python -m panel serve`` command line serving ``apps`` on ``address:port``.

    Websocket connections are accepted from ``address:port`` (and ``localhost:port`` on a
    loopback address) plus ``origins``; the snapshots reach the apps as
    ``--args --snapshot PATH [--snapshots DIR]``. The process warms up before it serves
    (``--setup``: :mod:`workbench.ui.warmup` imports what the pages need and freezes it out of
    the garbage collector's way)."""
    allowed = [f"{_url_host(address)}:{port}"]
    if _is_loopback(address):
        allowed += [f"localhost:{port}", f"127.0.0.1:{port}"]
    elif address in ("0.0.0.0", "::"):  # every interface: the names this machine is reached by
        allowed = [
            f"{h}:{port}"
            for h in dict.fromkeys((socket.gethostname(), socket.getfqdn(), "localhost", "127.0.0.1"))
        ]
    allowed += list(origins)
    cmd = [sys.executable, "-m", "panel", "serve", *map(str, apps), "--address", address, "--port", str(port)]
    cmd += ["--setup", str(WARM_UP)]
    for origin in dict.fromkeys(allowed):
        cmd += ["--allow-websocket-origin", origin]
    if show:
        cmd.append("--show")
    if basic_auth:
        cmd += ["--basic-auth", basic_auth]
    cmd += ["--index-titles", *(f"{a.stem}={a.stem.replace('_', ' ').title()}" for a in apps)]
    cmd += ["--args", "--snapshot", str(snapshot)]
    return [*cmd, "--snapshots", str(snapshots)] if snapshots is not None else cmd


@cli.command(short_help="Serve the dashboards over a snapshot and those beside it.")
@click.option(
    "--snapshot",
    type=click.Path(path_type=Path),
    default=Path(DEFAULT_SNAPSHOT),
    show_default=True,
    help="Default snapshot folder, shown without ?snapshot= (the demo is generated first when the default is absent).",
)
@click.option(
    "--snapshots",
    "snapshots_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder whose snapshot folders pages may show with ?snapshot=NAME (default: the parent of --snapshot).",
)
@click.option(
    "--port", type=click.IntRange(1, 65535), default=5006, show_default=True, help="Port to listen on."
)
@click.option(
    "--address",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0 exposes the dashboards to the network: use --basic-auth).",
)
@click.option("--show/--no-show", default=False, show_default=True, help="Open the dashboards in a browser.")
@click.option(
    "--allow-websocket-origin",
    "origins",
    multiple=True,
    metavar="HOST[:PORT]",
    help="Another host the pages may be opened from (e.g. behind a proxy); repeatable.",
)
@click.option(
    "--basic-auth",
    default=None,
    metavar="PASSWORD|FILE",
    help="Require a password (or the users in a file of user:password lines) to open the pages.",
)
@click.option(
    "--apps",
    "apps_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder of the app scripts to serve (default: the apps/ folder beside the package).",
)
def serve(
    *,
    snapshot: Path,
    snapshots_dir: Path | None,
    port: int,
    address: str,
    show: bool,
    origins: tuple[str, ...],
    basic_auth: str | None,
    apps_dir: Path | None,
) -> None:
    """Serve the dashboards (every page in apps/, listed on the index page) over a default
    snapshot and every snapshot folder beside it: a page opened with ?snapshot=NAME shows the
    folder NAME of --snapshots (the sidebar's Snapshot menu switches).

    \b
    Examples:
      workbench serve                              # data/demo at http://127.0.0.1:5006/, and data/*
      workbench serve --snapshot data/prod --port 8080
      workbench serve --snapshot data/prod --snapshots /srv/snapshots
    """
    apps = _app_files(apps_dir or default_apps_dir())
    if snapshot == Path(DEFAULT_SNAPSHOT) and not snapshot.exists():
        err_console().print(Text(f"{snapshot} does not exist yet: generating the demo snapshot first"))
        generate_demo(snapshot)
    ds = workbench.open(snapshot)  # a clear error now rather than in every page
    _check_port_free(address, port)
    if not _is_loopback(address) and not basic_auth:
        log.warning(
            "serving on %s without --basic-auth: anyone who can reach it can read the snapshot", address
        )
    # absolute but not resolved: a symlink (data/demo -> data/demo-2026-11-02) keeps the name given
    snapshot = Path(os.path.abspath(ds.path))
    if snapshots_dir is not None and not snapshots_dir.is_dir():
        msg = f"no folder at {snapshots_dir}; pass the folder holding snapshot folders with --snapshots"
        raise WorkbenchError(msg)
    folder = (snapshots_dir or snapshot.resolve().parent).resolve()
    others = [n for n, p in snapshot_folders(folder).items() if p.resolve() != snapshot.resolve()]
    cmd = panel_command(
        apps,
        snapshot=snapshot,
        snapshots=folder,
        address=address,
        port=port,
        origins=origins,
        show=show,
        basic_auth=basic_auth,
    )
    env = {
        **os.environ,
        ENV_SNAPSHOT: str(snapshot),
        ENV_SNAPSHOTS: str(folder),
        "WORKBENCH_APPS": str(apps[0].parent.resolve()),
    }
    if basic_auth and "PANEL_COOKIE_SECRET" not in env:
        env["PANEL_COOKIE_SECRET"] = secrets.token_urlsafe(32)
    base = base_url(address, port)
    out_console().print(
        Text.assemble(("Serving ", "bold"), str(snapshot), " at ", (f"{base}/", "bold underline"))
    )
    if address in ("0.0.0.0", "::"):
        out_console().print(
            Text(f"  listening on every interface: from elsewhere, http://{socket.getfqdn()}:{port}/")
        )
    for app in apps:
        out_console().print(Text(f"  {base}/{app.stem}"))
    if others:
        out_console().print(
            Text(f"Other snapshots in {folder} (add ?snapshot=NAME to a page's URL): {', '.join(others)}")
        )
    out_console().print(Text("Press Ctrl+C to stop."))
    proc = subprocess.Popen(cmd, env=env, cwd=apps[0].parent.parent)
    # Stopped by SIGTERM (kill PID, systemd, a container's stop), pass it on to panel: it is not
    # in this process's group when that was signalled alone, and would keep serving the port.
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: proc.send_signal(signum))
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        # The terminal sent SIGINT to panel too; give it a moment, then make sure it is gone.
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait()
        out_console().print(Text("stopped"))
        return
    finally:
        signal.signal(signal.SIGTERM, previous)
    if code not in (0, -signal.SIGTERM, -signal.SIGINT):
        msg = f"panel serve exited with status {code} (see its messages above)"
        raise WorkbenchError(msg)
