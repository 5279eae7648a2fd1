"""Collecting from live clusters through the official ``kubernetes`` client.

- :func:`collect_kubernetes` lists every kind once (plus problem pods' logs) into a
  :class:`~workbench.store.SnapshotWriter`;
- :func:`watch_kubernetes` keeps appending object revisions and events to a snapshot.

Secrets are never requested; ``metadata.managedFields`` is dropped; credentials never reach the
snapshot (only the API's ``scheme://host:port`` is recorded).
"""

from workbench.sources.kubernetes.api import RetryPolicy
from workbench.sources.kubernetes.collect import (
    ClusterSummary,
    CollectProgress,
    CollectSummary,
    collect_kubernetes,
)
from workbench.sources.kubernetes.config import ClusterTarget, resolve_kubeconfig, resolve_targets
from workbench.sources.kubernetes.kinds import KINDS, KindSpec, resolve_kinds
from workbench.sources.kubernetes.logs import LogOptions
from workbench.sources.kubernetes.watch import WatchProgress, WatchSummary, watch_kubernetes

__all__ = [
    "KINDS",
    "ClusterSummary",
    "ClusterTarget",
    "CollectProgress",
    "CollectSummary",
    "KindSpec",
    "LogOptions",
    "RetryPolicy",
    "WatchProgress",
    "WatchSummary",
    "collect_kubernetes",
    "resolve_kinds",
    "resolve_kubeconfig",
    "resolve_targets",
    "watch_kubernetes",
]
