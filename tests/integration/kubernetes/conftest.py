"""Fixtures: a kmock Kubernetes API emulator on 127.0.0.1, loaded with recorded objects."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from kube_data import TOKEN, VERSION, Recorded, pod_logs, recorded_objects, recorded_secret  # noqa: E402

from tests.support.kmock_server import KMockCluster, start_kmock  # noqa: E402


@pytest.fixture
def kmock_cluster() -> Iterator[KMockCluster]:
    cluster = start_kmock(version=VERSION)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def recorded(kmock_cluster: KMockCluster, tmp_path: Path) -> Recorded:
    """The emulator loaded with recorded objects, pod logs and a Secret."""
    secret, value = recorded_secret()
    kmock_cluster.load(recorded_objects())
    kmock_cluster.load([secret])
    kmock_cluster.emulator.pod_logs.update(pod_logs())
    kubeconfig = kmock_cluster.kubeconfig(tmp_path / "kubeconfig", token=TOKEN)
    return Recorded(kmock_cluster, kubeconfig, value)
