"""The ``workbench`` command line: help, info, validate, demo and serve."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from tests.support.browser import free_port
from tests.support.snapshots import write_small_snapshot
from workbench.cli import cli, main
from workbench.cli import serve as serve_module
from workbench.errors import SnapshotError
from workbench.store import open_snapshot

COMMANDS = {"demo", "info", "validate", "serve", "collect", "watch", "import", "report"}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_small_snapshot(tmp_path_factory.mktemp("cli") / "small")


def _has_demo() -> bool:
    try:
        from workbench.sources import demo
    except ImportError:
        return False
    return hasattr(demo, "generate")


def test_every_command_has_help(runner: CliRunner) -> None:
    assert set(cli.commands) == COMMANDS  # no placeholder commands
    top = runner.invoke(cli, ["--help"])
    assert top.exit_code == 0
    for name in COMMANDS:
        assert name in top.output
        res = runner.invoke(cli, [name, "--help"])
        assert res.exit_code == 0, res.output
        assert f"Usage: workbench {name}" in res.output
        assert runner.invoke(cli, [name, "-h"]).output == res.output


def test_the_command_list_names_each_command_in_one_whole_line(runner: CliRunner) -> None:
    """``workbench --help`` lists every command with its short help whole (not cut off with
    "..." as click cuts a long first sentence) on one line, and points at each command's help."""
    top = runner.invoke(cli, ["--help"], terminal_width=80)
    lines = top.output.splitlines()
    listed = lines[lines.index("Commands:") + 1 :]
    assert [line.split()[0] for line in listed] == sorted(COMMANDS)
    for line in listed:
        name, text = line.split(maxsplit=1)
        assert text == cli.commands[name].short_help and not text.endswith("..."), line
        assert len(line) <= 80
    assert "Run `workbench COMMAND --help`" in top.output


def test_info_json_reports_tables_clusters_window_and_incidents(runner: CliRunner, small: Path) -> None:
    res = runner.invoke(cli, ["info", str(small), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["clusters"] == ["kind-a", "kind-b"]
    assert info["window"] == {"start": "2026-11-02T10:00:00+00:00", "end": "2026-11-02T12:00:00+00:00"}
    rows = {t: e["rows"] for t, e in info["tables"].items()}
    assert rows == {
        "pods": 12,
        "containers": 8,
        "nodes": 3,
        "events": 8,
        "series": 2,
        "metrics": 6,
        "spans": 3,
        "logs": 7,
    }
    assert info["tables"]["logs"]["files"] == 2  # one per cluster partition
    assert [i["id"] for i in info["incidents"]] == ["inc-1", "inc-2"]
    assert info["warnings"][0]["what"] == "pods/secret-ns"
    assert info["sources"][0]["name"] == "test"


def test_info_prints_tables(runner: CliRunner, small: Path) -> None:
    res = runner.invoke(cli, ["info", str(small)], env={"COLUMNS": "160"})
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert any("pods" in line and " 12 " in line for line in lines)
    assert any("Incidents (2" in line for line in lines)
    assert any("inc-1" in line and "crashloop" in line and "Pod/cart-0" in line for line in lines)
    assert any("403 listing pods in namespace 'secret-ns'" in line for line in lines)


def test_info_without_ground_truth_has_no_incidents(runner: CliRunner, tmp_path: Path) -> None:
    snap = write_small_snapshot(tmp_path / "s", ground_truth=False)
    res = runner.invoke(cli, ["info", str(snap), "--json"])
    assert json.loads(res.output)["incidents"] is None
    assert "Incidents" not in runner.invoke(cli, ["info", str(snap)]).output


def test_errors_are_one_line_without_traceback(runner: CliRunner, tmp_path: Path) -> None:
    res = runner.invoke(cli, ["info", str(tmp_path / "nothing")])
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [
        f"Error: no snapshot at {tmp_path / 'nothing'}: the folder does not exist "
        f"(create one with `workbench demo --out {tmp_path / 'nothing'}`)"
    ]
    assert main(["info", str(tmp_path / "nothing")]) == 1


def test_debug_shows_the_exception(runner: CliRunner, tmp_path: Path) -> None:
    res = runner.invoke(cli, ["--debug", "info", str(tmp_path / "nothing")])
    assert res.exit_code == 1
    assert isinstance(res.exception, SnapshotError)


def test_validate_ok(runner: CliRunner, small: Path) -> None:
    res = runner.invoke(cli, ["validate", str(small)])
    assert res.exit_code == 0, res.output
    assert "ok" in res.output


def test_validate_names_a_corrupted_file(runner: CliRunner, tmp_path: Path) -> None:
    snap = write_small_snapshot(tmp_path / "s")
    victim = next((snap / "events").glob("*.parquet"))
    victim.write_bytes(b"this is not parquet" * 10)
    res = runner.invoke(cli, ["validate", str(snap)])
    assert res.exit_code == 1
    assert str(victim) in res.output
    assert "problem" in res.output


def test_validate_names_a_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    snap = write_small_snapshot(tmp_path / "s")
    victim = next((snap / "nodes").glob("*.parquet"))
    victim.unlink()
    res = runner.invoke(cli, ["validate", str(snap)])
    assert res.exit_code == 1
    assert str(victim) in res.output


def test_validate_decodes_every_value_unless_quick(runner: CliRunner, tmp_path: Path) -> None:
    """A damaged data page behind an intact footer is found by the full read only."""
    import pyarrow.parquet as pq

    snap = write_small_snapshot(tmp_path / "s")
    victim = next((snap / "events").glob("*.parquet"))
    data = bytearray(victim.read_bytes())
    meta = pq.read_metadata(victim)
    start = meta.row_group(0).column(0).data_page_offset
    data[start + 4 : start + 40] = b"\xff" * 36  # scribble over the first data page, keep the footer
    victim.write_bytes(bytes(data))
    assert runner.invoke(cli, ["validate", "--quick", str(snap)]).exit_code == 0
    res = runner.invoke(cli, ["validate", str(snap)])
    assert res.exit_code == 1
    assert f"{victim}: cannot be decoded" in res.output


def test_demo_refuses_an_existing_snapshot_without_force(runner: CliRunner, small: Path) -> None:
    res = runner.invoke(cli, ["demo", "--out", str(small)])
    assert res.exit_code == 1
    assert "already exists; use --force" in res.output


def test_demo_force_refuses_a_folder_that_is_not_a_snapshot(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("precious")
    res = runner.invoke(cli, ["demo", "--out", str(tmp_path / "notes"), "--force"])
    assert res.exit_code == 1
    assert "is not a snapshot" in res.output
    assert (tmp_path / "notes" / "keep.txt").read_text() == "precious"


@pytest.mark.slow
@pytest.mark.skipif(not _has_demo(), reason="workbench.sources.demo.generate is not written yet")
def test_demo_writes_a_snapshot_with_incidents(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    res = runner.invoke(cli, ["demo", "--out", str(out), "--hours", "1"])
    assert res.exit_code == 0, res.output
    info = json.loads(runner.invoke(cli, ["info", str(out), "--json"]).output)
    assert info["incidents"], "the demo snapshot has no incidents in ground_truth.json"
    assert info["tables"]["pods"]["rows"] > 0
    assert runner.invoke(cli, ["validate", str(out)]).exit_code == 0
    again = runner.invoke(cli, ["demo", "--out", str(out), "--hours", "1"])
    assert again.exit_code == 1
    forced = runner.invoke(cli, ["demo", "--out", str(out), "--hours", "1", "--force"])
    assert forced.exit_code == 0, forced.output
    assert json.loads(runner.invoke(cli, ["info", str(out), "--json"]).output)["incidents"]


def test_serve_refuses_a_missing_snapshot(runner: CliRunner, tmp_path: Path) -> None:
    res = runner.invoke(cli, ["serve", "--snapshot", str(tmp_path / "nothing"), "--port", str(free_port())])
    assert res.exit_code == 1
    assert "no snapshot at" in res.output


def test_serve_refuses_a_busy_port(runner: CliRunner, small: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = runner.invoke(cli, ["serve", "--snapshot", str(small), "--port", str(port)])
    assert res.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in res.output


def test_serve_command_line_passes_the_snapshot_and_origins(small: Path) -> None:
    apps = serve_module._app_files(serve_module.default_apps_dir())
    assert Path("apps/overview.py").resolve() in apps
    cmd = serve_module.panel_command(
        apps, snapshot=small, address="127.0.0.1", port=5123, origins=("dash.example.org",)
    )
    assert cmd[-3:] == ["--args", "--snapshot", str(small)]
    setup = Path(cmd[cmd.index("--setup") + 1])  # the process warms up before it serves
    assert setup.is_file() and setup.name == "warmup.py"
    origins = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--allow-websocket-origin"]
    assert origins == ["127.0.0.1:5123", "localhost:5123", "dash.example.org"]
    assert cmd[cmd.index("--address") + 1] == "127.0.0.1"
    # an IPv6 address: browsers send it in brackets, as the printed URL shows it
    cmd = serve_module.panel_command(apps, snapshot=small, address="::1", port=5123)
    origins = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--allow-websocket-origin"]
    assert origins == ["[::1]:5123", "localhost:5123", "127.0.0.1:5123"]
    assert serve_module.base_url("::1", 5123) == "http://[::1]:5123"
    assert (
        serve_module.base_url("0.0.0.0", 5123) == serve_module.base_url("::", 5123) == "http://127.0.0.1:5123"
    )


def test_serve_constants_match_the_apps() -> None:
    from workbench.ui import common

    assert (serve_module.ENV_SNAPSHOT, serve_module.ENV_SNAPSHOTS, serve_module.DEFAULT_SNAPSHOT) == (
        common.ENV_SNAPSHOT,
        common.ENV_SNAPSHOTS,
        common.DEFAULT_SNAPSHOT,
    )


class _FakePanel:
    """Stands in for the ``panel serve`` process: records its command line and environment."""

    calls: list[tuple[list[str], dict[str, str]]] = []

    def __init__(self, cmd: list[str], *, env: dict[str, str], cwd: Path) -> None:
        self.calls.append((cmd, env))

    def wait(self, timeout: float | None = None) -> int:
        return 0


def test_serve_offers_every_snapshot_beside_the_default_or_in_snapshots(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    prod = write_small_snapshot(data / "prod")
    write_small_snapshot(data / "staging")
    (data / "notes").mkdir()
    other = tmp_path / "archive"
    write_small_snapshot(other / "2026-11-01")
    monkeypatch.setattr(serve_module.subprocess, "Popen", _FakePanel)
    _FakePanel.calls.clear()

    res = runner.invoke(cli, ["serve", "--snapshot", str(prod), "--port", str(free_port())])
    assert res.exit_code == 0, res.output
    cmd, env = _FakePanel.calls[-1]
    assert cmd[-5:] == ["--args", "--snapshot", str(prod.resolve()), "--snapshots", str(data.resolve())]
    assert env["WORKBENCH_SNAPSHOTS"] == str(data.resolve())
    assert "?snapshot=NAME" in res.output and "staging" in res.output and "notes" not in res.output

    res = runner.invoke(
        cli, ["serve", "--snapshot", str(prod), "--snapshots", str(other), "--port", str(free_port())]
    )
    assert res.exit_code == 0, res.output
    cmd, env = _FakePanel.calls[-1]
    assert cmd[-2:] == ["--snapshots", str(other.resolve())] and env["WORKBENCH_SNAPSHOTS"] == str(
        other.resolve()
    )
    assert "2026-11-01" in res.output

    missing = runner.invoke(cli, ["serve", "--snapshot", str(prod), "--snapshots", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1
    assert f"no folder at {tmp_path / 'nowhere'}" in missing.output
    assert len(_FakePanel.calls) == 2  # nothing was served for the missing folder


def test_serve_passes_a_symlinked_snapshot_under_its_own_name(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--snapshot data/demo`` linking to ``data/demo-2026`` reaches the apps as ``data/demo``
    (their header and menu say ``demo``); the other snapshots are still the target's siblings."""
    data = tmp_path / "data"
    target = write_small_snapshot(data / "demo-2026")
    write_small_snapshot(data / "staging")
    (data / "demo").symlink_to(target, target_is_directory=True)
    monkeypatch.setattr(serve_module.subprocess, "Popen", _FakePanel)
    _FakePanel.calls.clear()
    res = runner.invoke(cli, ["serve", "--snapshot", str(data / "demo"), "--port", str(free_port())])
    assert res.exit_code == 0, res.output
    cmd, env = _FakePanel.calls[-1]
    link = os.path.abspath(data / "demo")
    assert cmd[-4:] == ["--snapshot", link, "--snapshots", str(data.resolve())]
    assert env["WORKBENCH_SNAPSHOT"] == link
    assert "staging" in res.output and "demo-2026" not in res.output.split("Other snapshots")[-1]


def _get(url: str, *, deadline: float, proc: subprocess.Popen[bytes]) -> str:
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.read().decode()
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    return ""


@pytest.mark.slow
@pytest.mark.skipif(not _has_demo(), reason="workbench.sources.demo.generate is not written yet")
def test_serve_generates_the_default_demo_then_serves_every_page(tmp_path: Path) -> None:
    """What the README's ``./run serve`` relies on: with no data/demo in the working folder,
    ``workbench serve`` generates it, then serves the apps on loopback and prints the URL."""
    port = free_port()
    log = tmp_path / "serve.log"
    exe = Path(sys.executable).with_name("workbench")
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [str(exe), "serve", "--port", str(port), "--no-show"],
            cwd=tmp_path,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 240
        body = _get(f"http://127.0.0.1:{port}/overview", deadline=deadline, proc=proc)
        output = log.read_text()
        assert body, f"the overview page did not answer:\n{output}"
        assert "workbench · Overview" in body
        assert (tmp_path / "data" / "demo" / "manifest.json").is_file()
        assert f"http://127.0.0.1:{port}/overview" in output  # the URL is printed
        assert "overview" in _get(f"http://127.0.0.1:{port}/", deadline=deadline, proc=proc)  # the index
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    assert proc.returncode == 0  # Ctrl+C is a normal way to stop


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_serve_stopped_by_sigterm_stops_its_panel_server(small: Path, tmp_path: Path) -> None:
    """``kill PID`` (systemd, a container's stop) of ``workbench serve`` alone, not its process
    group, also stops the ``panel serve`` it runs: nothing is left serving the port."""
    port = free_port()
    log = tmp_path / "serve.log"
    exe = Path(sys.executable).with_name("workbench")
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [str(exe), "serve", "--snapshot", str(small), "--port", str(port), "--no-show"],
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        body = _get(f"http://127.0.0.1:{port}/", deadline=time.monotonic() + 120, proc=proc)  # the index
        assert body, f"the server did not answer:\n{log.read_text()}"
        os.kill(proc.pid, signal.SIGTERM)  # the workbench process only
        assert proc.wait(timeout=30) == 0, log.read_text()
        deadline = time.monotonic() + 15
        while _port_taken(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _port_taken(port), f"panel serve still serves port {port} after workbench serve stopped"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of its session
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.browser
def test_serve_shows_the_snapshot_named_in_the_url(tmp_path: Path, realdata: Path, browser: Any) -> None:
    """``workbench serve --snapshot data/prod`` also serves ``data/minikube`` (a real dump
    imported beside it) to a page opened with ``?snapshot=minikube``, and only by that name."""
    from tests.support.browser import recording_page
    from workbench.sources.importer import import_paths

    data = tmp_path / "data"
    write_small_snapshot(data / "prod")
    dump = realdata / "k8s" / "nri_kubernetes_k8s_1_35"
    import_paths([dump / "pods.yaml", dump / "nodes.yaml"], out=data / "minikube", cluster="minikube")
    port = free_port()
    exe = Path(sys.executable).with_name("workbench")
    with (tmp_path / "serve.log").open("wb") as fh:
        proc = subprocess.Popen(
            [str(exe), "serve", "--snapshot", "data/prod", "--port", str(port)],
            cwd=tmp_path, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    page = None
    try:
        base = f"http://127.0.0.1:{port}"
        assert _get(f"{base}/overview", deadline=time.monotonic() + 120, proc=proc), (
            tmp_path / "serve.log"
        ).read_text()
        assert "Other snapshots in" in (tmp_path / "serve.log").read_text()
        page = recording_page(browser, SimpleNamespace(url=base))
        clusters = {}
        for name in ("", "minikube"):
            page.goto(f"{base}/overview" + (f"?snapshot={name}" if name else ""))
            card = page.locator(".wb-stat", has_text="Clusters")
            card.wait_for(timeout=60_000)
            clusters[name] = (page.locator(".wb-snapshot-name").inner_text().strip(), card.inner_text())
        assert clusters[""][0] == "snapshot: prod" and "kind-a, kind-b" in clusters[""][1]
        assert clusters["minikube"][0] == "snapshot: minikube" and "minikube" in clusters["minikube"][1]
        page.goto(f"{base}/overview?snapshot=..%2Fdata%2Fminikube")
        refused = page.get_by_text("no snapshot named")
        refused.wait_for(timeout=60_000)
        assert "'../data/minikube'" in refused.inner_text() and "minikube, prod" in refused.inner_text()
        assert page.console_errors == [], (tmp_path / "serve.log").read_text()
    finally:
        if page is not None:
            page.context.close()
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_import_command_reads_a_real_dump_and_reports_bad_files(tmp_path: Path, realdata: Path) -> None:
    bad = tmp_path / "in" / "broken.json"
    bad.parent.mkdir()
    bad.write_text('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": ')
    out = tmp_path / "snap"
    result = CliRunner().invoke(
        cli, ["import", str(realdata / "k8s" / "nri_kubernetes_k8s_1_35" / "pods.yaml"), str(bad.parent),
              "--cluster", "minikube", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "imported into" in result.output and "broken.json" in result.output
    ds = open_snapshot(out)
    assert ds.clusters == ["minikube"]
    assert ds.pods(namespace="scraper").height == 16
    assert any("broken.json" in w["message"] for w in ds.warnings)
