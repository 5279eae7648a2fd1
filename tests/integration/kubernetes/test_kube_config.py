"""Which kubeconfig and contexts a collection uses, and several contexts → several clusters."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from kube_data import FAST, Recorded

import workbench as wb
from tests.support.kmock_server import write_kubeconfig
from workbench.errors import SourceError
from workbench.sources.kubernetes import LogOptions, collect_kubernetes, resolve_targets
from workbench.store import SnapshotWriter


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home, no $KUBECONFIG, not in a cluster."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    return home


def test_argument_then_env_then_home(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arg = write_kubeconfig(tmp_path / "arg", server="http://127.0.0.1:1", context="from-argument")
    env = write_kubeconfig(tmp_path / "env", server="http://127.0.0.1:2", context="from-env")
    (home / ".kube").mkdir()
    write_kubeconfig(home / ".kube" / "config", server="http://127.0.0.1:3", context="from-home")

    assert [t.context for t in resolve_targets()] == ["from-home"]
    monkeypatch.setenv("KUBECONFIG", str(env))
    assert [t.context for t in resolve_targets()] == ["from-env"]
    assert [(t.context, t.server) for t in resolve_targets(kubeconfig=str(arg))] == [
        ("from-argument", "http://127.0.0.1:1")
    ]


def test_no_kubeconfig_outside_a_cluster_says_what_to_do(home: Path) -> None:
    with pytest.raises(SourceError, match="no kubeconfig found .*--kubeconfig"):
        resolve_targets()


def test_missing_kubeconfig_file_is_named(home: Path, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=f"kubeconfig {tmp_path / 'nope'} does not exist"):
        resolve_targets(kubeconfig=str(tmp_path / "nope"))


def test_unknown_context_lists_the_contexts(recorded: Recorded) -> None:
    with pytest.raises(SourceError, match="context 'prod' is not in kubeconfig .*the contexts are: kmock"):
        resolve_targets(kubeconfig=str(recorded.kubeconfig), context="prod")


def test_two_contexts_are_two_clusters(recorded: Recorded, tmp_path: Path) -> None:
    """Two contexts (here both pointing at the emulator) give two clusters in one snapshot."""
    a = write_kubeconfig(tmp_path / "a", server=recorded.cluster.url, context="east")
    b = write_kubeconfig(tmp_path / "b", server=recorded.cluster.url, context="west")
    merged = f"{a}:{b}"
    with SnapshotWriter(tmp_path / "snap") as writer:
        summary = collect_kubernetes(
            writer,
            kubeconfig=merged,
            context=["east", "west"],
            cluster={"west": "eu-west"},
            kinds=["nodes"],
            logs=LogOptions(enabled=False),
            retry=FAST,
        )

    ds = wb.open(tmp_path / "snap")
    assert ds.clusters == ["east", "eu-west"]
    assert sorted(ds.nodes().select("cluster", "name").iter_rows()) == [
        ("east", "datagen-1-35"),
        ("eu-west", "datagen-1-35"),
    ]
    assert [c.context for c in summary.clusters] == ["east", "west"]
    assert ds.nodes().filter(pl.col("cluster") == "eu-west")["pods_allocatable"].to_list() == [110]
