"""``watch_kubernetes`` against the kmock API emulator loaded with recorded objects (see
test_kube_collect.py for what it serves). Changes are made through the official client, as a
controller would, and kmock streams them to the watch."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from kube_data import FAST, Recorded
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

import workbench as wb
from workbench.errors import SnapshotError, SourceError
from workbench.sources.kubernetes import LogOptions, collect_kubernetes, watch_kubernetes
from workbench.store import SnapshotWriter

POD = ("scraper", "e2e-deployment-79967c5968-8bnn8")  # resourceVersion 712 in the recording
EVENT = ("kube-system", "bootstrap-finished")


def wait_for(condition: Callable[[], Any], *, timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


class Running:
    """``watch_kubernetes`` running in a thread until :meth:`stop`."""

    def __init__(self, rec: Recorded, out: Path, **options: Any) -> None:
        self.stop_event = threading.Event()
        self.result: dict[str, Any] = {}
        options.setdefault("retry", FAST)
        options.setdefault("flush_interval", 0.2)

        def run() -> None:
            try:
                self.result["summary"] = watch_kubernetes(
                    out, kubeconfig=str(rec.kubeconfig), stop_event=self.stop_event, **options
                )
            except BaseException as err:  # noqa: BLE001 - reported by stop()
                self.result["error"] = err

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def stop(self) -> Any:
        self.stop_event.set()
        self.thread.join(20)
        assert not self.thread.is_alive(), "the watch did not stop"
        if "error" in self.result:
            raise self.result["error"]
        return self.result["summary"]


def core(rec: Recorded) -> k8s_client.CoreV1Api:
    cfg = k8s_client.Configuration()
    k8s_config.load_kube_config(str(rec.kubeconfig), client_configuration=cfg, persist_config=False)
    return k8s_client.CoreV1Api(k8s_client.ApiClient(cfg))


def watching(rec: Recorded, path: str, count: int = 1) -> Callable[[], bool]:
    return lambda: sum(p == path and q.get("watch") == "true" for _m, p, q in rec.cluster.requests()) >= count


def revisions(out: Path, kind: str, name: str) -> pl.DataFrame:
    if not (out / "manifest.json").is_file():
        return pl.DataFrame()
    return wb.open(out).objects(kind=kind).filter(pl.col("name") == name).sort("observed_at")


def test_watch_records_modifications_and_deletions(recorded: Recorded, tmp_path: Path) -> None:
    out = tmp_path / "watch"
    run = Running(recorded, out, kinds=["pods", "events"])
    wait_for(watching(recorded, "/api/v1/pods"), what="the pod watch")
    wait_for(watching(recorded, "/api/v1/events"), what="the event watch")
    wait_for(lambda: revisions(out, "Pod", POD[1]).height == 1, what="the first flush")

    api = core(recorded)
    api.patch_namespaced_pod(
        POD[1],
        POD[0],
        {"metadata": {"resourceVersion": "9001", "labels": {"rollout": "2"}}},
        _preload_content=False,
    )
    # An event seen again: the kubelet bumps count and lastTimestamp.
    api.patch_namespaced_event(
        EVENT[1],
        EVENT[0],
        {"metadata": {"resourceVersion": "9002"}, "count": 2, "lastTimestamp": "2021-08-03T09:30:00Z"},
        _preload_content=False,
    )
    wait_for(lambda: revisions(out, "Pod", POD[1]).height == 2, what="the modification")
    api.delete_namespaced_pod(POD[1], POD[0], _preload_content=False)
    wait_for(lambda: revisions(out, "Pod", POD[1]).height == 3, what="the deletion")
    summary = run.stop()

    pod = revisions(out, "Pod", POD[1])
    assert pod["deleted"].to_list() == [False, False, True]
    assert pod["resource_version"].to_list() == ["712", "9001", "9001"]
    assert json.loads(pod["manifest"][1])["metadata"]["labels"]["rollout"] == "2"
    ds = wb.open(out)
    # Every other recorded pod is one revision: the watch's initial ADDED events repeat the list.
    assert ds.objects(kind="Pod").height == 29 + 2
    assert ds.pods().filter(pl.col("name") == POD[1])["deleted"].is_not_null().all()
    event = ds.events().filter(pl.col("name") == EVENT[1]).row(0, named=True)
    assert (event["count"], event["last_time"].isoformat()) == (2, "2021-08-03T09:30:00+00:00")
    assert summary.deletions == 1 and summary.flushes >= 2
    assert summary.revisions[("kmock", "pods")] == 31
    assert [s["name"] for s in ds.sources] == ["kubernetes-watch"]


def test_watch_410_gone_relists_and_resumes(recorded: Recorded, tmp_path: Path) -> None:
    recorded.cluster.emulator.expire_watches["pods"] = 1
    out = tmp_path / "watch"
    run = Running(recorded, out, kinds=["pods"])
    wait_for(watching(recorded, "/api/v1/pods", 2), what="the watch after the relist")

    core(recorded).patch_namespaced_pod(
        POD[1], POD[0], {"metadata": {"resourceVersion": "9001"}}, _preload_content=False
    )
    wait_for(lambda: revisions(out, "Pod", POD[1]).height == 2, what="the modification after the relist")
    summary = run.stop()

    lists = [
        q for _m, p, q in recorded.cluster.requests() if p == "/api/v1/pods" and q.get("watch") != "true"
    ]
    assert len(lists) == 2  # the first list, and the relist after 410 Gone
    assert summary.relists == 1
    # The relist found nothing new: no duplicate revisions.
    assert wb.open(out).objects(kind="Pod").height == 29 + 1


def test_watch_reconnects_after_server_errors(recorded: Recorded, tmp_path: Path) -> None:
    recorded.cluster.emulator.watch_faults["pods"] = [503, 502]
    out = tmp_path / "watch"
    run = Running(recorded, out, kinds=["pods"])
    wait_for(watching(recorded, "/api/v1/pods", 3), what="the third watch")

    core(recorded).patch_namespaced_pod(
        POD[1], POD[0], {"metadata": {"resourceVersion": "9001"}}, _preload_content=False
    )
    wait_for(lambda: revisions(out, "Pod", POD[1]).height == 2, what="the modification")
    summary = run.stop()

    assert summary.warnings == []  # two failures in a row are reconnected quietly
    assert wb.open(out).objects(kind="Pod").height == 29 + 1


def test_watch_appends_to_an_existing_snapshot(recorded: Recorded, tmp_path: Path) -> None:
    out = tmp_path / "snap"
    with SnapshotWriter(out) as writer:
        collect_kubernetes(
            writer,
            kubeconfig=str(recorded.kubeconfig),
            kinds=["pods"],
            logs=LogOptions(enabled=False),
            retry=FAST,
        )
    summary = watch_kubernetes(
        out,
        kubeconfig=str(recorded.kubeconfig),
        kinds=["pods"],
        flush_interval=0.2,
        max_duration=1.0,
        retry=FAST,
    )

    ds = wb.open(out)
    assert [s["name"] for s in ds.sources] == ["kubernetes", "kubernetes-watch"]
    assert ds.objects(kind="Pod").height == 29 * 2
    assert ds.pods().height == 29
    assert summary.total == 29


def test_watch_refuses_a_folder_that_is_not_a_snapshot(recorded: Recorded, tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(SnapshotError, match="is not a snapshot"):
        watch_kubernetes(folder, kubeconfig=str(recorded.kubeconfig), max_duration=0.1, retry=FAST)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_watch_server_down_is_a_clear_source_error(tmp_path: Path) -> None:
    from tests.support.kmock_server import free_port, write_kubeconfig

    port = free_port()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server=f"http://127.0.0.1:{port}")
    with pytest.raises(SourceError, match=f"cannot reach the API at http://127.0.0.1:{port}"):
        watch_kubernetes(tmp_path / "out", kubeconfig=str(kubeconfig), max_duration=1, retry=FAST)
    assert not (tmp_path / "out").exists()


def test_sigterm_stops_the_watch_after_a_final_flush(recorded: Recorded, tmp_path: Path) -> None:
    out = tmp_path / "watch"
    before = signal.getsignal(signal.SIGTERM)

    def terminate_after_first_flush() -> None:
        wait_for(lambda: (out / "manifest.json").is_file(), what="the first flush")
        os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=terminate_after_first_flush, daemon=True)
    killer.start()
    summary = watch_kubernetes(
        out,
        kubeconfig=str(recorded.kubeconfig),
        kinds=["nodes"],
        flush_interval=0.2,
        max_duration=30,
        retry=FAST,
    )
    killer.join(5)

    assert signal.getsignal(signal.SIGTERM) is before
    assert summary.revisions == {("kmock", "nodes"): 1}
    assert wb.open(out).nodes()["name"].to_list() == ["datagen-1-35"]
